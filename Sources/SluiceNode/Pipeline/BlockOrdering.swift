public import SluiceCore
public import SluiceStorage

// Ordering decides which block the pipeline executes next; execution and commit are the same whoever
// ordered it. A single validator orders its own proposals from the mempool (`SingleValidatorOrdering`);
// BFT consensus will order blocks that a quorum certified, proposed by any validator, behind the same
// protocol.

/// A block to execute and commit next, and whether its signatures still need checking.
public struct OrderedBlock: Sendable {
    public var block: Block
    /// False when every transaction's signature was checked already (the mempool admitted them).
    public var verifySignatures: Bool
    /// Transactions left out while proposing it (they do not read back from their encoding).
    public var leftOut: [DroppedTransaction]

    public init(block: Block, verifySignatures: Bool, leftOut: [DroppedTransaction] = []) {
        self.block = block
        self.verifySignatures = verifySignatures
        self.leftOut = leftOut
    }
}

/// Decides the next block on top of the head.
public protocol BlockOrdering: Sendable {
    /// The next block on top of the store's head, at `timestamp` (Unix seconds) when this node proposes it.
    func next(timestamp: UInt64) throws(StorageError) -> OrderedBlock
    /// Called once the block committed; returns the transactions that it made invalid and were dropped.
    func committed(_ applied: BlockPipeline.Applied, now: UInt64) -> [DroppedTransaction]
    /// True when the ordering decides when a block is due (consensus: when one is committed); false when
    /// the node cuts blocks by its block time and size.
    var decidesPace: Bool { get }
    /// Waits at most `nanoseconds` for a block to be due; true when one is (used when `decidesPace`).
    func waitForBlock(nanoseconds: UInt64) -> Bool
}

extension BlockOrdering {
    public var decidesPace: Bool { false }
    public func waitForBlock(nanoseconds: UInt64) -> Bool { true }
}

/// The single validator: every block is its own proposal, from the mempool's best transactions.
///
/// The chain store commits a block only if it reads back from its encoding, and the mempool admits only
/// transactions that do; one that does not (a bug, or a limit changed under a running node) is left out
/// before execution, reported and dropped, so no node is ever asked to read a block it cannot.
public struct SingleValidatorOrdering: BlockOrdering {
    public let mempool: Mempool
    public let pipeline: BlockPipeline
    public let maxBlockSize: Int
    let report: @Sendable (String) -> Void

    public init(
        mempool: Mempool, pipeline: BlockPipeline, maxBlockSize: Int,
        report: @escaping @Sendable (String) -> Void
    ) {
        self.mempool = mempool
        self.pipeline = pipeline
        self.maxBlockSize = maxBlockSize
        self.report = report
    }

    public func next(timestamp: UInt64) throws(StorageError) -> OrderedBlock {
        var transactions = mempool.batch(maxCount: maxBlockSize, state: pipeline.store)
        let unreadable = Self.unreadable(transactions)
        if !unreadable.isEmpty {
            let hashes = Set(unreadable.map(\.hash))
            mempool.remove(hashes)
            for d in unreadable {
                report("error: block producer: dropped transaction \(d.hash.hex): \(d.reason.description)")
            }
            transactions.removeAll { hashes.contains($0.hash) }
        }
        return OrderedBlock(
            block: try pipeline.propose(transactions, timestamp: timestamp), verifySignatures: false,
            leftOut: unreadable)
    }

    public func committed(_ applied: BlockPipeline.Applied, now: UInt64) -> [DroppedTransaction] {
        mempool.blockCommitted(state: pipeline.store, now: now)
    }

    /// The transactions that do not read back from their encoding, with the decoder's reason.
    /// - Complexity: O(n) encodes and decodes.
    static func unreadable(_ transactions: [Transaction]) -> [DroppedTransaction] {
        transactions.compactMap { tx in
            let bytes = tx.canonicalBytes
            do throws(CoreError) { try tx.checkRoundTrip(encoded: bytes) } catch {
                return DroppedTransaction(hash: Hash.sha256(bytes), reason: .undecodable(reason: error.message))
            }
            return nil
        }
    }
}
