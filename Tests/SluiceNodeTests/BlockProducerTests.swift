import Foundation
import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceStorage
import Testing

@Suite("Producing blocks from the mempool onto the chain store")
struct BlockProducerTests {
    @Test func transactionsFlowFromTheMempoolIntoCommittedBlocks() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-producer-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let alice = TestSender()
        let bob = TestSender()
        let store = try ChainStore(path: dir, chainId: testChain)
        _ = try store.commitGenesis(
            state: [
                .account(alice.address): .account(AccountState(balance: 10_000, sequence: 0)),
                .account(bob.address): .account(AccountState(balance: 10_000, sequence: 0)),
            ], timestamp: 0)
        let mempool = Mempool(configuration: .init(chainId: testChain))
        let producer = BlockProducer(
            mempool: mempool,
            pipeline: BlockPipeline(store: store, executor: ParallelExecutor(vm: RuntimeVM(), threads: 2)))

        // Alice's sequence 2 waits for 1; Bob pays more and goes first.
        let a0 = alice.tx(0, amount: 100)
        let a2 = alice.tx(2, amount: 300)
        let b0 = bob.tx(0, gasPrice: 5, amount: 50)
        let admitted = mempool.admit([a0, a2, b0], state: store, now: 1)
        #expect(admitted.allSatisfy { $0.isAccepted }, "\(admitted)")

        let first = try producer.produce(timestamp: 1)
        #expect(first.applied.head.height == 1)
        #expect(first.applied.block.transactions == [b0, a0])
        #expect(first.applied.receipts.map(\.status) == [.success, .success])
        #expect(mempool.count == 1)
        #expect(mempool.status(a2.hash) == .pending)

        let a1 = alice.tx(1, amount: 200)
        let admittedA1 = mempool.admit(a1, state: store, now: 2)
        #expect(admittedA1.isAccepted, "\(admittedA1)")
        let second = try producer.produce(timestamp: 2)
        #expect(second.applied.block.transactions == [a1, a2])
        #expect(mempool.count == 0)

        // Empty blocks are allowed.
        let third = try producer.produce(timestamp: 3)
        #expect(third.applied.block.transactions.isEmpty)
        #expect(third.applied.head.height == 3)

        #expect(
            store.read(.account(alice.address))
                == .account(AccountState(balance: Amount(10_000 - 600 - 30), sequence: 3)))
        #expect(store.read(.account(recipient))?.account?.balance == Amount(650))
        #expect(store.read(.account(.treasury))?.account?.balance == Amount(30 + 50))
        let location = try #require(try store.location(ofTransaction: a2.hash))
        #expect(location == (2, 1))
        #expect(try store.receipt(height: 2, index: 1)?.status == .success)
        let report = try store.check()
        #expect(report.ok, "\(report.problems)")
        #expect(report.supply.value == 20_000)
    }
}
