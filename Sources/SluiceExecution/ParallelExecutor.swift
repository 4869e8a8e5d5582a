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

    private let sequential: SequentialExecutor<VM>
    private let pool: WorkerPool
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

    private func freeTransactionState() {
        slots.deallocate()
        for i in 0..<capacity { outputs.pointer(i).deinitialize(count: 1) }
        outputBase.deallocate()
    }

    private func reserve(transactions n: Int) {
        if n > capacity {
            freeTransactionState()
            capacity = Swift.max(n, capacity * 2)
            slots = TransactionSlots(count: capacity)
            outputBase = .allocate(byteCount: capacity * Self.outputStride, alignment: 64)
            for i in 0..<capacity { outputs.pointer(i).initialize(to: nil) }
        }
        slots.reset(n, status: Self.readyToExecute)
    }

    // MARK: Planning

    /// What the cost model decided for a block.
    @usableFromInline
    struct Plan {
        @usableFromInline var parallel: Bool
        @usableFromInline var reason: String
        @usableFromInline var predictedSpeedup: Double
        /// Every transaction declared its writes: pre-place ESTIMATE markers.
        @usableFromInline var declared: Bool
        @usableFromInline var declaredKeys: Int
        @inlinable init(parallel: Bool, reason: String, predictedSpeedup: Double, declared: Bool, declaredKeys: Int) {
            self.parallel = parallel
            self.reason = reason
            self.predictedSpeedup = predictedSpeedup
            self.declared = declared
            self.declaredKeys = declaredKeys
        }
    }

    /// Decides the path. O(n) over the declared footprints, done only when parallelism could pay.
    @inlinable
    func plan(_ txs: [VM.Transaction]) -> Plan {
        let n = txs.count
        if policy == .forceSequential {
            return Plan(
                parallel: false, reason: "forced sequential", predictedSpeedup: 0, declared: false, declaredKeys: 0)
        }
        if policy == .adaptive {
            if threads == 1 {
                return Plan(parallel: false, reason: "1 thread", predictedSpeedup: 1, declared: false, declaredKeys: 0)
            }
            if n < 4 * threads {
                return Plan(
                    parallel: false, reason: "small block", predictedSpeedup: 1, declared: false, declaredKeys: 0)
            }
        }
        let t = Double(Swift.min(threads, cores))
        let overhead = overheadNanosPerTransaction * Double(n)
        // The total work, estimated from at most 256 evenly spaced transactions: the decision must cost
        // next to nothing on the blocks it sends down the sequential path.
        let sample = Swift.min(n, 256)
        var sampled = 0.0
        for k in 0..<sample { sampled += vm.estimatedCost(of: txs[k * n / sample]) }
        let total = sampled / Double(Swift.max(sample, 1)) * Double(n)
        // Even with no conflict at all, parallel time is (work + bookkeeping) / threads, and never below
        // the serial floor.
        let floor = serialFloorNanosPerTransaction * Double(n)
        let ideal = total / Swift.max((total + overhead) / t, floor)
        if policy == .adaptive && ideal < minimumPredictedSpeedup {
            return Plan(
                parallel: false, reason: "cheap transactions", predictedSpeedup: ideal, declared: false, declaredKeys: 0
            )
        }
        if policy == .forceParallel {
            // Declared writes are only hints: place whatever the VM declares.
            return Plan(parallel: true, reason: "forced", predictedSpeedup: ideal, declared: true, declaredKeys: 0)
        }
        // The critical path through the declared write sets bounds what any schedule can do.
        var critical = 0.0
        var declared = true
        var keys = 0
        var declaredKeys = plannedKeys
        finishTimes.reset(expected: n * 2)
        for tx in txs {
            declaredKeys.removeAll()
            var start = 0.0
            declared = vm.declaredWrites(of: tx) { key in
                let f = finishTimes[key]
                if f > start { start = f }
                declaredKeys.append(key)
            }
            guard declared else { break }
            let end = start + vm.estimatedCost(of: tx)
            for k in 0..<declaredKeys.count { finishTimes.set(declaredKeys[k], end) }
            keys += declaredKeys.count
            if end > critical { critical = end }
        }
        plannedKeys = declaredKeys
        let predicted: Double
        if declared {
            predicted = total / Swift.max(Swift.max(total / t, critical) + overhead / t, floor)
        } else {
            predicted = ideal
        }
        if predicted < minimumPredictedSpeedup {
            return Plan(
                parallel: false, reason: "contention", predictedSpeedup: predicted, declared: declared,
                declaredKeys: keys)
        }
        return Plan(
            parallel: true, reason: "parallel pays", predictedSpeedup: predicted, declared: declared, declaredKeys: keys
        )
    }

    // MARK: Execution

    /// Executes a block; the result is identical to `SequentialExecutor` whatever the path.
    /// - Complexity: O(n) executions plus re-executions; O(1) expected work per read and write.
    public func execute<Base: StateReader<VM.Value>>(
        _ txs: [VM.Transaction], base: Base, context: BlockContext = BlockContext()
    ) -> BlockExecution<VM.Value, VM.Output, VM.Event> {
        let start = monotonicNanos()
        let plan = plan(txs)
        let planned = monotonicNanos()
        if !plan.parallel {
            var result = sequential.execute(txs, base: base, keyCapacityHint: plan.declaredKeys, context: context)
            result.statistics.reason = plan.reason
            result.statistics.predictedSpeedup = plan.predictedSpeedup
            result.statistics.planNanos = planned - start
            result.statistics.totalNanos += planned - start
            return result
        }
        if let result = runBlockSTM(txs, base: base, plan: plan, context: context, start: start, planned: planned) {
            return result
        }
        // The block outgrew the preallocated tables: run it sequentially; the next block gets more room.
        var result = sequential.execute(txs, base: base, keyCapacityHint: plan.declaredKeys, context: context)
        result.statistics.reason = "memory overflow, ran sequentially"
        result.statistics.planNanos = planned - start
        result.statistics.totalNanos = monotonicNanos() - start
        overflowHint = Swift.max(overflowHint * 2, 8)
        return result
    }

    /// Keys and writes expected per transaction when footprints are unknown; doubled on overflow.
    private var overflowHint = 4

    private func runBlockSTM<Base: StateReader<VM.Value>>(
        _ txs: [VM.Transaction], base: Base, plan: Plan, context: BlockContext, start: UInt64, planned: UInt64
    ) -> BlockExecution<VM.Value, VM.Output, VM.Event>? {
        let n = txs.count
        reserve(transactions: n)
        let perTx = Swift.max(
            overflowHint, plan.declared ? (plan.declaredKeys + n - 1) / Swift.max(n, 1) + 2 : overflowHint)
        memory.prepare(transactions: n, expectedKeys: n * perTx, expectedWrites: n * perTx)
        blockSize = n
        for c in 0..<counters.count { counters[c].pointee.store(0, ordering: .relaxed) }
        done.pointee.store(n == 0 ? 1 : 0, ordering: .relaxed)
        for s in scratch { s.reset() }

        txs.withUnsafeBufferPointer { buffer in
            let block = UnsafeBlock(buffer: buffer)
            let declared = plan.declared
            // The adaptive path never runs more workers than cores: an oversubscribed spinning worker
            // only slows the others. Forced runs use every thread (tests use that to provoke races).
            activeWorkers = policy == .forceParallel ? threads : Swift.min(threads, cores)
            pool.run { [self] worker in
                // Each worker borrows its own copy of the base through a pointer, so executions do
                // not retain and release a shared reference (a cache line both cores would write).
                var workerBase = base
                withUnsafePointer(to: &workerBase) { pointer in
                    self.work(worker: worker, block: block, base: pointer, declared: declared)
                }
            }
        }
        let executed = monotonicNanos()
        if memory.overflowed.load(ordering: .relaxed) { return nil }

        var out: [VM.Output] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            guard let o = outputs[i] else { preconditionFailure("transaction \(i) has no output after Block-STM") }
            out.append(o)
            outputs[i] = nil
        }
        let blockEnd = out.withUnsafeBufferPointer {
            vm.finalize(outputs: $0, state: FinalStateReader(memory: memory, base: base), context: context)
        }
        var writes: [StateWrite<VM.Value>] = []
        writes.reserveCapacity(n * 2)
        var extra: [StateWrite<VM.Value>] = []
        for w in blockEnd.writes where !memory.setFinalValue(w.key, w.value) { extra.append(w) }
        memory.collectWrites(into: &writes)
        writes.append(contentsOf: extra)
        let finished = monotonicNanos()

        var stats = ExecutionStatistics()
        stats.path = .parallel
        stats.reason = plan.reason
        stats.threads = activeWorkers
        stats.transactions = n
        stats.predictedSpeedup = plan.predictedSpeedup
        for s in scratch {
            stats.reExecutions += s.executions
            stats.validationAborts += s.validationAborts
            stats.suspensions += s.suspensions
            stats.validations += s.validations
        }
        stats.reExecutions -= n
        stats.planNanos = planned - start
        stats.executeNanos = executed - planned
        stats.finalizeNanos = finished - executed
        stats.totalNanos = finished - start
        return BlockExecution(outputs: out, writes: writes, events: blockEnd.events, statistics: stats)
    }

    /// One worker: place declared estimates (all workers share the work), then the Block-STM loop.
    @inlinable
    func work<Base: StateReader<VM.Value>>(
        worker: Int, block: UnsafeBlock<VM.Transaction>, base: UnsafePointer<Base>, declared: Bool
    ) {
        if worker >= activeWorkers { return }
        let n = blockSize
        if declared {
            let chunk = 256
            while true {
                let from = planCursor.pointee.wrappingAdd(chunk, ordering: .relaxed).oldValue
                if from >= n { break }
                for i in from..<Swift.min(from + chunk, n) {
                    _ = vm.declaredWrites(of: block.buffer[i]) { key in
                        _ = memory.declareEstimate(i, key: key)
                    }
                }
            }
            plannedWorkers.pointee.wrappingAdd(1, ordering: .acquiringAndReleasing)
            while plannedWorkers.pointee.load(ordering: .acquiring) < activeWorkers { yieldThread() }
        }
        let local = scratch[worker]
        var task = Task.none
        var idle = 0
        while done.pointee.load(ordering: .acquiring) == 0 {
            if memory.overflowed.load(ordering: .relaxed) {
                done.pointee.store(1, ordering: .releasing)
                break
            }
            switch task.kind {
            case .execute:
                task = tryExecute(task.index, incarnation: task.incarnation, block: block, base: base, local: local)
            case .validate:
                task = validate(task.index, incarnation: task.incarnation, local: local)
            case .none:
                task = nextTask(local)
                if task.kind == .none {
                    idle &+= 1
                    if idle > 16 {
                        idle = 0
                        yieldThread()
                    }
                }
            }
        }
    }

    @usableFromInline
    struct Task {
        @usableFromInline enum Kind { case none, execute, validate }
        @usableFromInline var kind: Kind
        @usableFromInline var index: Int
        @usableFromInline var incarnation: Int32
        @usableFromInline static var none: Task { Task(kind: .none, index: 0, incarnation: 0) }
        @inlinable init(kind: Kind, index: Int, incarnation: Int32) {
            self.kind = kind
            self.index = index
            self.incarnation = incarnation
        }
    }

    @inlinable
    func tryExecute<Base: StateReader<VM.Value>>(
        _ i: Int, incarnation: Int32, block: UnsafeBlock<VM.Transaction>, base: UnsafePointer<Base>,
        local: WorkerScratch<VM.Value>
    ) -> Task {
        while true {
            local.reads.removeAll()
            local.writes.removeAll()
            local.executions &+= 1
            var view = ParallelView(memory: memory, base: base, txIndex: Int32(i), local: local)
            let output: VM.Output
            do {
                output = try vm.execute(block.buffer[i], index: i, view: &view)
            } catch {
                if error.blockingIndex < 0 { return .none }  // memory overflow: the block is abandoned
                local.suspensions &+= 1
                if addDependency(i, on: Int(error.blockingIndex)) { return .none }
                continue  // the blocking transaction finished meanwhile: read again
            }
            guard let wroteNewKey = memory.record(i, incarnation: incarnation, writes: local.writes) else {
                return .none
            }
            // The worker's buffer becomes the transaction's read set; the old one comes back to be reused.
            slots.lockReads(i)
            swap(&slots.readSet(i).pointee, &local.reads)
            slots.unlockReads(i)
            outputs[i] = output
            return finishExecution(i, incarnation: incarnation, wroteNewKey: wroteNewKey)
        }
    }

    @inlinable
    func validate(_ i: Int, incarnation: Int32, local: WorkerScratch<VM.Value>) -> Task {
        local.validations &+= 1
        slots.lockReads(i)
        let valid = memory.validate(txIndex: Int32(i), reads: slots.readSet(i).pointee)
        slots.unlockReads(i)
        let aborted = !valid && tryValidationAbort(i, incarnation: incarnation)
        if aborted {
            local.validationAborts &+= 1
            memory.convertToEstimates(i)
        }
        return finishValidation(i, aborted: aborted)
    }

    // MARK: Scheduler (Algorithm 4–5 of the paper)

    /// Lowers a scheduler index to `target` (never raises it) and counts the decrease, as the paper's
    /// decrease_execution_idx / decrease_validation_idx.
    @inlinable
    func decrease(_ index: UnsafeMutablePointer<Atomic<Int>>, to target: Int) {
        var current = index.pointee.load(ordering: .sequentiallyConsistent)
        while current > target {
            let (exchanged, original) = index.pointee.compareExchange(
                expected: current, desired: target, ordering: .sequentiallyConsistent)
            if exchanged { break }
            current = original
        }
        decreaseCount.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    @inlinable
    func checkDone() {
        let observed = decreaseCount.pointee.load(ordering: .sequentiallyConsistent)
        let e = executionIndex.pointee.load(ordering: .sequentiallyConsistent)
        let v = validationIndex.pointee.load(ordering: .sequentiallyConsistent)
        if Swift.min(e, v) >= blockSize && activeTasks.pointee.load(ordering: .sequentiallyConsistent) == 0
            && observed == decreaseCount.pointee.load(ordering: .sequentiallyConsistent)
        {
            done.pointee.store(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Claims transaction `i` for execution if it is ready. Releases the caller's task when not.
    @inlinable
    func tryIncarnate(_ i: Int) -> Task {
        if i < blockSize {
            slots.lock(i)
            if slots.status(i).pointee == Self.readyToExecute {
                slots.status(i).pointee = Self.executing
                let inc = slots.incarnation(i).pointee
                slots.unlock(i)
                return Task(kind: .execute, index: i, incarnation: inc)
            }
            slots.unlock(i)
        }
        activeTasks.pointee.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return .none
    }

    /// The next task for a worker, lowest work first: validations when the validation index trails
    /// the execution index, else executions.
    ///
    /// A worker claims `claimBatch` consecutive indices at a time (the paper claims one). Each claimed
    /// index holds one active-task unit until it is used or dropped, so `checkDone` stays exact; claims
    /// only change which worker does a task and when, never which tasks exist. Batching keeps a run of
    /// transactions, their cache lines and their validations on one core and divides the traffic on
    /// the shared counters.
    @inlinable
    func nextTask(_ local: WorkerScratch<VM.Value>) -> Task {
        while true {
            if local.validateNext < local.validateEnd {
                let i = local.validateNext
                local.validateNext += 1
                slots.lock(i)
                let status = slots.status(i).pointee
                let inc = slots.incarnation(i).pointee
                slots.unlock(i)
                if status == Self.executed { return Task(kind: .validate, index: i, incarnation: inc) }
                activeTasks.pointee.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                continue
            }
            let v = validationIndex.pointee.load(ordering: .sequentiallyConsistent)
            if v < executionIndex.pointee.load(ordering: .sequentiallyConsistent) && v < blockSize {
                let (from, to) = claim(validationIndex)
                local.validateNext = from
                local.validateEnd = to
                if from < to { continue }
            }
            if local.executeNext < local.executeEnd {
                let i = local.executeNext
                local.executeNext += 1
                let task = tryIncarnate(i)
                if task.kind != .none { return task }
                continue
            }
            if executionIndex.pointee.load(ordering: .sequentiallyConsistent) < blockSize {
                let (from, to) = claim(executionIndex)
                local.executeNext = from
                local.executeEnd = to
                if from < to { continue }
            }
            checkDone()
            return .none
        }
    }

    /// Claims up to `claimBatch` indices from a scheduler counter, with one active-task unit each.
    @inlinable
    func claim(_ counter: UnsafeMutablePointer<Atomic<Int>>) -> (Int, Int) {
        let batch = claimBatch
        activeTasks.pointee.wrappingAdd(batch, ordering: .sequentiallyConsistent)
        let from = counter.pointee.wrappingAdd(batch, ordering: .sequentiallyConsistent).oldValue
        let to = Swift.min(from + batch, blockSize)
        let unused = batch - Swift.max(0, to - from)
        if unused > 0 { activeTasks.pointee.wrappingSubtract(unused, ordering: .sequentiallyConsistent) }
        return (from, Swift.max(from, to))
    }

    /// Suspends `i` until `blocking` finishes. False when `blocking` already has (read again).
    @inlinable
    func addDependency(_ i: Int, on blocking: Int) -> Bool {
        slots.lock(blocking)
        if slots.status(blocking).pointee == Self.executed {
            slots.unlock(blocking)
            return false
        }
        slots.lock(i)
        slots.status(i).pointee = Self.aborting
        slots.unlock(i)
        slots.dependentsNext(i).pointee = slots.dependentsHead(blocking).pointee
        slots.dependentsHead(blocking).pointee = Int32(i)
        slots.unlock(blocking)
        activeTasks.pointee.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return true
    }

    @inlinable
    func setReadyStatus(_ i: Int) {
        slots.lock(i)
        slots.incarnation(i).pointee &+= 1
        slots.status(i).pointee = Self.readyToExecute
        slots.unlock(i)
    }

    @inlinable
    func finishExecution(_ i: Int, incarnation: Int32, wroteNewKey: Bool) -> Task {
        slots.lock(i)
        slots.status(i).pointee = Self.executed
        var dependent = slots.dependentsHead(i).pointee
        slots.dependentsHead(i).pointee = -1
        slots.unlock(i)
        var lowest = Int.max
        while dependent >= 0 {
            let next = slots.dependentsNext(Int(dependent)).pointee
            setReadyStatus(Int(dependent))
            lowest = Swift.min(lowest, Int(dependent))
            dependent = next
        }
        if lowest != Int.max { decrease(executionIndex, to: lowest) }
        if validationIndex.pointee.load(ordering: .sequentiallyConsistent) > i {
            if wroteNewKey {
                decrease(validationIndex, to: i)
            } else {
                return Task(kind: .validate, index: i, incarnation: incarnation)
            }
        }
        activeTasks.pointee.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return .none
    }

    @inlinable
    func tryValidationAbort(_ i: Int, incarnation: Int32) -> Bool {
        slots.lock(i)
        defer { slots.unlock(i) }
        if slots.incarnation(i).pointee == incarnation && slots.status(i).pointee == Self.executed {
            slots.status(i).pointee = Self.aborting
            return true
        }
        return false
    }

    @inlinable
    func finishValidation(_ i: Int, aborted: Bool) -> Task {
        if aborted {
            setReadyStatus(i)
            decrease(validationIndex, to: i + 1)
            if executionIndex.pointee.load(ordering: .sequentiallyConsistent) > i {
                // tryIncarnate releases the task itself when it cannot claim the transaction.
                return tryIncarnate(i)
            }
        }
        activeTasks.pointee.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        return .none
    }
}

/// A block's transactions shared with the workers for the duration of `execute`.
@usableFromInline
struct UnsafeBlock<Transaction>: @unchecked Sendable {
    @usableFromInline let buffer: UnsafeBufferPointer<Transaction>
    @inlinable init(buffer: UnsafeBufferPointer<Transaction>) { self.buffer = buffer }
}

/// A worker's reusable buffers and counters.
@usableFromInline
final class WorkerScratch<Value>: @unchecked Sendable {
    // Keeps two workers' counters off one cache line.
    private var padBefore: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    @usableFromInline var reads = RawBuffer<ReadRecord>(capacity: 16)
    @usableFromInline var writes = RawBuffer<StateWrite<Value>>(capacity: 16)
    @usableFromInline var executions = 0
    @usableFromInline var validationAborts = 0
    @usableFromInline var suspensions = 0
    @usableFromInline var validations = 0
    // Indices claimed from the scheduler and not yet used.
    @usableFromInline var executeNext = 0
    @usableFromInline var executeEnd = 0
    @usableFromInline var validateNext = 0
    @usableFromInline var validateEnd = 0
    private var padAfter: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init() {}

    deinit {
        reads.free()
        writes.free()
    }

    func reset() {
        executeNext = 0
        executeEnd = 0
        validateNext = 0
        validateEnd = 0
        executions = 0
        validationAborts = 0
        suspensions = 0
        validations = 0
    }
}

/// The view of a transaction under Block-STM: its own writes, then MVMemory, then the base state.
@usableFromInline
struct ParallelView<Base: StateReader>: StateView {
    @usableFromInline unowned(unsafe) let memory: MultiVersionMemory<Base.Value>
    @usableFromInline let base: UnsafePointer<Base>
    @usableFromInline let txIndex: Int32
    @usableFromInline unowned(unsafe) let local: WorkerScratch<Base.Value>

    @inlinable
    init(
        memory: MultiVersionMemory<Base.Value>, base: UnsafePointer<Base>, txIndex: Int32,
        local: WorkerScratch<Base.Value>
    ) {
        self.memory = memory
        self.base = base
        self.txIndex = txIndex
        self.local = local
    }

    @inlinable
    mutating func read(_ key: StateKey) throws(ExecutionSuspended) -> Base.Value? {
        let writes = local.writes
        for j in 0..<writes.count where writes[j].key == key { return writes[j].value }
        switch memory.read(key, txIndex: txIndex) {
        case let .storage(entry, from):
            local.reads.append(ReadRecord(entry: entry, writer: -1, incarnation: 0, from: from))
            return base.pointee.read(key)
        case let .value(entry, writer, incarnation, from, value):
            local.reads.append(ReadRecord(entry: entry, writer: writer, incarnation: incarnation, from: from))
            return value
        case .estimate(let writer):
            throw ExecutionSuspended(blockingIndex: writer)
        case .overflow:
            throw ExecutionSuspended(blockingIndex: -1)
        }
    }

    @inlinable
    mutating func write(_ key: StateKey, _ value: Base.Value?) {
        let writes = local.writes
        for j in 0..<writes.count where writes[j].key == key {
            writes[j] = StateWrite(key: key, value: value)
            return
        }
        local.writes.append(StateWrite(key: key, value: value))
    }
}

/// Reads the state after a Block-STM block: the final versions, then the base state.
struct FinalStateReader<Base: StateReader>: StateReader, @unchecked Sendable {
    let memory: MultiVersionMemory<Base.Value>
    let base: Base
    func read(_ key: StateKey) -> Base.Value? {
        if let written = memory.finalValue(key) { return written }
        return base.read(key)
    }
}
