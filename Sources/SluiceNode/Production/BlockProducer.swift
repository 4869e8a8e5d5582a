import SluiceCore
import SluiceExecution
import SluiceRuntime
public import SluiceStorage

// The single-validator block loop: take the mempool's ready transactions (best price first, each
// sender's sequences gap-free), execute and commit them as the next block through the chain store, then
// let the mempool drop what the block included or made invalid.
//
// Signatures were verified when the mempool admitted the transactions, so the block is applied without
// verifying them again; chain id and expiry are checked again at execution. Empty blocks are allowed
// and cost one small synced batch. The node's pipeline (overlapping admission, execution and commit)
// and BFT ordering will replace this loop behind the same inputs and outputs.

/// Produces blocks from a mempool onto a chain store.
public final class BlockProducer: @unchecked Sendable {
    public let mempool: Mempool
    public let applier: BlockApplier
    /// The most transactions in one block.
    public let maxBlockSize: Int

    public init(mempool: Mempool, applier: BlockApplier, maxBlockSize: Int = 10_000) {
        precondition(maxBlockSize >= 1)
        self.mempool = mempool
        self.applier = applier
        self.maxBlockSize = maxBlockSize
    }

    /// One produced block: what was committed and what the mempool dropped afterwards.
    public struct Produced: Sendable {
        public var applied: BlockApplier.Applied
        public var dropped: [DroppedTransaction]
    }

    /// Builds, executes and commits the next block at `timestamp` (Unix seconds).
    /// - Complexity: O(n log n) to pick n transactions, then the block's execution and commit.
    public func produce(timestamp: UInt64) throws(StorageError) -> Produced {
        let store = applier.store
        let transactions = mempool.batch(maxCount: maxBlockSize, state: store)
        let applied = try applier.apply(transactions, timestamp: timestamp, verify: false)
        let dropped = mempool.blockCommitted(state: store, now: timestamp)
        return Produced(applied: applied, dropped: dropped)
    }
}
