import SluiceCore

// The blocks consensus holds: the last committed block (the root) and the uncommitted blocks that
// descend from it, with the highest certificates seen. Committing a block makes it the root and drops
// every block that does not descend from it. Small by construction (a few rounds' worth of blocks, each
// with a valid certificate on its parent), so it is kept in dictionaries and walked by parent links.

/// Uncommitted blocks above the last committed one.
struct BlockTree {
    private(set) var root: ConsensusBlock
    private(set) var blocks: [Hash: ConsensusBlock]
    /// The certificate on each block that has one.
    private(set) var certificates: [Hash: QuorumCertificate] = [:]
    private(set) var highQC: QuorumCertificate
    private(set) var highTC: TimeoutCertificate?
    private(set) var commitProof: CommitProof?
    /// Blocks kept at most: beyond it, new blocks are refused until commits prune.
    static let capacity = 2048

    init(root: ConsensusBlock, rootCertificate: QuorumCertificate, commitProof: CommitProof?) {
        self.root = root
        blocks = [root.id: root]
        certificates[root.id] = rootCertificate
        highQC = rootCertificate
        self.commitProof = commitProof
    }

    func block(_ id: Hash) -> ConsensusBlock? { blocks[id] }

    /// The blocks after the root up to and including `id`, oldest first; nil if `id` is not a known
    /// descendant of the root. The root itself gives an empty path.
    func path(to id: Hash) -> [ConsensusBlock]? {
        var out: [ConsensusBlock] = []
        var cursor = id
        while cursor != root.id {
            guard let b = blocks[cursor], b.height > root.height else { return nil }
            out.append(b)
            cursor = b.parentId
        }
        return out.reversed()
    }

    /// Adds a block whose parent is held. False if it is held already, its parent is not, or the tree is full.
    mutating func insert(_ block: ConsensusBlock) -> Bool {
        guard blocks[block.id] == nil, let parent = blocks[block.parentId], block.height == parent.height + 1,
            block.round > parent.round, blocks.count < Self.capacity
        else { return false }
        blocks[block.id] = block
        if certificates[block.parentId] == nil { certificates[block.parentId] = block.quorumCertificate }
        return true
    }

    /// Records a certificate; true when it is the highest seen.
    @discardableResult
    mutating func record(_ qc: QuorumCertificate) -> Bool {
        if certificates[qc.blockId] == nil, qc.data.height > root.height { certificates[qc.blockId] = qc }
        guard qc.round > highQC.round else { return false }
        highQC = qc
        return true
    }

    /// Records a timeout certificate; true when it is the highest seen.
    @discardableResult
    mutating func record(_ tc: TimeoutCertificate) -> Bool {
        guard tc.round > (highTC?.round ?? 0) else { return false }
        highTC = tc
        return true
    }

    /// Commits `id` (a held descendant of the root) and its ancestors; returns them, oldest first.
    mutating func commit(_ id: Hash, proof: CommitProof) -> [ConsensusBlock]? {
        guard let path = path(to: id), let last = path.last else { return nil }
        root = last
        commitProof = proof
        var kept: [Hash: ConsensusBlock] = [root.id: root]
        for b in blocks.values.sorted(by: { $0.height < $1.height }) where b.height > root.height {
            if kept[b.parentId] != nil { kept[b.id] = b }
        }
        blocks = kept
        certificates = certificates.filter { kept[$0.key] != nil }
        return path
    }
}
