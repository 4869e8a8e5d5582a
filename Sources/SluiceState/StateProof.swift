public import SluiceCore
public import SluiceMerkle

/// A state value (or its absence) with the Merkle proof that ties it to a state root.
/// A light client checks it with only the root: `verify()`.
public struct StateProof: Sendable, Equatable {
    public var key: StateKey
    public var height: UInt64
    public var root: Hash
    /// The value, when the proof is of the latest state (older proofs carry only its hash).
    public var value: StateValue?
    /// nil: the key is absent.
    public var valueHash: Hash?
    public var proof: MerkleProof

    public init(key: StateKey, height: UInt64, root: Hash, value: StateValue?, valueHash: Hash?, proof: MerkleProof) {
        self.key = key
        self.height = height
        self.root = root
        self.value = value
        self.valueHash = valueHash
        self.proof = proof
    }

    /// True when the proof shows that, under `root`, `key` holds `valueHash` (or is absent), and the
    /// value, if given, hashes to `valueHash`.
    public func verify(against expectedRoot: Hash? = nil) -> Bool {
        if let expectedRoot, expectedRoot != root { return false }
        if let value {
            guard let valueHash, StateCommitment.valueHash(value) == valueHash else { return false }
        }
        return proof.verify(root: root, keyHash: StateCommitment.keyHash(key), valueHash: valueHash)
    }
}
