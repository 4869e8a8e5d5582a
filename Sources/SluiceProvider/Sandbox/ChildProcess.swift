import Foundation
import SluiceJobs

#if canImport(Glibc)
    import Glibc
#endif

// Jobs are started with posix_spawn rather than Foundation's Process because the sandbox needs what
// Process does not offer: every signal back at its default (the provider may ignore SIGPIPE, and ignored
// signals survive exec), an extra descriptor at a fixed number (bubblewrap's status pipe), and no other
// descriptor of the provider leaking into the job.
//
// bubblewrap's --die-with-parent is PR_SET_PDEATHSIG, which fires when the *thread* that forked it ends,
// not the process. Tasks run on pool threads that may be retired while a job runs, which would kill the
// job, so spawns that outlive the caller happen on one thread that lives as long as the process.

/// How to start a child.
struct SpawnSpec: Sendable {
    /// An absolute path.
    var executable: String
    /// argv, the program name first.
    var arguments: [String]
    /// "KEY=value" entries: the child's whole environment.
    var environment: [String]
    var workingDirectory: String?
    /// Descriptors that become the child's 1 and 2 (its 0 is /dev/null).
    var stdout: Int32
    var stderr: Int32
    /// Descriptors that become the child's 3, 4, … in order.
    var extraDescriptors: [Int32] = []
}

/// How a reaped child ended.
enum ExitStatus: Equatable {
    case exited(Int32)
    case signalled(Int32)

    init(waitStatus status: Int32) {
        let signal = status & 0x7F
        self = signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal)
    }
}

enum ChildProcess {
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>)
        -> Int32

    /// Starts the child in a new process group on the calling thread; the error says what failed.
    static func spawn(_ spec: SpawnSpec) -> Result<pid_t, SandboxSetupError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, spec.stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, spec.stderr, 2)
        for (i, fd) in spec.extraDescriptors.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, Int32(3 + i))
        }
        let firstToClose = Int32(3 + spec.extraDescriptors.count)
        // glibc ≥ 2.34 has closefrom; its declaration needs _GNU_SOURCE, which Swift's Glibc module lacks.
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, firstToClose)
        } else {
            for fd in openDescriptors() where fd >= firstToClose { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        if let directory = spec.workingDirectory {
            guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
                return .failure(
                    SandboxSetupError("this C library cannot set a spawned process's directory (glibc ≥ 2.29 can)"))
            }
            _ = unsafeBitCast(symbol, to: AddChdir.self)(&actions, directory)
        }

        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = spec.arguments.map { strdup($0) } + [nil]
        let envp = spec.environment.map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, spec.executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            return .failure(SandboxSetupError("cannot start \(spec.executable): \(errnoText(result))"))
        }
        return .success(pid)
    }

    /// The child's ending once it has exited (reaping it), or nil while it runs (when not waiting).
    static func reap(_ pid: pid_t, wait: Bool) -> ExitStatus? {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, wait ? 0 : WNOHANG)
            if result == pid { return ExitStatus(waitStatus: status) }
            if result == 0 { return nil }
            if errno == EINTR { continue }
            return .signalled(SIGKILL)  // ECHILD: reaped elsewhere; report it as gone
        }
    }

    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

    /// A pipe whose ends are close-on-exec from the start (pipe2), so no child spawned meanwhile by another
    /// thread inherits them; `flags` may add O_NONBLOCK. Returns (read end, write end).
    static func makePipe(flags: Int32 = 0) -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [-1, -1]
        if let symbol = dlsym(nil, "pipe2") {
            guard unsafeBitCast(symbol, to: Pipe2.self)(&ends, O_CLOEXEC | flags) == 0 else { return nil }
        } else {
            guard pipe(&ends) == 0 else { return nil }
            for fd in ends {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                if flags & O_NONBLOCK != 0 { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
            }
        }
        return (ends[0], ends[1])
    }

    private static func openDescriptors() -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
        return names.compactMap { Int32($0) }
    }
}

/// The sandbox could not be set up (not the job's fault).
struct SandboxSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The one long-lived thread that starts sandboxed children (see the note on PR_SET_PDEATHSIG above).
final class SpawnThread: @unchecked Sendable {
    static let shared = SpawnThread()

    private let condition = NSCondition()
    private var pending: [@Sendable () -> Void] = []

    private init() {
        let thread = Thread { [self] in loop() }
        thread.name = "sluice-spawn"
        thread.start()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty { condition.wait() }
            let work = pending.removeFirst()
            condition.unlock()
            work()
        }
    }

    func spawn(_ spec: SpawnSpec) async -> Result<pid_t, SandboxSetupError> {
        await withCheckedContinuation { continuation in
            condition.lock()
            pending.append { continuation.resume(returning: ChildProcess.spawn(spec)) }
            condition.signal()
            condition.unlock()
        }
    }
}
