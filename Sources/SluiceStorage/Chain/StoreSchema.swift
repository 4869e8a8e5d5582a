public import SluiceCore
public import SluiceMerkle

// The layout of a data dir: RocksDB column families and the encoding of their keys.
//
//   meta          "schema" → UInt32, "chain" → UInt64, "head" → Head
//   blocks        height (u64 BE) → Block (canonical)
//   block_hashes  block hash → height (u64 BE)
//   txs           transaction hash → height (u64 BE) ‖ index (u32 BE)
//   receipts      height (u64 BE) → the block's receipts and its block-end receipt in one record
//                 (`ReceiptsRecord`), every block
//   accounts      StateKey (canonical) → StateValue (canonical): the latest balances (`bank/account/…`)
//   state         StateKey (canonical) → StateValue (canonical): the other latest values (the market's)
//   tree          version (u64 BE) ‖ page → the nodes of that version in that page (TreePages.swift)
//   stale         version (u64 BE) → for each older page that lost nodes at that version, how many
//                 (`staleRecord`); a page can go once its counts add up to its node count
//   roots         height (u64 BE) → root hash ‖ root NodeKey? : the state root after each block
//
// Heights are big-endian so that RocksDB's byte order is height order. The tree's version is the
// block height: genesis is version 0.
//
// `accounts` and `txs` are only read by exact key (and scanned whole by `db check` and snapshot export),
// and their keys start with a hash (the space, then an address hash; a transaction hash). Their memtables
// are hash-indexed on that prefix (`RocksDatabase`'s `hashedPrefixes`): a block's 20,000 balance writes and
// 10,000 transaction-index entries went into skip lists of a few hundred thousand entries at ~2 µs each,
// most of a commit. The market's records stay in `state`, a skip list, because the API lists jobs in
// order. Balances are the lowest space (1), so `accounts` then `state` is the whole state in key order.

enum Family {
    static let meta = "meta"
    static let blocks = "blocks"
    static let blockHashes = "block_hashes"
    static let transactions = "txs"
    static let receipts = "receipts"
    static let accounts = "accounts"
    static let state = "state"
    static let tree = "tree"
    static let stale = "stale"
    static let roots = "roots"
    static let all = [meta, blocks, blockHashes, transactions, receipts, accounts, state, tree, stale, roots]
    /// The hash-indexed families and the length of their keys' hashed prefix: the space and 8 bytes of the
    /// address hash; 8 bytes of the transaction hash.
    static let hashedPrefixes = [accounts: 12, transactions: 8]
    /// The families of the latest state values, in key order.
    static let stateFamilies = [accounts, state]

    /// The family holding the latest values of a key space.
    @inline(__always)
    static func state(for space: StateKey.Space) -> String { space == .bankAccount ? accounts : state }
}

enum MetaKey {
    static let schema = Array("schema".utf8)
    static let chain = Array("chain".utf8)
    static let head = Array("head".utf8)
}

/// One entry of a stale record: `count` nodes of the page (`version`, `page`: 0 for the top page, 1 + the
/// path's first byte for a depth-8 page, as `TreePages.pageIndex`) stopped being current.
struct StalePageCount: Equatable {
    var version: UInt64
    var page: Int
    var count: UInt64
}

/// The stale family's record of a block: for each page of an older version that lost nodes, its version
/// (ULEB) ‖ 0x00 (top page) or 0x01 ‖ path byte ‖ how many nodes (ULEB), in (version, page) order.
///
/// That is all a pruner needs: a page holds exactly the nodes written at its version under its prefix, so
/// it can go once the counts recorded against it add up to its node count (a node stops being current once).
/// A few bytes per touched page instead of ~6 per stale node: a block makes ~160,000 nodes stale at 1M
/// leaves, spread over a few hundred pages per older version.
func staleRecord(_ keys: [NodeKey]) -> [UInt8] {
    // 257 counters per version, found through a dictionary only when the version changes.
    var bases: [UInt64: Int] = [:]
    var counts: [UInt32] = []
    var last: (version: UInt64, base: Int)? = nil
    for key in keys {
        if last?.version != key.version {
            let base = bases[key.version] ?? counts.count
            if base == counts.count {
                bases[key.version] = base
                counts.append(contentsOf: repeatElement(0, count: TreePages.pageCount))
            }
            last = (key.version, base)
        }
        counts[last!.base + TreePages.pageIndex(key)] += 1
    }
    var out = CanonicalWriter(capacity: 16 * bases.count)
    for (version, base) in bases.sorted(by: { $0.key < $1.key }) {
        for page in 0..<TreePages.pageCount where counts[base + page] > 0 {
            out.writeULEB(version)
            if page == 0 {
                out.write(UInt8(0))
            } else {
                out.write(UInt8(1))
                out.write(UInt8(page - 1))
            }
            out.writeULEB(UInt64(counts[base + page]))
        }
    }
    return out.bytes
}

/// Decodes a stale record (for a pruner and the tests).
func stalePageCounts(_ record: [UInt8]) throws(StorageError) -> [StalePageCount] {
    var r = CanonicalReader(record)
    var entries: [StalePageCount] = []
    do {
        while r.remaining > 0 {
            let version = try r.readULEB()
            let page: Int
            switch try r.readByte() {
            case 0: page = 0
            case 1: page = 1 + Int(try r.readByte())
            case let tag: throw StorageError(.corrupt, "a stale record names a page of unknown kind \(tag)")
            }
            let count = try r.readULEB()
            guard count > 0 else { throw StorageError(.corrupt, "a stale record holds a count of zero") }
            entries.append(StalePageCount(version: version, page: page, count: count))
        }
    } catch let e as StorageError {
        throw e
    } catch {
        throw StorageError(.corrupt, "a stale record does not decode: \(error)")
    }
    return entries
}

/// A block's receipts as one record: count (u32 BE) ‖ the end offset of each entry in the body (u32 BE
/// each) ‖ the body, the entries' canonical encodings one after another. The entries are the transactions'
/// receipts in block order and, last, the block-end receipt (its events): the leaves of the receipts tree,
/// whose root the next header carries.
///
/// One record per block instead of one per transaction (10,000 fewer memtable inserts per full block); a
/// single receipt is still read without decoding the others, from the record in place.
enum ReceiptsRecord {
    /// The record and the receipts root over its entries.
    static func encode(_ receipts: [Receipt], blockEnd: BlockEndReceipt) -> (record: [UInt8], root: Hash) {
        var body = CanonicalWriter(capacity: receipts.count * 160 + 64)
        var header = [UInt8]()
        header.reserveCapacity(4 + 4 * (receipts.count + 1))
        var leaves: [Hash] = []
        leaves.reserveCapacity(receipts.count + 1)
        withUnsafeBytes(of: UInt32(receipts.count + 1).bigEndian) { header.append(contentsOf: $0) }
        func ended(at start: Int) {
            leaves.append(ReceiptsTree.leaf(body.bytes[start...]))
            withUnsafeBytes(of: UInt32(body.bytes.count).bigEndian) { header.append(contentsOf: $0) }
        }
        for receipt in receipts {
            let start = body.bytes.count
            receipt.encode(to: &body)
            ended(at: start)
        }
        let start = body.bytes.count
        blockEnd.encode(to: &body)
        ended(at: start)
        return (header + body.bytes, ReceiptsTree.root(leaves))
    }

    /// The number of entries (transactions + 1) and the byte range of entry `index` in the record.
    static func entry(_ index: Int, in record: UnsafeRawBufferPointer, height: UInt64) throws(StorageError)
        -> (count: Int, range: Range<Int>?)
    {
        func word(_ offset: Int) -> Int {
            Int(UInt32(bigEndian: record.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        }
        guard record.count >= 4 else {
            throw StorageError(.corrupt, "the receipts record of block \(height) has \(record.count) bytes")
        }
        let count = word(0)
        guard count >= 1, count <= WireLimits.blockTransactions + 1 else {
            throw StorageError(.corrupt, "the receipts record of block \(height) counts \(count) entries")
        }
        let bodyStart = 4 + 4 * count
        guard record.count >= bodyStart else {
            throw StorageError(.corrupt, "the receipts record of block \(height) is truncated")
        }
        guard index >= 0, index < count else { return (count, nil) }
        let start = index == 0 ? 0 : word(4 + 4 * (index - 1))
        let end = word(4 + 4 * index)
        guard start <= end, bodyStart + end <= record.count else {
            throw StorageError(
                .corrupt, "the receipts record of block \(height) has offsets out of order or past its end")
        }
        return (count, (bodyStart + start)..<(bodyStart + end))
    }

    /// The receipt of transaction `index` of a stored record, nil past the transactions.
    static func receipt(at index: Int, in record: UnsafeRawBufferPointer, height: UInt64 = 0) throws(StorageError)
        -> Receipt?
    {
        let (count, range) = try entry(index, in: record, height: height)
        guard index < count - 1, let range else { return nil }
        do { return try Receipt(canonicalBytes: Array(record[range])) } catch {
            throw StorageError(.corrupt, "receipt \(height)/\(index) does not decode: \(error.message)")
        }
    }

    /// The block-end receipt of a stored record.
    static func blockEnd(in record: UnsafeRawBufferPointer, height: UInt64) throws(StorageError) -> BlockEndReceipt {
        let (count, _) = try entry(0, in: record, height: height)
        guard let range = try entry(count - 1, in: record, height: height).range else {
            throw StorageError(.corrupt, "the receipts record of block \(height) has no block-end entry")
        }
        do { return try BlockEndReceipt(canonicalBytes: Array(record[range])) } catch {
            throw StorageError(.corrupt, "the block-end receipt of block \(height) does not decode: \(error.message)")
        }
    }

    /// The leaf hashes of every entry of a stored record, in order.
    static func leaves(in record: UnsafeRawBufferPointer, height: UInt64) throws(StorageError) -> [Hash] {
        let (count, _) = try entry(0, in: record, height: height)
        var leaves: [Hash] = []
        leaves.reserveCapacity(count)
        for i in 0..<count {
            guard let range = try entry(i, in: record, height: height).range else { break }
            leaves.append(ReceiptsTree.leaf(UnsafeRawBufferPointer(rebasing: record[range])))
        }
        return leaves
    }
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
    /// The root of this block's receipts (`ReceiptsTree`), which the next header carries.
    public var receiptsRoot: Hash

    var encoded: [UInt8] { bigEndian(height) + blockHash.bytes + receiptsRoot.bytes + state.encoded }

    init(height: UInt64, blockHash: Hash, state: CommittedRoot, receiptsRoot: Hash) {
        self.height = height
        self.blockHash = blockHash
        self.state = state
        self.receiptsRoot = receiptsRoot
    }

    init(encoded bytes: [UInt8]) throws(StorageError) {
        guard bytes.count > 72, let height = readBigEndian64(bytes) else {
            throw StorageError(.corrupt, "the stored head has \(bytes.count) bytes")
        }
        self.height = height
        do {
            blockHash = try Hash(bytes: bytes[8..<40])
            receiptsRoot = try Hash(bytes: bytes[40..<72])
        } catch { throw StorageError(.corrupt, "bad head hash") }
        state = try CommittedRoot(encoded: Array(bytes[72...]))
    }
}

/// One entry of a block's receipts with its path to the block's receipts root, which the next block's
/// header carries as `parentReceiptsRoot`.
public struct ReceiptProof: Sendable, Equatable {
    public var height: UInt64
    public var index: Int
    /// Entries in the block's tree: its transactions and the block-end receipt.
    public var count: Int
    /// The entry's canonical bytes (a `Receipt`, or the `BlockEndReceipt` when `index == count - 1`).
    public var entry: [UInt8]
    public var path: [Hash]
    /// The root the stored record gives (a client recomputes it and compares with a header).
    public var root: Hash
}
