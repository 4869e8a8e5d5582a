import Foundation
import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState

/// `sluice bench execution`: the same blocks, sequentially and with the parallel executor, in one run.
struct ExecutionBenchmark {
    enum Workload: String, CaseIterable {
        /// Uniform random sender and recipient.
        case p2p
        /// Every transaction pays one recipient.
        case hotspot
        /// p2p transfers that also do `computeRounds` chained SHA-256 digests (a stand-in for contract calls).
        case compute
        /// Job submissions from random consumers, matched at block end against `marketProviders` providers.
        case market
    }

    /// Providers registered at genesis for the market workload.
    var marketProviders = 1_000

    var workload: Workload
    var accounts: Int
    var blockSize: Int
    var blocks: Int
    var threads: Int
    var computeRounds: UInt32 = 32
    var forceParallel = false
    var seed: UInt64 = 1
    var claimBatch = 4

    struct Report: Codable {
        var workload: String
        var accounts: Int
        var blockSize: Int
        var blocks: Int
        var threads: Int
        var computeRounds: UInt32?
        var sequentialTxPerSecond: Double
        var parallelTxPerSecond: Double
        var speedup: Double
        /// The median over blocks of each block's sequential / parallel time: robust to a noisy neighbour
        /// stealing a core for part of the run.
        var medianBlockSpeedup: Double
        var sequentialMicrosPerTx: Double
        var parallelMicrosPerTx: Double
        /// One-thread Block-STM time minus sequential time, per transaction.
        var blockSTMOverheadMicrosPerTx: Double
        var parallelPath: String
        var pathReasons: [String]
        var predictedSpeedup: Double
        var reExecutions: Int
        var validationAborts: Int
        var suspensions: Int
        /// The parallel executor's time split, milliseconds summed over the blocks.
        var parallelPlanMillis: Double
        var parallelExecuteMillis: Double
        var parallelFinalizeMillis: Double
        var sequentialStateRoot: String
        var parallelStateRoot: String
        var rootsMatch: Bool
    }

    /// Account addresses: deterministic, derived from the index.
    static func address(_ i: Int) -> Address { Address(Hash.sha256(Array("bench-account-\(i)".utf8))) }

    func genesis() -> [StateKey: StateValue] {
        var state: [StateKey: StateValue] = [:]
        state.reserveCapacity(accounts + 1)
        for i in 0..<accounts {
            state[.account(Self.address(i))] = .account(AccountState(balance: Amount(1_000_000_000_000), sequence: 0))
        }
        if workload == .market {
            // Providers with room for every job of the run, asking 50…149 per GPU-hour.
            var book = MarketBook()
            for i in 0..<marketProviders {
                let owner = Address(Hash.sha256(Array("bench-provider-\(i)".utf8)))
                let offer = ProviderRegistration(
                    devices: [GPUDevice(model: "RTX 4090", vramGB: 24, count: UInt32(blockSize * blocks), score: 100)],
                    region: "eu", endpoint: "", stake: 10_000, pricePerGPUHour: Amount(UInt128(50 + i % 100)))
                // Proven before the run (their next proof-of-GPU round is due after it).
                var record = ProviderRecord(owner: owner, offer: offer)
                var proof = DeviceProof()
                proof.round = 1
                proof.eligible = true
                proof.passed = 1
                record.proofs = [proof]
                state[.provider(owner)] = .provider(record)
                book.providers.append(owner)
                book.proofSchedule.append(MarketBook.ProofDue(time: UInt64.max / 2, provider: owner))
            }
            book.providers.sort()
            book.proofSchedule.sort()
            state[.marketBook] = .book(book)
        }
        return state
    }

    /// The blocks: consecutive sequences per sender, so every transaction succeeds.
    func makeBlocks() -> [[RuntimeTransaction]] {
        var rng = SplitMix64(seed: seed)
        var sequences = [UInt64](repeating: 0, count: accounts)
        let addresses = (0..<accounts).map(Self.address)
        var out: [[RuntimeTransaction]] = []
        for _ in 0..<blocks {
            var block: [RuntimeTransaction] = []
            block.reserveCapacity(blockSize)
            for _ in 0..<blockSize {
                let s = rng.below(accounts)
                let r = workload == .hotspot ? 0 : rng.below(accounts)
                let payload: Payload
                switch workload {
                case .compute: payload = .computeTransfer(to: addresses[r], amount: 1, rounds: computeRounds)
                case .market:
                    payload = .jobSubmit(
                        JobSpec(
                            runner: .process, bundleHash: Hash.sha256([UInt8(r & 0xff)]), bundleURI: "",
                            inputsHash: .zero,
                            gpuCount: 1, minVramGB: 16, model: "", maxDurationSeconds: 3600,
                            maxPricePerGPUHour: Amount(UInt128(100 + rng.below(100))),
                            redundancy: UInt8(1 + rng.below(2)),
                            verification: 0))
                case .p2p, .hotspot: payload = .transfer(to: addresses[r], amount: 1)
                }
                let tx = Transaction(
                    chainId: 1, sender: addresses[s], sequence: sequences[s],
                    gasLimit: RuntimeVM.intrinsicGas(of: payload),
                    gasPrice: 1, payload: payload)
                sequences[s] += 1
                block.append(RuntimeTransaction(tx, hash: tx.hash))
            }
            out.append(block)
        }
        return out
    }

    func run(progress: (String) -> Void) throws -> Report {
        progress(
            "building \(blocks) blocks of \(blockSize) \(workload.rawValue) transactions over \(accounts) accounts…")
        let blocks = makeBlocks()
        let genesis = genesis()
        var sequentialState = DictionaryState(genesis)
        var parallelState = DictionaryState(genesis)
        var overheadState = DictionaryState(genesis)

        let sequential = SequentialExecutor(vm: RuntimeVM())
        let parallel = ParallelExecutor(
            vm: RuntimeVM(), threads: threads, policy: forceParallel ? .forceParallel : .adaptive)
        let oneThread = ParallelExecutor(vm: RuntimeVM(), threads: 1, policy: .forceParallel)
        parallel.claimBatch = claimBatch
        oneThread.claimBatch = claimBatch

        // Warm up every path once on the first block (buffers, caches); results are discarded.
        _ = sequential.execute(blocks[0], base: sequentialState)
        _ = parallel.execute(blocks[0], base: parallelState)
        _ = oneThread.execute(blocks[0], base: overheadState)

        var sequentialNanos: UInt64 = 0
        var parallelNanos: UInt64 = 0
        var overheadNanos: UInt64 = 0
        var paths = Set<String>()
        var reasons = Set<String>()
        var predicted = 0.0
        var reExecutions = 0
        var aborts = 0
        var suspensions = 0
        var split = (plan: UInt64(0), execute: UInt64(0), finalize: UInt64(0))
        var blockSpeedups: [Double] = []
        func timed<R>(_ total: inout UInt64, _ body: () -> R) -> R {
            let t = DispatchTime.now().uptimeNanoseconds
            let r = body()
            total += DispatchTime.now().uptimeNanoseconds - t
            return r
        }
        for (k, block) in blocks.enumerated() {
            // Alternate the order so that neither path always runs on caches the other warmed.
            let s: BlockExecution<StateValue, RuntimeReceipt, Event>
            let p: BlockExecution<StateValue, RuntimeReceipt, Event>
            if k % 2 == 0 {
                s = timed(&sequentialNanos) { sequential.execute(block, base: sequentialState) }
                p = timed(&parallelNanos) { parallel.execute(block, base: parallelState) }
            } else {
                p = timed(&parallelNanos) { parallel.execute(block, base: parallelState) }
                s = timed(&sequentialNanos) { sequential.execute(block, base: sequentialState) }
            }
            let o = timed(&overheadNanos) { oneThread.execute(block, base: overheadState) }
            blockSpeedups.append(Double(s.statistics.totalNanos) / Double(Swift.max(p.statistics.totalNanos, 1)))

            guard s.outputs == p.outputs, s.outputs == o.outputs else {
                throw CommandError(
                    "block \(k): parallel receipts differ from sequential ones — this is a bug, please report it")
            }
            sequentialState.apply(s.writes)
            parallelState.apply(p.writes)
            overheadState.apply(o.writes)
            paths.insert(p.statistics.path.rawValue)
            reasons.insert(p.statistics.reason)
            predicted = p.statistics.predictedSpeedup
            reExecutions += p.statistics.reExecutions
            aborts += p.statistics.validationAborts
            suspensions += p.statistics.suspensions
            split.plan += p.statistics.planNanos
            split.execute += p.statistics.executeNanos
            split.finalize += p.statistics.finalizeNanos
            progress(
                "block \(k + 1)/\(blocks.count): sequential \(millis(s.statistics.totalNanos)) ms, "
                    + "\(p.statistics.path.rawValue) \(millis(p.statistics.totalNanos)) ms (\(p.statistics.reason); "
                    + "\(p.statistics.reExecutions) re-executions, \(p.statistics.validations) validations, "
                    + "\(p.statistics.suspensions) suspensions)")
        }
        let sequentialRoot = StateCommitment.root(of: sequentialState.values, threads: threads)
        let parallelRoot = StateCommitment.root(of: parallelState.values, threads: threads)
        let overheadRoot = StateCommitment.root(of: overheadState.values, threads: threads)
        let total = Double(blocks.count * blockSize)
        let seqSeconds = Double(sequentialNanos) / 1e9
        let parSeconds = Double(parallelNanos) / 1e9
        let report = Report(
            workload: workload.rawValue, accounts: accounts, blockSize: blockSize, blocks: blocks.count,
            threads: threads, computeRounds: workload == .compute ? computeRounds : nil,
            sequentialTxPerSecond: total / seqSeconds, parallelTxPerSecond: total / parSeconds,
            speedup: seqSeconds / parSeconds, medianBlockSpeedup: blockSpeedups.sorted()[blockSpeedups.count / 2],
            sequentialMicrosPerTx: seqSeconds * 1e6 / total, parallelMicrosPerTx: parSeconds * 1e6 / total,
            blockSTMOverheadMicrosPerTx: (Double(overheadNanos) - Double(sequentialNanos)) / 1e3 / total,
            parallelPath: paths.count == 1 ? paths.first! : "mixed", pathReasons: reasons.sorted(),
            predictedSpeedup: predicted, reExecutions: reExecutions, validationAborts: aborts, suspensions: suspensions,
            parallelPlanMillis: Double(split.plan) / 1e6, parallelExecuteMillis: Double(split.execute) / 1e6,
            parallelFinalizeMillis: Double(split.finalize) / 1e6,
            sequentialStateRoot: sequentialRoot.hex, parallelStateRoot: parallelRoot.hex,
            rootsMatch: sequentialRoot == parallelRoot && sequentialRoot == overheadRoot)
        return report
    }
}

private func millis(_ nanos: UInt64) -> String { String(format: "%.2f", Double(nanos) / 1e6) }
