import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import Testing

@Suite struct BlockCommittedTests {
    @Test func dropsIncludedUnpayableAndExpired() {
        let a = TestSender()
        let b = TestSender()
        let c = TestSender()
        let before = accounts([(a, 1_000, 0), (b, 1_000, 0), (c, 1_000, 0)])
        let mempool = pool()
        let a0 = a.tx(0, gasPrice: 10)
        let a1 = a.tx(1, gasPrice: 10)
        let a2 = a.tx(2, gasPrice: 10)
        let a3 = a.tx(3, gasPrice: 10)
        let a4 = a.tx(4, gasPrice: 10)
        let b0 = b.tx(0, expiry: 50)
        let b1 = b.tx(1)
        let c0 = c.tx(0)
        expectAccepted([a0, a1, a2, a3, a4, b0, b1, c0], by: mempool, state: before, now: 10)
        #expect(mempool.batch(maxCount: 100, state: before).count == 8)

        // The block included a0 and a1; a can now pay the max fees (100 each) of a2 and a3 only.
        let after = accounts([(a, 250, 2), (b, 1_000, 0), (c, 1_000, 0)])
        let dropped = mempool.blockCommitted(state: after, now: 60)
        #expect(
            Set(dropped) == [
                DroppedTransaction(hash: a0.hash, reason: .sequenceTooOld(sequence: 0, next: 2)),
                DroppedTransaction(hash: a1.hash, reason: .sequenceTooOld(sequence: 1, next: 2)),
                DroppedTransaction(hash: a4.hash, reason: .feeUnpayable(required: 300, balance: 250)),
                DroppedTransaction(hash: b0.hash, reason: .expired(expiry: 50, now: 60)),
            ])
        #expect(dropped.count == 4)
        #expect(mempool.count == 4)
        for tx in [a0, a1, a4, b0] { #expect(mempool.status(tx.hash) == .unknown) }
        // b1 is now behind a gap (b0 expired), so it waits; a2, a3 and c0 are ready.
        let ready = mempool.batch(maxCount: 100, state: after)
        #expect(Set(ready) == [a2, a3, c0])
        #expect(ready.firstIndex(of: a2)! < ready.firstIndex(of: a3)!)
        // The freed slots can be refilled, and the fee room reused.
        expectAccepted([b.tx(0, amount: 2)], by: mempool, state: after, now: 60)
        expectRejected(a.tx(4, gasPrice: 10), "fee_unpayable", by: mempool, state: after, now: 60, senders: [a, b, c])
        expectAccepted([a.tx(4, gasPrice: 5)], by: mempool, state: after, now: 60)

        // Nothing changed: nothing dropped.
        #expect(mempool.blockCommitted(state: after, now: 60) == [])
        #expect(mempool.count == 6)
    }

    @Test func dropsFromTheHighestSequenceDown() {
        let a = TestSender()
        let mempool = pool()
        expectAccepted((0..<5).map { a.tx($0, gasPrice: 2) }, by: mempool, state: accounts([(a, 100, 0)]))
        // The balance now covers two max fees of 20.
        let dropped = mempool.blockCommitted(state: accounts([(a, 45, 0)]), now: 0)
        #expect(dropped.map(\.reason.code) == ["fee_unpayable", "fee_unpayable", "fee_unpayable"])
        #expect(mempool.transactions(from: a.address).map(\.sequence) == [0, 1])
    }

    @Test func dropsEverythingOfAVanishedSender() {
        let a = TestSender()
        let mempool = pool()
        expectAccepted([a.tx(0), a.tx(1)], by: mempool, state: accounts([(a, 100, 0)]))
        let dropped = mempool.blockCommitted(state: DictionaryState<StateValue>(), now: 0)
        #expect(dropped.map(\.reason) == [.unknownSender(a.address), .unknownSender(a.address)])
        #expect(mempool.count == 0)
        #expect(mempool.senders == 0)
    }

    @Test func evictionStaysCorrectAcrossBlocks() {
        // Many blocks of churn with a small capacity: the lazily cleaned eviction heap must only ever
        // offer live sender tails.
        let senders = (0..<12).map { _ in TestSender() }
        var rng = SplitMix64(seed: 42)
        var sequences = [UInt64](repeating: 0, count: senders.count)
        let mempool = pool(capacity: 20)
        var displaced = 0
        for round in 0..<30 {
            let state = accounts(senders.indices.map { (senders[$0], 1_000_000, sequences[$0]) })
            var txs: [Transaction] = []
            for _ in 0..<15 {
                let i = rng.below(senders.count)
                let seq = sequences[i] + UInt64(rng.below(4))
                txs.append(senders[i].tx(seq, gasPrice: UInt64(1 + rng.below(20)), amount: UInt128(round)))
            }
            let countBefore = mempool.count
            let results = mempool.admit(txs, state: state, now: 0)
            let replacements = results.filter(\.isAccepted).count - (mempool.count - countBefore)
            displaced += max(0, replacements)
            #expect(mempool.count <= 20)
            // Every queued transaction of a sender is reachable, and ready ones are gap-free.
            let all = senders.flatMap { mempool.transactions(from: $0.address) }
            #expect(all.count == mempool.count)
            for tx in all { #expect(mempool.transaction(tx.hash) == tx) }
            // "Include" each sender's ready run.
            let ready = mempool.batch(maxCount: 8, state: state)
            for tx in ready {
                let i = senders.firstIndex { $0.address == tx.sender }!
                #expect(tx.sequence == sequences[i])
                sequences[i] += 1
            }
            let next = accounts(senders.indices.map { (senders[$0], 1_000_000, sequences[$0]) })
            let dropped = mempool.blockCommitted(state: next, now: 0)
            #expect(Set(ready.map(\.hash)).isSubset(of: Set(dropped.map(\.hash))))
        }
        #expect(displaced > 0)  // some accepted transactions replaced or evicted others: those paths ran
    }
}
