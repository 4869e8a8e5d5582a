import Foundation
import ServiceLifecycle
import SluiceAPI
import SluiceClient
import SluiceCore
import SluiceProvider
import Synchronization

/// The devnet's local providers: one `sluice provider run` process each, with its own key and work dir
/// under DATA/providers/N/, started once the node listens, funded from the last dev account when short
/// of the stake, and stopped with the devnet.
final class DevnetProviders: Service, Sendable {
    let root: String
    let count: Int
    /// The first provider's GPUs (auto: the machine's); the others offer CPU capacity, so one machine
    /// does not offer its GPUs twice.
    let firstGPUs: String
    let funder: String
    let lastFault: String?
    private let processes = Mutex<[Process]>([])

    init(root: String, count: Int, firstGPUs: String, funder: String, lastFault: String? = nil) {
        self.lastFault = lastFault
        self.root = root
        self.count = count
        self.firstGPUs = firstGPUs
        self.funder = funder
    }

    func folder(_ n: Int) -> String { "\(root)/providers/\(n)" }

    /// Creates the providers' keys when missing; the lines the devnet prints about them.
    func prepare() throws -> [String] {
        guard count > 0 else { return [] }
        var lines = ["  Providers (\(count); logs in DATA/providers/N/agent.log):"]
        for n in 1...count {
            let path = folder(n) + "/key.json"
            try FileManager.default.createDirectory(atPath: folder(n), withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: path) {
                let key: SigningKey
                do { key = try SigningKey(scheme: .ed25519) } catch { throw CommandError(error.message) }
                try writeSecretFile(try prettyJSON(KeyFile(key)), to: path)
            }
            let address = try KeyFile.load(path: path)[0].address
            lines.append("    provider-\(n)  \(address.hex)  \(n == 1 ? "GPUs: \(firstGPUs)" : "CPU")")
        }
        return lines
    }

    /// Funds the providers that need it, then starts their agents.
    func start(node: String) async {
        guard count > 0 else { return }
        do {
            try await fund(node: node)
        } catch {
            FileHandle.standardError.write(Data("devnet: cannot fund the providers: \(error)\n".utf8))
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        for n in 1...count {
            let process = Process()
            process.executableURL = executable
            process.arguments = [
                "provider", "run", "--node", node, "--key", folder(n) + "/key.json", "--work", folder(n) + "/work",
                "--gpus", n == 1 ? firstGPUs : "none", "--max-jobs", "1",
                // An agent ends with this devnet, even a killed one, and waits for one of a devnet killed
                // just before to let go of its work dir.
                "--parent-pid", String(getpid()), "--lock-wait", "15",
            ]
            // A faulty provider asks half the price, so the auction always picks it (fault tests).
            if n == count, let lastFault { process.arguments! += ["--fault", lastFault, "--price", "1800000"] }
            let log = folder(n) + "/agent.log"
            if !FileManager.default.fileExists(atPath: log) {
                _ = FileManager.default.createFile(atPath: log, contents: nil)
            }
            guard let handle = FileHandle(forWritingAtPath: log) else { continue }
            handle.seekToEndOfFile()
            process.standardOutput = handle
            process.standardError = handle
            process.standardInput = FileHandle.nullDevice
            do {
                try process.run()
                processes.withLock { $0.append(process) }
            } catch {
                FileHandle.standardError.write(Data("devnet: cannot start provider \(n): \(error)\n".utf8))
            }
        }
    }

    /// Each provider's account gets 10 stakes' worth from the funder when it holds less than one.
    func fund(node: String) async throws {
        let client = try SluiceClient(baseURL: node)
        let sender = TransactionSender(client: client, key: try KeyFile.load(path: funder)[0])
        var last: Hash? = nil
        for n in 1...count {
            let address = try KeyFile.load(path: folder(n) + "/key.json")[0].address
            let balance = try await client.account(address).balance
            guard balance.value < 2_000_000 else { continue }
            last = try await sender.send(.transfer(to: address, amount: Amount(10_000_000_000)))
        }
        if let last { _ = try await client.waitForCommit(last) }
    }

    /// Waits for the devnet's shutdown, then stops the agents first, so their event streams close before
    /// the API drains its connections.
    func run() async throws {
        try? await gracefulShutdown()
        stop()
    }

    /// SIGTERM to every agent, then waits for them (SIGKILL after 5 s).
    func stop() {
        let all = processes.withLock { $0 }
        for p in all where p.isRunning { p.terminate() }
        let deadline = Date().addingTimeInterval(5)
        for p in all {
            while p.isRunning && Date() < deadline { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
    }
}
