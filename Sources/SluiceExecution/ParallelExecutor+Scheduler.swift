import Foundation
import SluiceCore
public import Synchronization

// The collaborative scheduler (Algorithm 4–5 of the paper): execution and validation tasks in index order.

extension ParallelExecutor {

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
