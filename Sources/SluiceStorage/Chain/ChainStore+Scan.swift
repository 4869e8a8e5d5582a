public import SluiceCore
import SluiceRuntime
public import SluiceState

// Listing one key space of the latest state (the API's `GET /v1/market/jobs`). Values live in the
// `state` column family (balances in `accounts`, whose hash-indexed memtable makes a scan sort it first: fine
// for tools, slow for an API route) under `StateKey.canonicalBytes`: the space as a little-endian UInt32, then the
// 32-byte id. One space is therefore one 4-byte prefix, and inside it RocksDB's bytewise order is the
// order of the ids as `Hash <` compares them (byte by byte).
//
// What a scan sees: it reads RocksDB, not the state cache. A commit writes its whole block to RocksDB
// in one atomic batch and only then updates the cache, and a RocksDB iterator reads from the implicit
// snapshot taken when it is created; so a scan sees exactly the state after some committed block, never
// half a block, and never a value the cache holds that RocksDB does not (the cache is only ever behind
// RocksDB, and only for the moment between the batch and the cache update). Which block: the head at the
// time of the scan, or the one after it if a commit lands meanwhile; the caller that reports a height
// should read the head before and after and scan again if it moved.

extension ChainStore {
    /// The latest committed values of one key space, in id order: at most `limit` of those `include`
    /// accepts, starting after the id `after` (exclusive; nil: from the start).
    ///
    /// - Complexity: O(k) RocksDB reads and decodes, where k is the number of entries from `after` to the
    ///   last one returned; a filter that accepts few entries reads many.
    public func values(
        in space: StateKey.Space, limit: Int, after: Hash? = nil, where include: (StateValue) -> Bool = { _ in true }
    ) throws(StorageError) -> [(key: StateKey, value: StateValue)] {
        guard limit > 0 else { return [] }
        let prefix = Array(StateKey(space: space, id: .zero).canonicalBytes.prefix(4))
        let start = after.map { StateKey(space: space, id: $0).canonicalBytes }
        var out: [(key: StateKey, value: StateValue)] = []
        var failure: StorageError? = nil
        do {
            let family = Family.state(for: space)
            try database.scan(family, prefix: prefix, from: start) { rawKey, rawValue in
                guard rawKey.count == prefix.count + 32 else {
                    failure = StorageError(
                        .corrupt, "a state key of space \(space.rawValue) is \(rawKey.count) bytes, not 36")
                    return false
                }
                let id = Hash(unsafeBytes: UnsafeRawBufferPointer(rebasing: rawKey[prefix.count...]))
                if id == after { return true }
                let key = StateKey(space: space, id: id)
                let value: StateValue
                do throws(CoreError) { value = try StateValue(canonicalBytes: Array(rawValue)) } catch {
                    failure = StorageError(.corrupt, "the value of \(key) does not decode: \(error.message)")
                    return false
                }
                if include(value) { out.append((key, value)) }
                return out.count < limit
            }
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.database, "cannot scan state space \(space.rawValue): \(error)")
        }
        if let failure { throw failure }
        return out
    }
}
