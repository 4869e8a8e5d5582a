import Foundation
import SluiceCore
public import SluiceStorage

// The block loop's step: ask the ordering for the next block, execute, validate and commit it through
// the pipeline, then tell the ordering (the mempool drops what the block included or made invalid).
//
// Signatures of the mempool's transactions were verified when it admitted them, so a block of them is
// applied without verifying them again; chain id and expiry are checked again at execution. Empty blocks
// are allowed and cost one small synced batch.

/// Produces blocks onto a chain store, in the order a `BlockOrdering` gives.
public final class BlockProducer: @unchecked Sendable {
    public let pipeline: BlockPipeline
    public let ordering: any BlockOrdering
    /// Where errors of the block loop are reported (standard error by default).
    public let report: @Sendable (String) -> Void

    public init(
        pipeline: BlockPipeline, ordering: any BlockOrdering,
        report: @escaping @Sendable (String) -> Void = BlockProducer.standardError
    ) {
        self.pipeline = pipeline
        self.ordering = ordering
        self.report = report
    }

    /// The single validator's producer: its own proposals from `mempool`.
    public convenience init(
        mempool: Mempool, pipeline: BlockPipeline, maxBlockSize: Int = 10_000,
        report: @escaping @Sendable (String) -> Void = BlockProducer.standardError
    ) {
        self.init(
            pipeline: pipeline,
            ordering: SingleValidatorOrdering(
                mempool: mempool, pipeline: pipeline,
                maxBlockSize: Swift.min(Swift.max(maxBlockSize, 1), WireLimits.blockTransactions), report: report),
            report: report)
    }

    /// Writes a line to standard error.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// One produced block: what was committed and what the mempool dropped.
    public struct Produced: Sendable {
        public var applied: BlockPipeline.Applied
        /// Left out before the block for not reading back (`.undecodable`), and dropped after it (now
        /// invalid).
        public var dropped: [DroppedTransaction]
    }

    /// Orders, executes and commits the next block at `timestamp` (Unix seconds).
    /// - Complexity: O(n log n) to pick n transactions, then the block's execution and commit.
    public func produce(timestamp: UInt64) throws(StorageError) -> Produced {
        let next = try ordering.next(timestamp: timestamp)
        let applied = try pipeline.executeAndCommit(next.block, verify: next.verifySignatures)
        let dropped = ordering.committed(applied, now: timestamp)
        return Produced(applied: applied, dropped: next.leftOut + dropped)
    }
}
