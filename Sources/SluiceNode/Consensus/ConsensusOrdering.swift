public import SluiceConsensus
public import SluiceCore
public import SluiceStorage

// The node's block thread under BFT consensus: it executes the blocks consensus committed, in order, as
// they come; there is no block timer (the leader's pace is the chain's). See BlockPayload.swift for how
// the executed block is derived from the consensus block.

/// Orders what consensus committed.
public struct ConsensusOrdering: BlockOrdering {
    public let driver: ConsensusDriver
    public let mempool: Mempool
    public let pipeline: BlockPipeline

    public init(driver: ConsensusDriver, mempool: Mempool, pipeline: BlockPipeline) {
        self.driver = driver
        self.mempool = mempool
        self.pipeline = pipeline
    }

    public var decidesPace: Bool { true }

    public func waitForBlock(nanoseconds: UInt64) -> Bool { driver.ordering.wait(nanoseconds: nanoseconds) }

    public func next(timestamp: UInt64) throws(StorageError) -> OrderedBlock {
        guard let entry = driver.ordering.first() else {
            throw StorageError(.invalid, "no committed block is waiting")
        }
        let b = entry.block
        guard let author = driver.settings.validators.validator(b.author) else {
            throw StorageError(.invalid, "block \(b.height) names author \(b.author), not in the set")
        }
        let block = try pipeline.propose(
            entry.transactions, timestamp: b.timestamp / 1000,
            as: BlockPipeline.Proposal(
                proposer: author.address, round: b.round,
                parentCertificate: BlockPayload.certificateHash(b.quorumCertificate)))
        guard block.header.height == b.height else {
            throw StorageError(
                .invalid, "consensus committed block \(b.height) but the state is at \(block.header.height - 1)")
        }
        // Every transaction is verified when the block runs: the proposer's mempool is not ours.
        return OrderedBlock(block: block, verifySignatures: true)
    }

    public func committed(_ applied: BlockPipeline.Applied, now: UInt64) -> [DroppedTransaction] {
        driver.ordering.executed()
        return mempool.blockCommitted(state: pipeline.store, now: now)
    }
}
