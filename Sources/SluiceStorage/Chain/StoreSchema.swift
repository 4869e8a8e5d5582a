public import SluiceCore
public import SluiceMerkle

// The layout of a data dir: RocksDB column families and the encoding of their keys.
//
//   meta          "schema" → UInt32, "chain" → UInt64, "head" → Head
//   blocks        height (u64 BE) → Block (canonical)
//   block_hashes  block hash → height (u64 BE)
//   txs           transaction hash → height (u64 BE) ‖ index (u32 BE)
//   receipts      height (u64 BE) ‖ index (u32 BE) → Receipt (canonical)
//   state         StateKey (canonical) → StateValue (canonical): the latest values
//   tree          version (u64 BE) ‖ page → the nodes of that version in that page (TreePages.swift)
//   stale         version (u64 BE) → the keys of the nodes that stopped being current at that version,
//                 each version (ULEB) ‖ depth (ULEB) ‖ the ⌈depth/8⌉ path bytes; a page can go once all
//                 its nodes are listed here
//   roots         height (u64 BE) → root hash ‖ root NodeKey? : the state root after each block
//
// Heights are big-endian so that RocksDB's byte order is height order. The tree's version is the
// block height: genesis is version 0.

enum Family {
    static let meta = "meta"
    static let blocks = "blocks"
    static let blockHashes = "block_hashes"
    static let transactions = "txs"
    static let receipts = "receipts"
    static let state = "state"
    static let tree = "tree"
    static let stale = "stale"
    static let roots = "roots"
    static let all = [meta, blocks, blockHashes, transactions, receipts, state, tree, stale, roots]
}

enum MetaKey {
    static let schema = Array("schema".utf8)
    static let chain = Array("chain".utf8)
    static let head = Array("head".utf8)
}

/// The stale family's record of a block: each node key as version (ULEB) ‖ depth (ULEB) ‖ the path's
/// ⌈depth/8⌉ bytes (about 6 bytes a node instead of 42: a block makes as many nodes stale as it writes).
func staleRecord(_ keys: [NodeKey]) -> [UInt8] {
    var out = CanonicalWriter(capacity: keys.count * 7)
    for key in keys {
        out.writeULEB(key.version)
        out.writeULEB(UInt64(key.depth))
        withUnsafeBytes(of: key.path) { raw in for b in raw.prefix((Int(key.depth) + 7) / 8) { out.write(b) } }
    }
    return out.bytes
}

/// Decodes a stale record (for a pruner and the tests).
func staleKeys(_ record: [UInt8]) throws(StorageError) -> [NodeKey] {
    var r = CanonicalReader(record)
    var keys: [NodeKey] = []
    do {
        while r.remaining > 0 {
            let version = try r.readULEB()
            let depth = try r.readULEB()
            guard depth <= 256 else { throw StorageError(.corrupt, "a stale record holds a depth of \(depth)") }
            var path = Hash.zero
            for i in 0..<((Int(depth) + 7) / 8) {
                let b = try r.readByte()
                withUnsafeMutableBytes(of: &path) { $0[i] = b }
            }
            keys.append(NodeKey(version: version, depth: Int(depth), path: path))
        }
    } catch let e as StorageError {
        throw e
    } catch {
        throw StorageError(.corrupt, "a stale record does not decode: \(error)")
    }
    return keys
}

func bigEndian(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
func bigEndian(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }

func readBigEndian64(_ bytes: some Collection<UInt8>) -> UInt64? {
    guard bytes.count >= 8 else { return nil }
    var v: UInt64 = 0
    for b in bytes.prefix(8) { v = v << 8 | UInt64(b) }
    return v
}

/// The state root after a block, and the tree node it is stored at.
public struct CommittedRoot: Equatable, Sendable {
    public var root: Hash
    /// nil for an empty state.
    public var rootKey: NodeKey?

    public init(root: Hash, rootKey: NodeKey?) {
        self.root = root
        self.rootKey = rootKey
    }

    var encoded: [UInt8] {
        var w = CanonicalWriter()
        w.write(root)
        if let rootKey {
            w.write(UInt8(1))
            for b in rootKey.encoded { w.write(b) }
        } else {
            w.write(UInt8(0))
        }
        return w.bytes
    }

    init(encoded bytes: [UInt8]) throws(StorageError) {
        guard bytes.count == 33 || bytes.count == 33 + 42 else {
            throw StorageError(.corrupt, "a stored root has \(bytes.count) bytes")
        }
        do {
            root = try Hash(bytes: bytes[0..<32])
            rootKey = bytes[32] == 1 ? try NodeKey(encoded: Array(bytes[33...])) : nil
        } catch {
            throw StorageError(.corrupt, "a stored root does not decode: \(error)")
        }
    }
}

/// The last committed block.
public struct ChainHead: Equatable, Sendable {
    public var height: UInt64
    public var blockHash: Hash
    /// The state after this block.
    public var state: CommittedRoot

    var encoded: [UInt8] { bigEndian(height) + blockHash.bytes + state.encoded }

    init(height: UInt64, blockHash: Hash, state: CommittedRoot) {
        self.height = height
        self.blockHash = blockHash
        self.state = state
    }

    init(encoded bytes: [UInt8]) throws(StorageError) {
        guard bytes.count > 40, let height = readBigEndian64(bytes) else {
            throw StorageError(.corrupt, "the stored head has \(bytes.count) bytes")
        }
        self.height = height
        do { blockHash = try Hash(bytes: bytes[8..<40]) } catch { throw StorageError(.corrupt, "bad head hash") }
        state = try CommittedRoot(encoded: Array(bytes[40...]))
    }
}
