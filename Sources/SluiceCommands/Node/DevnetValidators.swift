import Foundation
import ServiceLifecycle
import Synchronization

/// The validators of `sluice devnet --validators N` beyond the first (which runs in the devnet's own
/// process): one `sluice node run` process each, from DATA/validator-I/node.toml, logging to
/// DATA/validator-I/node.log. Supervised, not restarted: a child that exits is reported with how it ended
/// and how to start it again, and the network goes on while more than two thirds of the power runs. All
/// stop with the devnet (SIGTERM, then SIGKILL after 10 s); a killed devnet's children notice their parent
/// is gone and stop themselves.
final class DevnetValidators: Service, Sendable {
    struct Child: Sendable {
        let index: Int
        let config: String
        let log: String
    }

    let children: [Child]
    private let processes = Mutex<[Int: Process]>([:])
    private let stopping = Atomic<Bool>(false)

    init(children: [Child]) { self.children = children }

    /// Starts every child; the lines the devnet prints about them.
    func start() throws -> [String] {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var lines: [String] = []
        for child in children {
            let process = Process()
            process.executableURL = executable
            process.arguments = [
                "node", "run", "--config", child.config, "--no-status", "--log-level", "warning",
                "--parent-pid", String(getpid()),
            ]
            if !FileManager.default.fileExists(atPath: child.log) {
                _ = FileManager.default.createFile(atPath: child.log, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: child.log) else {
                throw CommandError("cannot write \(child.log): check the data dir's permissions")
            }
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            process.terminationHandler = { [weak self] p in
                guard let self, !self.stopping.load(ordering: .relaxed) else { return }
                let how =
                    p.terminationReason == .uncaughtSignal
                    ? "was killed by signal \(p.terminationStatus)" : "exited with status \(p.terminationStatus)"
                FileHandle.standardError.write(
                    Data(
                        ("devnet: validator \(child.index) (pid \(p.processIdentifier)) \(how); it is not restarted. "
                            + "Its log: \(child.log). Start it again with: sluice node run --config \(child.config)\n")
                            .utf8))
            }
            do { try process.run() } catch {
                throw CommandError("cannot start validator \(child.index): \(error.localizedDescription)")
            }
            processes.withLock { $0[child.index] = process }
            lines.append("    validator-\(child.index)  pid \(process.processIdentifier)  log \(child.log)")
        }
        return lines
    }

    /// Waits for the devnet's shutdown, then stops the children.
    func run() async throws {
        try? await gracefulShutdown()
        stop()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        let all = processes.withLock { Array($0.values) }
        for p in all where p.isRunning { p.terminate() }
        let deadline = Date().addingTimeInterval(10)
        for p in all {
            while p.isRunning && Date() < deadline { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
    }
}

/// Stops this process gracefully (SIGTERM to itself) once `parent` is no longer its parent: a child of a
/// devnet ends with it, even when the devnet was killed and could not stop it.
func stopWhenParentIsGone(_ parent: Int32, log: @escaping @Sendable (String) -> Void) {
    let thread = Thread {
        while getppid() == parent { usleep(500_000) }
        log("the process that started this one (pid \(parent)) is gone; stopping")
        kill(getpid(), SIGTERM)
    }
    thread.name = "sluice-parent-watch"
    thread.start()
}

/// A base port with `count` free loopback ports after it, below Linux's ephemeral range (32768 and up), so
/// that no server started on port 0 meanwhile takes one of them.
func freeLoopbackPorts(_ count: Int) throws -> Int {
    for _ in 0..<200 {
        let base = Int.random(in: 20_000..<(32_000 - count))
        if (base..<(base + count)).allSatisfy(loopbackPortIsFree) { return base }
    }
    throw CommandError("found no \(count) free consecutive loopback ports: name a port with --http")
}

private func loopbackPortIsFree(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
