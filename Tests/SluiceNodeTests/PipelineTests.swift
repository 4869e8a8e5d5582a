import Foundation
import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceStorage
import Testing

// The block pipeline takes a block it did not make: another node's proposal executes and commits to the
// same state root and receipts root, and a block whose claims are wrong (its parent, the parent's state
// root or receipts root, its transactions root, its height or chain) is refused before anything runs, with
// nothing written.

/// Two nodes' stores from the same genesis, and their pipelines.
private struct TwoNodes {
    let dirs: [String]
    let stores: [ChainStore]
    let pipelines: [BlockPipeline]
    let senders = [TestSender(), TestSender()]

    init() throws {
        var dirs: [String] = []
        var stores: [ChainStore] = []
        for _ in 0..<2 {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
                "sluice-pipeline-\(UUID().uuidString)"
            )
            .path
            let store = try ChainStore(path: dir, chainId: testChain)
            dirs.append(dir)
            stores.append(store)
        }
        for store in stores {
            var state: [StateKey: StateValue] = [:]
            for s in senders { state[.account(s.address)] = .account(AccountState(balance: 1_000_000, sequence: 0)) }
            _ = try store.commitGenesis(state: state, timestamp: 0)
        }
        self.dirs = dirs
        self.stores = stores
        pipelines = stores.map { BlockPipeline(store: $0, executor: ParallelExecutor(vm: RuntimeVM(), threads: 2)) }
    }

    func remove() {
        for store in stores { store.close() }
        for dir in dirs { try? FileManager.default.removeItem(atPath: dir) }
    }
}

@Suite("Execute and validate: a block someone else made")
struct PipelineTests {
    @Test func anotherNodesBlockCommitsToTheSameRoots() throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        let (a, b) = (nodes.pipelines[0], nodes.pipelines[1])
        for height in 1...3 {
            let txs = nodes.senders.map { $0.tx(UInt64(height - 1), amount: UInt128(height)) }
            let block = try a.propose(txs, timestamp: UInt64(height))
            let mine = try a.executeAndCommit(block, verify: false)
            // The other node checks the signatures it never saw admitted.
            let theirs = try b.executeAndCommit(block, verify: true)
            #expect(mine.head == theirs.head, "block \(height)")
            #expect(mine.receipts == theirs.receipts && mine.blockEnd == theirs.blockEnd)
            #expect(mine.receipts.allSatisfy { $0.status == .success && $0.events.count == 1 })
        }
        // Each header carries its parent's receipts root, as each node computed it.
        let third = try #require(try nodes.stores[1].block(at: 3))
        let second = try #require(try nodes.stores[1].receiptProof(height: 2, index: 0))
        #expect(third.header.parentReceiptsRoot == second.root)
    }

    @Test(arguments: [
        "parent hash", "parent state root", "parent receipts root", "transactions root", "height", "chain",
    ])
    func aBlockWithAWrongClaimIsRefusedAndNothingIsWritten(claim: String) throws {
        let nodes = try TwoNodes()
        defer { nodes.remove() }
        let pipeline = nodes.pipelines[0]
        let store = nodes.stores[0]
        _ = try pipeline.apply([nodes.senders[0].tx(0)], timestamp: 1, verify: false)
        let head = try #require(store.head)
        var block = try pipeline.propose([nodes.senders[0].tx(1), nodes.senders[1].tx(0)], timestamp: 2)
        let wrong = Hash.sha256(Array("wrong".utf8))
        switch claim {
        case "parent hash": block.header.parentHash = wrong
        case "parent state root": block.header.parentStateRoot = wrong
        case "parent receipts root": block.header.parentReceiptsRoot = wrong
        case "transactions root": block.transactions.removeLast()
        case "height": block.header.height += 1
        default: block.header.chainId += 1
        }
        let error = #expect(throws: StorageError.self) { try pipeline.executeAndCommit(block, verify: true) }
        #expect(error?.code == .invalid, "\(String(describing: error))")
        #expect(error?.message.contains("nothing was executed or committed") == true, "\(String(describing: error))")
        #expect(store.head == head)
        #expect(try store.block(at: head.height + 1) == nil)
        #expect(store.read(.account(nodes.senders[1].address))?.account?.sequence == 0)
        #expect(try store.location(ofTransaction: nodes.senders[1].tx(0).hash) == nil)
        // The same transactions in a right block commit.
        let good = try pipeline.propose([nodes.senders[0].tx(1), nodes.senders[1].tx(0)], timestamp: 2)
        #expect(try pipeline.executeAndCommit(good, verify: true).head.height == head.height + 1)
    }
}
