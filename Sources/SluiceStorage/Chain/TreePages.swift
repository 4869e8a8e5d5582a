import SluiceCore
import SluiceMerkle

// Tree nodes are stored in pages, not one record each. A block that changes 20,000 keys of a
// million-leaf tree writes about 160,000 new nodes; as separate RocksDB records that is 160,000 memtable
// inserts (most of a half-second commit). Grouped by version and by the first byte of their path, they
// are at most 257 records per block: one page for the nodes above depth 8 and one per depth-8 subtree.
//
// A page stores only what cannot be recomputed. A node written at version v records, for each child, its
// hash and version; but a child also written at v lies on a path the update rewrote, so it is in the same
// page (unless it starts a depth-8 page) and its hash follows from its own content. Such a child is stored
// as a one-byte tag, and its hash is recomputed when the page is read. What remains per changed key is
// the leaf and the hashes of the siblings along its path — what a proof holds — instead of two hashes per
// node: the bytes written per block are about 2.4× fewer, and the WAL write and sync were most of a commit.
// Versions are ULEB128 (block heights are small).
//
// A node is read back by loading its page (version, page of its path) and decoding it whole into the
// node cache: disk reads of the current tree are rare (a cold start, a historical proof), and one page
// read warms its neighbours. Decoding costs one SHA-256 per node of the page.
//
// Page key: version (u64 BE) ‖ 0x00 for the top page, or 0x01 ‖ the path's first byte.
// Page value: nodes, each: depth (ULEB) ‖ the ⌈depth/8⌉ path bytes ‖ node, where a node is
//   0x00 ‖ keyHash ‖ valueHash                        a leaf
//   0x01 ‖ left child ‖ right child                   an internal node
// and a child is 0x00 (none), 0x01 / 0x02 (internal / leaf) ‖ hash ‖ version (ULEB), or 0x03 / 0x04
// (internal / leaf) written at the page's version in the same page, whose hash is recomputed.

enum TreePages {
    static let topDepth = 8

    private static let leafTag: UInt8 = 0
    private static let internalTag: UInt8 = 1
    private static let absentChild: UInt8 = 0
    private static let internalChild: UInt8 = 1
    private static let leafChild: UInt8 = 2
    private static let internalChildHere: UInt8 = 3
    private static let leafChildHere: UInt8 = 4

    /// Pages per version: the top page and one per depth-8 subtree.
    static let pageCount = 257

    /// A node's page within its version: 0 for the top page, 1 + the path's first byte below.
    @inline(__always)
    static func pageIndex(_ key: NodeKey) -> Int {
        Int(key.depth) < topDepth ? 0 : 1 + Int(withUnsafeBytes(of: key.path) { $0[0] })
    }

    static func pageKey(_ key: NodeKey) -> [UInt8] {
        var out = bigEndian(key.version)
        if Int(key.depth) < topDepth {
            out.append(0)
        } else {
            out.append(1)
            out.append(withUnsafeBytes(of: key.path) { $0[0] })
        }
        return out
    }

    /// Groups nodes of one version into page records.
    ///
    /// With several threads, each encodes a contiguous slice of `nodes` into pages of its own, and a page is
    /// the slices' parts joined in order: a page is a plain sequence of node records, so the bytes are the
    /// same for every thread count.
    /// - Precondition: every node shares one version, and every child recorded at that version is among
    ///   `nodes` (what an update or a build returns).
    static func pages(
        _ nodes: [(key: NodeKey, node: MerkleNode)], threads: Int = 1
    ) -> [(key: [UInt8], value: [UInt8])] {
        guard let version = nodes.first?.key.version else { return [] }
        let parts = Swift.max(1, Swift.min(threads, nodes.count / 8192))
        let encoded = Array(0..<parts).concurrentMap(threads: parts) { part in
            encode(nodes[(nodes.count * part / parts)..<(nodes.count * (part + 1) / parts)], version: version)
        }
        var pages: [(key: [UInt8], value: [UInt8])] = []
        for page in 0..<pageCount {
            var value = encoded[0][page].bytes
            for part in encoded.dropFirst() { value += part[page].bytes }
            guard !value.isEmpty else { continue }
            var key = bigEndian(version)
            if page == 0 { key.append(0) } else { key += [1, UInt8(page - 1)] }
            pages.append((key, value))
        }
        return pages
    }

    /// The page contents of a slice of nodes: 257 buffers indexed by page (top page first), filled in place,
    /// with no per-node key array to hash.
    private static func encode(
        _ nodes: ArraySlice<(key: NodeKey, node: MerkleNode)>, version: UInt64
    ) -> [CanonicalWriter] {
        var buffers = [CanonicalWriter](repeating: CanonicalWriter(capacity: 0), count: pageCount)
        for (key, node) in nodes {
            precondition(key.version == version, "a page batch mixes versions")
            let depth = Int(key.depth)
            let page = pageIndex(key)
            let pathBytes = (depth + 7) / 8
            buffers[page].writeULEB(UInt64(depth))
            withUnsafeBytes(of: key.path) { raw in for b in raw.prefix(pathBytes) { buffers[page].write(b) } }
            switch node {
            case .leaf(let keyHash, let valueHash):
                buffers[page].write(leafTag)
                buffers[page].write(keyHash)
                buffers[page].write(valueHash)
            case .internal(let left, let right):
                // A child at depth 8 starts its own page: it keeps its hash here.
                let childInPage = depth + 1 != topDepth
                buffers[page].write(internalTag)
                write(left, version: version, inPage: childInPage, to: &buffers[page])
                write(right, version: version, inPage: childInPage, to: &buffers[page])
            }
        }
        return buffers
    }

    @inline(__always)
    private static func write(_ child: MerkleChild?, version: UInt64, inPage: Bool, to writer: inout CanonicalWriter) {
        guard let child else { return writer.write(absentChild) }
        if inPage && child.version == version {
            writer.write(child.isLeaf ? leafChildHere : internalChildHere)
        } else {
            writer.write(child.isLeaf ? leafChild : internalChild)
            writer.write(child.hash)
            writer.writeULEB(child.version)
        }
    }

    /// A child as a page stores it: `hash` is nil when it is recomputed from the same page.
    private struct StoredChild {
        var hash: Hash?
        var version: UInt64
        var isLeaf: Bool
    }

    private struct StoredNode {
        var depth: Int
        var path: Hash
        var leaf: (keyHash: Hash, valueHash: Hash)?
        var left: StoredChild?
        var right: StoredChild?
    }

    /// Decodes a page of `version`, recomputing the hashes it leaves out, deepest nodes first.
    static func decode(_ bytes: [UInt8], version: UInt64) throws(StorageError) -> [(NodeKey, MerkleNode)] {
        var r = CanonicalReader(bytes)
        var stored: [StoredNode] = []
        do {
            while r.remaining > 0 {
                let depth = try r.readULEB()
                guard depth <= 256 else { throw StorageError(.corrupt, "a tree page holds a node at depth \(depth)") }
                var path = Hash.zero
                let pathBytes = (Int(depth) + 7) / 8
                for i in 0..<pathBytes {
                    let b = try r.readByte()
                    withUnsafeMutableBytes(of: &path) { $0[i] = b }
                }
                guard NodeKey(version: version, depth: Int(depth), path: path).path == path else {
                    throw StorageError(.corrupt, "a tree page holds a path with bits past its depth \(depth)")
                }
                var node = StoredNode(depth: Int(depth), path: path)
                switch try r.readByte() {
                case leafTag:
                    node.leaf = (try r.readHash(), try r.readHash())
                case internalTag:
                    node.left = try readChild(&r, version: version)
                    node.right = try readChild(&r, version: version)
                case let tag:
                    throw StorageError(.corrupt, "a tree page holds a node of unknown kind \(tag)")
                }
                stored.append(node)
            }
        } catch let e as StorageError {
            throw e
        } catch {
            throw StorageError(.corrupt, "a tree page of version \(version) does not decode: \(error)")
        }
        // Children are one level below their parent: hashing by decreasing depth finds every child's hash
        // before its parent needs it.
        let order = stored.indices.sorted { stored[$0].depth > stored[$1].depth }
        var hashes: [NodeKey: (hash: Hash, isLeaf: Bool)] = [:]
        hashes.reserveCapacity(stored.count)
        var out: [(NodeKey, MerkleNode)] = []
        out.reserveCapacity(stored.count)
        for i in order {
            let s = stored[i]
            let key = NodeKey(version: version, depth: s.depth, path: s.path)
            let node: MerkleNode
            if let leaf = s.leaf {
                node = .leaf(keyHash: leaf.keyHash, valueHash: leaf.valueHash)
            } else {
                let left = try resolve(s.left, below: key, right: false, hashes: hashes)
                let right = try resolve(s.right, below: key, right: true, hashes: hashes)
                let leaves = (left.map { $0.isLeaf ? 1 : 2 } ?? 0) + (right.map { $0.isLeaf ? 1 : 2 } ?? 0)
                guard s.depth < 256, leaves >= 2 else {
                    throw StorageError(.corrupt, "a tree page of version \(version) holds a malformed internal node")
                }
                node = .internal(left: left, right: right)
            }
            hashes[key] = (node.hash, s.leaf != nil)
            out.append((key, node))
        }
        return out
    }

    private static func readChild(_ r: inout CanonicalReader, version: UInt64) throws -> StoredChild? {
        switch try r.readByte() {
        case absentChild:
            return nil
        case let tag where tag == internalChildHere || tag == leafChildHere:
            return StoredChild(hash: nil, version: version, isLeaf: tag == leafChildHere)
        case let tag where tag == internalChild || tag == leafChild:
            let hash = try r.readHash()
            guard hash != .zero else { throw StorageError(.corrupt, "a tree page holds a child with the empty hash") }
            return StoredChild(hash: hash, version: try r.readULEB(), isLeaf: tag == leafChild)
        case let tag:
            throw StorageError(.corrupt, "a tree page holds a child of unknown kind \(tag)")
        }
    }

    /// A recorded child with its hash: stored, or taken from the node one level down in the same page.
    private static func resolve(
        _ child: StoredChild?, below parent: NodeKey, right: Bool, hashes: [NodeKey: (hash: Hash, isLeaf: Bool)]
    ) throws(StorageError) -> MerkleChild? {
        guard let child else { return nil }
        if let hash = child.hash { return MerkleChild(hash: hash, version: child.version, isLeaf: child.isLeaf) }
        let depth = Int(parent.depth)
        var path = parent.path
        if right { withUnsafeMutableBytes(of: &path) { $0[depth >> 3] |= 0x80 >> UInt8(depth & 7) } }
        guard let found = hashes[NodeKey(version: parent.version, depth: depth + 1, path: path)],
            found.isLeaf == child.isLeaf
        else {
            throw StorageError(
                .corrupt,
                "a tree page of version \(parent.version) misses the child of \(parent) it refers to, or holds another kind"
            )
        }
        return MerkleChild(hash: found.hash, version: parent.version, isLeaf: found.isLeaf)
    }
}
