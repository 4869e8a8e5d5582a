import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// A provider that runs as root must not run jobs as root: the kernel exempts root from RLIMIT_NPROC (a job
// forked 4,400 processes under a limit of 4,096), and a job's files would be root's. Each running job gets a
// uid of its own from a fixed range, so limits counted per user are the job's alone and two jobs cannot
// signal or trace each other. The range is chosen far above the uids of real accounts; nothing is written
// to /etc/passwd (the sandbox shows the job no account database).

/// The uids jobs run as when the provider is root: one per running job.
enum JobUsers {
    static let first: UInt32 = 2_140_000_000
    static let count: UInt32 = 4_096
    private static let taken = Mutex<Set<UInt32>>([])

    /// A uid no running job has, or nil when all are taken.
    static func take() -> UInt32? {
        taken.withLock { taken in
            for uid in first..<(first + count) where !taken.contains(uid) {
                taken.insert(uid)
                return uid
            }
            return nil
        }
    }

    static func give(_ uid: UInt32) {
        _ = taken.withLock { $0.remove(uid) }
    }

    /// SIGKILL to every process of `uid`: nothing of a job outlives its run, even a process that left its
    /// tree. Runs in a child that becomes `uid`, so a signal cannot reach any other user's process.
    static func killAll(_ uid: UInt32, setpriv: String) {
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { return }
        defer { close(devNull) }
        let spec = SpawnSpec(
            executable: setpriv,
            arguments: [setpriv, "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--", "kill", "-9", "-1"],
            environment: ["PATH=/usr/bin:/bin"], workingDirectory: nil, stdout: devNull, stderr: devNull)
        guard case .success(let pid) = ChildProcess.spawn(spec) else { return }
        _ = ChildProcess.reap(pid, wait: true)
    }
}
