import Foundation
public import SluiceJobs

#if canImport(Glibc)
    import Glibc
#endif

// Running a stranger's command on the provider's machine. The caller must never hang on the job, and the
// job must never outlive its run: a monitor samples the job's process tree every 50 ms (100 ms after the
// first two seconds), summing its resident memory, and when the tree goes over the memory limit, runs past
// the wall-clock limit, or the caller's task is cancelled, the whole tree is frozen and killed (see
// ProcessTree). When the job's first process exits, what it left behind in its process group is killed too;
// under bubblewrap the PID namespace dies with it. Output goes through LogPump, which bounds the log files.
//
// The outcome separates what the job did (exited, killed by a signal) from what the sandbox did to it (timed
// out, over memory) and from the sandbox failing to start it (bubblewrap's own error, an unknown command).
// An allocation refused by RLIMIT_AS leaves no trace the kernel reports; it is recognised by the job failing
// with an out-of-memory message at the end of its stderr ("MemoryError", "std::bad_alloc", …).

/// Runs job commands confined as `kind` says.
public struct Sandbox: Sendable {
    public let kind: SandboxKind

    public init(kind: SandboxKind) {
        self.kind = kind
    }

    private enum Stop { case timeout, memory, disk, cancelled }

    /// Runs the command to its end, or until a limit stops it.
    /// - Throws: `CancellationError` when the calling task is cancelled (the job is killed first). Every other
    ///   failure, the sandbox's included, is an outcome.
    public func run(_ request: RunRequest) async throws -> RunOutcome {
        func failed(_ why: String) -> RunOutcome {
            RunOutcome(ending: .failedToStart(why), wallSeconds: 0, peakMemoryBytes: 0)
        }
        guard let program = request.command.first, !program.isEmpty else { return failed("the command is empty") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: request.jobDirectory.path, isDirectory: &isDirectory),
            isDirectory.boolValue
        else { return failed("the job directory \(request.jobDirectory.path) does not exist") }
        guard let prlimit = SandboxKind.findExecutable("prlimit") else {
            return failed("prlimit (util-linux) is not installed")
        }

        // As root, the job runs as a user of its own, which owns the job's folder while it runs.
        var user: SandboxInvocation.User?
        if geteuid() == 0 {
            guard let setpriv = SandboxKind.findExecutable("setpriv") else {
                return failed("setpriv (util-linux) is needed to run jobs as an unprivileged user when running as root")
            }
            guard let uid = JobUsers.take() else { return failed("every job user is taken: too many jobs at once") }
            user = SandboxInvocation.User(setpriv: setpriv, uid: uid)
            SafeFile.chownTree(request.jobDirectory, uid: uid, gid: uid)
        }
        defer {
            if let user {
                JobUsers.killAll(user.uid, setpriv: user.setpriv)
                JobUsers.give(user.uid)
            }
        }

        // A private temporary directory beside the job's (bubblewrap gives the job its own /tmp instead).
        var privateTemp: URL?
        if !kind.isBubblewrap {
            let temp = URL(fileURLWithPath: request.jobDirectory.standardizedFileURL.path + ".tmp")
            SafeFile.removeTree(temp)
            do {
                try FileManager.default.createDirectory(
                    at: temp, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            } catch { return failed("cannot create the private temporary directory \(temp.path): \(error)") }
            if let user { _ = chown(temp.path, user.uid, user.uid) }
            privateTemp = temp
        }
        defer { if let privateTemp { SafeFile.removeTree(privateTemp) } }  // the job wrote in it: no link followed

        let invocation = SandboxInvocation.make(
            kind: kind, request: request, prlimit: prlimit, privateTemp: privateTemp, user: user)
        var argumentFile: Int32 = -1
        var jobFolder: Int32 = -1
        if let options = invocation.bubblewrapArguments {
            guard let fd = SandboxInvocation.argumentFile(options) else {
                return failed("cannot write bubblewrap's arguments: \(errnoText())")
            }
            argumentFile = fd
            jobFolder = open(request.jobDirectory.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard jobFolder >= 0 else { return failed("cannot open the job directory: \(errnoText())") }
        }
        defer {
            if argumentFile >= 0 { close(argumentFile) }
            if jobFolder >= 0 { close(jobFolder) }
        }
        let stdout: LogPump
        let stderr: LogPump
        do {
            stdout = try LogPump(file: request.stdout, cap: request.limits.maxLogBytes)
        } catch { return failed(error.description) }
        do {
            stderr = try LogPump(file: request.stderr, cap: request.limits.maxLogBytes)
        } catch {
            close(stdout.writeEnd)
            stdout.abandon()
            return failed(error.description)
        }
        var status: [Int32] = [-1, -1]
        if invocation.statusDescriptor {
            // Non-blocking: it is read once the job has ended, and nothing may make that read wait.
            guard let ends = ChildProcess.makePipe(flags: O_NONBLOCK) else {
                for pump in [stdout, stderr] {
                    close(pump.writeEnd)
                    pump.abandon()
                }
                return failed("cannot make a pipe: \(errnoText())")
            }
            status = [ends.read, ends.write]
        }

        let spec = SpawnSpec(
            executable: invocation.arguments[0], arguments: invocation.arguments, environment: invocation.environment,
            workingDirectory: invocation.workingDirectory, stdout: stdout.writeEnd, stderr: stderr.writeEnd,
            extraDescriptors: invocation.statusDescriptor ? [status[1], argumentFile, jobFolder] : [])
        let spawned = await SpawnThread.shared.spawn(spec)
        close(stdout.writeEnd)
        close(stderr.writeEnd)
        if status[1] >= 0 { close(status[1]) }
        let pid: pid_t
        switch spawned {
        case .success(let child): pid = child
        case .failure(let error):
            stdout.abandon()
            stderr.abandon()
            if status[0] >= 0 { close(status[0]) }
            return failed(error.description)
        }
        let started = ContinuousClock.now
        stdout.start()
        stderr.start()

        // Watch until the first process exits or a limit is hit.
        var peak: UInt64 = 0
        var stop: Stop?
        let deadline = started + .milliseconds(Int64(min(max(0, request.limits.wallSeconds), 1e9) * 1000))
        var nextDiskCheck = started + .seconds(1)
        while true {
            let table = ProcessTree.snapshot()
            guard let root = table[pid], root.state != UInt8(ascii: "Z") else { break }
            let resident = ProcessTree.residentBytes(of: ProcessTree.descendants(of: pid, in: table))
            peak = max(peak, resident)
            if resident > request.limits.memoryBytes {
                stop = .memory
                break
            }
            let now = ContinuousClock.now
            if now >= deadline {
                stop = .timeout
                break
            }
            if let disk = request.limits.diskBytes, now >= nextDiskCheck {
                if SafeFile.exceeds(request.jobDirectory, maxBytes: disk, maxEntries: request.limits.maxDiskEntries) {
                    stop = .disk
                    break
                }
                nextDiskCheck = now + .seconds(1)
            }
            let interval: Duration = now - started < .seconds(2) ? .milliseconds(50) : .milliseconds(100)
            do { try await Task.sleep(for: min(interval, deadline - now)) } catch {
                stop = .cancelled
                break
            }
        }
        let wall = Self.seconds(ContinuousClock.now - started)
        ProcessTree.kill(root: pid)
        var exit = ChildProcess.reap(pid, wait: false)
        while exit == nil {
            // A cancelled task's sleep returns at once; do not spin while the kernel tears the tree down.
            if Task.isCancelled { usleep(5_000) } else { try? await Task.sleep(for: .milliseconds(5)) }
            exit = ChildProcess.reap(pid, wait: false)
        }
        _ = await stdout.finish(grace: .milliseconds(500))
        let err = await stderr.finish(grace: .milliseconds(500))
        var statusText = ""
        if status[0] >= 0 {
            statusText = String(decoding: Self.readAvailable(status[0]), as: UTF8.self)
            close(status[0])
        }

        var ending: RunOutcome.Ending
        switch stop {
        case .cancelled: throw CancellationError()
        case .timeout: ending = .timedOut
        case .memory: ending = .memoryExceeded
        case .disk: ending = .diskExceeded
        case nil:
            ending = Self.classify(
                exit!, kind: kind, statusText: statusText, stderrTail: String(decoding: err.tail, as: UTF8.self),
                addressSpaceLimited: invocation.addressSpaceLimited)
            // Over the disk limit at the end is over it, whatever the last sample saw: a job that wrote past
            // it between two samples ends the same on every provider.
            if let disk = request.limits.diskBytes,
                ending == .signalled(SIGXFSZ)
                    || SafeFile.exceeds(request.jobDirectory, maxBytes: disk, maxEntries: request.limits.maxDiskEntries)
            {
                ending = .diskExceeded
            }
        }
        return RunOutcome(ending: ending, wallSeconds: wall, peakMemoryBytes: peak)
    }

    /// What the job's exit means, when the sandbox did not stop it.
    static func classify(
        _ exit: ExitStatus, kind: SandboxKind, statusText: String, stderrTail: String, addressSpaceLimited: Bool
    ) -> RunOutcome.Ending {
        var ending: RunOutcome.Ending
        switch (kind, exit) {
        case (_, .signalled(let signal)):
            ending = .signalled(signal)
        case (.bubblewrap, .exited(let code)):
            // bubblewrap writes {"exit-code": N} once the job has run, 128 + the signal when one killed it.
            // Without it, bubblewrap failed before the job started (namespaces, mounts, exec) and said why.
            if let reported = Self.exitCode(inStatus: statusText) {
                ending = reported > 128 && reported < 128 + 65 ? .signalled(reported - 128) : .exited(reported)
            } else {
                let why = stderrTail.trimmingCharacters(in: .whitespacesAndNewlines)
                ending = .failedToStart(why.isEmpty ? "bubblewrap exited with status \(code) before the job ran" : why)
            }
        case (_, .exited(let code)):
            // prlimit, unshare and setpriv exit 126/127 with "failed to execute" when the command cannot be run.
            let line = stderrTail.split(separator: "\n").last { $0.contains(": failed to execute ") }
            if code == 126 || code == 127, let line,
                ["prlimit: ", "unshare: ", "setpriv: "].contains(where: line.hasPrefix)
            {
                ending = .failedToStart(String(line))
            } else {
                ending = .exited(code)
            }
        }
        if addressSpaceLimited, ending != .exited(0) {
            let failedToAllocate = ["MemoryError", "std::bad_alloc", "Cannot allocate memory", "out of memory"]
            switch ending {
            case .exited, .signalled:
                if failedToAllocate.contains(where: { stderrTail.contains($0) }) { ending = .memoryExceeded }
            default:
                break
            }
        }
        return ending
    }

    /// The exit code in bubblewrap's JSON status lines, if it reported one.
    static func exitCode(inStatus text: String) -> Int32? {
        guard let key = text.range(of: "\"exit-code\"") else { return nil }
        let rest = text[key.upperBound...].drop { $0 == ":" || $0 == " " }
        return Int32(rest.prefix { $0.isNumber })
    }

    private static func readAvailable(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while result.count < 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            result.append(contentsOf: buffer[..<n])
        }
        return result
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
