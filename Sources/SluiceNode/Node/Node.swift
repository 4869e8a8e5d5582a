import Dispatch
import Foundation
public import SluiceCore
public import SluiceExecution
public import SluiceRuntime
import SluiceState
public import SluiceStorage
public import SluiceConsensus
import Synchronization

// A single-validator node: transactions enter the mempool from any thread (signatures verified in
// parallel before any lock), and one block thread cuts blocks by size or by block time, executes them
// with Block-STM and commits them through the chain store. Admission overlaps block production: while a
// block executes and syncs to disk, the next one's transactions are verified and queued.
//
// Ordering sits behind `BlockProducer`: a single validator takes the mempool's batch by block time and
// size; a validator of several runs BFT consensus (`ConsensusDriver`, its own thread) and this block
// thread executes what consensus committed, as it comes. Transactions admitted here are then forwarded to
// the other validators.

/// A block as the node committed it, with what the API and the metrics want to know about it.
public struct CommittedBlock: Sendable {
    public var block: Block
    public var hash: Hash
    public var head: ChainHead
    public var receipts: [Receipt]
    /// The block-end step's events.
    public var blockEnd: BlockEndReceipt
    public var statistics: ExecutionStatistics
    /// Nanoseconds spent preparing and executing, and committing (root update + synced write).
    public var executeNanos: UInt64
    public var commitNanos: UInt64
    /// Transactions the mempool dropped after the block (now invalid).
    public var dropped: Int
}

/// Runs the block loop over a chain store and a mempool.
public final class Node: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// The longest wait between blocks; a full block is cut at once.
        public var blockTime: Duration
        /// The most transactions in one block.
        public var maxBlockSize: Int
        public var mempool: Mempool.Configuration

        public init(
            blockTime: Duration = .milliseconds(250), maxBlockSize: Int = 10_000, mempool: Mempool.Configuration
        ) {
            self.blockTime = blockTime
            self.maxBlockSize = maxBlockSize
            self.mempool = mempool
        }
    }

    public let configuration: Configuration
    public let store: ChainStore
    public let mempool: Mempool
    /// The validator's consensus, when the chain has several validators.
    public let consensus: ConsensusDriver?
    let producer: BlockProducer
    let startedAt = DispatchTime.now().uptimeNanoseconds

    private struct LoopState {
        var running = false
        var stopping = false
        var wakeups = 0
    }

    private let loop = NSCondition()
    private var loopState = LoopState()  // guarded by `loop`
    private let finished = DispatchSemaphore(value: 0)

    private struct Subscribers {
        var next: UInt64 = 0
        var streams: [UInt64: AsyncStream<CommittedBlock>.Continuation] = [:]
    }

    private let subscribers = Mutex(Subscribers())
    private let observers = Mutex<[@Sendable (CommittedBlock) -> Void]>([])
    private let rate = Mutex(RateWindow())
    private let lastTimestamp: Mutex<UInt64>

    /// Opens a node on a store that already holds a genesis block. With `consensus`, the node is one
    /// validator of several: the closure makes its driver over the node's mempool.
    public init(
        store: ChainStore, executor: ParallelExecutor<RuntimeVM>, configuration: Configuration,
        consensus: ((Mempool) throws(ConsensusError) -> ConsensusDriver)? = nil
    ) throws(StorageError) {
        guard let head = store.head else { throw StorageError(.invalid, "the data dir has no genesis block") }
        precondition(configuration.mempool.chainId == store.chainId)
        self.configuration = configuration
        self.store = store
        mempool = Mempool(configuration: configuration.mempool)
        let pipeline = BlockPipeline(store: store, executor: executor)
        if let consensus {
            let driver: ConsensusDriver
            do { driver = try consensus(mempool) } catch { throw StorageError(.invalid, error.message) }
            self.consensus = driver
            producer = BlockProducer(
                pipeline: pipeline, ordering: ConsensusOrdering(driver: driver, mempool: mempool, pipeline: pipeline))
        } else {
            self.consensus = nil
            producer = BlockProducer(mempool: mempool, pipeline: pipeline, maxBlockSize: configuration.maxBlockSize)
        }
        lastTimestamp = Mutex(try store.block(at: head.height)?.header.timestamp ?? 0)
    }

    // MARK: Transactions in

    /// Checks and queues transactions (see `Mempool.admit`) against the latest committed state, and
    /// wakes the block loop when a full block is waiting.
    public func submit(_ txs: [Transaction]) -> [AdmissionResult] {
        let results = mempool.admit(txs, state: store.latest, now: Self.unixNow())
        if let consensus {
            var accepted: [Transaction] = []
            for (i, r) in results.enumerated() { if case .accepted = r { accepted.append(txs[i]) } }
            consensus.forward(accepted)
        } else if mempool.count >= configuration.maxBlockSize {
            wake()
        }
        return results
    }

    /// The same, off the caller's thread: for async callers (the HTTP server), so that signature
    /// verification over all cores does not occupy the cooperative pool.
    public func submit(_ txs: [Transaction]) async -> [AdmissionResult] {
        await withCheckedContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(returning: self.submit(txs))
            }
        }
    }

    // MARK: Blocks out

    /// A stream of committed blocks, from the next one on. A consumer that falls more than `buffer`
    /// blocks behind loses the oldest (it sees a gap in heights).
    public func blocks(buffer: Int = 256) -> AsyncStream<CommittedBlock> {
        let (stream, continuation) = AsyncStream<CommittedBlock>.makeStream(bufferingPolicy: .bufferingNewest(buffer))
        let id = subscribers.withLock { s in
            let id = s.next
            s.next += 1
            s.streams[id] = continuation
            return id
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Calls `observer` on the block thread after each commit (metrics); keep it short.
    public func observe(_ observer: @escaping @Sendable (CommittedBlock) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Committed transactions per second over the last `window` seconds, and the total since start.
    public func throughput(window: Double = 5) -> (perSecond: Double, total: UInt64) {
        let now = DispatchTime.now().uptimeNanoseconds
        return rate.withLock { ($0.perSecond(now: now, window: window), $0.total) }
    }

    public var uptimeSeconds: Double { Double(DispatchTime.now().uptimeNanoseconds - startedAt) / 1e9 }

    /// The timestamp of the head block.
    public var headTimestamp: UInt64 { lastTimestamp.withLock { $0 } }

    // MARK: The block loop

    /// Starts the block thread. Call once; with consensus, start `consensus` first (it can fail to bind).
    /// `stop()` stops both.
    public func start() {
        loop.lock()
        precondition(!loopState.running, "the node is already running")
        loopState.running = true
        loop.unlock()
        // The thread holds the node only while it runs, so the node (and its store) can go as soon as
        // `stop()` returns.
        let finished = self.finished
        let thread = Thread { [weak self] in
            self?.run()
            finished.signal()
        }
        thread.name = "sluice-blocks"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Stops the block thread after the block in progress commits, and waits for it.
    public func stop() {
        loop.lock()
        guard loopState.running, !loopState.stopping else {
            loop.unlock()
            return
        }
        loopState.stopping = true
        loop.broadcast()
        loop.unlock()
        consensus?.stop()
        finished.wait()
        // Finish outside the lock: a stream's termination handler takes the same lock.
        let streams = subscribers.withLock { s in
            defer { s.streams.removeAll() }
            return Array(s.streams.values)
        }
        for c in streams { c.finish() }
    }

    /// The same, off the caller's thread.
    public func stop() async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.stop()
                continuation.resume()
            }
        }
    }

    private func wake() {
        loop.lock()
        loopState.wakeups += 1
        loop.signal()
        loop.unlock()
    }

    private func run() {
        if producer.ordering.decidesPace { return runOrdered() }
        let period = configuration.blockTime
        let periodNanos =
            UInt64(period.components.seconds) * 1_000_000_000 + UInt64(period.components.attoseconds / 1_000_000_000)
        var deadline = DispatchTime.now().uptimeNanoseconds + periodNanos
        // Set when the last block was not full although the mempool holds a block's worth: the rest
        // waits on sequence gaps, so the next block waits for the block time.
        var held = false
        while true {
            loop.lock()
            while !loopState.stopping && (held || mempool.count < configuration.maxBlockSize) {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { break }
                _ = loop.wait(until: Date(timeIntervalSinceNow: Double(deadline - now) / 1e9))
            }
            let stopping = loopState.stopping
            loop.unlock()
            if stopping { return }
            let cut = DispatchTime.now().uptimeNanoseconds
            guard let size = produceOne() else { return }
            held = size < configuration.maxBlockSize
            // The next block is due one period after this one was cut; a backlog cuts it at once.
            deadline = cut + periodNanos
        }
    }

    /// The loop under consensus: execute each committed block as it comes.
    private func runOrdered() {
        while true {
            loop.lock()
            let stopping = loopState.stopping
            loop.unlock()
            if stopping { return }
            if producer.ordering.waitForBlock(nanoseconds: 100_000_000) {
                guard produceOne() != nil else { return }
            }
        }
    }

    /// Why the block loop stopped by itself (a block that could not be committed), if it did.
    public var failure: StorageError? { failureLock.withLock { $0 } }
    private let failureLock = Mutex<StorageError?>(nil)

    /// Builds, executes and commits one block now; nil when it cannot (a broken disk, a value that does not
    /// decode): then nothing was committed, the loop stops, and the reason is reported and kept (`failure`).
    /// The API still answers reads; nothing after the failure could be trusted to commit.
    private func produceOne() -> Int? {
        let timestamp = lastTimestamp.withLock { last in
            let t = Swift.max(Self.unixNow(), last)
            last = t
            return t
        }
        let produced: BlockProducer.Produced
        do { produced = try producer.produce(timestamp: timestamp) } catch {
            failureLock.withLock { $0 = error }
            producer.report(
                "error: the block loop stopped, nothing more is committed: \(error.message). Stop the node and run "
                    + "`sluice db check --data \(store.database.path)`; restore the dir from a backup or a snapshot if it "
                    + "reports problems.")
            return nil
        }
        let applied = produced.applied
        lastTimestamp.withLock { $0 = Swift.max($0, applied.block.header.timestamp) }
        let committed = CommittedBlock(
            block: applied.block, hash: applied.head.blockHash, head: applied.head, receipts: applied.receipts,
            blockEnd: applied.blockEnd, statistics: applied.statistics, executeNanos: applied.executeNanos,
            commitNanos: applied.timings.rootUpdate + applied.timings.write, dropped: produced.dropped.count)
        let now = DispatchTime.now().uptimeNanoseconds
        rate.withLock { $0.add(count: applied.block.transactions.count, at: now) }
        for observer in observers.withLock({ $0 }) { observer(committed) }
        // Yield outside the lock: a consumer being cancelled holds its task's lock while its termination
        // handler waits for this one (a lock-order inversion that hung a test process at exit).
        for c in subscribers.withLock({ Array($0.streams.values) }) { c.yield(committed) }
        return applied.block.transactions.count
    }

    /// Unix seconds now.
    public static func unixNow() -> UInt64 { UInt64(Date().timeIntervalSince1970) }
}

/// Committed transaction counts over a sliding window.
struct RateWindow {
    private var samples: [(at: UInt64, count: Int)] = []
    private(set) var total: UInt64 = 0

    mutating func add(count: Int, at now: UInt64) {
        total += UInt64(count)
        samples.append((now, count))
        // Keep a minute at most.
        if let first = samples.first, now - first.at > 60_000_000_000 {
            samples.removeAll { now - $0.at > 60_000_000_000 }
        }
    }

    func perSecond(now: UInt64, window: Double) -> Double {
        let since = now &- UInt64(window * 1e9)
        var n = 0
        for s in samples.reversed() {
            if s.at < since { break }
            n += s.count
        }
        return Double(n) / window
    }
}
