import Foundation
import SluiceAPI
import SluiceCore
import Testing

@testable import SluiceCommands

/// A temporary folder for one test's files.
struct Scratch {
    let dir: URL
    init() {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-t8n-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    func write(_ name: String, _ text: String) -> String {
        let p = path(name)
        try! Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
}

/// The `sluice` executable built next to the test bundle.
func sluiceBinary() -> String? {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("sluice").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

/// Runs the real `sluice` process: exit status, stdout, stderr.
func runSluice(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    guard let binary = sluiceBinary() else {
        throw CommandError("the sluice executable was not built next to the tests")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

let address1 = "0x" + String(repeating: "11", count: 32)
let address2 = "0x" + String(repeating: "22", count: 32)

@Suite("sluice t8n rejects bad input with a message naming the file, the index and the field")
struct T8nBadInputTests {
    func preError(_ json: String) -> String? {
        let s = Scratch()
        let file = s.write("pre.json", json)
        do {
            _ = try T8n.loadPreState(readFile(file), file: "pre.json")
            return nil
        } catch {
            return "\(error)"
        }
    }

    func txsError(_ json: String) -> String? {
        do {
            _ = try T8n.loadTransactions(Data(json.utf8), file: "txs.json", chainId: 1)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func account(_ address: String = address1, balance: String = "\"10\"", sequence: String = "0") -> String {
        "{\"address\": \"\(address)\", \"balance\": \(balance), \"sequence\": \(sequence)}"
    }

    @Test func malformedJSON() throws {
        let e = try #require(preError("{\"accounts\": ["))
        #expect(e.contains("pre.json") && e.contains("malformed JSON"))
    }

    @Test(arguments: [
        ("\"-1\"", "not a non-negative decimal"), ("\"1.5\"", "not a non-negative decimal"),
        ("\"abc\"", "not a non-negative decimal"),
        ("\"340282366920938463463374607431768211456\"", "larger than the maximum"), ("12", "decimal string"),
    ])
    func badBalance(balance: String, message: String) throws {
        let e = try #require(preError("{\"accounts\": [\(account()), \(account(address2, balance: balance))]}"))
        #expect(e.contains("pre.json: account 1, field balance"), "\(e)")
        #expect(e.contains(message), "\(e)")
    }

    @Test func badHexAndWrongLength() throws {
        let hex = try #require(preError("{\"accounts\": [\(account("0xzz" + String(repeating: "0", count: 62)))]}"))
        #expect(hex.contains("account 0, field address") && hex.contains("hex"), "\(hex)")
        let short = try #require(preError("{\"accounts\": [\(account("0x" + String(repeating: "ab", count: 31)))]}"))
        #expect(short.contains("account 0, field address") && short.contains("32 bytes"), "\(short)")
    }

    @Test func negativeSequence() throws {
        let e = try #require(preError("{\"accounts\": [\(account(sequence: "-3"))]}"))
        #expect(e.contains("account 0, field sequence") && e.contains("negative"), "\(e)")
        let f = try #require(preError("{\"accounts\": [\(account(sequence: "1.5"))]}"))
        #expect(f.contains("account 0, field sequence") && f.contains("integer"), "\(f)")
        let t = try #require(txsError("[{\"sender\": \"\(address1)\", \"sequence\": 0, \"gasLimit\": -20}]"))
        #expect(t.contains("transaction 0, field gasLimit") && t.contains("negative"), "\(t)")
    }

    @Test func duplicateAccounts() throws {
        let e = try #require(preError("{\"accounts\": [\(account()), \(account(address2)), \(account())]}"))
        #expect(e.contains("account 2, field address: duplicate of account 0"), "\(e)")
    }

    @Test func supplyOverUInt128() throws {
        let big = "\"340282366920938463463374607431768211455\""
        let e = try #require(
            preError("{\"accounts\": [\(account(balance: big)), \(account(address2, balance: "\"1\""))]}"))
        #expect(e.contains("account 1, field balance") && e.contains("total supply"), "\(e)")
    }

    @Test func badTransactionFields() throws {
        func tx(_ payload: String, sender: String = address1) -> String {
            "{\"sender\": \"\(sender)\", \"sequence\": 0, \"gasLimit\": 20, \"gasPrice\": 1, \"payload\": \(payload)}"
        }
        let good = tx("{\"type\": \"transfer\", \"to\": \"\(address2)\", \"amount\": \"5\"}")
        #expect(txsError("[\(good)]") == nil)
        let amount = try #require(
            txsError("[\(good), \(tx("{\"type\": \"transfer\", \"to\": \"\(address2)\", \"amount\": \"-5\"}"))]"))
        #expect(amount.contains("txs.json: transaction 1, field payload.amount"), "\(amount)")
        let type = try #require(txsError("[\(tx("{\"type\": \"mint\", \"to\": \"\(address2)\", \"amount\": \"5\"}"))]"))
        #expect(type.contains("transaction 0, field payload.type"), "\(type)")
        let missing = try #require(txsError("[\(good), \(good), {\"sender\": \"\(address1)\"}]"))
        #expect(missing.contains("transaction 2, field sequence: missing"), "\(missing)")
        let sender = try #require(
            txsError("[\(tx("{\"type\": \"transfer\", \"to\": \"\(address2)\", \"amount\": \"5\"}", sender: "0x12"))]"))
        #expect(sender.contains("transaction 0, field sender"), "\(sender)")
    }

    @Test func theProcessExitsNonZeroAndWritesNothing() throws {
        let s = Scratch()
        let pre = s.write("pre.json", "{\"accounts\": [\(account(balance: "\"-1\""))]}")
        let txs = s.write("txs.json", "[]")
        let r = try runSluice(["t8n", "--state", pre, "--txs", txs, "--out", s.path("post.json")])
        #expect(r.status != 0)
        #expect(r.err.contains("pre.json: account 0, field balance"), "\(r.err)")
        #expect(!s.exists("post.json"))
    }
}

@Suite("sluice t8n executes signed blocks identically on every path")
struct T8nExecutionTests {
    @Test func signedBlockGivesTheSamePostStateOnEveryThreadCount() throws {
        let s = Scratch()
        let keys = try [SigningKey(scheme: .ed25519), SigningKey(scheme: .ed25519), SigningKey(scheme: .mlDsa65)]
        let keysFile = s.path("keys.json")
        try writeFileAtomically(try prettyJSON(keys.map(KeyFile.init)), to: keysFile)
        let outsider = address2
        let pre = s.write(
            "pre.json",
            "{\"accounts\": ["
                + keys.map { "{\"address\": \"\($0.address.hex)\", \"balance\": \"1000\", \"sequence\": 0}" }
                .joined(separator: ", ") + "]}")
        var entries: [String] = []
        for i in 0..<60 {
            let from = keys[i % 3].address.hex
            let to = i % 5 == 0 ? outsider : keys[(i + 1) % 3].address.hex
            let amount = i % 7 == 0 ? "5000" : "\(i)"  // some fail for funds
            entries.append(
                "{\"sender\": \"\(from)\", \"sequence\": \(i / 3), \"gasLimit\": 20, \"gasPrice\": \(1 + i % 2), "
                    + "\"payload\": {\"type\": \"transfer\", \"to\": \"\(to)\", \"amount\": \"\(amount)\"}}")
        }
        let unsigned = s.write("unsigned.json", "[" + entries.joined(separator: ",") + "]")
        let signed = s.path("signed.json")
        let sign = try runSluice(["t8n", "--sign", "--keys", keysFile, "--txs", unsigned, "--out", signed])
        #expect(sign.status == 0, "\(sign.err)")

        var outputs: [String] = []
        for extra in [
            ["--sequential"], ["--threads", "1"], ["--threads", "2", "--force-parallel"],
            ["--threads", "4", "--force-parallel"],
        ] {
            let out = s.path("post-\(outputs.count).json")
            let r = try runSluice(["t8n", "--state", pre, "--txs", signed, "--out", out] + extra)
            #expect(r.status == 0, "\(r.err)")
            outputs.append(String(decoding: try readFile(out), as: UTF8.self))
        }
        #expect(Set(outputs).count == 1)
        let post = try JSONDecoder().decode(PostStateJSON.self, from: Data(outputs[0].utf8))
        #expect(post.receipts.count == 60)
        #expect(post.receipts.contains { $0.status == .failed })
        #expect(post.receipts.filter { $0.status == .success }.count > 30)
        #expect(post.accounts.map(\.address) == post.accounts.map(\.address).sorted())
        #expect(post.accounts.contains { $0.address == Address.treasury })
        let total = post.accounts.reduce(UInt128(0)) { $0 + $1.balance.value }
        #expect(total == 3000)

        // Without signatures every transaction is discarded with a reason; --no-verify accepts them.
        let out = s.path("unsigned-post.json")
        #expect(try runSluice(["t8n", "--state", pre, "--txs", unsigned, "--out", out]).status == 0)
        let rejected = try JSONDecoder().decode(PostStateJSON.self, from: try readFile(out))
        #expect(
            rejected.receipts.allSatisfy {
                $0.status == .discarded && $0.error == "the transaction has no authenticator"
            })
        #expect(try runSluice(["t8n", "--state", pre, "--txs", unsigned, "--out", out, "--no-verify"]).status == 0)
        let accepted = try JSONDecoder().decode(PostStateJSON.self, from: try readFile(out))
        #expect(accepted.stateRoot == post.stateRoot)
    }

    @Test func aTamperedSignatureDiscardsOnlyThatTransaction() throws {
        let key = try SigningKey(scheme: .ed25519)
        var txs = (0..<3).map { i in
            Transaction(
                chainId: 1, sender: key.address, sequence: UInt64(i), gasLimit: 20, gasPrice: 1,
                payload: .transfer(to: Address.treasury, amount: 1)
            ).signed(with: key)
        }
        txs[1].authenticator!.signature[0] ^= 1
        let pre = [StateKey.account(key.address): SluiceRuntimeValue.account(balance: 100)]
        let r = T8n.run(pre: pre, txs: txs, options: T8n.Options())
        #expect(r.post.receipts.map(\.status) == [.success, .discarded, .discarded])
        #expect(r.post.receipts[1].error == "the signature does not verify")
        #expect(r.post.receipts[2].error == "the sequence number is not the sender's next sequence")
    }
}
