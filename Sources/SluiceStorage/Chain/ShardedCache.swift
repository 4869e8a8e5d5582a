import SluiceCore
import SluiceMerkle
import SluiceRuntime
import SluiceState
import Synchronization

// In-memory caches in front of RocksDB, shared by the threads that execute a block and update its root:
// 64 independently locked shards, each bounded (a full shard is emptied — cheap, and the hot entries
// come back at the next block).
//
// - Current tree nodes (`NodeCache`): a root update reads every node along every changed path; from
//   RocksDB that is a page read, from here a probe. The cache holds one node per position (depth and
//   path), the newest it has seen, with its version: a lookup is a hit only if the version matches. Down
//   to depth 20 the positions index a table directly (NodeTable.swift); deeper ones use this map. A block's new nodes
//   overwrite the nodes they replace at the same positions, so keeping the cache current costs one
//   write per new node and no delete. Nodes are immutable under their versioned keys, so a hit is
//   always right.
// - Latest state values (and known-absent keys): execution reads every sender and recipient. Updated
//   only after a block's batch is durably written, so the cache never shows uncommitted state.

final class ShardedCache<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    private static var shardCount: Int { 64 }

    private final class Shard: Sendable {
        let entries = Mutex<[Key: Value]>([:])
    }

    private let shards: [Shard]
    private let limitPerShard: Int
    private let shardOf: @Sendable (Key) -> UInt64

    /// - Parameter shardOf: a well-mixed 64-bit function of the key that picks its shard.
    init(capacity: Int, shardOf: @escaping @Sendable (Key) -> UInt64) {
        limitPerShard = max(1024, capacity / Self.shardCount)
        shards = (0..<Self.shardCount).map { _ in Shard() }
        self.shardOf = shardOf
    }

    private func shard(_ key: Key) -> Shard {
        shards[Int(truncatingIfNeeded: shardOf(key) >> 58) & (Self.shardCount - 1)]
    }

    func get(_ key: Key) -> Value? {
        shard(key).entries.withLock { $0[key] }
    }

    func set(_ key: Key, _ value: Value) {
        let limit = limitPerShard
        shard(key).entries.withLock {
            if $0.count >= limit { $0.removeAll(keepingCapacity: true) }
            $0[key] = value
        }
    }

    /// Sets `value` unless the entry already there is to be kept (`keep(old)` is true).
    func set(_ key: Key, _ value: Value, unless keep: (Value) -> Bool) {
        let limit = limitPerShard
        shard(key).entries.withLock {
            if let old = $0[key], keep(old) { return }
            if $0.count >= limit { $0.removeAll(keepingCapacity: true) }
            $0[key] = value
        }
    }

    func removeAll() {
        for shard in shards { shard.entries.withLock { $0.removeAll() } }
    }

    func remove(_ key: Key) {
        _ = shard(key).entries.withLock { $0.removeValue(forKey: key) }
    }
}

/// A node's position: its depth and path, without its version.
///
/// Hashed as one word: the path is (a prefix of) a SHA-256 digest, so folding its words is as good as hashing
/// all 32 bytes, and the depth goes into the top byte, which a path of at most 56 bits (every node of a tree
/// of fewer than 2^50 leaves, in practice) leaves zero: distinct positions give distinct words. (Folding
/// the depth and version into the low bits, as before, made most nodes at depths 16–24 of a full tree share
/// their hash with nodes at neighbouring depths: long probe chains.) Swift's per-process hasher seed still
/// keeps bucket positions unpredictable.
struct NodePosition: Hashable, Sendable {
    let depth: UInt16
    let path: Hash

    init(_ key: NodeKey) {
        depth = key.depth
        path = key.path
    }

    var word: UInt64 { path.w0 ^ path.w1 ^ path.w2 ^ path.w3 ^ UInt64(depth) << 56 }

    func hash(into hasher: inout Hasher) { hasher.combine(word) }
}

/// A cached node and the version it was written at.
struct CachedNode: Sendable {
    let version: UInt64
    let node: MerkleNode
}

typealias StateCache = ShardedCache<StateKey, StateValue?>

/// The current tree's nodes: a table indexed by position down to `NodeTable.depth`, where nearly every
/// position holds a node, and a sharded hash map below, where positions are sparse.
final class NodeCache: Sendable {
    private let table: NodeTable
    private let deep: ShardedCache<NodePosition, CachedNode>

    /// - Parameter capacity: nodes kept in the hash map (deeper positions).
    init(capacity: Int, tableDepth: Int = 20) {
        table = NodeTable(depth: tableDepth)
        deep = ShardedCache(capacity: capacity) { $0.word &* 0x9E37_79B9_7F4A_7C15 }
    }

    /// The node stored at `key`, if the cache holds that version of its position.
    func node(_ key: NodeKey) -> MerkleNode? {
        if Int(key.depth) <= table.depth { return table.node(key) }
        guard let cached = deep.get(NodePosition(key)), cached.version == key.version else { return nil }
        return cached.node
    }

    /// Caches a node of the newest tree (a block's or a build's new node), replacing the one before it.
    func setCurrent(_ key: NodeKey, _ node: MerkleNode) {
        if Int(key.depth) <= table.depth { return table.set(key, node, keepNewer: false) }
        deep.set(NodePosition(key), CachedNode(version: key.version, node: node))
    }

    /// Caches a node read from disk unless a newer node of its position is cached: reading an old version
    /// (a historical proof) must not push the current tree out.
    func setRead(_ key: NodeKey, _ node: MerkleNode) {
        if Int(key.depth) <= table.depth { return table.set(key, node, keepNewer: true) }
        deep.set(NodePosition(key), CachedNode(version: key.version, node: node)) { $0.version > key.version }
    }

    func removeAll() {
        table.removeAll()
        deep.removeAll()
    }
}
