import Foundation
public import SluiceCore
public import Synchronization

// Executing a block: the entry point, the Block-STM run on the workers, each incarnation and its validation.

extension ParallelExecutor {

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

    func runBlockSTM<Base: StateReader<VM.Value>>(
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
}
