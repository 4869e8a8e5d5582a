import SluiceCore
import SluiceMerkle
import Synchronization

// An in-memory cache of current Merkle nodes. A block's root update reads the nodes along every changed
// path; from RocksDB that is a point lookup each (microseconds), from here a hash-map probe. New nodes
// enter at commit and replaced ones leave, so the cache holds (a growing part of) the current tree and
// old versions are read from disk only for historical proofs.

final class NodeCache: @unchecked Sendable {
    private static let shardCount = 64
    private final class Shard: Sendable {
        let nodes = Mutex<[NodeKey: MerkleNode]>([:])
    }

    private let shards: [Shard]
    private let limitPerShard: Int

    /// - Parameter capacity: nodes kept at most; a shard that fills up is emptied (simple and cheap,
    ///   and the nodes near the root come back at the next block).
    init(capacity: Int) {
        limitPerShard = max(1024, capacity / Self.shardCount)
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    private func shard(_ key: NodeKey) -> Int {
        Int(truncatingIfNeeded: key.path.w0 ^ key.path.w3 ^ UInt64(key.depth) &* 0x9E37_79B9_7F4A_7C15)
            & (Self.shardCount - 1)
    }

    func get(_ key: NodeKey) -> MerkleNode? {
        shards[shard(key)].nodes.withLock { $0[key] }
    }

    func insert(_ key: NodeKey, _ node: MerkleNode) {
        let limit = limitPerShard
        shards[shard(key)].nodes.withLock {
            if $0.count >= limit { $0.removeAll(keepingCapacity: true) }
            $0[key] = node
        }
    }

    func remove(_ key: NodeKey) {
        _ = shards[shard(key)].nodes.withLock { $0.removeValue(forKey: key) }
    }
}
