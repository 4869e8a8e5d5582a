import Dispatch
public import SluiceCore
public import SluiceExecution
public import SluiceRuntime

/// Executes a list of transactions as the next block on top of a store and commits it: prepare
/// (hashes, signature checks in parallel), execute (Block-STM or sequential, as the executor decides),
/// update the state root, write everything in one synced batch.
///
/// The node's block pipeline (mempool, proposing, overlapping stages) will build on this; tools, tests
/// and the storage benchmark use it directly.
public struct BlockApplier: Sendable {
    public let store: ChainStore
    public let executor: ParallelExecutor<BankVM>

    public init(store: ChainStore, executor: ParallelExecutor<BankVM>) {
        self.store = store
        self.executor = executor
    }

    public struct Applied: Sendable {
        public var head: ChainHead
        public var block: Block
        public var receipts: [Receipt]
        public var statistics: ExecutionStatistics
        /// Nanoseconds.
        public var executeNanos: UInt64
        public var timings: ChainStore.CommitTimings
    }

    /// Reads every key the block declares into the state cache, on all cores, so that execution (which
    /// may well run sequentially: transfers are cheap) finds them in memory instead of paying a RocksDB
    /// read each.
    func prefetch(_ prepared: [BankTransaction]) {
        var keys: [StateKey] = []
        keys.reserveCapacity(prepared.count * 2)
        for tx in prepared { _ = executor.vm.declaredWrites(of: tx) { keys.append($0) } }
        let store = self.store
        keys.concurrentForEach(threads: executor.threads) { _ = store.read($0) }
    }

    public func apply(_ transactions: [Transaction], timestamp: UInt64, verify: Bool) throws(StorageError) -> Applied {
        guard let parent = store.head else { throw StorageError(.invalid, "commit a genesis block first") }
        let started = DispatchTime.now().uptimeNanoseconds
        let prepared = BankTransaction.prepare(
            transactions, chainId: store.chainId, timestamp: timestamp, verify: verify, threads: executor.threads,
            height: parent.height + 1)
        prefetch(prepared)
        let context = BlockContext(
            height: parent.height + 1, timestamp: timestamp, seed: parent.blockHash, proposer: .treasury)
        let execution = executor.execute(prepared, base: store, context: context)
        let executed = DispatchTime.now().uptimeNanoseconds
        var receipts: [Receipt] = []
        receipts.reserveCapacity(prepared.count)
        for (i, output) in execution.outputs.enumerated() {
            receipts.append(output.receipt(transactionHash: prepared[i].hash))
        }
        let header = BlockHeader(
            chainId: store.chainId, height: parent.height + 1, parentHash: parent.blockHash, timestamp: timestamp,
            proposer: context.proposer, transactionsRoot: Block.transactionsRoot(hashes: prepared.lazy.map(\.hash)),
            parentStateRoot: parent.state.root)
        let block = Block(header: header, transactions: transactions)
        let (head, timings) = try store.commit(block: block, receipts: receipts, writes: execution.writes)
        return Applied(
            head: head, block: block, receipts: receipts, statistics: execution.statistics,
            executeNanos: executed - started, timings: timings)
    }
}
