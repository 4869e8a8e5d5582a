import Foundation
import SluiceCore
import SluiceExecution
import SluiceMerkle
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceStorage
import Testing

/// A fresh temporary data dir, removed at the end of the test.
final class TempDir {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-store-\(UUID().uuidString)").path
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

func account(_ i: Int) -> Address { Address(Hash.sha256(Array("store-account-\(i)".utf8))) }

/// Genesis with `accounts` accounts, then `blocks` blocks of random transfers. Returns the supply.
@discardableResult
func buildChain(_ store: ChainStore, accounts: Int = 50, blocks: Int = 4, blockSize: Int = 60, seed: UInt64 = 1) throws
    -> UInt128
{
    var genesis: [StateKey: StateValue] = [:]
    for i in 0..<accounts { genesis[.account(account(i))] = .account(AccountState(balance: 10_000, sequence: 0)) }
    if store.head == nil { _ = try store.commitGenesis(state: genesis, timestamp: 0) }
    let applier = BlockPipeline(
        store: store, executor: ParallelExecutor(vm: RuntimeVM(), threads: 2, policy: .forceParallel))
    var rng = SplitMix64(seed: seed)
    for _ in 0..<blocks {
        var next: [Int: UInt64] = [:]
        var txs: [Transaction] = []
        for _ in 0..<blockSize {
            let s = rng.below(accounts)
            let sequence = next[s] ?? store.read(.account(account(s)))!.account!.sequence
            next[s] = sequence + 1
            txs.append(
                Transaction(
                    chainId: store.chainId, sender: account(s), sequence: sequence, gasLimit: 10, gasPrice: 1,
                    payload: .transfer(to: account(rng.below(accounts + 5)), amount: Amount(UInt128(rng.below(3000))))))
        }
        _ = try applier.apply(txs, timestamp: store.head!.height + 1, verify: false)
    }
    return UInt128(accounts) * 10_000
}

@Suite("The chain store")
struct ChainStoreTests {
    @Test func restartKeepsEverything() throws {
        let dir = TempDir()
        var head: ChainHead?
        var values: [StateKey: StateValue?] = [:]
        do {
            let store = try ChainStore(path: dir.path, chainId: 9)
            try buildChain(store)
            head = store.head
            for i in 0..<55 { values[.account(account(i))] = store.read(.account(account(i))) }
        }
        let reopened = try ChainStore(path: dir.path, chainId: 9)
        #expect(reopened.head == head)
        #expect(head?.height == 4)
        for (k, v) in values { #expect(reopened.read(k) == v) }
        let report = try reopened.check()
        #expect(report.ok, "\(report.problems)")
        #expect(report.supply.value == 50 * 10_000)
        #expect(report.transactions == 4 * 60)
        // Every committed transaction is indexed with its receipt.
        let block = try #require(try reopened.block(at: 3))
        let location = try #require(try reopened.location(ofTransaction: block.transactions[5].hash))
        #expect(location == (3, 5))
        #expect(try reopened.receipt(height: 3, index: 5)?.transactionHash == block.transactions[5].hash)
    }

    /// A tree deep enough to use depth-8 pages, read back cold: proofs at the head and at an older block
    /// are the same as before the restart, and the next blocks update the tree from its pages.
    @Test func coldReadsOfTreePagesGiveTheSameProofsAndUpdates() throws {
        let dir = TempDir()
        let keys = (0..<3005).filter { $0 % 7 == 0 }.map { StateKey.account(account($0)) }
        var before: [StateProof] = []
        do {
            let store = try ChainStore(path: dir.path, chainId: 9)
            try buildChain(store, accounts: 3000, blocks: 3, blockSize: 400)
            for key in keys { before += [try store.proof(for: key), try store.proof(for: key, at: 1)] }
        }
        let reopened = try ChainStore(path: dir.path, chainId: 9)
        var after: [StateProof] = []
        for key in keys { after += [try reopened.proof(for: key), try reopened.proof(for: key, at: 1)] }
        #expect(after.count == before.count)
        for (a, b) in zip(after, before) {
            #expect(a.proof == b.proof && a.root == b.root && a.valueHash == b.valueHash)
            #expect(a.verify(against: a.root))
        }
        #expect(after.contains { $0.proof.siblings.count > 8 }, "the tree should reach below depth 8")
        try buildChain(reopened, accounts: 3000, blocks: 2, blockSize: 400, seed: 2)
        let report = try reopened.check()
        #expect(report.ok, "\(report.problems)")
        #expect(report.headHeight == 5)
    }

    @Test func storedRootMatchesTheRootOfTheValues() throws {
        let dir = TempDir()
        let store = try ChainStore(path: dir.path, chainId: 9)
        try buildChain(store, blocks: 3)
        var state: [StateKey: StateValue] = [:]
        for i in 0..<60 { if let v = store.read(.account(account(i))) { state[.account(account(i))] = v } }
        if let t = store.read(.account(.treasury)) { state[.account(.treasury)] = t }
        #expect(StateCommitment.root(of: state, threads: 2) == store.head?.state.root)
    }

    @Test func proofsOfPresentAndAbsentKeysVerifyAndTamperedOnesDoNot() throws {
        let dir = TempDir()
        let store = try ChainStore(path: dir.path, chainId: 9)
        try buildChain(store, blocks: 2)
        let present = try store.proof(for: .account(account(3)))
        #expect(present.value != nil)
        #expect(present.verify())
        #expect(present.verify(against: store.head!.state.root))
        #expect(!present.verify(against: .zero))
        let absent = try store.proof(for: .account(account(999)))
        #expect(absent.value == nil && absent.valueHash == nil)
        #expect(absent.verify())

        var wrongValue = present
        wrongValue.value = .account(AccountState(balance: 1, sequence: 0))
        #expect(!wrongValue.verify())
        var wrongHash = present
        wrongHash.value = nil
        wrongHash.valueHash = Hash.sha256([1, 2, 3])
        #expect(!wrongHash.verify())
        var claimsAbsent = present
        claimsAbsent.value = nil
        claimsAbsent.valueHash = nil
        #expect(!claimsAbsent.verify())
        var otherKey = present
        otherKey.key = .account(account(4))
        #expect(!otherKey.verify())
        if !present.proof.siblings.isEmpty {
            var tampered = present
            tampered.proof.siblings[0] = Hash.sha256(Array("x".utf8))
            #expect(!tampered.verify())
        }
        // An older block's state can still be proven (the tree keeps versions).
        let old = try store.proof(for: .account(account(3)), at: 1)
        #expect(old.verify(against: try store.root(at: 1)!.root))
    }

    @Test func refusesANewerSchema() throws {
        let dir = TempDir()
        do {
            let store = try ChainStore(path: dir.path, chainId: 9)
            try buildChain(store, blocks: 1)
            let batch = WriteBatch(store.database)
            batch.put("meta", Array("schema".utf8), [0, 0, 0, 99])
            try store.database.write(batch)
        }
        #expect { try ChainStore(path: dir.path, chainId: 9) } throws: { error in
            (error as? StorageError)?.code == .newerSchema && "\(error)".contains("upgrade sluice")
        }
    }

    @Test func refusesAnOlderSchema() throws {
        let dir = TempDir()
        do {
            let store = try ChainStore(path: dir.path, chainId: 9)
            try buildChain(store, blocks: 1)
            let batch = WriteBatch(store.database)
            batch.put("meta", Array("schema".utf8), [0, 0, 0, 2])
            try store.database.write(batch)
        }
        #expect { try ChainStore(path: dir.path, chainId: 9) } throws: { error in
            (error as? StorageError)?.code == .olderSchema && "\(error)".contains("data schema 2")
        }
    }

    @Test func refusesAnotherChain() throws {
        let dir = TempDir()
        do { try buildChain(try ChainStore(path: dir.path, chainId: 9), blocks: 1) }
        #expect { try ChainStore(path: dir.path, chainId: 10) } throws: { error in
            (error as? StorageError)?.code == .wrongChain && "\(error)".contains("holds chain 9")
        }
        // Tools open whatever chain is there.
        #expect(try ChainStore(path: dir.path, chainId: nil).chainId == 9)
    }

    @Test func refusesADirThatFailsItsIntegrityCheck() throws {
        let dir = TempDir()
        do {
            let store = try ChainStore(path: dir.path, chainId: 9)
            try buildChain(store, blocks: 2)
            let batch = WriteBatch(store.database)
            var h = store.head!.height.bigEndian
            batch.delete("blocks", withUnsafeBytes(of: &h) { Array($0) })
            try store.database.write(batch)
        }
        #expect { try ChainStore(path: dir.path, chainId: 9) } throws: { error in
            (error as? StorageError)?.code == .integrity && "\(error)".contains("db check")
        }
    }

    @Test func checkCatchesACorruptedValue() throws {
        let dir = TempDir()
        let store = try ChainStore(path: dir.path, chainId: 9)
        try buildChain(store, blocks: 2)
        #expect(try store.check().ok)
        let batch = WriteBatch(store.database)
        batch.put(
            "accounts", StateKey.account(account(7)).canonicalBytes,
            StateValue.account(AccountState(balance: 123_456_789, sequence: 0)).canonicalBytes)
        try store.database.write(batch)
        let report = try store.check()
        #expect(!report.ok)
        #expect(report.problems.contains { $0.contains("recomputed from the stored values") })
    }

    /// Listing a space reads the family its values live in: balances from `accounts`, in id order.
    @Test func listingBalancesReadsTheAccountsFamily() throws {
        let dir = TempDir()
        let store = try ChainStore(path: dir.path, chainId: 9)
        try buildChain(store, blocks: 1)
        let listed = try store.values(in: .bankAccount, limit: 5)
        #expect(listed.count == 5)
        #expect(listed.map(\.key.id) == listed.map(\.key.id).sorted())
        for (key, value) in listed { #expect(try store.value(key) == value) }
    }

    /// Balances live in `accounts`, where reads look; one found in `state` is reported, not counted.
    @Test func checkCatchesAValueInTheWrongFamily() throws {
        let dir = TempDir()
        let store = try ChainStore(path: dir.path, chainId: 9)
        try buildChain(store, blocks: 1)
        let key = StateKey.account(account(3))
        let stored = try #require(try store.value(key))
        let batch = WriteBatch(store.database)
        batch.delete("accounts", key.canonicalBytes)
        batch.put("state", key.canonicalBytes, stored.canonicalBytes)
        try store.database.write(batch)
        #expect(try store.value(key) == nil)
        let report = try store.check()
        #expect(report.problems.contains { $0.contains("stored in the state family") })
    }

    @Test func commitRejectsABlockThatDoesNotExtendTheHead() throws {
        let dir = TempDir()
        let store = try ChainStore(path: dir.path, chainId: 9)
        try buildChain(store, blocks: 1)
        let head = store.head!
        let header = BlockHeader(
            chainId: 9, height: head.height + 2, parentHash: head.blockHash, timestamp: 1, proposer: .treasury,
            transactionsRoot: Block.transactionsRoot([]), parentStateRoot: head.state.root,
            parentReceiptsRoot: head.receiptsRoot)
        #expect(throws: StorageError.self) {
            try store.commit(block: Block(header: header, transactions: []), receipts: [], writes: [])
        }
        var wrongParent = header
        wrongParent.height = head.height + 1
        wrongParent.parentHash = .zero
        #expect(throws: StorageError.self) {
            try store.commit(block: Block(header: wrongParent, transactions: []), receipts: [], writes: [])
        }
        #expect(store.head == head)
        #expect(try store.check().ok)
    }

    @Test func snapshotsRoundTripAndTamperedOnesAreRefused() throws {
        let dir = TempDir()
        let store = try ChainStore(path: dir.path, chainId: 9)
        try buildChain(store, blocks: 3)
        let file = URL(fileURLWithPath: dir.path + "-snapshot")
        defer { try? FileManager.default.removeItem(at: file) }
        let count = try store.exportSnapshot(to: file)
        #expect(count > 50)

        let target = TempDir()
        let imported = try ChainStore.importSnapshot(from: file, into: target.path)
        #expect(imported.head == store.head)
        #expect(imported.read(.account(account(1))) == store.read(.account(account(1))))
        let report = try imported.check()
        #expect(report.ok, "\(report.problems)")
        #expect(try imported.proof(for: .account(account(1))).verify(against: store.head!.state.root))

        // Flip one byte of the last value: the root no longer matches and the import is refused.
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: file)
        let other = TempDir()
        #expect(throws: StorageError.self) { try ChainStore.importSnapshot(from: file, into: other.path) }
    }
}

@Suite("Opening data dirs")
struct OpeningTests {
    @Test func toolsDoNotCreateMissingDirs() throws {
        let dir = TempDir()
        #expect { try ChainStore(path: dir.path, chainId: nil) } throws: { error in
            (error as? StorageError)?.code == .notFound
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path))
    }
}
