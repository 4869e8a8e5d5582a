public import SluiceCore
import SluiceMerkle

/// How state enters the Merkle tree: a key's leaf position is SHA-256 of its canonical encoding, and a
/// leaf holds SHA-256 of the value's canonical encoding.
public enum StateCommitment {
    /// SHA-256 of the key's canonical encoding (the space as a little-endian UInt32, then the id), written
    /// on the stack: a block hashes every key it changes, and this allocates nothing.
    public static func keyHash(_ key: StateKey) -> Hash {
        withUnsafeTemporaryAllocation(byteCount: 36, alignment: 8) { buffer in
            buffer.storeBytes(of: key.space.rawValue.littleEndian, toByteOffset: 0, as: UInt32.self)
            buffer.storeBytes(of: key.id, toByteOffset: 4, as: Hash.self)
            return Hash.sha256(UnsafeRawBufferPointer(buffer))
        }
    }
    public static func valueHash(_ value: StateValue) -> Hash { Hash.sha256(value.canonicalBytes) }

    /// The root of a whole state, from scratch (`sluice t8n`, `db check`). Depends only on the set of
    /// key/values, never on their order or the thread count.
    public static func root(of state: [StateKey: StateValue], threads: Int = 1) -> Hash {
        SparseMerkleTree.build(version: 0, leaves: leaves(Array(state), threads: threads), threads: threads).root
    }

    /// The tree leaves (keyHash, valueHash) of state entries, hashed on all cores, in input order.
    public static func leaves(
        _ entries: [(key: StateKey, value: StateValue)], threads: Int
    ) -> [(keyHash: Hash, valueHash: Hash)] {
        entries.concurrentMap(threads: threads) { (keyHash($0.key), valueHash($0.value)) }
    }
}
