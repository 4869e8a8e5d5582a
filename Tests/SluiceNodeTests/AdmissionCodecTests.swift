import Foundation
import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState
import SluiceStorage
import Synchronization
import Testing

@testable import SluiceNode

/// A fresh data dir with a genesis funding `senders`, removed by `cleanup`.
private func store(funding senders: [TestSender]) throws -> (ChainStore, cleanup: () -> Void) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-admission-\(UUID().uuidString)")
        .path
    let store = try ChainStore(path: dir, chainId: testChain)
    var genesis: [StateKey: StateValue] = [:]
    for s in senders { genesis[.account(s.address)] = .account(AccountState(balance: Amount(1 << 60), sequence: 0)) }
    _ = try store.commitGenesis(state: genesis, timestamp: 0)
    return (store, { try? FileManager.default.removeItem(atPath: dir) })
}

/// A signed transaction with enough gas for any payload.
private func signed(_ sender: TestSender, _ sequence: UInt64, _ payload: Payload) -> Transaction {
    sender.tx(sequence, gasLimit: 10_000, payload: payload)
}

/// A job submission whose bundle URI is `bytes` long (the field that, over its limit, broke a devnet).
private func jobWithBundleURI(bytes: Int) -> Payload {
    .jobSubmit(
        JobSpec(
            runner: .process, bundleHash: Hash.sha256([1]), bundleURI: String(repeating: "u", count: bytes),
            inputsHash: .zero, gpuCount: 1, minVramGB: 16, model: "", maxDurationSeconds: 3600,
            maxPricePerGPUHour: 10, redundancy: 1, verification: 0))
}

/// Lines reported by a producer.
private final class Reports: Sendable {
    let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    var sink: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
}

/// Issue 13, item 4: admission accepted a `job.submit` whose bundle URI was over the decoder's limit, the
/// block holding it was committed, and that block could never be read again. Admission, execution and the
/// commit now ask the decoder itself (`checkRoundTrip`, `WireLimits`).
@Suite("Admission, production and the block codec agree on every limit")
struct AdmissionCodecTests {
    @Test func anOverlongBundleURIIsRefusedByAdmission() {
        let alice = TestSender()
        let state = accounts([(alice, 1 << 40, 0)])
        let mempool = pool()
        let over = signed(alice, 0, jobWithBundleURI(bytes: WireLimits.bundleURIBytes + 1))
        let r = expectRejected(over, "undecodable", by: mempool, state: state, senders: [alice])
        #expect(r?.message.contains("bundleURI") == true, "\(String(describing: r))")
        let at = signed(alice, 0, jobWithBundleURI(bytes: WireLimits.bundleURIBytes))
        expectAccepted([at], by: mempool, state: state)
    }

    @Test func jobsWithoutEscrowOrWithAnUnknownVerificationAreRefused() throws {
        let alice = TestSender()
        let state = accounts([(alice, 1 << 40, 0)])
        let mempool = pool()
        guard case .jobSubmit(var spec) = jobWithBundleURI(bytes: 8) else { return }
        spec.maxPricePerGPUHour = .zero
        let zero = expectRejected(
            signed(alice, 0, .jobSubmit(spec)), "invalid_payload", by: mempool, state: state, senders: [alice])
        #expect(zero == .invalidPayload(.zeroEscrow))
        #expect(zero?.message.contains("offer a price above 0") == true)
        spec.maxPricePerGPUHour = 10
        spec.verification = 7
        let unknown = expectRejected(
            signed(alice, 0, .jobSubmit(spec)), "invalid_payload", by: mempool, state: state, senders: [alice])
        #expect(unknown == .invalidPayload(.unknownVerification))
        #expect(unknown?.message.contains("0 (exact)") == true, "\(String(describing: unknown))")
    }

    /// The property: whatever admission accepts reads back through the block codec, and whatever does not
    /// read back is refused as `undecodable` (admission is exactly the decoder). Every payload kind, with
    /// fields at and over their limits; then the accepted ones are produced into blocks and read back.
    @Test func anythingAdmittedRoundTripsThroughTheBlockCodec() throws {
        let senders = (0..<6).map { _ in TestSender() }
        let (store, cleanup) = try store(funding: senders)
        defer { cleanup() }
        // Large enough that the size limit never hides the codec's.
        let mempool = pool(capacity: 10_000, perSenderLimit: 1_000, sequenceWindow: 1_000, maxTransactionBytes: 1 << 20)
        let seed: UInt64 = 13
        var rng = SplitMix64(seed: seed)
        var sequences = [UInt64](repeating: 0, count: senders.count)
        var accepted: [Transaction] = []
        var undecodable = [Int](repeating: 0, count: payloadKinds)
        var admitted = [Int](repeating: 0, count: payloadKinds)
        for i in 0..<600 {
            let kind = i % payloadKinds
            let s = rng.int(0...senders.count - 1)
            let tx = signed(senders[s], sequences[s], rng.payload(kind: kind))
            let note: Comment = "seed \(seed), case \(i), kind \(kind)"
            let readsBack = (try? tx.checkRoundTrip()) != nil
            let result = mempool.admit(tx, state: store, now: 1)
            if result.isAccepted {
                sequences[s] += 1
                accepted.append(tx)
                admitted[kind] += 1
                #expect(readsBack, note)
                #expect(MarketRules.statelessFailure(of: tx.payload) == nil, note)
                let block = Block(header: header(), transactions: [tx])
                #expect(throws: Never.self, note) { try block.checkRoundTrip() }
            } else if !readsBack {
                undecodable[kind] += 1
                #expect(result.rejection?.code == "undecodable", "\(note): \(result)")
            }
        }
        // Not vacuous: kinds with variable-length fields were both admitted and refused for their fields.
        for kind in [2, 3, 7, 13] {
            #expect(admitted[kind] > 0 && undecodable[kind] > 0, "kind \(kind): \(admitted) \(undecodable)")
        }
        #expect(throws: Never.self) {
            try Block(header: header(), transactions: accepted).checkRoundTrip()
        }

        // And the producer commits them, every block readable again.
        let reports = Reports()
        let producer = BlockProducer(
            mempool: mempool,
            pipeline: BlockPipeline(store: store, executor: ParallelExecutor(vm: RuntimeVM(), threads: 2)),
            maxBlockSize: 100, report: reports.sink)
        var committed = 0
        for t in 0..<20 where mempool.count > 0 {
            let produced = try producer.produce(timestamp: 2 + UInt64(t))
            committed += produced.applied.block.transactions.count
            let height = produced.applied.head.height
            #expect(try store.block(at: height) == produced.applied.block)
        }
        #expect(committed == accepted.count)
        #expect(reports.all.isEmpty, "\(reports.all)")
    }

    /// With admission bypassed (a transaction that got past it some other way), the chain store refuses to
    /// commit a block that does not read back, and the producer drops the transaction with a logged error
    /// and commits the rest: every committed block stays readable.
    @Test func theProducerDropsWhatDoesNotReadBackAndCommitsTheRest() throws {
        let alice = TestSender()
        let bob = TestSender()
        let (store, cleanup) = try store(funding: [alice, bob])
        defer { cleanup() }
        let mempool = pool()
        let bad = signed(alice, 0, jobWithBundleURI(bytes: WireLimits.bundleURIBytes + 1))
        let good = bob.tx(0, amount: 5)
        mempool.queueUnchecked(bad)
        expectAccepted([good], by: mempool, state: accounts([(bob, 1 << 60, 0)]), now: 0)
        let reports = Reports()
        let producer = BlockProducer(
            mempool: mempool,
            pipeline: BlockPipeline(store: store, executor: ParallelExecutor(vm: RuntimeVM(), threads: 2)),
            report: reports.sink)

        let produced = try producer.produce(timestamp: 1)
        #expect(produced.applied.head.height == 1)
        #expect(produced.applied.block.transactions == [good])
        #expect(produced.dropped.contains { $0.hash == bad.hash && $0.reason.code == "undecodable" })
        #expect(try store.block(at: 1) == produced.applied.block)
        #expect(try store.location(ofTransaction: bad.hash) == nil)
        #expect(mempool.status(bad.hash) == .unknown)
        #expect(store.read(.account(alice.address))?.account?.sequence == 0)
        #expect(reports.all.count == 1)
        #expect(reports.all.first?.contains(bad.hash.hex) == true)
        #expect(reports.all.first?.contains("bundleURI") == true, "\(reports.all)")
    }

    /// The store itself refuses such a block, whoever builds it, and writes nothing.
    @Test func theChainStoreCommitsNoBlockThatDoesNotReadBack() throws {
        let alice = TestSender()
        let (store, cleanup) = try store(funding: [alice])
        defer { cleanup() }
        let applier = BlockPipeline(store: store, executor: ParallelExecutor(vm: RuntimeVM(), threads: 2))
        let head = try #require(store.head)
        let bad = signed(alice, 0, jobWithBundleURI(bytes: WireLimits.bundleURIBytes + 1))
        let error = #expect(throws: StorageError.self) { try applier.apply([bad], timestamp: 1, verify: true) }
        #expect(error?.code == .undecodable)
        #expect(error?.message.contains("nothing was committed") == true, "\(String(describing: error))")
        #expect(store.head?.height == head.height && store.head?.blockHash == head.blockHash)
        #expect(try store.block(at: 1) == nil)
        #expect(store.read(.account(alice.address))?.account?.sequence == 0)
        // The next good block commits as height 1.
        let applied = try applier.apply([alice.tx(0)], timestamp: 1, verify: true)
        #expect(applied.head.height == 1)
    }
}

private func header() -> BlockHeader {
    BlockHeader(
        chainId: testChain, height: 1, parentHash: .zero, timestamp: 1, proposer: .treasury, transactionsRoot: .zero,
        parentStateRoot: .zero, parentReceiptsRoot: .zero)
}
