public import Foundation
import SluiceCore
import SluiceMerkle
import SluiceRuntime
import SluiceState

// State snapshots: every state value at one block, plus that block, in one file. A node can start
// from a snapshot instead of replaying the chain: import recomputes the Merkle root from the values
// and accepts the file only if it equals the root committed for that block (which a syncing node
// would take from consensus-signed headers).
//
// Format (canonical codec): magic "SLUICE-SNAPSHOT-2" ‖ chain id u64 ‖ height u64 ‖ state root ‖
// head block (length-prefixed) ‖ its receipts (count, each length-prefixed) ‖ its block-end receipt
// (length-prefixed) ‖ entry count (ULEB) ‖ entries: key (StateKey) ‖ value (length-prefixed). The receipts
// give the head's receipts root, which the next block's header must carry.

extension ChainStore {
    static let snapshotMagic = Array("SLUICE-SNAPSHOT-2".utf8)

    /// Writes the latest state and the head block to `url`. Returns the number of entries.
    public func exportSnapshot(to url: URL) throws(StorageError) -> Int {
        guard let head, let block = try block(at: head.height) else {
            throw StorageError(.notFound, "\(database.path) has no committed block to export")
        }
        var w = CanonicalWriter(capacity: 1 << 20)
        for b in Self.snapshotMagic { w.write(b) }
        w.write(chainId)
        w.write(head.height)
        w.write(head.state.root)
        w.writeBytes(block.canonicalBytes)
        w.writeULEB(UInt64(block.transactions.count))
        for i in 0..<block.transactions.count {
            guard let receipt = try receipt(height: head.height, index: UInt32(i)) else {
                throw StorageError(.integrity, "receipt \(i) of the head block is missing: run `sluice db check`")
            }
            w.writeBytes(receipt.canonicalBytes)
        }
        guard let blockEnd = try blockEnd(height: head.height) else {
            throw StorageError(.integrity, "the receipts of the head block are missing: run `sluice db check`")
        }
        w.writeBytes(blockEnd.canonicalBytes)
        var entries: [([UInt8], [UInt8])] = []
        do {
            for family in Family.stateFamilies {
                try database.scan(family) { key, value in
                    entries.append((Array(key), Array(value)))
                    return true
                }
            }
        } catch { throw StorageError(.database, "cannot scan the state: \(error)") }
        w.writeULEB(UInt64(entries.count))
        for (k, v) in entries {
            for b in k { w.write(b) }
            w.writeBytes(v)
        }
        do { try Data(w.bytes).write(to: url, options: .atomic) } catch {
            throw StorageError(.database, "cannot write \(url.path): \(error.localizedDescription)")
        }
        return entries.count
    }

    /// Creates a fresh data dir at `path` from a snapshot file, verified against its root.
    public static func importSnapshot(from url: URL, into path: String) throws(StorageError) -> ChainStore {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: url)) } catch {
            throw StorageError(.notFound, "cannot read \(url.path): \(error.localizedDescription)")
        }
        var r = CanonicalReader(bytes, limits: .init(maxBytes: 64 << 20, maxElements: 1 << 30))
        let chainId: UInt64
        let height: UInt64
        let root: Hash
        let block: Block
        var receipts: [Receipt] = []
        let blockEnd: BlockEndReceipt
        var state: [StateKey: StateValue] = [:]
        do {
            for b in snapshotMagic where try r.readByte() != b {
                throw StorageError(.corrupt, "\(url.path) is not a Sluice snapshot of this release (SLUICE-SNAPSHOT-2)")
            }
            chainId = try r.read(UInt64.self)
            height = try r.read(UInt64.self)
            root = try r.readHash()
            block = try Block(canonicalBytes: try r.readBytes())
            let receiptCount = try r.readLength(max: block.transactions.count)
            for _ in 0..<receiptCount { receipts.append(try Receipt(canonicalBytes: try r.readBytes())) }
            blockEnd = try BlockEndReceipt(canonicalBytes: try r.readBytes())
            let count = try r.readLength(max: 1 << 30)
            state.reserveCapacity(count)
            for _ in 0..<count {
                let key = try r.read(StateKey.self)
                let value = try StateValue(canonicalBytes: try r.readBytes())
                guard state.updateValue(value, forKey: key) == nil else {
                    throw StorageError(.corrupt, "\(url.path) lists \(key) twice")
                }
            }
            try r.finish()
        } catch let e as StorageError {
            throw e
        } catch {
            throw StorageError(.corrupt, "\(url.path) is not a valid snapshot: \(error)")
        }
        guard block.header.height == height, block.header.chainId == chainId,
            receipts.count == block.transactions.count
        else {
            throw StorageError(.corrupt, "\(url.path): the snapshot's block does not match its header")
        }
        let store = try ChainStore(path: path, chainId: chainId)
        guard store.head == nil else {
            throw StorageError(.invalid, "\(path) already holds a chain: import into an empty dir")
        }
        try store.writeSnapshotState(state, block: block, receipts: receipts, blockEnd: blockEnd, expectedRoot: root)
        return store
    }

    private func writeSnapshotState(
        _ state: [StateKey: StateValue], block: Block, receipts: [Receipt], blockEnd: BlockEndReceipt,
        expectedRoot: Hash
    ) throws(StorageError) {
        let height = block.header.height
        let entries = Array(state)
        let tree = SparseMerkleTree.build(
            version: height, leaves: StateCommitment.leaves(entries, threads: threads), threads: threads)
        guard tree.root == expectedRoot else {
            throw StorageError(
                .integrity,
                "the snapshot's values hash to \(tree.root.hex), not to its state root \(expectedRoot.hex): refusing it"
            )
        }
        try writeInBulk(entries)
        try writeInBulk(tree)
        let root = CommittedRoot(root: tree.root, rootKey: tree.rootKey)
        let (record, receiptsRoot) = ReceiptsRecord.encode(receipts, blockEnd: blockEnd)
        let head = ChainHead(height: height, blockHash: block.hash, state: root, receiptsRoot: receiptsRoot)
        let batch = WriteBatch(database)
        batch.put(Family.blocks, bigEndian(height), block.canonicalBytes)
        batch.put(Family.blockHashes, block.hash.bytes, bigEndian(height))
        batch.put(Family.roots, bigEndian(height), root.encoded)
        for (i, receipt) in receipts.enumerated() {
            batch.put(Family.transactions, receipt.transactionHash.bytes, bigEndian(height) + bigEndian(UInt32(i)))
        }
        batch.put(Family.receipts, bigEndian(height), record)
        batch.put(Family.meta, MetaKey.head, head.encoded)
        try database.write(batch, sync: true)
        setHead(head)
    }
}
