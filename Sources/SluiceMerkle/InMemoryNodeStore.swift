import SluiceCore
import Synchronization

/// Nodes kept in memory: for tests, and for trees small enough to hold in memory.
///
/// `apply` stores an update's new nodes and keeps the old ones, so every earlier root stays readable until its
/// stale nodes are removed. The nodes are spread over 64 dictionaries, each behind its own lock, so that the
/// threads of a parallel update seldom wait for one another (one lock made two threads slower than one).
public final class InMemoryNodeStore: MerkleNodeReader {
    private final class Shard: Sendable {
        let nodes = Mutex<[NodeKey: MerkleNode]>([:])
    }

    private static let shardBits = 6
    private let shards: [Shard] = (0..<1 << InMemoryNodeStore.shardBits).map { _ in Shard() }

    public init() {}

    @inline(__always)
    private static func shardIndex(_ key: NodeKey) -> Int {
        let mixed = (key.path.w0 ^ key.path.w1 ^ key.path.w2 ^ key.path.w3 ^ key.version ^ UInt64(key.depth) << 48)
        return Int(truncatingIfNeeded: (mixed &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - shardBits))
    }

    public func node(_ key: NodeKey) -> MerkleNode? {
        shards[Self.shardIndex(key)].nodes.withLock { $0[key] }
    }

    /// Stores the update's new nodes; stale nodes stay until `remove`.
    public func apply(_ update: MerkleUpdate) {
        var byShard = [[(key: NodeKey, node: MerkleNode)]](repeating: [], count: shards.count)
        for entry in update.newNodes { byShard[Self.shardIndex(entry.key)].append(entry) }
        for (shard, entries) in zip(shards, byShard) where !entries.isEmpty {
            shard.nodes.withLock { nodes in
                nodes.reserveCapacity(nodes.count + entries.count)
                for (key, node) in entries { nodes[key] = node }
            }
        }
    }

    /// Stores one node (tests use it to plant damaged nodes).
    public func insert(_ node: MerkleNode, at key: NodeKey) {
        shards[Self.shardIndex(key)].nodes.withLock { $0[key] = node }
    }

    /// Deletes nodes, as a pruner deletes stale ones.
    public func remove(_ keys: some Sequence<NodeKey>) {
        for key in keys {
            _ = shards[Self.shardIndex(key)].nodes.withLock { $0.removeValue(forKey: key) }
        }
    }

    /// The number of stored nodes.
    public var count: Int { shards.reduce(0) { sum, shard in sum + shard.nodes.withLock { $0.count } } }

    /// The keys of all stored nodes.
    public var keys: Set<NodeKey> {
        var out = Set<NodeKey>()
        for shard in shards { shard.nodes.withLock { out.formUnion($0.keys) } }
        return out
    }
}
