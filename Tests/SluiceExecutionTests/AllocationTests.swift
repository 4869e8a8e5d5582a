import CAllocationCounter
import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState
import Testing

#if DEBUG
    /// Unoptimized builds box generic values and allocate where release builds do not.
    private let optimizedBuild = false
#else
    private let optimizedBuild = true
#endif

@Suite(
    "The executor does not allocate per read or write", .serialized,
    .enabled(if: optimizedBuild, "allocation counts mean something only in optimized builds: swift test -c release")
)
struct AllocationTests {
    /// Allocations per transaction that Block-STM adds to what the VM itself allocates, with a warm
    /// executor on a 10,000-transaction block: (parallel − sequential) / transactions.
    /// Meaningful in optimized builds (`swift test -c release`): debug builds box generic values.
    func allocationsPerTransaction(accounts: Int, rounds: UInt32, threads: Int) -> Double {
        let (base, txs) = randomBlock(seed: 11, accounts: accounts, size: 10_000, computeRounds: rounds, badShare: 0)
        let executor = ParallelExecutor(
            vm: RuntimeVM(), threads: threads, policy: .forceParallel, threadName: "alloc-test")
        let sequential = SequentialExecutor(vm: RuntimeVM())
        _ = executor.execute(txs, base: base)  // warm: buffers grow to the block
        _ = sequential.execute(txs, base: base)
        sluice_alloc_counter_start("alloc-test")
        _ = sequential.execute(txs, base: base)
        let sequentialCount = sluice_alloc_counter_stop()
        sluice_alloc_counter_start("alloc-test")
        let result = executor.execute(txs, base: base)
        let parallelCount = sluice_alloc_counter_stop()
        #expect(result.statistics.path == .parallel)
        // The VM's own allocations (compute's SHA-256 contexts) happen on the workers too: seeing them
        // proves the counter sees every worker thread.
        #expect(parallelCount >= sequentialCount)
        let perTx = (Double(parallelCount) - Double(sequentialCount)) / Double(txs.count)
        print(
            "allocations per transaction added by Block-STM: \(perTx) (parallel \(parallelCount), sequential "
                + "\(sequentialCount), block of \(txs.count), \(accounts) accounts, \(rounds) rounds, \(threads) threads)"
        )
        return perTx
    }

    @Test(arguments: [10, 100, 1000, 10_000])
    func parallelTransfers(accounts: Int) {
        // The block as a whole allocates its output arrays and write list (a few allocations per
        // block); nothing is allocated per transaction, read or write, suspension or re-execution.
        #expect(allocationsPerTransaction(accounts: accounts, rounds: 0, threads: 2) < 0.001)
    }

    /// The tree hashes every node it writes: SHA-256 (CSHA256) must not allocate.
    @Test func sha256DoesNotAllocate() {
        var buffer = [UInt8](repeating: 7, count: 65)
        var sink = Hash.zero
        buffer.withUnsafeMutableBytes { raw in
            sluice_alloc_counter_start("alloc-test")
            for i in 0..<1000 {
                raw[0] = UInt8(truncatingIfNeeded: i)
                sink = Hash.sha256(UnsafeRawBufferPointer(raw))
                raw.storeBytes(of: sink.w0, toByteOffset: 1, as: UInt64.self)
            }
            let count = sluice_alloc_counter_stop()
            #expect(count == 0, "\(count) allocations for 1000 hashes")
        }
        #expect(sink != .zero)
    }

    @Test func parallelCompute() {
        #expect(allocationsPerTransaction(accounts: 1000, rounds: 8, threads: 2) < 0.001)
        #expect(allocationsPerTransaction(accounts: 10, rounds: 8, threads: 4) < 0.001)
    }
}
