import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState
import Testing

/// Compares every output and every write of Block-STM with the sequential executor, with the paper's
/// one-index scheduler claims and with batched claims.
/// The receipts root of an execution: each transaction's receipt with its events, then the block-end
/// receipt, as the chain store commits them.
func receiptsRoot(_ txs: [RuntimeTransaction], _ execution: BlockExecution<StateValue, RuntimeReceipt, Event>) -> Hash {
    var leaves = zip(txs, execution.outputs).map { ReceiptsTree.leaf($1.receipt(for: $0).canonicalBytes) }
    leaves.append(ReceiptsTree.leaf(BlockEndReceipt(events: execution.events).canonicalBytes))
    return ReceiptsTree.root(leaves)
}

func expectSameResult<VM: BlockVM>(
    vm: VM, txs: [VM.Transaction], base: DictionaryState<StateValue>, threads: Int, label: String
) where VM.Value == StateValue, VM.Output == RuntimeReceipt, VM.Transaction == RuntimeTransaction, VM.Event == Event {
    let expected = SequentialExecutor(vm: vm).execute(txs, base: base)
    let expectedRoot = receiptsRoot(txs, expected)
    for batch in [1, 4, 16] {
        let executor = ParallelExecutor(vm: vm, threads: threads, policy: .forceParallel)
        executor.claimBatch = batch
        // Twice on one executor: the second block reuses the first one's buffers.
        for round in 0..<2 {
            let actual = executor.execute(txs, base: base)
            let where_ = "\(label), claim batch \(batch), round \(round)"
            #expect(actual.statistics.path == .parallel, "\(where_)")
            #expect(actual.outputs == expected.outputs, "\(where_): outputs differ")
            #expect(actual.sortedWrites == expected.sortedWrites, "\(where_): writes differ")
            #expect(actual.events == expected.events, "\(where_): block-end events differ")
            #expect(receiptsRoot(txs, actual) == expectedRoot, "\(where_): receipts roots differ")
        }
    }
}

@Suite("Block-STM gives exactly the sequential result")
struct ParallelEqualsSequentialTests {
    @Test(arguments: [2, 3, 10, 100, 1000, 10_000])
    func randomTransferBlocks(accounts: Int) {
        for (i, size) in [1, 7, 33, 257, 1001].enumerated() {
            for threads in [1, 2, 3, 4, 8] {
                let seed = UInt64(accounts * 1000 + i * 10 + threads)
                let (base, txs) = randomBlock(seed: seed, accounts: accounts, size: size)
                expectSameResult(
                    vm: RuntimeVM(), txs: txs, base: base, threads: threads,
                    label: "seed \(seed) accounts \(accounts) size \(size) threads \(threads)")
            }
        }
    }

    @Test(arguments: [2, 10, 1000])
    func computeBlocks(accounts: Int) {
        for threads in [2, 4] {
            let seed = UInt64(77 + accounts + threads)
            let (base, txs) = randomBlock(seed: seed, accounts: accounts, size: 301, computeRounds: 3)
            expectSameResult(vm: RuntimeVM(), txs: txs, base: base, threads: threads, label: "compute seed \(seed)")
        }
    }

    @Test(arguments: [0.5, 0.95])
    func blocksFullOfFailuresAndDiscards(badShare: Double) {
        for accounts in [2, 50, 5000] {
            let seed = UInt64(accounts) &* 31 &+ UInt64(badShare * 100)
            let (base, txs) = randomBlock(seed: seed, accounts: accounts, size: 513, badShare: badShare)
            expectSameResult(vm: RuntimeVM(), txs: txs, base: base, threads: 4, label: "bad \(badShare) seed \(seed)")
        }
    }

    @Test(arguments: [2, 10, 100, 1000])
    func withoutFootprintHints(accounts: Int) {
        for threads in [2, 4, 8] {
            let seed = UInt64(accounts * 7 + threads)
            let (base, txs) = randomBlock(seed: seed, accounts: accounts, size: 700)
            expectSameResult(
                vm: HintedBankVM(hints: .none), txs: txs, base: base, threads: threads, label: "undeclared seed \(seed)"
            )
        }
    }

    @Test func withWrongFootprintHints() {
        for accounts in [2, 10, 1000] {
            let (base, txs) = randomBlock(seed: UInt64(accounts), accounts: accounts, size: 600)
            expectSameResult(
                vm: HintedBankVM(hints: .misleading), txs: txs, base: base, threads: 4, label: "misleading \(accounts)")
        }
    }

    @Test func emptyBlock() {
        let (base, _) = randomBlock(seed: 1, accounts: 10, size: 0)
        expectSameResult(vm: RuntimeVM(), txs: [], base: base, threads: 2, label: "empty")
    }

    @Test func overflowFallsBackToSequentialWithTheSameResult() {
        let (base, txs) = randomBlock(seed: 5, accounts: 10, size: 2000)
        let expected = SequentialExecutor(vm: WideWriterVM()).execute(txs, base: base)
        let executor = ParallelExecutor(vm: WideWriterVM(), threads: 2, policy: .forceParallel)
        let first = executor.execute(txs, base: base)
        #expect(first.statistics.reason.contains("overflow"))
        #expect(first.outputs == expected.outputs)
        #expect(first.sortedWrites == expected.sortedWrites)
        // The executor grows its tables; later blocks run in parallel again.
        var last = first
        for _ in 0..<4 { last = executor.execute(txs, base: base) }
        #expect(last.statistics.path == .parallel)
        #expect(last.sortedWrites == expected.sortedWrites)
    }
}

@Suite("The adaptive choice of path")
struct AdaptivePathTests {
    @Test func cheapTransfersRunSequentially() {
        let (base, txs) = randomBlock(seed: 3, accounts: 1000, size: 5000)
        let r = ParallelExecutor(vm: RuntimeVM(), threads: 2).execute(txs, base: base)
        #expect(r.statistics.path == .sequential)
        #expect(r.statistics.reason == "cheap transactions")
    }

    @Test func contendedComputeRunsSequentially() {
        let (base, txs) = randomBlock(seed: 4, accounts: 2, size: 2000, computeRounds: 32)
        let r = ParallelExecutor(vm: RuntimeVM(), threads: 2).execute(txs, base: base)
        #expect(r.statistics.path == .sequential)
        #expect(r.statistics.reason == "contention")
    }

    @Test func independentComputeRunsInParallel() {
        let (base, txs) = randomBlock(seed: 5, accounts: 1000, size: 2000, computeRounds: 32)
        let r = ParallelExecutor(vm: RuntimeVM(), threads: 2).execute(txs, base: base)
        #expect(r.statistics.path == .parallel)
        let s = SequentialExecutor(vm: RuntimeVM()).execute(txs, base: base)
        #expect(r.sortedWrites == s.sortedWrites)
    }

    @Test func oneThreadIsSequential() {
        let (base, txs) = randomBlock(seed: 6, accounts: 1000, size: 2000, computeRounds: 32)
        let r = ParallelExecutor(vm: RuntimeVM(), threads: 1).execute(txs, base: base)
        #expect(r.statistics.path == .sequential)
    }
}

@Suite("Block-STM under random shapes")
struct RandomShapeTests {
    /// Many small random blocks of random shape, thread count and claim batch: races show up as a
    /// difference in some seed, which the message names.
    @Test func manyRandomBlocks() {
        var rng = SplitMix64(seed: 2026)
        for seed in 0..<150 {
            let accounts = [2, 3, 5, 17, 200, 5000][Int(rng.next() % 6)]
            let size = 1 + Int(rng.next() % 600)
            let threads = 2 + Int(rng.next() % 7)
            let rounds = UInt32(rng.next() % 2)
            let (base, txs) = randomBlock(
                seed: UInt64(seed) &* 7919, accounts: accounts, size: size, computeRounds: rounds,
                badShare: Double(rng.next() % 60) / 100)
            let expected = SequentialExecutor(vm: RuntimeVM()).execute(txs, base: base)
            let executor = ParallelExecutor(vm: RuntimeVM(), threads: threads, policy: .forceParallel)
            executor.claimBatch = 1 + Int(rng.next() % 8)
            let actual = executor.execute(txs, base: base)
            let label =
                "seed \(seed): \(accounts) accounts, \(size) txs, \(threads) threads, batch \(executor.claimBatch)"
            #expect(actual.outputs == expected.outputs, "\(label)")
            #expect(actual.sortedWrites == expected.sortedWrites, "\(label)")
        }
    }
}
