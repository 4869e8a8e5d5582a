import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How jobs are confined on this machine.
public enum SandboxKind: Sendable, Equatable, CustomStringConvertible {
    /// bubblewrap at this path: new namespaces (no network), only /usr read-only, the job directory at /job.
    case bubblewrap(path: String)
    /// Resource limits only: the job runs as the provider's user and sees its files and its network.
    case prlimit
    /// Resource limits in a new network namespace made with unshare at this path (root only): no network,
    /// but the job still sees the provider's files.
    case prlimitNoNetwork(unshare: String)

    /// bubblewrap when it is on the PATH and can start a sandbox here (user namespaces allowed); else
    /// prlimit, in a network namespace when `unshare --net` works (as root).
    public static func detect() -> SandboxKind {
        if let bwrap = findExecutable("bwrap"), probe(bubblewrapProbe(bwrap)) { return .bubblewrap(path: bwrap) }
        if geteuid() == 0, let unshare = findExecutable("unshare"), probe([unshare, "--net", "--", "/bin/true"]) {
            return .prlimitNoNetwork(unshare: unshare)
        }
        return .prlimit
    }

    public var description: String {
        switch self {
        case .bubblewrap(let path):
            return "bubblewrap (\(path)): no network, private /tmp, only the job directory writable"
        case .prlimitNoNetwork(let unshare):
            return "prlimit + private temp dir + \(unshare) --net: no network, but NO file-system isolation "
                + "(the job can read what the provider can; install bubblewrap)"
        case .prlimit:
            return "prlimit + private temp dir: NO network isolation and NO file-system isolation "
                + "(the job can read what the provider can; install bubblewrap)"
        }
    }

    var isBubblewrap: Bool {
        if case .bubblewrap = self { return true }
        return false
    }

    /// The first executable `name` on the PATH (then /usr/bin, /bin, /usr/sbin, /sbin).
    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        for directory in directories where directory.hasPrefix("/") {
            let candidate = directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    private static func bubblewrapProbe(_ bwrap: String) -> [String] {
        // As root, jobs start bubblewrap as a user of their own: it must work as that user (user namespaces
        // allowed to unprivileged users).
        var prefix: [String] = []
        if geteuid() == 0, let setpriv = findExecutable("setpriv") {
            let uid = JobUsers.first + JobUsers.count
            prefix = [setpriv, "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--"]
        }
        return prefix + [bwrap]
            + SandboxInvocation.bubblewrapOptions(gpu: false, temporaryBytes: 1 << 20, jobDescriptor: false)
            + ["--", "true"]
    }

    /// Runs `argv` with no input and no output; true when it exits 0 within ten seconds.
    private static func probe(_ argv: [String]) -> Bool {
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard devNull >= 0 else { return false }
        defer { close(devNull) }
        let spec = SpawnSpec(
            executable: argv[0], arguments: argv, environment: ["PATH=/usr/local/bin:/usr/bin:/bin"],
            workingDirectory: nil, stdout: devNull, stderr: devNull)
        guard case .success(let pid) = ChildProcess.spawn(spec) else { return false }
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let status = ChildProcess.reap(pid, wait: false) { return status == .exited(0) }
            usleep(10_000)
        }
        ProcessTree.kill(root: pid)
        _ = ChildProcess.reap(pid, wait: true)
        return false
    }
}
