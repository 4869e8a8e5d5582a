public import SluiceCore

/// Where a node is stored: the version that wrote it and its position in the tree.
///
/// A position is a depth (0 for the root, at most 256) and a path, the first `depth` bits of every key below
/// it with the remaining bits zeroed. A node is never rewritten: a later version that changes the subtree
/// writes a new node at the same position under its own version.
public struct NodeKey: Hashable, Sendable, CustomStringConvertible {
    public let version: UInt64
    public let depth: UInt16
    public let path: Hash

    /// The byte length of `encoded`.
    public static let encodedCount = 42

    /// Bits of `path` past `depth` are cleared, so that a position has one key.
    /// - Precondition: `depth <= 256`.
    public init(version: UInt64, depth: Int, path: Hash) {
        precondition((0...256).contains(depth), "a node's depth must be in 0...256, got \(depth)")
        self.version = version
        self.depth = UInt16(depth)
        self.path = path.prefix(depth)
    }

    /// The root position of the tree written at `version`.
    public static func root(version: UInt64) -> NodeKey { NodeKey(version: version, depth: 0, path: .zero) }

    /// version (big-endian, 8 bytes) ‖ depth (big-endian, 2 bytes) ‖ path (32 bytes).
    ///
    /// Big-endian version first, so that a byte-ordered store (RocksDB) keeps each version's nodes together
    /// in version order and a pruner can walk them as one range.
    public var encoded: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(Self.encodedCount)
        withUnsafeBytes(of: version.bigEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: depth.bigEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: path) { out.append(contentsOf: $0) }
        return out
    }

    /// Decodes `encoded` strictly: exactly 42 bytes, a depth of at most 256 and no path bit set past the depth.
    public init(encoded bytes: some Collection<UInt8>) throws(CoreError) {
        let raw = Array(bytes)
        guard raw.count == Self.encodedCount else {
            throw CoreError(.badLength, "a node key is \(Self.encodedCount) bytes, got \(raw.count)")
        }
        var version: UInt64 = 0
        for b in raw[0..<8] { version = version << 8 | UInt64(b) }
        let depth = Int(raw[8]) << 8 | Int(raw[9])
        guard depth <= 256 else { throw CoreError(.codec, "a node key's depth must be at most 256, got \(depth)") }
        let path = raw.withUnsafeBytes { Hash(unsafeBytes: UnsafeRawBufferPointer(rebasing: $0[10..<42])) }
        guard path.prefix(depth) == path else {
            throw CoreError(.codec, "a node key's path \(path.hex) has bits set past its depth \(depth)")
        }
        self.version = version
        self.depth = UInt16(depth)
        self.path = path
    }

    /// The key of a child recorded in this node: one level down, toward `right` or left, at the child's version.
    @inline(__always)
    func child(_ child: MerkleChild, right: Bool) -> NodeKey {
        let d = Int(depth)
        return NodeKey(unchecked: child.version, depth: d + 1, path: right ? path.settingBit(d) : path)
    }

    /// A key whose path is already a prefix of `depth` bits (the update's recursion keeps it so).
    @inline(__always)
    init(unchecked version: UInt64, depth: Int, path: Hash) {
        self.version = version
        self.depth = UInt16(truncatingIfNeeded: depth)
        self.path = path
    }

    public var description: String { "\(path.hex) at depth \(depth)" }
}
