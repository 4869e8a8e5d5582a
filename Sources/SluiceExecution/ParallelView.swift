import Foundation
public import SluiceCore
import Synchronization

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
