import Dispatch
import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState
import Synchronization
import Testing

@testable import SluiceNode

@Suite struct ParallelTests {
    /// 2,000 transactions from 50 senders, some with bad signatures at random positions: the parallel
    /// batch gives exactly the results of admitting them one at a time (the sequential path).
    @Test func parallelVerificationEqualsSequential() {
        let senders = (0..<50).map { _ in TestSender() }
        let state = accounts(senders.map { ($0, 1_000_000_000, 0) })
        var rng = SplitMix64(seed: 7)
        var txs = senders.flatMap { s in (0..<40).map { s.tx(UInt64($0), gasPrice: 1 + UInt64($0 % 3)) } }
        txs.shuffle(using: &rng)
        var bad: [Int: SignatureFailure] = [:]
        for _ in 0..<120 {
            let i = rng.below(txs.count)
            switch rng.below(3) {
            case 0:
                txs[i].authenticator = nil
                bad[i] = .missing
            case 1:
                txs[i].sign(with: senders[(senders.firstIndex { $0.address == txs[i].sender }! + 1) % 50].key)
                bad[i] = .wrongKey
            default:
                if txs[i].authenticator == nil { txs[i].sign(with: senders.first { $0.address == txs[i].sender }!.key) }
                txs[i].authenticator!.signature[rng.below(64)] ^= 0x40
                bad[i] = .invalid
            }
        }

        let parallel = pool()
        let batchResults = parallel.admit(txs, state: state, now: 0)
        let sequential = pool()
        let oneByOne = txs.map { sequential.admit($0, state: state, now: 0) }
        #expect(batchResults == oneByOne)
        for (i, r) in batchResults.enumerated() {
            if let failure = bad[i] {
                #expect(r == .rejected(txs[i].hash, .badSignature(failure)))
            } else {
                #expect(r == .accepted(txs[i].hash))
            }
        }
        #expect(parallel.count == txs.count - bad.count)
        #expect(parallel.batch(maxCount: 5_000, state: state) == sequential.batch(maxCount: 5_000, state: state))

        // And the stateless phase itself, against its sequential twin.
        let p = checkStateless(txs, configuration: parallel.configuration, now: 0, state: state, parallel: true)
        let s = checkStateless(txs, configuration: parallel.configuration, now: 0, state: state, parallel: false)
        #expect(p.map(\.hash) == s.map(\.hash))
        #expect(p.map(\.rejection) == s.map(\.rejection))
        #expect(p.map(\.account) == s.map(\.account))
        #expect(p.map(\.hash) == txs.map(\.hash))
    }

    /// Eight threads submit the same 400 transactions in different orders and batch sizes at once: each
    /// is accepted exactly once, every other copy is a duplicate, and the mempool ends consistent.
    @Test func concurrentAdmission() {
        let senders = (0..<20).map { _ in TestSender() }
        let state = accounts(senders.map { ($0, 1_000_000, 0) })
        let txs = senders.flatMap { s in (0..<20).map { s.tx(UInt64($0)) } }
        let mempool = pool()
        let accepted = Mutex<[Hash: Int]>([:])
        let others = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var rng = SplitMix64(seed: UInt64(thread))
            let mine = txs.shuffled(using: &rng)
            let size = 1 + thread * 7
            var start = 0
            while start < mine.count {
                let results = mempool.admit(Array(mine[start..<min(start + size, mine.count)]), state: state, now: 0)
                for r in results {
                    if r.isAccepted {
                        accepted.withLock { $0[r.hash, default: 0] += 1 }
                    } else if r.rejection != .duplicate {
                        others.withLock { $0.append(r.rejection!.code) }
                    }
                }
                _ = mempool.count
                _ = mempool.batch(maxCount: 10, state: state)
                start += size
            }
        }
        #expect(others.withLock { $0 } == [])
        let counts = accepted.withLock { $0 }
        #expect(counts.count == txs.count)
        #expect(counts.values.allSatisfy { $0 == 1 })
        #expect(mempool.count == txs.count)
        #expect(mempool.senders == 20)
        for s in senders { #expect(mempool.transactions(from: s.address).map(\.sequence) == Array(0..<20)) }
        #expect(mempool.batch(maxCount: 1_000, state: state).count == txs.count)
    }

    /// ML-DSA-65 transactions (few: they are slow to sign) are accepted and checked like Ed25519 ones.
    @Test func mlDsa65TransactionsAreAccepted() {
        let pq = TestSender(.mlDsa65)
        let ed = TestSender()
        let state = accounts([(pq, 1_000_000, 0), (ed, 1_000_000, 0)])
        let mempool = pool()
        let t0 = pq.tx(0)
        let t1 = pq.tx(1)
        #expect(t0.canonicalBytes.count > 5_000 && t0.canonicalBytes.count <= 8 * 1024)
        var forged = pq.tx(2)
        forged.authenticator!.signature[100] ^= 1
        let results = mempool.admit([t0, ed.tx(0), forged, t1], state: state, now: 0)
        #expect(results.map(\.isAccepted) == [true, true, false, true])
        #expect(results[2].rejection == .badSignature(.invalid))
        #expect(mempool.batch(maxCount: 10, state: state).filter { $0.sender == pq.address } == [t0, t1])
    }
}
