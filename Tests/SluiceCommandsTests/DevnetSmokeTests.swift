import Foundation
import SluiceAPI
import SluiceClient
import SluiceCore
import Synchronization
import Testing

@testable import SluiceCommands

#if canImport(Glibc)
    import Glibc
#endif

/// A `sluice devnet` process: started on a free port, its output collected, stopped with a signal.
final class DevnetProcess: Sendable {
    let process: Process
    private final class Buffer: Sendable {
        let text = Mutex("")
        func append(_ s: String) { text.withLock { $0 += s } }
        func read<T>(_ body: (String) -> T) -> T { text.withLock { body($0) } }
    }
    private let output = Buffer()
    let base: String

    init(binary: String, data: String, extra: [String] = ["--providers", "0"]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments =
            ["devnet", "--data", data, "--http", "127.0.0.1:0", "--accounts", "3", "--block-time", "100ms"] + extra
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { output.append(String(decoding: data, as: UTF8.self)) }
        }
        try p.run()
        process = p
        // The banner names the API's URL once the server listens.
        let deadline = Date().addingTimeInterval(60)
        var found: String? = nil
        while Date() < deadline && found == nil && p.isRunning {
            found = output.read { text in
                text.split(separator: "\n").first { $0.contains("API:") }
                    .flatMap { line in line.split(separator: " ").first { $0.hasPrefix("http://") } }
                    .map { String($0.dropLast("/v1/status".count)) }
            }
            if found == nil { usleep(50_000) }
        }
        guard let found else {
            p.terminate()
            throw CommandError("the devnet did not start: \(output.read { $0 })")
        }
        base = found
    }

    var text: String { output.read { $0 } }

    /// Sends `signal` and waits for the process to exit; returns its exit status.
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        usleep(100_000)  // the last output
        return process.terminationStatus
    }
}

@Suite("sluice devnet end to end, real processes", .serialized)
struct DevnetSmokeTests {
    /// Two senders with one key (an agent restarted while its last transactions wait, or the CLI beside the
    /// agent): the one whose cached sequence another took reads the account again and goes on; a sequence
    /// named by the caller is never changed.
    @Test func sendersSharingAKeyFindTheNextSequence() async throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-sender-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let devnet = try DevnetProcess(binary: binary, data: dir + "/devnet")
        defer { _ = devnet.stop() }
        let client = try SluiceClient(baseURL: devnet.base)
        let key = try KeyFile.load(path: dir + "/devnet/keys/dev-0.json")[0]
        let a = TransactionSender(client: client, key: key)
        let b = TransactionSender(client: client, key: key)
        let to = Address(Hash.sha256([7]))
        let start = try await client.account(key.address).nextSequence
        let first = try await a.send(.transfer(to: to, amount: Amount(1)))  // a: start, then caches start + 1
        let second = try await b.send(.transfer(to: to, amount: Amount(2)))  // b reads start + 1 (pending counted)
        let third = try await a.send(.transfer(to: to, amount: Amount(3)))  // start + 1 is taken: a reads again
        await #expect(throws: ClientError.self) {
            _ = try await a.send(sequence: start) { _, _ in .transfer(to: to, amount: Amount(4)) }
        }
        var sequences: [UInt64] = []
        for hash in [first, second, third] {
            let status = try await client.waitForCommit(hash, timeout: .seconds(30))
            #expect(status.receipt?.status == .success, "\(status)")
            sequences.append(try #require(status.transaction).sequence)
        }
        #expect(sequences == [start, start + 1, start + 2])
        #expect(try await client.account(to).balance == Amount(6))
    }

    @Test func transferReadProveStopRestartRead() throws {
        let binary = try #require(sluiceBinary(), "the sluice executable was not built next to the tests")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-devnet-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let data = dir + "/devnet"

        var devnet = try DevnetProcess(binary: binary, data: data)
        #expect(devnet.text.contains("ws://127.0.0.1:"))
        #expect(devnet.text.contains("/metrics"))

        // A new key, funded by a dev key through the CLI.
        let keys = try runSluice(["keys", "new", "--out", dir + "/alice.json"])
        #expect(keys.status == 0, "\(keys.err)")
        let keyFile = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: dir + "/alice.json")))
        let alice = try #require((keyFile as? [String: Any])?["address"] as? String)

        let transfer = try runSluice([
            "tx", "transfer", "--node", devnet.base, "--key", data + "/keys/dev-0.json", "--to", alice, "--amount",
            "12345", "--wait", "--json",
        ])
        #expect(transfer.status == 0, "\(transfer.out) \(transfer.err)")
        let receipt = try JSONSerialization.jsonObject(with: Data(transfer.out.utf8)) as? [String: Any]
        #expect(receipt?["status"] as? String == "committed")
        let hash = try #require(receipt?["hash"] as? String)

        func balance(_ base: String) throws -> String? {
            let shown = try runSluice(["account", "show", alice, "--node", base, "--json"])
            #expect(shown.status == 0, "\(shown.err)")
            return (try JSONSerialization.jsonObject(with: Data(shown.out.utf8)) as? [String: Any])?["balance"]
                as? String
        }
        #expect(try balance(devnet.base) == "12345")

        // The proof is verified by the CLI against the root it names before it prints anything.
        let proof = try runSluice(["account", "proof", alice, "--node", devnet.base, "--json"])
        #expect(proof.status == 0, "\(proof.err)")
        let proofFile = dir + "/proof.json"
        try Data(proof.out.utf8).write(to: URL(fileURLWithPath: proofFile))
        let verified = try runSluice(["state", "verify", "--proof", proofFile])
        #expect(verified.status == 0, "\(verified.out) \(verified.err)")

        // A transaction the mempool refuses (a sequence far ahead) prints the node's reason and changes nothing.
        let refused = try runSluice([
            "tx", "transfer", "--node", devnet.base, "--key", dir + "/alice.json", "--to", alice, "--amount", "1",
            "--sequence", "1000",
        ])
        #expect(refused.status != 0)
        #expect(refused.err.contains("sequence_too_far_ahead"), "\(refused.err)")
        #expect(try balance(devnet.base) == "12345")

        // SIGTERM stops it cleanly; the same command goes on from the stored head.
        let status = devnet.stop(signal: SIGTERM)
        #expect(status == 0, "exit status \(status): \(devnet.text)")
        #expect(devnet.text.contains("stopped at height"))
        let stoppedAt = devnet.text.split(separator: "\n").first { $0.hasPrefix("stopped at height") }
            .flatMap { UInt64($0.split(separator: " ")[3].trimmingCharacters(in: .punctuationCharacters)) }

        devnet = try DevnetProcess(binary: binary, data: data)
        #expect(try balance(devnet.base) == "12345")
        let shown = try runSluice(["tx", "show", hash, "--node", devnet.base, "--json"])
        #expect(shown.status == 0, "\(shown.err)")
        #expect(shown.out.contains("\"committed\""))
        let status2 = try runSluice(["status", "--node", devnet.base, "--json"])
        let height =
            (try JSONSerialization.jsonObject(with: Data(status2.out.utf8)) as? [String: Any])?["height"] as? Int
        #expect(height != nil && UInt64(height!) >= (stoppedAt ?? 1))
        let status3 = devnet.stop(signal: SIGINT)
        #expect(status3 == 0, "exit status \(status3): \(devnet.text)")
    }
}
