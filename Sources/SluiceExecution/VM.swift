import Dispatch
public import SluiceCore

// The contract between the executors and a state machine.
//
// The executors know nothing of accounts, markets or contracts: they run a `BlockVM` over a block of
// its transactions against a base state, and give back every write and output. A VM reads and writes
// state only through the `StateView` it is handed, so the parallel executor can version its reads and
// writes, and a read that hits a value still being computed by a lower transaction suspends the
// execution by throwing `ExecutionSuspended` (the VM just propagates it with `try`).

/// The execution of a transaction has to wait for a lower transaction whose write it read as an estimate.
public struct ExecutionSuspended: Error, Sendable {
    /// The index of the transaction it waits for.
    public let blockingIndex: Int32
    @inlinable public init(blockingIndex: Int32) { self.blockingIndex = blockingIndex }
}

/// Read-only access to the state the block starts from. Must be safe to call from several threads.
public protocol StateReader<Value>: Sendable {
    associatedtype Value
    func read(_ key: StateKey) -> Value?
}

/// What a transaction sees of the state while it executes: the base state plus the writes of the
/// transactions before it in the block, plus its own writes.
public protocol StateView<Value> {
    associatedtype Value
    mutating func read(_ key: StateKey) throws(ExecutionSuspended) -> Value?
    /// Writes `value`, or deletes the key when `value` is nil.
    mutating func write(_ key: StateKey, _ value: Value?)
}

/// A deterministic state machine that the executors can run.
public protocol BlockVM: Sendable {
    associatedtype Transaction: Sendable
    associatedtype Value: Sendable
    associatedtype Output: Sendable
    /// What the block-end step reports (typed events, committed with the receipts).
    associatedtype Event: Sendable

    /// Executes one transaction. Must be deterministic: a function of the transaction, its index and
    /// what it reads from `view`, nothing else.
    func execute<View: StateView<Value>>(
        _ transaction: Transaction, index: Int, view: inout View
    ) throws(ExecutionSuspended) -> Output

    /// A hint for the parallel executor: calls `body` with every key the transaction may write, and
    /// returns true when that list is complete. A wrong hint costs time, never correctness.
    func declaredWrites(of transaction: Transaction, _ body: (StateKey) -> Void) -> Bool

    /// Roughly how many nanoseconds executing the transaction takes, for the adaptive choice of path.
    func estimatedCost(of transaction: Transaction) -> Double

    /// Block-end writes computed from the outputs (commutative deltas such as fees, the market's batch
    /// auction), after every transaction, and the events of that step. `state` reads the state after the
    /// block's transactions. When a key is written twice, the later write wins.
    func finalize<Reader: StateReader<Value>>(
        outputs: UnsafeBufferPointer<Output>, state: Reader, context: BlockContext
    ) -> BlockEnd<Value, Event>
}

/// What a block-end step produced: its writes and its events, in the order it emitted them.
public struct BlockEnd<Value, Event> {
    public var writes: [StateWrite<Value>]
    public var events: [Event]
    @inlinable public init(writes: [StateWrite<Value>] = [], events: [Event] = []) {
        self.writes = writes
        self.events = events
    }
}

/// What the block-end step knows of the block besides its transactions.
public struct BlockContext: Sendable, Hashable {
    public var height: UInt64
    /// Unix seconds.
    public var timestamp: UInt64
    /// Unpredictable before the parent block exists (the parent's hash): seeds audits and challenges.
    public var seed: Hash
    /// The block's proposer (its header's): receives the validators' share of emissions while the
    /// chain has no validator set. The treasury while blocks are not signed.
    public var proposer: Address

    public init(height: UInt64 = 1, timestamp: UInt64 = 0, seed: Hash = .zero, proposer: Address = .treasury) {
        self.height = height
        self.timestamp = timestamp
        self.seed = seed
        self.proposer = proposer
    }
}

/// One write of a block: a key and its new value, or nil for a deletion.
public struct StateWrite<Value> {
    public var key: StateKey
    public var value: Value?
    @inlinable public init(key: StateKey, value: Value?) {
        self.key = key
        self.value = value
    }
}

extension StateWrite: Sendable where Value: Sendable {}
extension StateWrite: Equatable where Value: Equatable {}

/// A base state held in memory (genesis, t8n, benchmarks, tests).
public struct DictionaryState<Value: Sendable>: StateReader {
    public var values: [StateKey: Value]
    public init(_ values: [StateKey: Value] = [:]) { self.values = values }
    @inlinable public func read(_ key: StateKey) -> Value? { values[key] }

    /// Applies a block's writes.
    public mutating func apply(_ writes: [StateWrite<Value>]) {
        for w in writes {
            if let v = w.value { values[w.key] = v } else { values.removeValue(forKey: w.key) }
        }
    }
}

/// Which executor ran a block, and why.
public enum ExecutionPath: String, Sendable {
    case sequential
    case parallel
}

/// What the executor did for one block, so contention and overhead are visible.
public struct ExecutionStatistics: Sendable {
    public var path: ExecutionPath = .sequential
    /// Why this path: "1 thread", "cheap transactions", "contention", "forced", "parallel pays", …
    public var reason: String = ""
    public var threads: Int = 1
    public var transactions: Int = 0
    /// Executions beyond the first of each transaction.
    public var reExecutions: Int = 0
    /// Validations that failed and aborted an incarnation.
    public var validationAborts: Int = 0
    /// Executions suspended on an estimate of a lower transaction.
    public var suspensions: Int = 0
    public var validations: Int = 0
    /// The cost model's prediction of the parallel speedup (0 when not computed).
    public var predictedSpeedup: Double = 0
    /// Time split, in nanoseconds.
    public var planNanos: UInt64 = 0
    public var executeNanos: UInt64 = 0
    public var finalizeNanos: UInt64 = 0
    public var totalNanos: UInt64 = 0

    public init() {}
}

/// The result of executing a block: every output in block order, every write, and the block-end step's
/// events.
public struct BlockExecution<Value: Sendable, Output: Sendable, Event: Sendable>: Sendable {
    public var outputs: [Output]
    /// One write per key the block wrote, block-end writes included, in no particular order.
    public var writes: [StateWrite<Value>]
    /// The block-end step's events, in the order it emitted them.
    public var events: [Event]
    public var statistics: ExecutionStatistics

    public init(outputs: [Output], writes: [StateWrite<Value>], events: [Event], statistics: ExecutionStatistics) {
        self.outputs = outputs
        self.writes = writes
        self.events = events
        self.statistics = statistics
    }

    /// The writes ordered by key, the form to compare or hash.
    public var sortedWrites: [StateWrite<Value>] { writes.sorted { $0.key < $1.key } }
}

@usableFromInline
func monotonicNanos() -> UInt64 {
    DispatchTime.now().uptimeNanoseconds
}
