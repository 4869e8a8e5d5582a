import Dispatch
import Foundation
public import SluiceCore
public import SluiceExecution
import SluiceMerkle
import SluiceRuntime
public import SluiceState
import Synchronization

// The chain's durable state: blocks, transactions, receipts, the latest state values and the versioned
// Merkle tree over them, in one RocksDB data dir.
//
// A block commits in one WriteBatch with a synced WAL: the block, its transaction index and receipts,
// its state changes, the new tree nodes, the stale-node index, its root and the new head. RocksDB
// applies a batch atomically, so after a crash at any moment the data dir holds either the whole block
// or none of it, and reopening recovers to the last committed head. Opening refuses a data dir of a
// newer schema, of another chain, or whose head does not match its own block, root and tree: such a
// dir is reported, never "repaired".

/// A data dir: open it, create its genesis, commit blocks, read state and proofs.
public final class ChainStore: @unchecked Sendable {
    /// The layout version this build reads and writes. 2: a job's assignments and `job.reveal` carry the
    /// run's logs blob. 3: a job records its audit and settlement time; the market's parameters and
    /// burned total are state values. 4: a provider's offer lists the runners it supports. 5: tree pages
    /// leave out the hashes they can recompute, and the stale-node record is compact (TreePages.swift,
    /// StoreSchema.swift). 6: a block's receipts are one record, the stale record counts nodes per page;
    /// provider records carry proofs of GPU, uptime slots and epoch work; the market's rewards, emitted total
    /// and earnings ledger (MarketIncome.swift, MarketProofs.swift). 7: balances live in their own column
    /// family, `accounts`, with a hash-indexed memtable (StoreSchema.swift). 8: block header version 2
    /// (round, parent receipts root, parent certificate); receipts carry typed events and every block has a
    /// receipts record ending with its block-end receipt; the head records its receipts root.
    public static let schemaVersion: UInt32 = 8
    /// The oldest layout this build still reads.
    public static let oldestReadableSchema: UInt32 = 8

    public let database: RocksDatabase
    public let chainId: UInt64
    private let headLock = Mutex<ChainHead?>(nil)
    /// The first state read of the block thread that failed (see `read`).
    private let readFailure = Mutex<StorageError?>(nil)
    /// Threads for Merkle work (root updates, genesis).
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    /// Current tree nodes kept in memory (about 200 bytes each).
    let nodeCache = NodeCache(capacity: 4_000_000)
    /// Latest state values kept in memory.
    let stateCache = StateCache(capacity: 4_000_000) { $0.hashWord }
    var treeReader: TreeReader { TreeReader(database: database, cache: nodeCache) }

    /// The last committed block, nil before genesis.
    public var head: ChainHead? { headLock.withLock { $0 } }

    /// Opens or creates the data dir at `path`.
    /// - Parameter chainId: the chain this node runs. A new dir is created for it; an existing dir of
    ///   another chain is refused. nil opens whatever chain the dir holds (tools such as `db check`).
    public init(path: String, chainId: UInt64?) throws(StorageError) {
        if chainId == nil && !FileManager.default.fileExists(atPath: path + "/CURRENT") {
            // Tools open existing dirs only: a typo must not leave an empty database behind.
            throw StorageError(.notFound, "\(path) is not a Sluice data dir (no database there): check --data")
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StorageError(.database, "cannot create the data dir \(path): \(error.localizedDescription)")
        }
        database = try RocksDatabase(path: path, columnFamilies: Family.all, hashedPrefixes: Family.hashedPrefixes)
        let storedSchema = try database.get(Family.meta, MetaKey.schema)
        let storedChain = try database.get(Family.meta, MetaKey.chain)
        if let storedSchema {
            guard storedSchema.count == 4 else { throw StorageError(.corrupt, "\(path): the schema record is corrupt") }
            let schema = storedSchema.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            guard schema <= Self.schemaVersion else {
                throw StorageError(
                    .newerSchema,
                    "\(path) was written by a newer Sluice (data schema \(schema); this build reads up to "
                        + "\(Self.schemaVersion)): upgrade sluice, or use another --data dir")
            }
            guard schema >= Self.oldestReadableSchema else {
                throw StorageError(
                    .olderSchema,
                    "\(path) was written by an older Sluice (data schema \(schema); this build reads \(Self.oldestReadableSchema) "
                        + "to \(Self.schemaVersion): block headers are version 2 and receipts carry events): remove it to "
                        + "start a new chain, or use another --data dir"
                )
            }
            guard let storedChain, let stored = readBigEndian64(storedChain) else {
                throw StorageError(.corrupt, "\(path): the chain id record is missing")
            }
            if let chainId, chainId != stored {
                throw StorageError(
                    .wrongChain,
                    "\(path) holds chain \(stored), not chain \(chainId): use another --data dir or --chain-id \(stored)"
                )
            }
            self.chainId = stored
        } else {
            guard let chainId else {
                throw StorageError(.notFound, "\(path) holds no chain yet: nothing to open")
            }
            self.chainId = chainId
            let batch = WriteBatch(database)
            batch.put(Family.meta, MetaKey.schema, bigEndian(Self.schemaVersion))
            batch.put(Family.meta, MetaKey.chain, bigEndian(chainId))
            try database.write(batch)
        }
        if let stored = try database.get(Family.meta, MetaKey.head) {
            let head = try ChainHead(encoded: stored)
            try verifyHead(head)
            headLock.withLock { $0 = head }
        }
    }

    /// The cheap integrity check done at every open: the head's block, root and root node agree.
    private func verifyHead(_ head: ChainHead) throws(StorageError) {
        func refuse(_ why: String) -> StorageError {
            StorageError(
                .integrity,
                "\(database.path) failed its integrity check: \(why). Run `sluice db check --data \(database.path)` for "
                    + "details and restore the dir from a backup or a state snapshot; it is not repaired automatically."
            )
        }
        guard let block = try self.block(at: head.height) else {
            throw refuse("the head block \(head.height) is missing")
        }
        guard block.hash == head.blockHash else { throw refuse("the head block \(head.height) has another hash") }
        guard let root = try root(at: head.height), root == head.state else {
            throw refuse("the state root of block \(head.height) does not match the head")
        }
        if let key = root.rootKey {
            let found: MerkleNode?
            do { found = try treeReader.node(key) } catch {
                throw refuse("the root node of the state tree does not decode")
            }
            guard let node = found else {
                throw refuse("the root node of the state tree is missing")
            }
            guard node.hash == root.root else {
                throw refuse("the root node of the state tree does not hash to the root")
            }
        } else if root.root != .zero {
            throw refuse("a non-empty root has no root node")
        }
    }

    func setHead(_ head: ChainHead) { headLock.withLock { $0 = head } }

    /// Closes the data dir now (see `RocksDatabase.close`). Call it when nothing else uses the store.
    public func close() { database.close() }

    // MARK: Reading

    public func block(at height: UInt64) throws(StorageError) -> Block? {
        guard let bytes = try database.get(Family.blocks, bigEndian(height)) else { return nil }
        do { return try Block(canonicalBytes: bytes) } catch {
            throw StorageError(.corrupt, "block \(height) does not decode: \(error.message)")
        }
    }

    public func height(ofBlock hash: Hash) throws(StorageError) -> UInt64? {
        try database.get(Family.blockHashes, hash.bytes).flatMap(readBigEndian64)
    }

    /// Where a transaction was committed: its block height and index.
    public func location(ofTransaction hash: Hash) throws(StorageError) -> (height: UInt64, index: UInt32)? {
        guard let bytes = try database.get(Family.transactions, hash.bytes), bytes.count == 12,
            let height = readBigEndian64(bytes)
        else { return nil }
        let index = bytes[8...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (height, index)
    }

    /// The receipt of transaction `index` of block `height`, read from the block's receipts record in place.
    public func receipt(height: UInt64, index: UInt32) throws(StorageError) -> Receipt? {
        let found = try database.withValue(Family.receipts, bigEndian(height)) { record throws(StorageError) in
            try ReceiptsRecord.receipt(at: Int(index), in: record, height: height)
        }
        return found ?? nil
    }

    /// The state root after block `height`.
    /// The block-end receipt (the events of the block-end step) of block `height`; nil for a block not
    /// stored.
    public func blockEnd(height: UInt64) throws(StorageError) -> BlockEndReceipt? {
        try database.withValue(Family.receipts, bigEndian(height)) { record throws(StorageError) in
            try ReceiptsRecord.blockEnd(in: record, height: height)
        }
    }

    /// Entry `index` of block `height`'s receipts (transaction `index`, or the block-end receipt at
    /// `index` = the block's transaction count) with its path to the block's receipts root. nil when the
    /// block or the entry does not exist.
    public func receiptProof(height: UInt64, index: Int) throws(StorageError) -> ReceiptProof? {
        let found = try database.withValue(Family.receipts, bigEndian(height)) {
            record throws(StorageError) -> ReceiptProof? in
            let (count, range) = try ReceiptsRecord.entry(index, in: record, height: height)
            guard let range else { return nil }
            let leaves = try ReceiptsRecord.leaves(in: record, height: height)
            return ReceiptProof(
                height: height, index: index, count: count, entry: Array(record[range]),
                path: ReceiptsTree.path(leaves, index: index), root: ReceiptsTree.root(leaves))
        }
        return found ?? nil
    }

    public func root(at height: UInt64) throws(StorageError) -> CommittedRoot? {
        try database.get(Family.roots, bigEndian(height)).map { bytes throws(StorageError) in
            try CommittedRoot(encoded: bytes)
        }
    }

    /// The latest value of a state key.
    public func value(_ key: StateKey) throws(StorageError) -> StateValue? {
        guard let bytes = try database.get(Family.state(for: key.space), key.canonicalBytes) else { return nil }
        do { return try StateValue(canonicalBytes: bytes) } catch {
            throw StorageError(.corrupt, "the value of \(key) does not decode: \(error.message)")
        }
    }

    /// A value and its Merkle proof against the state root after block `height` (default: the head).
    public func proof(for key: StateKey, at height: UInt64? = nil) throws(StorageError) -> StateProof {
        guard let height = height ?? head?.height else { throw StorageError(.notFound, "the chain has no block yet") }
        guard let root = try root(at: height) else {
            throw StorageError(.notFound, "no state root for block \(height)")
        }
        let keyHash = StateCommitment.keyHash(key)
        let proof: MerkleProof
        do {
            proof = try SparseMerkleTree.proof(reader: treeReader, rootKey: root.rootKey, keyHash: keyHash)
        } catch {
            throw StorageError(.integrity, "cannot build the proof of \(key) at block \(height): \(error)")
        }
        // The proof ends at the key's own leaf when the key is present: no second walk for its value.
        let valueHash = proof.leaf.flatMap { $0.keyHash == keyHash ? $0.valueHash : nil }
        // The value itself is only available for the latest state; older proofs carry its hash.
        let current = height == head?.height ? try value(key) : nil
        return StateProof(
            key: key, height: height, root: root.root, value: current, valueHash: valueHash, proof: proof)
    }

    // MARK: Writing

    /// Timings of one commit, in nanoseconds.
    public struct CommitTimings: Sendable {
        public var rootUpdate: UInt64 = 0
        public var write: UInt64 = 0
        public var batchBytes = 0
        public var batchRecords = 0
        public var treeNodes = 0
    }

    /// Writes the genesis state as block 0, in bulk: values in large unsynced batches, the tree built in
    /// one parallel pass, then the block, root and head in a final synced batch. A crash before the last
    /// batch leaves no head, and the next open starts genesis again.
    public func commitGenesis(
        state: [StateKey: StateValue], timestamp: UInt64, progress: (String) -> Void = { _ in }
    ) throws(StorageError) -> ChainHead {
        guard head == nil else { throw StorageError(.invalid, "\(database.path) already has a genesis block") }
        let entries = Array(state)
        progress("writing \(entries.count) state values…")
        try writeInBulk(entries)
        progress("building the state tree…")
        let leaves = StateCommitment.leaves(entries, threads: threads)
        let tree = SparseMerkleTree.build(version: 0, leaves: leaves, threads: threads)
        progress("writing \(tree.newNodes.count) tree nodes…")
        try writeInBulk(tree)
        let header = BlockHeader(
            chainId: chainId, height: 0, parentHash: .zero, timestamp: timestamp, proposer: .treasury,
            transactionsRoot: Block.transactionsRoot([]), parentStateRoot: .zero, parentReceiptsRoot: .zero)
        let block = Block(header: header, transactions: [])
        let root = CommittedRoot(root: tree.root, rootKey: tree.rootKey)
        let receipts = ReceiptsRecord.encode([], blockEnd: BlockEndReceipt())
        let head = ChainHead(height: 0, blockHash: block.hash, state: root, receiptsRoot: receipts.root)
        let batch = WriteBatch(database)
        batch.put(Family.blocks, bigEndian(UInt64(0)), block.canonicalBytes)
        batch.put(Family.receipts, bigEndian(UInt64(0)), receipts.record)
        batch.put(Family.blockHashes, block.hash.bytes, bigEndian(UInt64(0)))
        batch.put(Family.roots, bigEndian(UInt64(0)), root.encoded)
        batch.put(Family.meta, MetaKey.head, head.encoded)
        try database.write(batch, sync: true)
        headLock.withLock { $0 = head }
        // Push the bulk load out of the memtables now, so the first blocks do not stall behind its flush.
        progress("flushing…")
        try database.flush()
        return head
    }

    /// Writes state values in large unsynced batches (genesis, snapshot import: a crash before the
    /// final synced batch that sets the head leaves a dir with no head, which starts over).
    func writeInBulk(_ entries: [(key: StateKey, value: StateValue)]) throws(StorageError) {
        let chunk = 100_000
        var start = 0
        while start < entries.count {
            let batch = WriteBatch(database)
            for (k, v) in entries[start..<min(start + chunk, entries.count)] {
                batch.put(Family.state(for: k.space), k.canonicalBytes, v.canonicalBytes)
            }
            try database.write(batch, sync: false)
            start += chunk
        }
    }

    /// Writes a whole tree's nodes as pages in one unsynced batch, and caches them.
    func writeInBulk(_ tree: MerkleUpdate) throws(StorageError) {
        for (key, node) in tree.newNodes { nodeCache.setCurrent(key, node) }
        let pages = WriteBatch(database)
        for (key, page) in TreePages.pages(tree.newNodes, threads: threads) { pages.put(Family.tree, key, page) }
        try database.write(pages, sync: false)
    }

    /// Commits a block that extends the head: its transactions, receipts, block-end events and state writes,
    /// in one synced batch, after computing the new state root and receipts root. Returns the new head.
    ///
    /// The block must extend the head and claim the head's results (its state root and receipts root):
    /// anything else is refused with `.invalid` and nothing is written.
    ///
    /// A block that does not read back from its own encoding (a field over its `WireLimits` bound) is refused
    /// with `.undecodable` and nothing is written: once committed, its routes, the event replay across it
    /// and `db check` would fail forever. The check decodes the bytes that are written, on the thread that
    /// records them while the root is computed.
    public func commit(
        block: Block, receipts: [Receipt], blockEnd: BlockEndReceipt = BlockEndReceipt(),
        writes: [StateWrite<StateValue>]
    ) throws(StorageError) -> (head: ChainHead, timings: CommitTimings) {
        guard let parent = head else { throw StorageError(.invalid, "commit a genesis block first") }
        let height = parent.height + 1
        guard block.header.height == height else {
            throw StorageError(.invalid, "block \(block.header.height) does not extend the head \(parent.height)")
        }
        guard block.header.parentHash == parent.blockHash else {
            throw StorageError(.invalid, "block \(height)'s parent hash is not the head's hash")
        }
        guard block.header.parentStateRoot == parent.state.root else {
            throw StorageError(.invalid, "block \(height) carries another parent state root than the head's")
        }
        guard block.header.parentReceiptsRoot == parent.receiptsRoot else {
            throw StorageError(.invalid, "block \(height) carries another parent receipts root than the head's")
        }
        guard block.header.chainId == chainId else {
            throw StorageError(.invalid, "block \(height) is for chain \(block.header.chainId), not \(chainId)")
        }
        guard receipts.count == block.transactions.count else {
            throw StorageError(
                .invalid, "block \(height) has \(block.transactions.count) transactions but \(receipts.count) receipts")
        }
        var timings = CommitTimings()
        let started = DispatchTime.now().uptimeNanoseconds
        // The records that do not depend on the tree (block, receipts, transaction index, state values) go
        // into the batch on another thread while the root is computed; the batch is touched by one thread at
        // a time (that one, then this one after `recording.wait()`).
        nonisolated(unsafe) let batch = WriteBatch(database)
        let recording = DispatchGroup()
        let blockHash = block.hash
        let recorded = Mutex<(failure: CoreError?, receiptsRoot: Hash)>((nil, .zero))
        DispatchQueue.global().async(group: recording) {
            let result = Self.putRecords(
                of: block, hash: blockHash, height: height, receipts: receipts, blockEnd: blockEnd, writes: writes,
                into: batch)
            recorded.withLock { $0 = result }
        }
        let changes = Self.changes(writes, threads: threads)
        let update: MerkleUpdate
        do {
            update = try SparseMerkleTree.update(
                reader: treeReader, rootKey: parent.state.rootKey, version: height,
                changes: changes, threads: threads)
        } catch {
            recording.wait()
            throw StorageError(.integrity, "cannot update the state tree for block \(height): \(error)")
        }
        let rooted = DispatchTime.now().uptimeNanoseconds
        timings.rootUpdate = rooted - started

        recording.wait()
        let (unreadable, receiptsRoot) = recorded.withLock { $0 }
        if let failure = unreadable {
            throw StorageError(
                .undecodable,
                "block \(height) does not read back from its encoding (\(failure.message)); nothing was committed: "
                    + "leave out the transactions that do not (Transaction.checkRoundTrip)")
        }
        let h = bigEndian(height)
        for (key, page) in TreePages.pages(update.newNodes, threads: threads) { batch.put(Family.tree, key, page) }
        if !update.staleNodes.isEmpty {
            // One record per block, not one per node: a pruner reads it whole anyway.
            batch.put(Family.stale, h, staleRecord(update.staleNodes))
        }

        let root = CommittedRoot(root: update.root, rootKey: update.rootKey)
        batch.put(Family.roots, h, root.encoded)
        let newHead = ChainHead(height: height, blockHash: blockHash, state: root, receiptsRoot: receiptsRoot)
        batch.put(Family.meta, MetaKey.head, newHead.encoded)
        timings.batchBytes = batch.byteSize
        timings.batchRecords = batch.count
        timings.treeNodes = update.newNodes.count
        // The new nodes enter the cache while the batch is written and synced (mostly waiting on the
        // disk), each replacing the node its position held. Nodes are immutable under their versioned
        // keys, so the cache stays true whatever the order; but if the write fails, nodes of a version
        // that never committed are in the cache, and a retry would reuse their keys for other content:
        // the cache is then emptied. (Stale nodes whose position the new tree leaves empty stay until
        // their shard is next emptied; no lookup matches them.)
        let caching = DispatchGroup()
        let nodes = update.newNodes
        let cache = nodeCache
        DispatchQueue.global().async(group: caching) {
            let n = nodes.count
            let chunks = Swift.max(1, Swift.min(16, n / 4096))
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                for i in (n * c / chunks)..<(n * (c + 1) / chunks) {
                    cache.setCurrent(nodes[i].key, nodes[i].node)
                }
            }
        }
        do {
            try database.write(batch, sync: true)
        } catch {
            caching.wait()
            nodeCache.removeAll()
            throw error
        }
        headLock.withLock { $0 = newHead }
        database.releaseLogPages()
        caching.wait()
        let stateCache = self.stateCache
        writes.concurrentForEach(threads: threads) { stateCache.set($0.key, $0.value) }
        timings.write = DispatchTime.now().uptimeNanoseconds - rooted
        return (newHead, timings)
    }

    /// Puts a block's records that do not depend on the tree into `batch`: the block and its hash index,
    /// its receipts (one record), the transaction index and the state values.
    ///
    /// Records go into the batch in key order, family by family: RocksDB inserts a batch into each family's
    /// memtable (a skip list) in batch order and starts each search from where the previous key went, so
    /// sorted keys skip most of the search and its cache misses. In hash order, 40,000 inserts into a
    /// memtable of a few hundred thousand entries took 2 µs each, most of a commit's CPU. Keys and values are
    /// slices of one buffer per family, not an array per record.
    ///
    /// Returns why the block does not read back from the bytes put, if it does not (then the batch must not
    /// be written), and the receipts root.
    static func putRecords(
        of block: Block, hash: Hash, height: UInt64, receipts: [Receipt], blockEnd: BlockEndReceipt,
        writes: [StateWrite<StateValue>], into batch: WriteBatch
    ) -> (failure: CoreError?, receiptsRoot: Hash) {
        let h = bigEndian(height)
        let blockBytes = block.canonicalBytes
        do throws(CoreError) { try block.checkRoundTrip(encoded: blockBytes) } catch { return (error, .zero) }
        batch.put(Family.blocks, h, blockBytes)
        batch.put(Family.blockHashes, hash.bytes, h)
        let (record, receiptsRoot) = ReceiptsRecord.encode(receipts, blockEnd: blockEnd)
        batch.put(Family.receipts, h, record)

        // Transaction index: hash (32 bytes) → height (u64 BE) ‖ index (u32 BE).
        let order = receipts.indices.sorted { receipts[$0].transactionHash < receipts[$1].transactionHash }
        withUnsafeTemporaryAllocation(byteCount: 44, alignment: 8) { record in
            record.storeBytes(of: height.bigEndian, toByteOffset: 32, as: UInt64.self)
            for i in order {
                record.storeBytes(of: receipts[i].transactionHash, toByteOffset: 0, as: Hash.self)
                record.storeBytes(of: UInt32(i).bigEndian, toByteOffset: 40, as: UInt32.self)
                let raw = UnsafeRawBufferPointer(record)
                batch.put(
                    Family.transactions, key: UnsafeRawBufferPointer(rebasing: raw[0..<32]),
                    value: UnsafeRawBufferPointer(rebasing: raw[32..<44]))
            }
        }

        // State values: every key and value encoded into one buffer, then put as slices of it.
        let sorted = writes.indices.sorted { writes[$0].key < writes[$1].key }
        var buffer = CanonicalWriter(capacity: writes.count * 96)
        var ends: [(key: Int, value: Int)] = []
        ends.reserveCapacity(writes.count)
        for i in sorted {
            writes[i].key.encode(to: &buffer)
            let keyEnd = buffer.bytes.count
            writes[i].value?.encode(to: &buffer)
            ends.append((keyEnd, buffer.bytes.count))
        }
        buffer.bytes.withUnsafeBytes { raw in
            var start = 0
            for (n, end) in ends.enumerated() {
                let key = UnsafeRawBufferPointer(rebasing: raw[start..<end.key])
                let family = Family.state(for: writes[sorted[n]].key.space)
                if writes[sorted[n]].value != nil {
                    batch.put(family, key: key, value: UnsafeRawBufferPointer(rebasing: raw[end.key..<end.value]))
                } else {
                    batch.delete(family, Array(key))
                }
                start = end.value
            }
        }
        return (nil, receiptsRoot)
    }

    /// The tree changes of a block's writes, hashed in parallel.
    static func changes(_ writes: [StateWrite<StateValue>], threads: Int) -> [(keyHash: Hash, valueHash: Hash?)] {
        writes.concurrentMap(threads: threads) {
            (StateCommitment.keyHash($0.key), $0.value.map(StateCommitment.valueHash))
        }
    }
}

/// The base state of the next block: the latest committed values. Thread-safe (RocksDB reads).
extension ChainStore: StateReader {
    /// A value that cannot be read (a corrupt record, a failing disk) has no valid answer: the read returns
    /// nil, is not cached, and the failure is kept for `takeReadFailure`, which the block pipeline checks
    /// after execution so that nothing computed from it is committed.
    public func read(_ key: StateKey) -> StateValue? {
        if let cached = stateCache.get(key) { return cached }
        let value: StateValue?
        do { value = try self.value(key) } catch {
            readFailure.withLock { if $0 == nil { $0 = error } }
            return nil
        }
        stateCache.set(key, value)
        return value
    }
}

extension ChainStore {
    /// Reads the latest committed value from any thread while blocks are being committed (the API, the
    /// mempool): the cache, then the data dir, without filling the cache. (Only the block loop fills
    /// it: a reader that filled it with a value read just before a commit could leave that stale value
    /// cached after the commit's own update.)
    ///
    /// A value that cannot be read throws: the API answers 500 and logs it.
    public func peek(_ key: StateKey) throws(StorageError) -> StateValue? {
        if let cached = stateCache.get(key) { return cached }
        return try value(key)
    }

    /// The first read failure the block thread met since the last call (see `read`), cleared.
    public func takeReadFailure() -> StorageError? {
        readFailure.withLock { f in
            defer { f = nil }; return f
        }
    }

    /// The latest committed state as a reader for other threads than the block loop (see `peek`).
    public var latest: LatestState { LatestState(store: self) }
}

/// The latest committed state, read without filling the cache (see `ChainStore.peek`).
///
/// For admission: a value that cannot be read reads as absent (the transaction is refused, nothing
/// changes); the block that would execute it finds the failure and commits nothing.
public struct LatestState: StateReader, Sendable {
    public let store: ChainStore
    public func read(_ key: StateKey) -> StateValue? { (try? store.peek(key)) ?? nil }
}

/// Reads tree nodes: the cache of current nodes, then the data dir.
struct TreeReader: MerkleNodeReader {
    let database: RocksDatabase
    let cache: NodeCache
    func node(_ key: NodeKey) throws -> MerkleNode? {
        if let node = cache.node(key) { return node }
        guard let bytes = try database.get(Family.tree, TreePages.pageKey(key)) else { return nil }
        var found: MerkleNode? = nil
        for (k, node) in try TreePages.decode(bytes, version: key.version) {
            cache.setRead(k, node)
            if k == key { found = node }
        }
        return found
    }
}
