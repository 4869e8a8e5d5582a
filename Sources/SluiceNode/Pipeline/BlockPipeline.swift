import Dispatch
public import SluiceCore
public import SluiceExecution
public import SluiceRuntime
import SluiceState
public import SluiceStorage

// The block pipeline, in two steps that a validator runs on different blocks:
//
// - propose: transactions → a candidate block on top of the head. The header claims the head's results
//   (its state root and receipts root: ordering and execution are decoupled, a block carries its parent's
//   results), commits to the transactions, and names its proposer, round and the parent's certificate.
// - execute and validate: any block, proposed here or received → its claims checked against the head
//   (chain, height, parent hash, parent state root, parent receipts root, transactions root), then
//   executed (Block-STM or sequential, as the executor decides) and committed in one synced batch. A
//   block whose claims are wrong is refused before anything runs, and nothing is written. The header's
//   time is not checked yet (against the parent's, and a bound ahead of the local clock): with one
//   validator only this node proposes; BFT validation (issue #15) adds it.
//
// Which block comes next is decided by a `BlockOrdering` (BlockOrdering.swift): the single validator's
// own proposals today, BFT consensus next.

/// Proposes blocks and executes, validates and commits them on a chain store.
public struct BlockPipeline: Sendable {
    public let store: ChainStore
    public let executor: ParallelExecutor<RuntimeVM>

    public init(store: ChainStore, executor: ParallelExecutor<RuntimeVM>) {
        self.store = store
        self.executor = executor
    }

    /// A committed block and what it took.
    public struct Applied: Sendable {
        public var head: ChainHead
        public var block: Block
        public var receipts: [Receipt]
        /// The block-end step's events.
        public var blockEnd: BlockEndReceipt
        public var statistics: ExecutionStatistics
        /// Nanoseconds: signature checks, prefetch and execution.
        public var executeNanos: UInt64
        public var timings: ChainStore.CommitTimings
    }

    /// Who proposes and under what certificate (a single validator: the treasury, round 0, none).
    public struct Proposal: Sendable {
        public var proposer: Address
        public var round: UInt64
        public var parentCertificate: Hash
        public init(proposer: Address = .treasury, round: UInt64 = 0, parentCertificate: Hash = .zero) {
            self.proposer = proposer
            self.round = round
            self.parentCertificate = parentCertificate
        }
    }

    /// A candidate block of `transactions` on top of the head, at `timestamp` (Unix seconds).
    public func propose(
        _ transactions: [Transaction], timestamp: UInt64, as proposal: Proposal = Proposal()
    ) throws(StorageError) -> Block {
        guard let parent = store.head else { throw StorageError(.invalid, "commit a genesis block first") }
        let header = BlockHeader(
            chainId: store.chainId, height: parent.height + 1, round: proposal.round, parentHash: parent.blockHash,
            timestamp: timestamp, proposer: proposal.proposer,
            transactionsRoot: Block.transactionsRoot(
                hashes: transactions.concurrentMap(threads: executor.threads) { $0.hash }),
            parentStateRoot: parent.state.root, parentReceiptsRoot: parent.receiptsRoot,
            parentCertificate: proposal.parentCertificate)
        return Block(header: header, transactions: transactions)
    }

    /// Why a block's header cannot extend the head, or nil when its claims hold. Cheap: no execution.
    /// `hashes` are the transactions' hashes when already computed.
    public func invalidity(of block: Block, hashes: [Hash]? = nil) -> String? {
        guard let parent = store.head else { return "the store has no genesis block" }
        let h = block.header
        if h.chainId != store.chainId { return "block for chain \(h.chainId), not \(store.chainId)" }
        if h.height != parent.height + 1 { return "block \(h.height) does not extend the head \(parent.height)" }
        if h.parentHash != parent.blockHash { return "block \(h.height)'s parent hash is not the head's hash" }
        if h.parentStateRoot != parent.state.root {
            return
                "block \(h.height) claims parent state root \(h.parentStateRoot.hex), the head's is \(parent.state.root.hex)"
        }
        if h.parentReceiptsRoot != parent.receiptsRoot {
            return "block \(h.height) claims parent receipts root \(h.parentReceiptsRoot.hex), the head's is "
                + parent.receiptsRoot.hex
        }
        if block.transactions.count > WireLimits.blockTransactions {
            return
                "block \(h.height) holds \(block.transactions.count) transactions, over \(WireLimits.blockTransactions)"
        }
        let root = Block.transactionsRoot(hashes: hashes ?? block.transactions.map(\.hash))
        if h.transactionsRoot != root { return "block \(h.height)'s transactions root is not its transactions'" }
        return nil
    }

    /// Checks `block`'s claims against the head, executes it and commits it. Refuses (`.invalid`, nothing
    /// written, nothing executed) a block whose claims are wrong. `verify` checks the transactions'
    /// signatures (a block from elsewhere); a block of transactions the mempool admitted needs none.
    public func executeAndCommit(_ block: Block, verify: Bool) throws(StorageError) -> Applied {
        guard let parent = store.head else { throw StorageError(.invalid, "commit a genesis block first") }
        let started = DispatchTime.now().uptimeNanoseconds
        let header = block.header
        let prepared = RuntimeTransaction.prepare(
            block.transactions, chainId: store.chainId, timestamp: header.timestamp, verify: verify,
            threads: executor.threads, height: header.height)
        if let why = invalidity(of: block, hashes: prepared.map(\.hash)) {
            throw StorageError(.invalid, "refused: \(why); nothing was executed or committed")
        }
        _ = store.takeReadFailure()
        prefetch(prepared)
        let context = BlockContext(
            height: header.height, timestamp: header.timestamp, seed: parent.blockHash, proposer: header.proposer)
        let execution = executor.execute(prepared, base: store, context: context)
        let executed = DispatchTime.now().uptimeNanoseconds
        if let failure = store.takeReadFailure() {
            throw StorageError(
                .corrupt,
                "block \(header.height) read a state value that cannot be read (\(failure.message)); nothing was "
                    + "committed: run `sluice db check --data \(store.database.path)`")
        }
        var receipts: [Receipt] = []
        receipts.reserveCapacity(prepared.count)
        for (i, output) in execution.outputs.enumerated() { receipts.append(output.receipt(for: prepared[i])) }
        let blockEnd = BlockEndReceipt(events: execution.events)
        let (head, timings) = try store.commit(
            block: block, receipts: receipts, blockEnd: blockEnd, writes: execution.writes)
        return Applied(
            head: head, block: block, receipts: receipts, blockEnd: blockEnd, statistics: execution.statistics,
            executeNanos: executed - started, timings: timings)
    }

    /// Proposes a block of `transactions` and commits it: tools, tests and the storage benchmark.
    public func apply(_ transactions: [Transaction], timestamp: UInt64, verify: Bool) throws(StorageError) -> Applied {
        try executeAndCommit(try propose(transactions, timestamp: timestamp), verify: verify)
    }

    /// Reads every key the block declares into the state cache, on all cores, so that execution (which
    /// may well run sequentially: transfers are cheap) finds them in memory instead of paying a RocksDB
    /// read each.
    func prefetch(_ prepared: [RuntimeTransaction]) {
        var keys: [StateKey] = []
        keys.reserveCapacity(prepared.count * 2)
        for tx in prepared { _ = executor.vm.declaredWrites(of: tx) { keys.append($0) } }
        let store = self.store
        keys.concurrentForEach(threads: executor.threads) { _ = store.read($0) }
    }
}
