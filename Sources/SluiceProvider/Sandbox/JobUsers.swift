import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

// A provider that runs as root must not run jobs as root: the kernel exempts root from RLIMIT_NPROC (a job
// forked 4,400 processes under a limit of 4,096), and a job's files would be root's. Each running job gets a
// uid of its own from a fixed range, so limits counted per user are the job's alone and two jobs cannot
// signal or trace each other. The range is chosen far above the uids of real accounts; nothing is written
// to /etc/passwd (the sandbox shows the job no account database).

/// The uids jobs run as when the provider is root: one per running job, across every agent on the machine.
///
/// A uid is taken by an exclusive `flock` on its file in a root-only folder, held while the job runs: two
/// agents (a devnet runs several) must never give two jobs the same uid, or the end of one job, which kills
/// every process of its uid, would kill the other. A lock dies with its process, so a crashed agent frees
/// its uids.
enum JobUsers {
    static let first: UInt32 = 2_140_000_000
    static let count: UInt32 = 4_096
    /// The lock descriptor of each uid this process holds.
    private static let held = Mutex<[UInt32: Int32]>([:])

    /// The folder of the uids' lock files: root's own, refused if anyone else owns it or it is a link.
    static func folder() -> String? {
        for base in ["/run", "/tmp"] {
            let path = base + "/sluice-job-users"
            _ = mkdir(path, 0o700)
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == 0,
                info.st_mode & 0o022 == 0
            else { continue }
            return path
        }
        return nil
    }

    /// A uid no running job on this machine has, or nil when all are taken.
    static func take() -> UInt32? {
        guard let folder = folder() else { return nil }
        return held.withLock { held in
            for uid in first..<(first + count) where held[uid] == nil {
                let fd = open("\(folder)/\(uid)", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
                guard fd >= 0 else { continue }
                if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                    held[uid] = fd
                    return uid
                }
                close(fd)
            }
            return nil
        }
    }

    static func give(_ uid: UInt32) {
        held.withLock { held in
            if let fd = held.removeValue(forKey: uid) { close(fd) }
        }
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
