import Foundation
import SluiceAPI
import SluiceCore
import SluiceRuntime
import SluiceState
import Testing

@testable import SluiceCommands

@Suite("node.toml")
struct NodeSettingsTests {
    func write(_ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-toml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("node.toml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func message(_ text: String) throws -> String {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        do {
            _ = try NodeSettings.load(path: path)
            return "loaded"
        } catch {
            return "\(error)"
        }
    }

    @Test func writtenSettingsReadBackEqual() throws {
        let a = Address(Hash.sha256([1]))
        let b = Address(Hash.sha256([2]))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-toml-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let settings = NodeSettings(
            chainId: 42, dataDir: dir + "/chain", blobsDir: dir + "/store/blobs", host: "127.0.0.1", port: 9000,
            blockTime: .milliseconds(125),
            maxBlockSize: 500, mempoolCapacity: 1234,
            genesis: [
                AccountJSON(address: a, balance: 10, sequence: 0),
                AccountJSON(address: b, balance: Amount(UInt128.max / 4), sequence: 0),
            ])
        var changed = settings
        changed.market.commitGraceSeconds = 7
        changed.market.disputeBond = 12_345
        changed.market.emissionPerEpoch = 777
        changed.market.epochBlocks = 99
        changed.market.providerShareBasisPoints = 6_000
        changed.market.uptimeSlotBlocks = 30
        let path = dir + "/node.toml"
        try Data(changed.toml(relativeTo: dir).utf8).write(to: URL(fileURLWithPath: path))
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("data = \"chain\""))
        #expect(try NodeSettings.load(path: path) == changed)
        // Two accounts and the market's parameters.
        let genesis = try changed.genesisState()
        #expect(genesis.count == 3)
        #expect(genesis[.marketParameters] == .marketParameters(changed.market))
    }

    @Test func relativeDataIsRelativeToTheFile() throws {
        let path = try write("chain_id = 1\ndata = \"here\"\n")
        let dir = (path as NSString).deletingLastPathComponent
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let s = try NodeSettings.load(path: path)
        #expect(s.dataDir == URL(fileURLWithPath: dir + "/here").standardizedFileURL.path)
        #expect(s.port == 8645 && s.blockTime == .milliseconds(250) && s.genesis.isEmpty)
    }

    @Test(arguments: [
        ("chain_id = 1\ndata = \"x\"\nblock_tme = \"1s\"\n", "unknown key 'block_tme'"),
        ("data = \"x\"\n", "key 'chain_id': missing"),
        ("chain_id = 1\n", "key 'data': missing"),
        ("chain_id = -1\ndata = \"x\"\n", "key 'chain_id': expected an integer ≥ 0"),
        ("chain_id = 1\ndata = \"x\"\nhttp = \"127.0.0.1:99999\"\n", "key 'http'"),
        ("chain_id = 1\ndata = \"x\"\nblock_time = \"fast\"\n", "key 'block_time'"),
        ("chain_id = 1\ndata = \"x\"\nmax_block_size = 0\n", "key 'max_block_size'"),
        ("chain_id = 1\ndata = 7\n", "key 'data': expected a string"),
        (
            "chain_id = 1\ndata = \"x\"\n[[genesis.accounts]]\naddress = \"0x12\"\nbalance = \"1\"\n",
            "genesis.accounts[0]"
        ),
        ("chain_id = 1\ndata = \"x\"\n[[genesis.accounts]]\nbalance = \"1\"\n", "needs address"),
        ("chain_id = 1\ndata = \"x\"\nthis is not toml\n", "node.toml:3:"),
        (
            "chain_id = 1\ndata = \"x\"\n[market]\ncomit_grace_seconds = 3\n",
            "unknown market parameter 'comit_grace_seconds'"
        ),
        ("chain_id = 1\ndata = \"x\"\n[market]\nfee_basis_points = 20000\n", "key 'market'"),
        ("chain_id = 1\ndata = \"x\"\n[market]\nmax_audit_rounds = 300\n", "key 'market.max_audit_rounds'"),
        ("chain_id = 1\ndata = \"x\"\n[market]\ndispute_bond = \"lots\"\n", "is not an amount"),
        ("chain_id = 1\ndata = \"x\"\n[market]\nprovider_share_basis_points = 10001\n", "key 'market'"),
        ("chain_id = 1\ndata = \"x\"\n[market]\nepoch_blocks = 0\n", "key 'market'"),
    ])
    func badConfigsNameTheKey(text: String, expected: String) throws {
        let m = try message(text)
        #expect(m.contains(expected), "\(m)")
    }

    @Test func duplicateGenesisAccountsAreRefused() throws {
        let a = Address(Hash.sha256([1])).hex
        let path = try write(
            """
            chain_id = 1
            data = "x"
            [[genesis.accounts]]
            address = "\(a)"
            balance = "1"
            [[genesis.accounts]]
            address = "\(a)"
            balance = "2"
            """)
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let s = try NodeSettings.load(path: path)
        #expect(throws: (any Error).self) { try s.genesisState() }
    }

    @Test(arguments: [("250ms", 250), ("1s", 1000), ("1.5s", 1500), ("2m", 120_000), ("1h", 3_600_000)])
    func blockTimes(text: String, millis: Int64) throws {
        #expect(try parseBlockTime(text) == .milliseconds(millis))
    }

    @Test(arguments: ["0ms", "-1s", "fast", "2h", "5000s"])
    func badBlockTimes(text: String) {
        #expect(throws: (any Error).self) { try parseBlockTime(text) }
    }

    @Test func hostPort() throws {
        for (text, host, port) in [
            ("127.0.0.1:8645", "127.0.0.1", 8645), (":0", "127.0.0.1", 0), ("9000", "127.0.0.1", 9000),
        ] {
            let parsed = try parseHostPort(text)
            #expect(parsed.0 == host && parsed.1 == port, "\(text)")
        }
        #expect(throws: (any Error).self) { try parseHostPort("a:b:c") }
        #expect(throws: (any Error).self) { try parseHostPort("127.0.0.1:70000") }
    }
}
