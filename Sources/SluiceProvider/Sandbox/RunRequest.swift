public import Foundation

/// What a job may use.
public struct SandboxLimits: Sendable, Equatable {
    /// Wall-clock seconds before the job's whole process tree is killed.
    public var wallSeconds: Double
    /// Resident memory of the whole process tree before it is killed.
    public var memoryBytes: UInt64
    /// Bytes kept of each of stdout and stderr; the rest is dropped and the drop noted at the end of the file.
    public var maxLogBytes: Int
    /// Processes (and threads) the job may have at once. It holds because a job never runs as root: as root
    /// the sandbox runs it as a user of its own (see `JobUsers`).
    public var maxProcesses: Int
    /// Bytes the job's folder may hold (allocated blocks, sampled every second, and no single file larger):
    /// past it the job is stopped and ends as `diskExceeded`. Nil: no bound.
    public var diskBytes: UInt64?
    /// Files and directories the job's folder may hold, with `diskBytes`.
    public var maxDiskEntries: Int

    public init(
        wallSeconds: Double, memoryBytes: UInt64, maxLogBytes: Int = 1 << 20,
        maxProcesses: Int = 4096, diskBytes: UInt64? = nil, maxDiskEntries: Int = 100_000
    ) {
        self.wallSeconds = wallSeconds
        self.memoryBytes = memoryBytes
        self.maxLogBytes = maxLogBytes
        self.maxProcesses = maxProcesses
        self.diskBytes = diskBytes
        self.maxDiskEntries = maxDiskEntries
    }
}

/// One run of a job's command.
public struct RunRequest: Sendable {
    /// The unpacked bundle: the job's working directory and, with a private /tmp, the only place it may write.
    public var jobDirectory: URL
    /// argv; the first element is looked up on `/usr/local/bin:/usr/bin:/bin` unless it holds a '/'.
    public var command: [String]
    /// Extra environment variables (the job starts from an empty environment).
    public var environment: [String: String]
    /// GPU indices or UUIDs, passed as CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES; empty means no GPU.
    public var gpuDevices: [String]
    public var limits: SandboxLimits
    /// Where the job's standard output goes (created or truncated).
    public var stdout: URL
    /// Where the job's standard error goes (created or truncated).
    public var stderr: URL

    public init(
        jobDirectory: URL, command: [String], environment: [String: String] = [:], gpuDevices: [String] = [],
        limits: SandboxLimits, stdout: URL, stderr: URL
    ) {
        self.jobDirectory = jobDirectory
        self.command = command
        self.environment = environment
        self.gpuDevices = gpuDevices
        self.limits = limits
        self.stdout = stdout
        self.stderr = stderr
    }
}
