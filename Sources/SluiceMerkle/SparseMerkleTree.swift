public import SluiceCore

// The state commitment: a binary sparse Merkle tree over 256-bit keys with versioned nodes, after Jellyfish
// (Aptos/Diem).
//
// Shape. Bit i of a key (most significant first) picks the side at depth i. The tree is sparse, and every key set
// has one canonical shape: an empty subtree is `Hash.zero`, and a subtree that holds a single leaf is that leaf,
// placed where the subtree starts (a leaf shortcut). So an internal node always has two leaves or more below it,
// a tree of n random keys is about log2(n) deep instead of 256, and the root depends only on the set of
// (keyHash, valueHash) pairs, never on the order in which they were written. Leaf = SHA-256(0x00 ‖ key ‖ value),
// internal = SHA-256(0x01 ‖ left ‖ right): the tags keep a leaf from posing as an internal node in a proof.
// `rootHash(ofLeaves:)` is the same definition written as plainly as possible, the oracle of the tests.
//
// Storage. Nodes are immutable and addressed by `NodeKey` (version, depth, path). A parent records each child's
// hash, version and kind, so a walk reads each node by one point lookup. A version writes new nodes only on the
// paths it changes; untouched subtrees keep their old versions and are shared by both roots, so every old root
// stays readable until a pruner deletes the nodes it alone references, which each update lists as stale.
//
// Update. The k changes are sorted once and the old tree is walked together with them (Update.swift): each
// subtree is rebuilt from a range of the sorted array, each old node on a changed path is read once, and an
// untouched subtree is never read. That is O(k log n) hashes and reads. The top levels are planned on the calling
// thread and the subtrees below them run concurrently (ParallelUpdate.swift). Hashes come from a stack buffer,
// so the hot path allocates nothing but the output arrays.

/// What an update or a build writes: the new root, the nodes to store and the nodes the new root no longer uses.
public struct MerkleUpdate: Sendable {
    /// The root hash of the new tree (`Hash.zero` when it is empty).
    public var root: Hash
    /// The root node of the new tree, nil when it is empty. Its version is older than the update's when the
    /// update changed nothing (the old root is kept): record it per version rather than derive it.
    public var rootKey: NodeKey?
    /// Nodes to store, each at its key. Subtrees computed in parallel come first, in key order, then the top.
    public var newNodes: [(key: NodeKey, node: MerkleNode)]
    /// Nodes of the old tree that the new tree does not reference: deletable once no retained version needs them.
    public var staleNodes: [NodeKey]

    public init(root: Hash, rootKey: NodeKey?, newNodes: [(key: NodeKey, node: MerkleNode)], staleNodes: [NodeKey]) {
        self.root = root
        self.rootKey = rootKey
        self.newNodes = newNodes
        self.staleNodes = staleNodes
    }
}

/// Operations on the tree stored in a `MerkleNodeReader`.
public enum SparseMerkleTree {
    /// Applies `changes` to the tree whose root node is `rootKey` (nil for an empty tree), writing new nodes at
    /// `version`.
    ///
    /// A nil value deletes the key (deleting an absent key does nothing). Each key may appear once; the order of
    /// `changes` does not matter. `version` must be above every version in the tree. Large batches are split
    /// across `threads` threads; the result is identical for every thread count.
    /// - Throws: `MerkleError` for a repeated key, a version not above the root's, or a node missing from or
    ///   damaged in the store; errors thrown by `reader` pass through.
    /// - Complexity: O(k log k) to sort, then O(k log n) hashes and reads for k changes on a tree of n leaves.
    public static func update(
        reader: some MerkleNodeReader, rootKey: NodeKey?, version: UInt64,
        changes: [(keyHash: Hash, valueHash: Hash?)], threads: Int
    ) throws -> MerkleUpdate {
        var root = Existing.empty
        if let rootKey {
            guard rootKey.depth == 0 else {
                throw MerkleError(.invalidRequest, "the root key \(rootKey) is not at depth 0")
            }
            guard version > rootKey.version else {
                throw MerkleError(
                    .invalidRequest,
                    "the update's version \(version) must be above the tree's version \(rootKey.version)")
            }
            switch try reader.load(rootKey) {
            case .leaf(let keyHash, let valueHash):
                let hash = NodeHashing.leaf(keyHash: keyHash, valueHash: valueHash)
                root = .leaf(version: rootKey.version, hash: hash)
            case .internal(let left, let right):
                try reader.checkInternal(rootKey, left: left, right: right)
                let hash = NodeHashing.internal(left: left?.hash ?? .zero, right: right?.hash ?? .zero)
                root = .node(version: rootKey.version, hash: hash)
            }
        }
        let sorted = Parallel.sortedByKey(
            changes.map { Change(keyHash: $0.keyHash, valueHash: $0.valueHash) }, threads: threads)
        for i in sorted.indices.dropFirst() where sorted[i - 1].keyHash == sorted[i].keyHash {
            throw MerkleError(.invalidRequest, "the key \(sorted[i].keyHash.hex) is changed twice in one update")
        }
        // A change rewrites its path, about log2(n / k) + 2 nodes below the shared top: 6 to 8 per change for
        // 20,000 changes on 200,000 to 1,000,000 leaves, as many stale. Sized for 10, so that a task whose
        // keys sit deeper than average rarely grows (and copies) its arrays.
        return try ParallelUpdate.run(
            reader: reader, root: root, version: version, changes: sorted, threads: threads, nodesPerChange: (10, 10))
    }

    /// Builds a whole tree at `version` from its leaves (genesis, snapshot import), in any order, reading nothing.
    ///
    /// The result equals an update of an empty tree with the same leaves. If a key appears more than once, its
    /// last occurrence counts, as if the leaves were written one after another.
    /// - Complexity: O(n log n) to sort, then about 2n hashes, split across `threads` threads.
    public static func build(version: UInt64, leaves: [(keyHash: Hash, valueHash: Hash)], threads: Int) -> MerkleUpdate
    {
        var sorted = Parallel.sortedByKey(
            leaves.map { Change(keyHash: $0.keyHash, valueHash: $0.valueHash) }, threads: threads)
        if zip(sorted, sorted.dropFirst()).contains(where: { $0.keyHash == $1.keyHash }) {
            var last: [Hash: Hash] = [:]
            for leaf in leaves { last[leaf.keyHash] = leaf.valueHash }
            sorted = last.map { Change(keyHash: $0.key, valueHash: $0.value) }
            sorted.sort { $0.keyHash < $1.keyHash }
        }
        do {
            return try ParallelUpdate.run(
                reader: EmptyNodeReader(), root: .empty, version: version, changes: sorted, threads: threads,
                nodesPerChange: (3, 0))  // n leaves, n - 1 forks and some chain nodes: about 2.45 n
        } catch {
            // An empty tree is never read and the keys are distinct: nothing above can throw.
            preconditionFailure("building a tree failed: \(error)")
        }
    }

    /// The value hash stored for `keyHash`, or nil if the key is absent, by walking from the root.
    /// - Complexity: O(log n) reads.
    public static func get(reader: some MerkleNodeReader, rootKey: NodeKey?, keyHash: Hash) throws -> Hash? {
        var unused: [Hash] = []
        let leaf = try walk(reader: reader, rootKey: rootKey, keyHash: keyHash, siblings: &unused, collect: false)
        guard let leaf, leaf.keyHash == keyHash else { return nil }
        return leaf.valueHash
    }

    /// A proof of the value of `keyHash`, or of its absence, against the root at `rootKey`.
    /// - Complexity: O(log n) reads.
    public static func proof(reader: some MerkleNodeReader, rootKey: NodeKey?, keyHash: Hash) throws -> MerkleProof {
        var siblings: [Hash] = []
        let leaf = try walk(reader: reader, rootKey: rootKey, keyHash: keyHash, siblings: &siblings, collect: true)
        return MerkleProof(
            leaf: leaf.map { MerkleProof.Leaf(keyHash: $0.keyHash, valueHash: $0.valueHash) },
            siblings: siblings)
    }

    /// Follows `keyHash`'s path down to the leaf or empty subtree where it ends, collecting sibling hashes.
    private static func walk(
        reader: some MerkleNodeReader, rootKey: NodeKey?, keyHash: Hash, siblings: inout [Hash], collect: Bool
    ) throws -> StoredLeaf? {
        guard var key = rootKey else { return nil }
        guard key.depth == 0 else { throw MerkleError(.invalidRequest, "the root key \(key) is not at depth 0") }
        var expectsLeaf: Bool? = nil
        while true {
            switch try reader.load(key) {
            case .leaf(let leafKey, let value):
                guard expectsLeaf != false else {
                    throw MerkleError.corrupt(key, "its parent records an internal node but a leaf is stored")
                }
                try reader.checkLeaf(key, keyHash: leafKey)
                return StoredLeaf(origin: key, keyHash: leafKey, valueHash: value)
            case .internal(let left, let right):
                guard expectsLeaf != true else {
                    throw MerkleError.corrupt(key, "its parent records a leaf but an internal node is stored")
                }
                try reader.checkInternal(key, left: left, right: right)
                let goesRight = keyHash.bit(Int(key.depth))
                if collect { siblings.append((goesRight ? left : right)?.hash ?? .zero) }
                guard let next = goesRight ? right : left else { return nil }
                key = key.child(next, right: goesRight)
                expectsLeaf = next.isLeaf
            }
        }
    }
}
