import CAllocationCounter
import SluiceCore
import SluiceExecution
import SluiceRuntime
import Testing

@Suite("The executor does not allocate per read or write", .serialized)
struct AllocationTests {
    /// Allocations per transaction of a warm executor on a 10,000-transaction block.
    func allocationsPerTransaction(accounts: Int, rounds: UInt32, threads: Int) -> Double {
        let (base, txs) = randomBlock(seed: 11, accounts: accounts, size: 10_000, computeRounds: rounds, badShare: 0)
        let executor = ParallelExecutor(vm: BankVM(), threads: threads, policy: .forceParallel)
        _ = executor.execute(txs, base: base)  // warm: buffers grow to the block
        sluice_alloc_counter_start()
        let result = executor.execute(txs, base: base)
        let count = sluice_alloc_counter_stop()
        #expect(result.statistics.path == .parallel)
        let perTx = Double(count) / Double(txs.count)
        print("allocations per transaction: \(perTx) (\(count) in a block of \(txs.count), \(accounts) accounts, \(threads) threads)")
        return perTx
    }

    @Test(arguments: [100, 1000, 10_000])
    func parallelTransfers(accounts: Int) {
        // The block as a whole allocates its output arrays and write list (a few allocations per
        // block); nothing is allocated per transaction, read or write.
        #expect(allocationsPerTransaction(accounts: accounts, rounds: 0, threads: 2) < 0.01)
    }

    @Test func parallelCompute() {
        #expect(allocationsPerTransaction(accounts: 1000, rounds: 8, threads: 2) < 0.01)
    }
}
