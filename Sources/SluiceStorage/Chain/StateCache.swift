import SluiceCore
import SluiceRuntime
import Synchronization

// The latest state values in memory, in front of RocksDB. Execution reads every sender and recipient of
// a block, concurrently from the executor's threads; a RocksDB point read costs microseconds, a probe
// here tens of nanoseconds. Absent keys are cached too (new recipients are common). The cache changes
// only after a block's batch is durably written, so it never shows uncommitted state.

final class StateCache: @unchecked Sendable {
    private static let shardCount = 64

    private final class Shard: Sendable {
        let values = Mutex<[StateKey: StateValue?]>([:])
    }

    private let shards: [Shard]
    private let limitPerShard: Int

    init(capacity: Int) {
        limitPerShard = max(1024, capacity / Self.shardCount)
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    private func shard(_ key: StateKey) -> Shard {
        shards[Int(truncatingIfNeeded: key.hashWord >> 58) & (Self.shardCount - 1)]
    }

    /// `.some(value)` when cached (value nil: known absent), nil when not cached.
    func get(_ key: StateKey) -> StateValue?? {
        shard(key).values.withLock { $0[key] }
    }

    func set(_ key: StateKey, _ value: StateValue?) {
        let limit = limitPerShard
        shard(key).values.withLock {
            if $0.count >= limit { $0.removeAll(keepingCapacity: true) }
            $0[key] = .some(value)
        }
    }
}
