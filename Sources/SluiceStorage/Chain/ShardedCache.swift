import SluiceCore
import SluiceMerkle
import SluiceRuntime
import Synchronization

// In-memory caches in front of RocksDB, shared by the threads that execute a block and update its root:
// 64 independently locked shards, each bounded (a full shard is emptied — cheap, and the hot entries
// come back at the next block).
//
// - Current tree nodes: a root update reads every node along every changed path; from RocksDB that is
//   a page read, from here a probe. Nodes are immutable under their versioned keys, so entries never go
//   stale; replaced nodes are dropped only to save memory.
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

    func removeAll() {
        for shard in shards { shard.entries.withLock { $0.removeAll() } }
    }

    func remove(_ key: Key) {
        _ = shard(key).entries.withLock { $0.removeValue(forKey: key) }
    }
}

/// A node key with a one-word hash: the path is (a prefix of) a SHA-256 digest, so folding it is as good as
/// hashing all 42 bytes, and Swift's per-process hasher seed still keeps bucket positions unpredictable.
struct NodeCacheKey: Hashable, Sendable {
    let key: NodeKey
    init(_ key: NodeKey) { self.key = key }
    func hash(into hasher: inout Hasher) {
        hasher.combine(key.path.w0 ^ key.path.w1 ^ key.path.w2 ^ key.path.w3 ^ key.version << 16 ^ UInt64(key.depth))
    }
}

typealias NodeCache = ShardedCache<NodeCacheKey, MerkleNode>
typealias StateCache = ShardedCache<StateKey, StateValue?>
