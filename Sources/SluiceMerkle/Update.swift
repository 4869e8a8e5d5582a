import SluiceCore

// The update's recursion: one walk down the old tree and the sorted changes together.
//
// `update(depth:path:existing:range:)` rebuilds the subtree at one position from what the old tree holds there
// (`Existing`) and the changes whose keys fall under it (a range of the sorted array, never a copy). A range
// that is empty leaves the subtree as it is, unread; otherwise the node is read once and the range is split by
// the next key bit. A result that is one leaf stays a `PendingLeaf` until its parent knows where it lands:
// a leaf moves up when its sibling subtree empties and down when a new key joins it, and it is written only
// where it finally sits (`place`). Nodes the new tree no longer references are listed as stale; nodes whose
// content and position are unchanged are reused with their old versions, so setting a key to the value it
// already has writes nothing.
//
// The values passed up and down the recursion are kept small (about 40 bytes): a node's key is rebuilt from the
// position, and leaves that have been read or are waiting for a position live in per-worker tables, named by
// index. Copying 150-byte enums at every level cost more than the hashing.

/// One change, in key order. A nil value deletes the key.
struct Change: Sendable {
    var keyHash: Hash
    var valueHash: Hash?
}

/// What the old tree holds at the position being rebuilt.
enum Existing: Sendable {
    case empty
    /// A leaf stored at this position under `version`, not read yet.
    case leaf(version: UInt64, hash: Hash)
    /// An internal node stored at this position under `version`, not read yet.
    case node(version: UInt64, hash: Hash)
    /// A leaf already read: `UpdateWorker.readLeaves[index]`. It may be stored above this position, carried
    /// down while a new key joins it.
    case read(Int)

    /// The child a parent records on one side.
    @inline(__always)
    init(_ child: MerkleChild?) {
        guard let child else {
            self = .empty
            return
        }
        self =
            child.isLeaf
            ? .leaf(version: child.version, hash: child.hash) : .node(version: child.version, hash: child.hash)
    }
}

/// A leaf read from the old tree.
struct ReadLeaf: Sendable {
    var stored: StoredLeaf
    var hash: Hash
}

/// A leaf whose position is decided by its parent.
struct PendingLeaf: Sendable {
    var hash: Hash
    /// Valid when `isRead`; a leaf passed up unchanged is read only if it has to move.
    var keyHash: Hash
    var valueHash: Hash
    var isRead: Bool
    /// Where the old tree stores this same leaf (same key and value), if it does.
    var origin: NodeKey?

    init(hash: Hash, origin: NodeKey) {
        self.hash = hash
        keyHash = .zero
        valueHash = .zero
        isRead = false
        self.origin = origin
    }

    init(_ leaf: ReadLeaf) {
        hash = leaf.hash
        keyHash = leaf.stored.keyHash
        valueHash = leaf.stored.valueHash
        isRead = true
        origin = leaf.stored.origin
    }

    init(keyHash: Hash, valueHash: Hash) {
        hash = NodeHashing.leaf(keyHash: keyHash, valueHash: valueHash)
        self.keyHash = keyHash
        self.valueHash = valueHash
        isRead = true
        origin = nil
    }
}

/// A rebuilt subtree, as its parent sees it.
enum Subtree: Sendable {
    case empty
    /// A single leaf, not placed yet: `UpdateWorker.pendingLeaves[index]`.
    case leaf(Int)
    /// An internal node already at its position: written by this update, or kept from the old tree.
    case node(MerkleChild)
}

/// An internal node of the old tree that the update opened; its key is its position and `version`.
struct OpenedNode: Sendable {
    var version: UInt64
    var hash: Hash
    var left: MerkleChild?
    var right: MerkleChild?
}

/// A position split in two: the children's old content, where the changes split, and the node opened, if any.
struct Expansion {
    var left: Existing
    var right: Existing
    var mid: Int
    var opened: OpenedNode?
}

/// The state of one thread's share of an update: the nodes it wrote and the nodes it made stale.
///
/// Not generic over the reader: the recursion is compiled once, fully optimized, whatever module calls it, and
/// a node read costs one dynamic call, nothing next to the read itself.
struct UpdateWorker {
    let reader: any MerkleNodeReader
    let version: UInt64
    let changes: [Change]
    var newNodes: [(key: NodeKey, node: MerkleNode)] = []
    var staleNodes: [NodeKey] = []
    var readLeaves: [ReadLeaf] = []
    var pendingLeaves: [PendingLeaf] = []

    init(reader: any MerkleNodeReader, version: UInt64, changes: [Change], expected: (new: Int, stale: Int)) {
        self.reader = reader
        self.version = version
        self.changes = changes
        newNodes.reserveCapacity(expected.new)
        staleNodes.reserveCapacity(expected.stale)
    }

    @inline(__always)
    mutating func pending(_ leaf: PendingLeaf) -> Subtree {
        pendingLeaves.append(leaf)
        return .leaf(pendingLeaves.count - 1)
    }

    /// Reads the leaf stored at this position.
    mutating func read(version: UInt64, hash: Hash, depth: Int, path: Hash) throws -> Existing {
        let stored = try reader.loadLeaf(NodeKey(unchecked: version, depth: depth, path: path))
        readLeaves.append(ReadLeaf(stored: stored, hash: hash))
        return .read(readLeaves.count - 1)
    }

    /// The subtree as it stands when no change falls under it.
    mutating func unchanged(_ existing: Existing, depth: Int, path: Hash) -> Subtree {
        switch existing {
        case .empty:
            .empty
        case .leaf(let version, let hash):
            pending(PendingLeaf(hash: hash, origin: NodeKey(unchecked: version, depth: depth, path: path)))
        case .node(let version, let hash):
            .node(MerkleChild(hash: hash, version: version, isLeaf: false))
        case .read(let index):
            pending(PendingLeaf(readLeaves[index]))
        }
    }

    /// Rebuilds the subtree at (`depth`, `path`) from `existing` and the changes in `range`.
    /// - Complexity: O(k · h) hashes and reads for k changes under a subtree of height h.
    mutating func update(depth: Int, path: Hash, existing: Existing, range: Range<Int>) throws -> Subtree {
        if range.isEmpty { return unchanged(existing, depth: depth, path: path) }
        var existing = existing
        if case .leaf(let version, let hash) = existing {
            existing = try read(version: version, hash: hash, depth: depth, path: path)
        }
        if range.count == 1 {
            let change = changes[range.lowerBound]
            switch existing {
            case .empty:
                guard let value = change.valueHash else { return .empty }
                return pending(PendingLeaf(keyHash: change.keyHash, valueHash: value))
            case .read(let index) where readLeaves[index].stored.keyHash == change.keyHash:
                let leaf = readLeaves[index]
                if change.valueHash == leaf.stored.valueHash { return pending(PendingLeaf(leaf)) }
                staleNodes.append(leaf.stored.origin)
                guard let value = change.valueHash else { return .empty }
                return pending(PendingLeaf(keyHash: change.keyHash, valueHash: value))
            default:
                break
            }
        }
        let split = try expand(depth: depth, path: path, existing: existing, range: range)
        let left = try update(depth: depth + 1, path: path, existing: split.left, range: range.lowerBound..<split.mid)
        let right = try update(
            depth: depth + 1, path: path.settingBit(depth), existing: split.right, range: split.mid..<range.upperBound)
        return try combine(depth: depth, path: path, left: left, right: right, old: split.opened)
    }

    /// Splits a position into its two children: the changes by key bit `depth`, the old content by its children
    /// (an internal node is read; a leaf goes to the side of its key).
    mutating func expand(depth: Int, path: Hash, existing: Existing, range: Range<Int>) throws -> Expansion {
        // Distinct keys part before bit 256 and a leaf with a change to its own key stops above, so only a chain of
        // internal nodes 256 deep, which no canonical tree has, gets here.
        guard depth < 256 else {
            throw MerkleError(
                .corruptNode, "the tree has internal nodes down to depth 256 at \(path.hex): the data dir is damaged")
        }
        let mid = splitIndex(range, depth: depth)
        switch existing {
        case .empty:
            return Expansion(left: .empty, right: .empty, mid: mid, opened: nil)
        case .leaf(let version, let hash):
            let read = try read(version: version, hash: hash, depth: depth, path: path)
            return try expand(depth: depth, path: path, existing: read, range: range)
        case .read(let index):
            return readLeaves[index].stored.keyHash.bit(depth)
                ? Expansion(left: .empty, right: existing, mid: mid, opened: nil)
                : Expansion(left: existing, right: .empty, mid: mid, opened: nil)
        case .node(let version, let hash):
            let children = try reader.loadInternal(NodeKey(unchecked: version, depth: depth, path: path))
            return Expansion(
                left: Existing(children.left), right: Existing(children.right), mid: mid,
                opened: OpenedNode(version: version, hash: hash, left: children.left, right: children.right))
        }
    }

    /// The first index in `range` whose key has bit `depth` set (keys in a range share the bits above it).
    @inline(__always)
    func splitIndex(_ range: Range<Int>, depth: Int) -> Int {
        var low = range.lowerBound
        var high = range.upperBound
        while low < high {
            let m = (low + high) >> 1
            if changes[m].keyHash.bit(depth) { high = m } else { low = m + 1 }
        }
        return low
    }

    /// Joins two rebuilt children into the subtree at (`depth`, `path`), replacing `old` if the old tree had an
    /// internal node there. A lone leaf rises (leaf shortcut); an unchanged node is kept.
    mutating func combine(depth: Int, path: Hash, left: Subtree, right: Subtree, old: OpenedNode?) throws -> Subtree {
        let oldKey = old.map { NodeKey(unchecked: $0.version, depth: depth, path: path) }
        switch (left, right) {
        case (.empty, .empty):
            if let oldKey { staleNodes.append(oldKey) }
            return .empty
        case (.leaf, .empty):
            if let oldKey { staleNodes.append(oldKey) }
            return left
        case (.empty, .leaf):
            if let oldKey { staleNodes.append(oldKey) }
            return right
        default:
            let l = try place(left, depth: depth + 1, path: path)
            let r = try place(right, depth: depth + 1, path: path.settingBit(depth))
            if let old, let oldKey {
                if l == old.left && r == old.right {
                    return .node(MerkleChild(hash: old.hash, version: old.version, isLeaf: false))
                }
                staleNodes.append(oldKey)
            }
            let hash = NodeHashing.internal(left: l?.hash ?? .zero, right: r?.hash ?? .zero)
            newNodes.append((NodeKey(unchecked: version, depth: depth, path: path), .internal(left: l, right: r)))
            return .node(MerkleChild(hash: hash, version: version, isLeaf: false))
        }
    }

    /// Fixes a subtree at (`depth`, `path`): a pending leaf is kept if the old tree stores it exactly there,
    /// otherwise written there (and its old copy, if any, made stale).
    mutating func place(_ subtree: Subtree, depth: Int, path: Hash) throws -> MerkleChild? {
        switch subtree {
        case .empty:
            return nil
        case .node(let child):
            return child
        case .leaf(let index):
            var leaf = pendingLeaves[index]
            if let origin = leaf.origin {
                if Int(origin.depth) == depth {
                    return MerkleChild(hash: leaf.hash, version: origin.version, isLeaf: true)
                }
                if !leaf.isRead {
                    let stored = try reader.loadLeaf(origin)
                    leaf.keyHash = stored.keyHash
                    leaf.valueHash = stored.valueHash
                }
                staleNodes.append(origin)
            }
            newNodes.append(
                (
                    NodeKey(unchecked: version, depth: depth, path: path),
                    .leaf(keyHash: leaf.keyHash, valueHash: leaf.valueHash)
                ))
            return MerkleChild(hash: leaf.hash, version: version, isLeaf: true)
        }
    }
}
