public import SluiceCore

/// A proof that a key holds a value, or that it is absent, in the tree with a given root.
///
/// The walk down the key's path ends at a leaf or at an empty subtree. The proof carries that leaf (the key's own
/// for inclusion; another key's for non-inclusion, which shows the key's path is taken by a different leaf) and
/// the sibling hash at each depth on the way. Verification rebuilds the root from the bottom up.
public struct MerkleProof: Sendable, Equatable, Hashable {
    /// A leaf's key and value hashes.
    public struct Leaf: Sendable, Equatable, Hashable, Codable {
        public var keyHash: Hash
        public var valueHash: Hash

        public init(keyHash: Hash, valueHash: Hash) {
            self.keyHash = keyHash
            self.valueHash = valueHash
        }
    }

    /// The most siblings a proof can have: one per key bit.
    public static let maxSiblings = 256

    /// The leaf where the key's path ends, or nil when it ends in an empty subtree.
    public var leaf: Leaf?
    /// Sibling hashes from the root downwards: `siblings[i]` is the sibling at depth i + 1.
    public var siblings: [Hash]

    public init(leaf: Leaf?, siblings: [Hash]) {
        self.leaf = leaf
        self.siblings = siblings
    }

    /// Whether this proof shows, against `root`, that `keyHash` holds `valueHash` (non-nil) or is absent (nil).
    /// - Complexity: O(siblings.count) hashes.
    public func verify(root: Hash, keyHash: Hash, valueHash: Hash?) -> Bool {
        guard siblings.count <= Self.maxSiblings else { return false }
        var hash = Hash.zero
        if let leaf {
            if let valueHash {
                guard leaf.keyHash == keyHash, leaf.valueHash == valueHash else { return false }
            } else {
                // Another key's leaf proves absence only if it sits on this key's path.
                guard leaf.keyHash != keyHash, leaf.keyHash.prefix(siblings.count) == keyHash.prefix(siblings.count)
                else { return false }
            }
            hash = NodeHashing.leaf(keyHash: leaf.keyHash, valueHash: leaf.valueHash)
        } else if valueHash != nil {
            return false
        }
        for depth in siblings.indices.reversed() {
            let sibling = siblings[depth]
            hash =
                keyHash.bit(depth)
                ? NodeHashing.internal(left: sibling, right: hash) : NodeHashing.internal(left: hash, right: sibling)
        }
        return hash == root
    }

    /// The canonical encoding: the optional leaf (0x00, or 0x01 ‖ keyHash ‖ valueHash), then the siblings as a
    /// ULEB128 count and 32 bytes each.
    public var encoded: [UInt8] { canonicalBytes }

    /// Decodes `encoded` strictly: no trailing bytes and at most 256 siblings.
    public init(encoded bytes: [UInt8]) throws(CoreError) {
        self = try MerkleProof(canonicalBytes: bytes)
    }
}

extension MerkleProof.Leaf: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.write(keyHash)
        writer.write(valueHash)
    }

    public init(from reader: inout CanonicalReader) throws(CoreError) {
        self.init(keyHash: try reader.readHash(), valueHash: try reader.readHash())
    }
}

extension MerkleProof: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) {
        writer.writeOptional(leaf)
        writer.writeArray(siblings)
    }

    public init(from reader: inout CanonicalReader) throws(CoreError) {
        let leaf = try reader.readOptional(Leaf.self)
        let siblings = try reader.readArray(Hash.self, max: Self.maxSiblings)
        self.init(leaf: leaf, siblings: siblings)
    }
}

/// JSON: `{"leaf": {"keyHash": "0x…", "valueHash": "0x…"} or null, "siblings": ["0x…", …]}`.
extension MerkleProof: Codable {
    private enum CodingKeys: String, CodingKey {
        case leaf, siblings
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let siblings = try c.decode([Hash].self, forKey: .siblings)
        guard siblings.count <= Self.maxSiblings else {
            throw DecodingError.dataCorruptedError(
                forKey: .siblings, in: c,
                debugDescription: "a proof has at most \(Self.maxSiblings) siblings, got \(siblings.count)")
        }
        self.init(leaf: try c.decodeIfPresent(Leaf.self, forKey: .leaf), siblings: siblings)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(leaf, forKey: .leaf)
        try c.encode(siblings, forKey: .siblings)
    }
}
