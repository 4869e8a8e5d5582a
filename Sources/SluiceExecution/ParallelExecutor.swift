import Foundation
public import SluiceCore
public import Synchronization

// Block-STM (Gelashvili et al., PPoPP 2023), as Aptos runs it, with two additions.
//
// Transactions execute optimistically on worker threads against MultiVersionMemory; each execution
// records what it read; a validation re-reads and, if anything changed, aborts the incarnation, turns
// its writes into ESTIMATE markers and schedules a re-execution. A collaborative scheduler hands out
// execution and validation tasks in index order from two shared counters, so the lowest pending work
// is always done first and the block finishes when both counters pass its end with no task in flight.
// A read of an ESTIMATE suspends the reader on the writer (an intrusive dependency list, no allocation)
// until the writer's next execution finishes.
//
// Additions, both invisible in the result:
// 1. Declared footprints. When the VM can say which keys each transaction will write (a transfer
//    writes its sender and recipient), those keys start as ESTIMATE markers, so a dependent
//    transaction waits instead of executing on a stale value and being aborted later.
// 2. Adaptive path. Bookkeeping costs a few hundred nanoseconds per transaction, more than a native
//    transfer. A cost model (the VM's per-transaction cost estimates, the critical path through the
//    declared footprints, and the measured bookkeeping cost) predicts the speedup; when it cannot
//    pay, the block runs on the sequential executor. Both paths give byte-identical results.
//
// Fees and other hot counters are not keys here at all: the VM returns them in its outputs and
// applies them once at block end (`BlockVM.finalize`), so they never serialize a block.

/// Which path the executor may take.
public enum ExecutionPolicy: Sendable {
    /// Block-STM when the cost model predicts it pays, else sequential.
    case adaptive
    /// Always Block-STM, to show its raw figures.
    case forceParallel
    /// Always sequential.
    case forceSequential
}

/// Executes blocks with Block-STM on a fixed set of threads, or sequentially when that is faster.
///
/// Keep one executor and reuse it: its buffers grow to the largest block and are then reused, so
/// steady-state execution allocates nothing per read or write.
public final class ParallelExecutor<VM: BlockVM>: @unchecked Sendable {
    public let vm: VM
    public let threads: Int
    @usableFromInline let cores = ProcessInfo.processInfo.activeProcessorCount
    public var policy: ExecutionPolicy
    /// Measured Block-STM bookkeeping per transaction, in nanoseconds, for the cost model.
    public var overheadNanosPerTransaction: Double = 450
    /// Scheduler indices a worker claims at a time (1 is the paper's scheduler).
    public var claimBatch = 4
    /// The predicted speedup the parallel path must reach to be chosen.
    public var minimumPredictedSpeedup: Double = 1.15
    /// The least wall time per transaction of the parallel path, in the cost model's nanoseconds, however
    /// many threads run: the scheduler's shared counters and the commit order are one cache line every
    /// worker writes. Measured on 16 cores (docs/PERFORMANCE.md, "On 16 cores"): compute transactions
    /// reached ~1.05 units per transaction at 16 threads where work ÷ threads was 0.31, and transfers
    /// never ran faster than ~0.8 µs per transaction in parallel. With 2 threads it never binds.
    public var serialFloorNanosPerTransaction: Double = 700

    let sequential: SequentialExecutor<VM>
    let pool: WorkerPool
    @usableFromInline let memory = MultiVersionMemory<VM.Value>()

    // Per transaction: status, incarnation, dependents and read set, a cache line each.
    @usableFromInline var slots = TransactionSlots(count: 0)
    // Per transaction, written by the executing thread, read after the block.
    // (Whole cache lines each: neighbours are written by different threads.)
    @usableFromInline static var outputStride: Int { (MemoryLayout<VM.Output?>.stride + 63) & ~63 }
    @usableFromInline var outputBase: UnsafeMutableRawPointer = .allocate(byteCount: 64, alignment: 64)
    @usableFromInline var outputs: StridedField<VM.Output?> {
        StridedField(base: outputBase, offset: 0, stride: Self.outputStride)
    }
    @usableFromInline var capacity = 0

    // The collaborative scheduler's counters, each on its own cache line.
    @usableFromInline let counters = PaddedAtomicInts(count: 7)
    @inlinable var executionIndex: UnsafeMutablePointer<Atomic<Int>> { counters[0] }
    @inlinable var validationIndex: UnsafeMutablePointer<Atomic<Int>> { counters[1] }
    @inlinable var decreaseCount: UnsafeMutablePointer<Atomic<Int>> { counters[2] }
    @inlinable var activeTasks: UnsafeMutablePointer<Atomic<Int>> { counters[3] }
    /// 1 when the block is done.
    @inlinable var done: UnsafeMutablePointer<Atomic<Int>> { counters[4] }
    @inlinable var planCursor: UnsafeMutablePointer<Atomic<Int>> { counters[5] }
    @inlinable var plannedWorkers: UnsafeMutablePointer<Atomic<Int>> { counters[6] }
    @usableFromInline var blockSize = 0
    /// Workers taking part in the current block.
    @usableFromInline var activeWorkers = 1

    @usableFromInline let scratch: [WorkerScratch<VM.Value>]
    /// The cost model's map from a key to when its last declared writer finishes.
    @usableFromInline var finishTimes = KeyTable<Double>(empty: 0)
    @usableFromInline var plannedKeys = RawBuffer<StateKey>(capacity: 16)

    @usableFromInline static var readyToExecute: UInt8 { 0 }
    @usableFromInline static var executing: UInt8 { 1 }
    @usableFromInline static var executed: UInt8 { 2 }
    @usableFromInline static var aborting: UInt8 { 3 }

    /// - Parameter threadName: worker threads are named `<threadName>-<n>`, for profilers.
    public init(vm: VM, threads: Int, policy: ExecutionPolicy = .adaptive, threadName: String = "sluice-exec") {
        precondition(threads >= 1, "an executor needs at least one thread")
        self.vm = vm
        self.threads = threads
        self.policy = policy
        sequential = SequentialExecutor(vm: vm)
        pool = WorkerPool(size: threads, name: threadName)
        scratch = (0..<threads).map { _ in WorkerScratch() }
    }

    deinit {
        pool.shutdown()
        freeTransactionState()
        counters.deallocate()
        finishTimes.free()
        plannedKeys.free()
    }

    /// Keys and writes expected per transaction when footprints are unknown; doubled on overflow.
    var overflowHint = 4

    func freeTransactionState() {
        slots.deallocate()
        for i in 0..<capacity { outputs.pointer(i).deinitialize(count: 1) }
        outputBase.deallocate()
    }

    func reserve(transactions n: Int) {
        if n > capacity {
            freeTransactionState()
            capacity = Swift.max(n, capacity * 2)
            slots = TransactionSlots(count: capacity)
            outputBase = .allocate(byteCount: capacity * Self.outputStride, alignment: 64)
            for i in 0..<capacity { outputs.pointer(i).initialize(to: nil) }
        }
        slots.reset(n, status: Self.readyToExecute)
    }
}
