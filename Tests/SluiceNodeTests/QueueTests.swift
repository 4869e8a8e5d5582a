import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import Testing

/// Acceptance, ordering, gaps, replace-by-fee, fee accounting and eviction.
@Suite struct QueueTests {
    @Test func validBatchIsAccepted() {
        let senders = [TestSender(), TestSender(), TestSender()]
        let state = accounts(senders.map { ($0, 1_000_000, 3) })
        let mempool = pool()
        let txs = senders.flatMap { s in (3..<8).map { s.tx($0) } }
        expectAccepted(txs, by: mempool, state: state)
        #expect(mempool.count == 15)
        #expect(mempool.senders == 3)
        for tx in txs {
            #expect(mempool.status(tx.hash) == .pending)
            #expect(mempool.transaction(tx.hash) == tx)
        }
        #expect(mempool.transactions(from: senders[1].address) == Array(txs[5..<10]))
        #expect(mempool.status(Hash.sha256([1, 2, 3])) == .unknown)
        #expect(mempool.transaction(Hash.sha256([1, 2, 3])) == nil)
    }

    @Test func gapsAreHeldBack() {
        let alice = TestSender()
        let state = accounts([(alice, 1_000_000, 0)])
        let mempool = pool()
        let (t0, t1, t2) = (alice.tx(0), alice.tx(1), alice.tx(2))
        expectAccepted([t0, t2], by: mempool, state: state)
        #expect(mempool.batch(maxCount: 10, state: state) == [t0])
        expectAccepted([t1], by: mempool, state: state)
        #expect(mempool.batch(maxCount: 10, state: state) == [t0, t1, t2])
        #expect(mempool.batch(maxCount: 2, state: state) == [t0, t1])
        #expect(mempool.batch(maxCount: 0, state: state) == [])
        #expect(mempool.count == 3)  // batch removes nothing
        // Nothing is ready when the account's own sequence is missing.
        let later = accounts([(alice, 1_000_000, 0)])
        let other = pool()
        expectAccepted([t1, t2], by: other, state: later)
        #expect(other.batch(maxCount: 10, state: later) == [])
    }

    @Test func sendersAreOrderedByPriceNeverBreakingSequence() {
        let a = TestSender()
        let b = TestSender()
        let c = TestSender()
        let state = accounts([(a, 1_000_000, 0), (b, 1_000_000, 0), (c, 1_000_000, 0)])
        let mempool = pool()
        let a0 = a.tx(0, gasPrice: 1)
        let a1 = a.tx(1, gasPrice: 100)  // pays most, but waits for a0
        let b0 = b.tx(0, gasPrice: 50)
        let b1 = b.tx(1, gasPrice: 5)
        let c0 = c.tx(0, gasPrice: 5)
        expectAccepted([a1, b1, c0, a0, b0], by: mempool, state: state)
        let (first, second) = b.address < c.address ? (b1, c0) : (c0, b1)  // equal prices: address order
        #expect(mempool.batch(maxCount: 10, state: state) == [b0, first, second, a0, a1])
    }

    @Test func replaceByFee() {
        let alice = TestSender()
        let state = accounts([(alice, 1_000_000, 0)])
        let mempool = pool()
        let original = alice.tx(0, gasPrice: 10)
        expectAccepted([original, alice.tx(1, gasPrice: 10)], by: mempool, state: state)
        let r = expectRejected(
            alice.tx(0, gasPrice: 10, amount: 2), "underpriced", by: mempool, state: state, senders: [alice])
        #expect(r == .underpriced(sequence: 0, price: 10, minimum: 11))
        expectRejected(alice.tx(0, gasPrice: 5), "underpriced", by: mempool, state: state, senders: [alice])
        let replacement = alice.tx(0, gasPrice: 11)  // exactly 10% more
        expectAccepted([replacement], by: mempool, state: state)
        #expect(mempool.count == 2)
        #expect(mempool.status(original.hash) == .unknown)
        #expect(mempool.batch(maxCount: 1, state: state) == [replacement])
        // The bar rounds up: 10% more than 11 is 12.1, so 12 is not enough.
        expectRejected(alice.tx(0, gasPrice: 12), "underpriced", by: mempool, state: state, senders: [alice])
        expectAccepted([alice.tx(0, gasPrice: 13)], by: mempool, state: state)
    }

    @Test func feesAreAccountedOverTheSendersQueue() {
        let alice = TestSender()
        let state = accounts([(alice, 100, 0)])
        let mempool = pool()
        expectAccepted(
            [alice.tx(0, gasPrice: 3), alice.tx(1, gasPrice: 3), alice.tx(2, gasPrice: 3)], by: mempool, state: state)
        let r = expectRejected(alice.tx(3, gasPrice: 3), "fee_unpayable", by: mempool, state: state, senders: [alice])
        #expect(r == .feeUnpayable(required: 120, balance: 100))
        expectAccepted([alice.tx(3, gasPrice: 1)], by: mempool, state: state)  // exactly 100
        // A replacement counts its own fee instead of the old one: 100 − 30 + 40 > 100.
        expectRejected(alice.tx(1, gasPrice: 4), "fee_unpayable", by: mempool, state: state, senders: [alice])
        // A lone replacement only needs to fit with the old one's fee released: 100 − 90 + 100 = 100.
        let single = pool()
        expectAccepted([alice.tx(0, gasPrice: 9)], by: single, state: state)
        expectAccepted([alice.tx(0, gasPrice: 10)], by: single, state: state)
    }

    @Test func maxFeesAreComputedWithoutOverflow() {
        let whale = TestSender()
        let state = accounts([(whale, UInt128.max, 0)])
        let mempool = pool()
        let huge = whale.tx(0, gasPrice: .max, gasLimit: .max)
        expectAccepted([huge], by: mempool, state: state)  // (2^64 − 1)^2 fits in UInt128
        let r = expectRejected(
            whale.tx(1, gasPrice: .max, gasLimit: .max), "fee_unpayable", by: mempool, state: state, senders: [whale])
        #expect(r == .feeUnpayable(required: .max, balance: .max))
    }

    @Test func fullMempoolEvictsTheCheapestTail() {
        let a = TestSender()
        let b = TestSender()
        let c = TestSender()
        let d = TestSender()
        let state = accounts([a, b, c, d].map { ($0, 1_000_000, 0) })
        let mempool = pool(capacity: 3)
        let a0 = a.tx(0, gasPrice: 5)
        let b0 = b.tx(0, gasPrice: 2)
        let c0 = c.tx(0, gasPrice: 3)
        expectAccepted([a0, b0, c0], by: mempool, state: state)
        let d0 = d.tx(0, gasPrice: 3)
        expectAccepted([d0], by: mempool, state: state)  // 3 > 2: b0 goes
        #expect(mempool.status(b0.hash) == .unknown)
        #expect(mempool.count == 3)
        // Now the cheapest are c0 and d0 at 3; an equal or lower price is refused.
        let senders = [a, b, c, d]
        let r = expectRejected(b.tx(0, gasPrice: 3), "mempool_full", by: mempool, state: state, senders: senders)
        #expect(r == .mempoolFull(capacity: 3, lowestPrice: 3))
        expectRejected(b.tx(0, gasPrice: 1), "mempool_full", by: mempool, state: state, senders: senders)
        // Ties go to the newest: d0 is evicted before c0.
        let b0again = b.tx(0, gasPrice: 4)
        expectAccepted([b0again], by: mempool, state: state)
        #expect(mempool.status(d0.hash) == .unknown)
        #expect(mempool.status(c0.hash) == .pending)
    }

    @Test func evictionTakesOnlyASendersHighestSequence() {
        let a = TestSender()
        let b = TestSender()
        let c = TestSender()
        let state = accounts([a, b, c].map { ($0, 1_000_000, 0) })
        let mempool = pool(capacity: 3)
        let a0 = a.tx(0, gasPrice: 1)  // cheapest, but a1 depends on it
        let a1 = a.tx(1, gasPrice: 9)
        let b0 = b.tx(0, gasPrice: 5)
        expectAccepted([a0, a1, b0], by: mempool, state: state)
        expectAccepted([c.tx(0, gasPrice: 6)], by: mempool, state: state)
        #expect(mempool.status(b0.hash) == .unknown)
        #expect(mempool.status(a0.hash) == .pending)
        #expect(mempool.status(a1.hash) == .pending)

        // A newcomer is never let in by evicting its own sender's lower sequence.
        let small = pool(capacity: 2)
        let b1 = b.tx(1, gasPrice: 9)
        expectAccepted([b.tx(0, gasPrice: 1), c.tx(0, gasPrice: 5)], by: small, state: state)
        expectRejected(b1, "mempool_full", by: small, state: state, senders: [b, c])
    }

    @Test func replacementNeverEvicts() {
        let a = TestSender()
        let b = TestSender()
        let state = accounts([(a, 1_000_000, 0), (b, 1_000_000, 0)])
        let mempool = pool(capacity: 2)
        let b0 = b.tx(0, gasPrice: 1)
        expectAccepted([a.tx(0, gasPrice: 2), b0], by: mempool, state: state)
        expectAccepted([a.tx(0, gasPrice: 20)], by: mempool, state: state)
        #expect(mempool.count == 2)
        #expect(mempool.status(b0.hash) == .pending)
    }
}
