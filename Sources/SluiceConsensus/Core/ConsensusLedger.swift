import SluiceCore

// Where committed consensus blocks go. The core appends every block it commits, in height order, with
// the proof that commits it, and reads back from it to serve peers that sync and to rebuild its leader
// history after a restart. The node's ledger is durable and drives execution; the simulator's lives in
// memory and survives the simulated crash of its node, as a disk would.

/// The committed chain of one epoch, as consensus sees it.
public protocol ConsensusLedger: AnyObject {
    /// The epoch's first block.
    var genesis: ConsensusBlock { get }
    /// The last committed block (the genesis before any commit).
    var head: ConsensusBlock { get }
    /// The certificate on the head (the genesis certificate before any commit), when known.
    var headCertificate: QuorumCertificate? { get }
    /// The proof that the head is committed (nil at genesis).
    var commitProof: CommitProof? { get }
    func block(atHeight height: UInt64) -> ConsensusBlock?
    /// Appends committed blocks, ascending, continuing the head.
    func append(_ blocks: [ConsensusBlock], certificate: QuorumCertificate?, proof: CommitProof) throws(ConsensusError)
}

/// A ledger in memory.
public final class MemoryConsensusLedger: ConsensusLedger, @unchecked Sendable {
    public let genesis: ConsensusBlock
    public private(set) var blocks: [ConsensusBlock] = []
    public private(set) var headCertificate: QuorumCertificate?
    public private(set) var commitProof: CommitProof?

    public init(genesis: ConsensusBlock) {
        self.genesis = genesis
        headCertificate = .genesis(epoch: genesis.epoch, blockId: genesis.id, height: genesis.height)
    }

    public var head: ConsensusBlock { blocks.last ?? genesis }

    public func block(atHeight height: UInt64) -> ConsensusBlock? {
        if height == genesis.height { return genesis }
        guard height > genesis.height, height - genesis.height <= UInt64(blocks.count) else { return nil }
        return blocks[Int(height - genesis.height - 1)]
    }

    public func append(_ new: [ConsensusBlock], certificate: QuorumCertificate?, proof: CommitProof)
        throws(ConsensusError)
    {
        var previous = head
        for b in new {
            guard b.parentId == previous.id, b.height == previous.height + 1 else {
                throw ConsensusError(
                    .storage, "block \(b.height) does not continue the ledger's head \(previous.height)")
            }
            previous = b
        }
        blocks.append(contentsOf: new)
        headCertificate = certificate
        commitProof = proof
    }
}
