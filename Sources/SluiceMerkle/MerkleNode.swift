public import SluiceCore

/// A parent's record of one child: its hash, the version that wrote it, and whether it is a leaf.
///
/// With the parent's own position this names the child's `NodeKey` exactly (version, depth + 1, path with the
/// branch bit), so a walk fetches each node with one point lookup and never scans.
public struct MerkleChild: Hashable, Sendable {
    public var hash: Hash
    public var version: UInt64
    public var isLeaf: Bool

    public init(hash: Hash, version: UInt64, isLeaf: Bool) {
        self.hash = hash
        self.version = version
        self.isLeaf = isLeaf
    }
}

/// A stored node of the tree.
///
/// An internal node always has at least two leaves below it: two children, or one internal child (a chain
/// down to where two keys part). A subtree holding one leaf is that leaf, stored where the subtree starts.
public enum MerkleNode: Hashable, Sendable {
    case leaf(keyHash: Hash, valueHash: Hash)
    case `internal`(left: MerkleChild?, right: MerkleChild?)

    /// SHA-256(0x00 ‖ keyHash ‖ valueHash) for a leaf, SHA-256(0x01 ‖ left ‖ right) for an internal node
    /// (`Hash.zero` for an empty child).
    public var hash: Hash {
        switch self {
        case .leaf(let keyHash, let valueHash):
            NodeHashing.leaf(keyHash: keyHash, valueHash: valueHash)
        case .internal(let left, let right):
            NodeHashing.internal(left: left?.hash ?? .zero, right: right?.hash ?? .zero)
        }
    }

    /// The canonical encoding (see `encode(to:)`).
    public var encoded: [UInt8] {
        var writer = CanonicalWriter(capacity: 90)
        encode(to: &writer)
        return writer.bytes
    }

    /// Decodes `encoded` strictly: no trailing bytes, known tags only, and only canonical shapes.
    public init(encoded bytes: [UInt8]) throws(CoreError) {
        self = try MerkleNode(canonicalBytes: bytes)
    }
}

extension MerkleNode: CanonicalCodable {
    private static let leafTag: UInt8 = 0
    private static let internalTag: UInt8 = 1
    private static let absentChild: UInt8 = 0
    private static let internalChild: UInt8 = 1
    private static let leafChild: UInt8 = 2

    /// A leaf is 0x00 ‖ keyHash ‖ valueHash (65 bytes). An internal node is 0x01 followed by each child, left
    /// then right: 0x00 when empty, else 0x01 (internal) or 0x02 (leaf) ‖ hash ‖ version (u64 little-endian).
    public func encode(to writer: inout CanonicalWriter) {
        switch self {
        case .leaf(let keyHash, let valueHash):
            writer.write(Self.leafTag)
            writer.write(keyHash)
            writer.write(valueHash)
        case .internal(let left, let right):
            writer.write(Self.internalTag)
            Self.encode(left, to: &writer)
            Self.encode(right, to: &writer)
        }
    }

    private static func encode(_ child: MerkleChild?, to writer: inout CanonicalWriter) {
        guard let child else { return writer.write(absentChild) }
        writer.write(child.isLeaf ? leafChild : internalChild)
        writer.write(child.hash)
        writer.write(child.version)
    }

    public init(from reader: inout CanonicalReader) throws(CoreError) {
        let at = reader.offset
        switch try reader.readByte() {
        case Self.leafTag:
            self = .leaf(keyHash: try reader.readHash(), valueHash: try reader.readHash())
        case Self.internalTag:
            let left = try Self.decodeChild(from: &reader)
            let right = try Self.decodeChild(from: &reader)
            let leaves = (left.map { $0.isLeaf ? 1 : 2 } ?? 0) + (right.map { $0.isLeaf ? 1 : 2 } ?? 0)
            guard leaves >= 2 else {
                throw CoreError(
                    .codec, "an internal node at offset \(at) must have two children or one internal child")
            }
            self = .internal(left: left, right: right)
        case let tag:
            throw CoreError(.codec, "unknown Merkle node tag \(tag) at offset \(at)")
        }
    }

    private static func decodeChild(from reader: inout CanonicalReader) throws(CoreError) -> MerkleChild? {
        let at = reader.offset
        let tag = try reader.readByte()
        guard tag != absentChild else { return nil }
        guard tag == internalChild || tag == leafChild else {
            throw CoreError(.codec, "unknown Merkle child tag \(tag) at offset \(at)")
        }
        let hash = try reader.readHash()
        guard hash != .zero else { throw CoreError(.codec, "a present child at offset \(at) has the empty hash") }
        return MerkleChild(hash: hash, version: try reader.read(UInt64.self), isLeaf: tag == leafChild)
    }
}
