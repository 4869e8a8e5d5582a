import SluiceCore
import SluiceMerkle

// Tree nodes are stored in pages, not one record each. A block that changes 20,000 keys of a
// million-leaf tree writes about 160,000 new nodes; as separate RocksDB records that is 160,000 memtable
// inserts (most of a half-second commit). Grouped by version and by the first byte of their path, they
// are at most 257 records per block: one page for the nodes above depth 8 and one per depth-8 subtree.
//
// A node is read back by loading its page (version, page of its path) and decoding it whole into the
// node cache: disk reads of the current tree are rare (a cold start, a historical proof), and one page
// read warms its neighbours.
//
// Page key: version (u64 BE) ‖ 0x00 for the top page, or 0x01 ‖ the path's first byte.
// Page value: nodes, each: depth (u16 BE) ‖ the ⌈depth/8⌉ path bytes ‖ node length (ULEB) ‖ node.

enum TreePages {
    static let topDepth = 8

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

    /// Groups nodes into page records.
    static func pages(_ nodes: [(key: NodeKey, node: MerkleNode)]) -> [[UInt8]: [UInt8]] {
        // All nodes of one update share a version: 257 buffers indexed by page (top page first), filled
        // in place, with no per-node key array to hash.
        guard let version = nodes.first?.key.version else { return [:] }
        var buffers = [CanonicalWriter](repeating: CanonicalWriter(capacity: 0), count: 257)
        for (key, node) in nodes {
            precondition(key.version == version, "a page batch mixes versions")
            let page = Int(key.depth) < topDepth ? 0 : 1 + Int(withUnsafeBytes(of: key.path) { $0[0] })
            let pathBytes = (Int(key.depth) + 7) / 8
            buffers[page].write(key.depth)
            withUnsafeBytes(of: key.path) { raw in for b in raw.prefix(pathBytes) { buffers[page].write(b) } }
            // The node's length, then the node, written straight into the page.
            let start = buffers[page].bytes.count
            node.encode(to: &buffers[page])
            buffers[page].insertLength(at: start)
        }
        var pages: [[UInt8]: [UInt8]] = [:]
        for (page, buffer) in buffers.enumerated() where !buffer.bytes.isEmpty {
            var key = bigEndian(version)
            if page == 0 { key.append(0) } else { key += [1, UInt8(page - 1)] }
            pages[key] = buffer.bytes
        }
        return pages
    }

    /// Decodes a page of `version`.
    static func decode(_ bytes: [UInt8], version: UInt64) throws(StorageError) -> [(NodeKey, MerkleNode)] {
        var r = CanonicalReader(bytes)
        var out: [(NodeKey, MerkleNode)] = []
        do {
            while r.remaining > 0 {
                let depth = Int(try r.read(UInt16.self))
                guard depth <= 256 else { throw StorageError(.corrupt, "a tree page holds a node at depth \(depth)") }
                var path = [UInt8](repeating: 0, count: 32)
                for i in 0..<((depth + 7) / 8) { path[i] = try r.readByte() }
                let node = try MerkleNode(encoded: try r.readBytes(max: 4096))
                out.append((NodeKey(version: version, depth: depth, path: try Hash(bytes: path)), node))
            }
        } catch let e as StorageError {
            throw e
        } catch {
            throw StorageError(.corrupt, "a tree page of version \(version) does not decode: \(error)")
        }
        return out
    }
}
