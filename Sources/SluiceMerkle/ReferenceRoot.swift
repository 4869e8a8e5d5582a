public import SluiceCore

extension SparseMerkleTree {
    /// The root of the tree holding `leaves`, computed from scratch by the definition: the oracle of the tests.
    ///
    /// Deliberately plain: it splits the leaves by one key bit per level and hashes freshly built byte arrays,
    /// sharing no code with the update but `Hash.sha256`. If a key appears more than once, its last occurrence
    /// counts, as in `build`.
    /// - Complexity: O(n · h) for n leaves in a tree of height h; it allocates freely.
    public static func rootHash(ofLeaves leaves: [(keyHash: Hash, valueHash: Hash)]) -> Hash {
        var distinct: [Hash: Hash] = [:]
        for leaf in leaves { distinct[leaf.keyHash] = leaf.valueHash }
        return referenceSubtree(distinct.map { (keyHash: $0.key, valueHash: $0.value) }, depth: 0)
    }

    private static func referenceSubtree(_ leaves: [(keyHash: Hash, valueHash: Hash)], depth: Int) -> Hash {
        if leaves.isEmpty { return .zero }
        if leaves.count == 1 { return Hash.sha256([0x00] + leaves[0].keyHash.bytes + leaves[0].valueHash.bytes) }
        let left = leaves.filter { !referenceBit($0.keyHash, depth) }
        let right = leaves.filter { referenceBit($0.keyHash, depth) }
        let leftHash = referenceSubtree(left, depth: depth + 1)
        let rightHash = referenceSubtree(right, depth: depth + 1)
        return Hash.sha256([0x01] + leftHash.bytes + rightHash.bytes)
    }

    /// Bit `index` of a key: bit 7 - index % 8 of byte index / 8.
    private static func referenceBit(_ key: Hash, _ index: Int) -> Bool {
        (key.bytes[index / 8] >> (7 - UInt8(index % 8))) & 1 == 1
    }
}
