import Foundation
import FoundationNetworking
import SluiceAPI
import SluiceCore
import Testing

@testable import SluiceCommands

// Issue #15 with real processes: four `sluice node run` validators on loopback, written by `sluice testnet
// init`, talking over their TLS validator network. Transfers commit; every validator holds the same block at
// every height; SIGKILL of one validator at a time (the last proposer half of the time) neither stops nor
// forks the chain; with two of four killed nothing commits, and the chain resumes when they come back; a
// validator down for a while catches up while the others go on.

/// A `sluice node run --config` process with its output in a file (appended to across restarts).
final class ValidatorProcess {
    let binary: String
    let config: String
    let log: String
    let api: String
    private(set) var process: Process?

    init(binary: String, config: String, log: String, api: String) {
        self.binary = binary
        self.config = config
        self.log = log
        self.api = api
    }

    func start() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["node", "run", "--config", config]
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try #require(FileHandle(forWritingAtPath: log))
        handle.seekToEndOfFile()
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        process = p
    }

    var running: Bool { process?.isRunning ?? false }

    func kill() {
        guard let p = process else { return }
        Glibc.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    var text: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
}

/// A GET answered within five seconds, decoded; nil when nothing (or no 200) answers. Synchronous, on
/// URLSession's own threads: the tests here block rather than await, because on two cores the suite's
/// blocking tests can hold every thread of the cooperative pool for a minute (an awaiting test measured its
/// timeouts against a clock while it could not run, and failed).
func getJSON<T: Decodable>(_ type: T.Type, _ url: String) -> T? {
    guard let u = URL(string: url) else { return nil }
    var request = URLRequest(url: u)
    request.timeoutInterval = 5
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var body: Data? = nil
    URLSession.shared.dataTask(with: request) { data, response, _ in
        if (response as? HTTPURLResponse)?.statusCode == 200 { body = data }
        done.signal()
    }.resume()
    done.wait()
    return body.flatMap { try? APIJSON.decoder().decode(T.self, from: $0) }
}

@Suite("Four validators in real processes", .serialized)
struct MultiValidatorTests {
    /// Executed height of a validator, nil when it does not answer.
    func height(_ v: ValidatorProcess) -> UInt64? {
        v.running ? getJSON(StatusJSON.self, v.api + "/v1/status")?.height : nil
    }

    func heights(_ vs: [ValidatorProcess]) -> [UInt64?] { vs.map(height) }

    func waitFor(_ what: @autoclosure () -> String, timeout: TimeInterval, _ check: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try check() { return }
            usleep(100_000)
        }
        throw CommandError("timed out after \(Int(timeout)) s waiting for \(what())")
    }

    /// Every block up to the lowest head, on every validator given: one hash per height.
    func expectOneChain(_ vs: [ValidatorProcess]) throws -> UInt64 {
        let top = try #require(heights(vs).reduce(UInt64.max) { m, h in h.map { min(m, $0) } ?? 0 })
        for h in 1...max(top, 1) {
            let blocks = vs.map { getJSON(BlockJSON.self, $0.api + "/v1/blocks/\(h)") }
            #expect(blocks.allSatisfy { $0 != nil }, "a validator lacks block \(h)")
            let hashes = Set(blocks.compactMap { $0?.hash })
            let roots = Set(blocks.compactMap { $0?.stateRoot })
            #expect(hashes.count == 1 && roots.count == 1, "validators differ at height \(h)")
            if hashes.count != 1 { break }
        }
        return top
    }

    @Test func fourValidatorsAgreeSurviveKillsHaltWithoutAQuorumAndCatchUp() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bft-\(UUID().uuidString)").path
        // Removed at the end only when everything held: a failure leaves the logs and data dirs to read.
        let http = try freeLoopbackPorts(4)
        var p2p = try freeLoopbackPorts(4)
        while abs(p2p - http) < 4 { p2p = try freeLoopbackPorts(4) }
        let made = try runSluice([
            "testnet", "init", "--validators", "4", "--out", dir + "/net", "--http-port", "\(http)", "--p2p-port",
            "\(p2p)", "--accounts", "4", "--json",
        ])
        try #require(made.status == 0, "\(made.err)")
        let validators = (0..<4).map { i in
            ValidatorProcess(
                binary: binary, config: "\(dir)/net/validator-\(i)/node.toml", log: "\(dir)/v\(i).log",
                api: "http://127.0.0.1:\(http + i)")
        }
        defer { for v in validators { v.kill() } }
        func logs() -> String {
            "(files kept in \(dir))\n"
                + validators.enumerated().map { i, v in
                    let size = (try? FileManager.default.attributesOfItem(atPath: v.log)[.size] as? Int) ?? -1
                    return
                        "--- v\(i) running \(v.running) pid \(v.process?.processIdentifier ?? 0), log \(size) bytes\n"
                        + v.text.suffix(3000)
                }.joined()
        }
        for v in validators { try v.start() }
        try waitFor("four validators to commit blocks\n\(logs())", timeout: 60) {
            heights(validators).allSatisfy { ($0 ?? 0) >= 3 }
        }

        // A transfer sent to each validator commits (whichever validator leads, it has the transaction).
        let to = "0x" + String(repeating: "5a", count: 32)
        var sent: UInt64 = 0
        func transfer(through v: ValidatorProcess, key: Int) throws {
            let out = try runSluice([
                "tx", "transfer", "--key", "\(dir)/net/keys/dev-\(key).json", "--to", to, "--amount", "7", "--node",
                v.api, "--wait", "--timeout", "60s",
            ])
            #expect(out.status == 0, "\(out.out)\n\(out.err)")
            if out.status == 0 { sent += 7 }
        }
        for (i, v) in validators.enumerated() { try transfer(through: v, key: i) }
        let status = try #require(getJSON(StatusJSON.self, validators[0].api + "/v1/status"))
        let consensus = try #require(status.consensus, "a validator's status has no consensus part")
        #expect(consensus.validators == 4 && consensus.round > 0 && consensus.committedHeight >= status.height)
        #expect(Set(consensus.connectedPeers).count == 3 && !consensus.connectedPeers.contains(consensus.validator))

        // SIGKILL one validator at a time, twenty times at random moments; every other kill takes the proposer
        // of the newest block. Each time the other three go on (the longest wait for two more blocks is
        // reported), and the killed one is started again and catches up before the next kill.
        let addresses = try (0..<4).map { i in
            try loadSigningKey(path: "\(dir)/net/validator-\(i)/key.json", from: nil).address
        }
        var rng = SystemRandomNumberGenerator()
        var longestStall = 0.0
        for round in 0..<20 {
            usleep(UInt32.random(in: 0..<800_000, using: &rng))
            var victim = Int.random(in: 0..<4, using: &rng)
            if round % 2 == 0, let head = getJSON(BlockJSON.self, validators[0].api + "/v1/blocks/latest"),
                let i = addresses.firstIndex(of: head.proposer)
            {
                victim = i
            }
            validators[victim].kill()
            let others = validators.indices.filter { $0 != victim }.map { validators[$0] }
            let before = heights(others).compactMap { $0 }.max() ?? 0
            let killedAt = Date()
            try waitFor(
                "the chain to go on without validator \(victim) (kill \(round + 1))\n\(logs())", timeout: 60
            ) {
                heights(others).allSatisfy { ($0 ?? 0) >= before + 2 }
            }
            longestStall = max(longestStall, Date().timeIntervalSince(killedAt))
            try validators[victim].start()
            try waitFor("validator \(victim) to catch up (kill \(round + 1))\n\(logs())", timeout: 60) {
                let top = heights(others).compactMap { $0 }.min() ?? 0
                return (height(validators[victim]) ?? 0) >= top
            }
            if round % 5 == 4 { try transfer(through: validators[(victim + 1) % 4], key: round % 4) }
        }
        print("four validators: the longest wait for two blocks after a SIGKILL was \(longestStall) s")
        // Timing here is noisy (four nodes and the rest of the suite on two cores): the bound catches a stall.
        #expect(longestStall < 30, "the chain stood still \(longestStall) s after a kill")
        _ = try expectOneChain(validators)

        // Two of four killed: there is no quorum, nothing commits; both back: the chain resumes.
        validators[1].kill()
        validators[2].kill()
        let survivors = [validators[0], validators[3]]
        sleep(1)  // what was certified before the kill may still commit
        let halted = heights(survivors)
        sleep(4)
        #expect(heights(survivors) == halted, "the chain went on with half the validators")
        try validators[1].start()
        try validators[2].start()
        let stopped = halted.compactMap { $0 }.max() ?? 0
        let restartedAt = Date()
        try waitFor("the chain to resume after the restart\n\(logs())", timeout: 90) {
            heights(validators).allSatisfy { ($0 ?? 0) > stopped + 2 }
        }
        let resumed = Date().timeIntervalSince(restartedAt)
        print("four validators: resumed \(resumed) s after two of four were restarted")

        // One validator down for a while (about 20 blocks) catches up while the others keep going.
        validators[3].kill()
        let downFrom = heights([validators[0]])[0] ?? 0
        try waitFor("twenty blocks without validator 3", timeout: 60) {
            (height(validators[0]) ?? 0) >= downFrom + 20
        }
        try validators[3].start()
        let target = (height(validators[0]) ?? 0) + 5
        try waitFor("validator 3 to catch up\n\(logs())", timeout: 60) {
            (height(validators[3]) ?? 0) >= target
        }
        try transfer(through: validators[3], key: 3)

        // One chain everywhere, and the transfers' total arrived on every validator.
        let top = try expectOneChain(validators)
        #expect(top > 40)
        for v in validators {
            let account = getJSON(AccountInfoJSON.self, v.api + "/v1/accounts/\(to)")
            #expect(account?.balance == Amount(UInt128(sent)), "\(v.api)")
        }
        for v in validators { v.kill() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// `sluice devnet --validators 3`: three validators agree; a child killed is reported, not restarted; the
    /// devnet stops its children with it.
    @Test func aDevnetOfThreeValidatorsSupervisesItsChildren() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-dev3-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let devnet = try DevnetProcess(
            binary: binary, data: dir + "/devnet", extra: ["--providers", "0", "--validators", "3"])
        defer { _ = devnet.stop(signal: SIGKILL) }
        let port = try #require(Int(devnet.base.split(separator: ":").last ?? ""))
        let apis = (0..<3).map { "http://127.0.0.1:\(port + $0)" }
        func height(_ api: String) -> UInt64 { getJSON(StatusJSON.self, api + "/v1/status")?.height ?? 0 }
        try waitFor("three validators to commit blocks\n\(devnet.text)", timeout: 60) {
            apis.allSatisfy { height($0) >= 3 }
        }
        let status = try #require(getJSON(StatusJSON.self, apis[0] + "/v1/status"))
        #expect(status.consensus?.validators == 3, "\(status)")

        // A transfer through validator 0 is on validator 2, in the same block.
        let sent = try runSluice([
            "tx", "transfer", "--key", dir + "/devnet/keys/dev-0.json", "--to",
            "0x" + String(repeating: "5b", count: 32),
            "--amount", "5", "--node", apis[0], "--wait", "--timeout", "60s",
        ])
        #expect(sent.status == 0, "\(sent.out)\n\(sent.err)")
        let top = height(apis[0])
        try waitFor("validator 2 to reach height \(top)", timeout: 60) { height(apis[2]) >= top }
        let first = getJSON(BlockJSON.self, apis[0] + "/v1/blocks/\(top)")
        #expect(first != nil && first?.hash == getJSON(BlockJSON.self, apis[2] + "/v1/blocks/\(top)")?.hash)

        // The children's pids are in the banner; one killed is reported and stays down.
        func pid(_ i: Int) throws -> Int32 {
            let line = try #require(devnet.text.split(separator: "\n").first { $0.contains("validator-\(i)  pid ") })
            let words = line.split(separator: " ")
            return try #require(words.firstIndex(of: "pid").flatMap { Int32(words[$0 + 1]) })
        }
        let (one, two) = (try pid(1), try pid(2))
        kill(two, SIGKILL)
        try waitFor("the devnet to report validator 2\n\(devnet.text)", timeout: 30) {
            devnet.text.contains("devnet: validator 2 (pid \(two)) was killed by signal 9; it is not restarted")
        }
        #expect(kill(two, 0) != 0)
        #expect(kill(one, 0) == 0, "validator 1 went down with validator 2")

        // Stopping the devnet stops validator 1 too.
        #expect(devnet.stop() == 0, "\(devnet.text)")
        try waitFor("validator 1 to stop with the devnet", timeout: 30) { kill(one, 0) != 0 }
    }
}
