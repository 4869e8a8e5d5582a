public import SluiceCore

// The reference executor: one transaction after another over a write overlay.
//
// Its result is the definition of a block's meaning; the parallel executor is tested against it and
// falls back to it whenever parallelism cannot pay.

/// The view a transaction gets in sequential execution: the block's overlay, then the base state.
@usableFromInline
struct SequentialView<Base: StateReader>: StateView {
    @usableFromInline var overlay: [StateKey: Base.Value?]
    @usableFromInline let base: Base

    @usableFromInline init(base: Base, capacity: Int) {
        self.base = base
        overlay = [:]
        overlay.reserveCapacity(capacity)
    }

    @inlinable
    mutating func read(_ key: StateKey) throws(ExecutionSuspended) -> Base.Value? {
        if let written = overlay[key] { return written }
        return base.read(key)
    }

    @inlinable
    mutating func write(_ key: StateKey, _ value: Base.Value?) {
        overlay[key] = .some(value)
    }
}

/// Reads the state after a block: the overlay, then the base state.
@usableFromInline
struct OverlayReader<Base: StateReader>: StateReader, @unchecked Sendable {
    @usableFromInline let overlay: [StateKey: Base.Value?]
    @usableFromInline let base: Base
    @inlinable func read(_ key: StateKey) -> Base.Value? {
        if let written = overlay[key] { return written }
        return base.read(key)
    }
}

/// Executes a block one transaction at a time, in order.
public struct SequentialExecutor<VM: BlockVM>: Sendable {
    public let vm: VM

    public init(vm: VM) { self.vm = vm }

    /// - Complexity: O(n) VM executions, with O(1) expected overlay work per read and write.
    public func execute<Base: StateReader<VM.Value>>(
        _ transactions: [VM.Transaction], base: Base, keyCapacityHint: Int = 0, context: BlockContext = BlockContext()
    ) -> BlockExecution<VM.Value, VM.Output, VM.Event> {
        let start = monotonicNanos()
        var view = SequentialView(base: base, capacity: Swift.max(keyCapacityHint, transactions.count * 2))
        var outputs: [VM.Output] = []
        outputs.reserveCapacity(transactions.count)
        transactions.withUnsafeBufferPointer { txs in
            for index in txs.indices {
                do {
                    outputs.append(try vm.execute(txs[index], index: index, view: &view))
                } catch {
                    // A sequential view never suspends.
                    preconditionFailure("sequential execution suspended at transaction \(index)")
                }
            }
        }
        let executed = monotonicNanos()
        let blockEnd = outputs.withUnsafeBufferPointer {
            vm.finalize(outputs: $0, state: OverlayReader(overlay: view.overlay, base: base), context: context)
        }
        for w in blockEnd.writes { view.overlay[w.key] = .some(w.value) }
        var writes: [StateWrite<VM.Value>] = []
        writes.reserveCapacity(view.overlay.count)
        for (key, value) in view.overlay { writes.append(StateWrite(key: key, value: value)) }
        let end = monotonicNanos()

        var stats = ExecutionStatistics()
        stats.path = .sequential
        stats.transactions = transactions.count
        stats.executeNanos = executed - start
        stats.finalizeNanos = end - executed
        stats.totalNanos = end - start
        return BlockExecution(outputs: outputs, writes: writes, events: blockEnd.events, statistics: stats)
    }
}
