import Foundation
import SluiceAPI
import SluiceCore
import Synchronization
import Testing

@testable import SluiceCommands

// The provider agent survives what real machines do: it is killed in the middle of a job and started
// again (its work dir says where it was), and the node goes away and comes back (the agent reconnects
// with backoff and goes on from the block after the last one it saw).

/// A `sluice provider run` process with its output in a file.
final class AgentProcess: Sendable {
    let process: Process
    let log: String

    init(binary: String, node: String, key: String, work: String, log: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["provider", "run", "--node", node, "--key", key, "--work", work, "--gpus", "none"]
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try #require(FileHandle(forWritingAtPath: log))
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        process = p
        self.log = log
    }

    var text: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func kill(_ signal: Int32) {
        Glibc.kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }
}

/// A port nothing listens on now: bound, then closed. (Another test may take it after: for a port that must
/// stay unanswered, use `UnansweredPort`.)
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    return try bindLoopback(fd)
}

/// A loopback port held bound, without listening, as long as this lives: a connection to it is refused, and no
/// other test's server can take it meanwhile (a released `freePort()` was once taken by a devnet running beside
/// the test, whose event stream then answered for 91 s).
final class UnansweredPort {
    let fd: Int32
    let port: Int

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        do { port = try bindLoopback(fd) } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }
}

private func bindLoopback(_ fd: Int32) throws -> Int {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard bound else { throw CommandError("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Writes `folder/job.toml` for a k = 2 job of one device at up to 36,000,000 per GPU-hour, 64 MiB, whose
/// bundle is the folder itself.
func writeJobFile(folder: String, name: String, command: [String], outputs: [String], maxDuration: String) throws {
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    func list(_ items: [String]) -> String { "[" + items.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
    try """
    name = "\(name)"
    runner = "process"
    command = \(list(command))
    bundle = "."
    outputs = \(list(outputs))
    max_price_per_gpu_hour = 36000000
    max_duration = "\(maxDuration)"
    redundancy = 2
    memory = "64MiB"
    [gpu]
    count = 1
    min_vram_gb = 0
    """.write(toFile: folder + "/job.toml", atomically: true, encoding: .utf8)
}

/// Waits until `count` providers are registered on the node; their list.
@discardableResult
func waitForProviders(_ count: Int, node: String, timeout: TimeInterval = 60) throws -> ProviderListJSON {
    let deadline = Date().addingTimeInterval(timeout)
    var last: ProviderListJSON? = nil
    while Date() < deadline {
        let out = try runSluice(["market", "asks", "--node", node, "--json"])
        last = try? APIJSON.decoder().decode(ProviderListJSON.self, from: Data(out.out.utf8))
        // Registered and proven: each device passed its first proof-of-GPU challenge (or the chain asks none).
        let proven = last?.providers.filter { $0.proofs.allSatisfy(\.eligible) }.count ?? 0
        if proven >= count, let last { return last }
        usleep(200_000)
    }
    throw CommandError(
        "\(last?.providers.count ?? 0) of \(count) providers registered, "
            + "\(last?.providers.filter { $0.proofs.allSatisfy(\.eligible) }.count ?? 0) proven after \(Int(timeout)) s"
    )
}

@Suite("Provider agents recover from being killed and from the node going away", .serialized)
struct ProviderRecoveryTests {
    func waitFor(_ what: String, timeout: TimeInterval = 60, _ check: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try check() { return }
            usleep(100_000)
        }
        throw CommandError("timed out waiting for \(what)")
    }

    @Test func killedMidJobRestartsAndNodeRestartIsSurvived() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-recover-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/devnet"
        let port = try freePort()
        let http = ["--http", "127.0.0.1:\(port)"]
        var devnet: DevnetProcess? = try DevnetProcess(binary: binary, data: data, extra: ["--providers", "0"] + http)
        defer { _ = devnet?.stop() }
        let node = try #require(devnet?.base)

        // Two providers of our own, funded by dev keys 1 and 2.
        var agents: [AgentProcess] = []
        for n in 1...2 {
            let key = "\(data)/keys/dev-\(n).json"
            agents.append(
                try AgentProcess(
                    binary: binary, node: node, key: key, work: "\(dir)/work-\(n)", log: "\(dir)/agent-\(n).log"))
        }
        defer { for a in agents where a.process.isRunning { a.kill(SIGKILL) } }
        try waitForProviders(2, node: node)

        // A job that runs for 3 seconds; agent 2 is killed while it runs and started again.
        let job = dir + "/slow"
        try writeJobFile(
            folder: job, name: "slow", command: ["sh", "-c", "sleep 3; echo done > out.txt"], outputs: ["out.txt"],
            maxDuration: "1m")
        let submitted = try runSluice([
            "job", "submit", job + "/job.toml", "--key", data + "/keys/dev-0.json", "--node", node,
        ])
        #expect(submitted.status == 0, "\(submitted.err)")
        let id = try #require(
            submitted.out.split(separator: "\n").first { $0.hasPrefix("job:") }?.split(separator: " ").last)
        try waitFor("agent 2 to start the job") { agents[1].text.contains("running on CPU") }
        agents[1].kill(SIGKILL)
        agents[1] = try AgentProcess(
            binary: binary, node: node, key: "\(data)/keys/dev-2.json", work: "\(dir)/work-2", log: "\(dir)/agent-2.log"
        )
        try waitFor("the job to settle", timeout: 90) {
            let out = try runSluice(["job", "status", String(id), "--node", node, "--json"])
            return out.out.contains("\"status\" : \"settled\"")
        }
        #expect(agents[1].text.contains("was running when the agent stopped: it runs again"), "\(agents[1].text)")

        // The node stops and comes back on the same port; both agents reconnect and take the next job.
        _ = devnet?.stop()
        devnet = nil
        usleep(1_500_000)
        devnet = try DevnetProcess(binary: binary, data: data, extra: ["--providers", "0"] + http)
        let again = try runSluice([
            "job", "submit", repositoryRoot.path + "/examples/simulation/job.toml", "--key", data + "/keys/dev-0.json",
            "--node", node, "--wait", "--out", dir + "/sim", "--job-timeout", "90s",
        ])
        #expect(again.status == 0, "\(again.out)\n\(again.err)\n\(agents[0].text)\n\(agents[1].text)")
        #expect(FileManager.default.fileExists(atPath: dir + "/sim/out/summary.json"))
        #expect(agents.allSatisfy { $0.text.contains("unavailable") }, "the agents never saw the node go away")
    }

    @Test func aProviderKilledForGoodIsSlashedAndItsSlotReMatched() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-rematch-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/devnet"
        // Commitments are due max_duration + 3 s after matching, so a dead provider is noticed quickly.
        let devnet = try DevnetProcess(
            binary: binary, data: data,
            extra: [
                "--providers", "0", "--accounts", "4", "--market", "commit_grace_seconds=3", "--market",
                "audit_probability_basis_points=0",
            ])
        defer { _ = devnet.stop() }
        var agents: [AgentProcess] = []
        for n in 1...3 {
            agents.append(
                try AgentProcess(
                    binary: binary, node: devnet.base, key: "\(data)/keys/dev-\(n).json", work: "\(dir)/work-\(n)",
                    log: "\(dir)/agent-\(n).log"))
        }
        defer { for a in agents where a.process.isRunning { a.kill(SIGKILL) } }
        try waitForProviders(3, node: devnet.base)
        let job = dir + "/slow"
        try writeJobFile(
            folder: job, name: "slow", command: ["sh", "-c", "sleep 2; echo done > out.txt"], outputs: ["out.txt"],
            maxDuration: "4s")
        let submitted = try runSluice([
            "job", "submit", job + "/job.toml", "--key", data + "/keys/dev-0.json", "--node", devnet.base,
        ])
        #expect(submitted.status == 0, "\(submitted.err)")
        let id = String(
            try #require(
                submitted.out.split(separator: "\n").first { $0.hasPrefix("job:") }?.split(separator: " ").last))
        // Whichever agent starts first dies for good.
        var victim = -1
        try waitFor("an agent to start the job") {
            victim = agents.firstIndex { $0.text.contains("running on CPU") } ?? -1
            return victim >= 0
        }
        agents[victim].kill(SIGKILL)
        let dead = try KeyFile.load(path: "\(data)/keys/dev-\(victim + 1).json")[0].address
        var final: JobJSON? = nil
        try waitFor("the job to settle without it", timeout: 90) {
            let out = try runSluice(["job", "status", id, "--node", devnet.base, "--json"])
            final = try? APIJSON.decoder().decode(JobJSON.self, from: Data(out.out.utf8))
            return final?.status == .settled
        }
        let settled = try #require(final)
        #expect(settled.failedProviders == [dead])
        #expect(!settled.assigned.contains { $0.provider == dead })
        #expect(settled.assigned.count == 2 && settled.assigned.allSatisfy { ($0.paid?.value ?? 0) > 0 })
        let shown = try runSluice(["provider", "show", dead.hex, "--node", devnet.base, "--json"])
        let record = try APIJSON.decoder().decode(ProviderJSON.self, from: Data(shown.out.utf8))
        #expect(record.stake == Amount(900_000) && record.jobsFailed == 1, "\(record)")
    }
}
