import SluiceCore

/// Reads committed nodes by key.
///
/// The tree calls it from several threads at once during a parallel update, so it must be safe for concurrent
/// calls. Returning nil means the node is not stored; the tree turns that into a `MerkleError` when a parent
/// references the node. Errors thrown by the reader (an I/O failure) pass through unchanged.
public protocol MerkleNodeReader: Sendable {
    func node(_ key: NodeKey) throws -> MerkleNode?
}

/// A reader with no nodes: what `build` starts from.
struct EmptyNodeReader: MerkleNodeReader {
    func node(_ key: NodeKey) -> MerkleNode? { nil }
}

/// A leaf read from the store, with the key it was read from.
struct StoredLeaf: Sendable {
    var origin: NodeKey
    var keyHash: Hash
    var valueHash: Hash
}

extension MerkleNodeReader {
    /// The node at `key`, which its parent (or the caller, for a root) says exists.
    @inline(__always)
    func load(_ key: NodeKey) throws -> MerkleNode {
        guard let node = try node(key) else { throw MerkleError.missing(key) }
        return node
    }

    /// The children of the internal node at `key`.
    func loadInternal(_ key: NodeKey) throws -> (left: MerkleChild?, right: MerkleChild?) {
        guard case .internal(let left, let right) = try load(key) else {
            throw MerkleError.corrupt(key, "its parent records an internal node but a leaf is stored")
        }
        try checkInternal(key, left: left, right: right)
        return (left, right)
    }

    /// The leaf at `key`.
    func loadLeaf(_ key: NodeKey) throws -> StoredLeaf {
        guard case .leaf(let keyHash, let valueHash) = try load(key) else {
            throw MerkleError.corrupt(key, "its parent records a leaf but an internal node is stored")
        }
        try checkLeaf(key, keyHash: keyHash)
        return StoredLeaf(origin: key, keyHash: keyHash, valueHash: valueHash)
    }

    /// The structural checks that keep a walk from going wrong on a damaged store: internal nodes above the
    /// last level, children no newer than their parent, leaves on their own key's path.
    func checkInternal(_ key: NodeKey, left: MerkleChild?, right: MerkleChild?) throws {
        guard key.depth < 256 else { throw MerkleError.corrupt(key, "an internal node at depth 256") }
        if let v = left?.version, v > key.version {
            throw MerkleError.corrupt(key, "its left child has version \(v), newer than the node")
        }
        if let v = right?.version, v > key.version {
            throw MerkleError.corrupt(key, "its right child has version \(v), newer than the node")
        }
    }

    func checkLeaf(_ key: NodeKey, keyHash: Hash) throws {
        guard keyHash.prefix(Int(key.depth)) == key.path else {
            throw MerkleError.corrupt(key, "it holds the leaf of \(keyHash.hex), which is not on its path")
        }
    }
}
