public import SluiceCore
public import SluiceExecution
import SluiceRuntime
public import SluiceState
import Synchronization

// The mempool: transactions a node has accepted and not yet seen included.
//
// Admission is two-phase so that the expensive part never holds the lock. Phase one checks each
// transaction without any lock — size, chain id, expiry, gas limit and price, then the signature — in
// parallel over all cores, and reads its sender's account from the state snapshot it is given. Phase two
// takes the lock once per batch and applies the rules that depend on the mempool's own contents
// (duplicates, replace-by-fee, sender limit, max fees already reserved, capacity) in input order, so a
// batch behaves exactly as if its transactions arrived one by one.
//
// Each sender has a queue sorted by sequence. A transaction ahead of its account's next sequence waits
// (gaps are held back, as Ethereum's "queued" pool); `batch` hands out, per sender, only the gap-free run
// starting at the account's sequence, and merges the senders by gas price the way a block producer
// wants them (Ethereum's price-and-nonce ordering): a sender's s + 1 never precedes s.
//
// Max fees are reserved, not amounts: the sum of gasLimit × gasPrice over a sender's queue never exceeds
// its balance, so every queued transaction can at least pay for itself. Transfer amounts are not
// reserved; a transaction whose amount the sender cannot cover still pays its fee (the Bank's rule), so
// queuing it costs the sender, not the node.
//
// When full, the mempool evicts the cheapest transaction per gas among the senders' highest-sequence
// ones (newest on ties) for a newcomer paying strictly more. Only a sender's tail is ever evicted, so no
// queued transaction loses a predecessor it depends on.
//
// After each block `blockCommitted` re-checks every queue against the new state: included or superseded
// sequences, expiry and max fees (dropping from the highest sequence down).

/// A thread-safe pool of pending transactions. Every method may be called from any thread.
public final class Mempool: @unchecked Sendable {
    /// Limits and policy.
    public struct Configuration: Hashable, Sendable {
        /// The chain id every transaction must carry.
        public var chainId: UInt64
        /// The largest canonical encoding accepted, in bytes.
        public var maxTransactionBytes: Int
        /// The most transactions held at once.
        public var capacity: Int
        /// The most transactions one sender may have queued.
        public var perSenderLimit: Int
        /// A transaction is queued only if its sequence is below the account's sequence plus this.
        public var sequenceWindow: UInt64
        /// The lowest gas price accepted.
        public var minGasPrice: UInt64

        public init(
            chainId: UInt64, maxTransactionBytes: Int = 8 * 1024, capacity: Int = 100_000, perSenderLimit: Int = 100,
            sequenceWindow: UInt64 = 64, minGasPrice: UInt64 = 1
        ) {
            self.chainId = chainId
            self.maxTransactionBytes = maxTransactionBytes
            self.capacity = capacity
            self.perSenderLimit = perSenderLimit
            self.sequenceWindow = sequenceWindow
            self.minGasPrice = minGasPrice
        }
    }

    public let configuration: Configuration
    private let contents = Mutex(MempoolQueues())

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Checks and queues a batch of transactions against `state`, the state after the latest block, at
    /// time `now` (Unix seconds, compared with each transaction's expiry). Returns one result per
    /// transaction, in order. Signatures are verified in parallel before the lock is taken; the rest
    /// runs under the lock in input order, so later transactions of the batch see earlier ones (a
    /// sender's sequences 0, 1, 2 in one batch are all accepted; the same transaction twice is a
    /// duplicate the second time). A rejected transaction changes nothing. A transaction accepted early
    /// in a batch can be evicted by a better-paying one later in it.
    /// - Complexity: O(n) signature verifications over all cores, then O(n (k + log N)) under the lock
    ///   for k transactions per sender and N in the mempool.
    public func admit(_ txs: [Transaction], state: some StateReader<StateValue>, now: UInt64) -> [AdmissionResult] {
        let checked = checkStateless(txs, configuration: configuration, now: now, state: state, parallel: true)
        let configuration = configuration
        return contents.withLock { queues in
            checked.map { queues.admit($0, configuration: configuration) }
        }
    }

    /// Checks and queues one transaction; see `admit(_:state:now:)`.
    public func admit(_ tx: Transaction, state: some StateReader<StateValue>, now: UInt64) -> AdmissionResult {
        admit([tx], state: state, now: now)[0]
    }

    /// Up to `maxCount` transactions ready for the next block, in the order to execute them: per sender
    /// the gap-free run from its account's sequence in `state`, senders merged by gas price (highest
    /// first, then sender address, then sequence; a sender's s + 1 never before s). Removes nothing:
    /// `blockCommitted` does once the block is in.
    /// - Complexity: O(S log k + m log S) for S senders, k transactions per sender and m returned, plus
    ///   one state read per sender, under the lock.
    public func batch(maxCount: Int, state: some StateReader<StateValue>) -> [Transaction] {
        contents.withLock { queues in
            queues.ready(maxCount: maxCount) { state.read(.account($0))?.account }
        }
    }

    /// Re-checks every queued transaction against the state after a block at time `now`: drops those
    /// whose sequence the account has passed (included, or replaced by another with that sequence), the
    /// expired, and those whose max fees the sender can no longer pay (from its highest sequence down).
    /// Returns what was dropped and why, senders in address order.
    /// - Complexity: O(S log S + N) for S senders and N transactions, plus one state read per sender,
    ///   under the lock.
    @discardableResult
    public func blockCommitted(state: some StateReader<StateValue>, now: UInt64) -> [DroppedTransaction] {
        contents.withLock { queues in
            queues.recheck(now: now) { state.read(.account($0))?.account }
        }
    }

    /// Queues `tx` with none of the admission checks: for tests that stand for a transaction that got past
    /// admission some other way (an older node, a bug), to show what the producer does with it.
    func queueUnchecked(_ tx: Transaction) {
        contents.withLock { _ = $0.put(tx, hash: tx.hash) }
    }

    /// Removes these transactions (a block producer found they cannot be committed); returns how many were
    /// queued. Their senders' later sequences stay queued.
    /// - Complexity: O(m k) for m hashes and k transactions per sender, under the lock.
    @discardableResult
    public func remove(_ hashes: some Sequence<Hash>) -> Int {
        contents.withLock { queues in hashes.reduce(0) { $0 + (queues.remove($1) ? 1 : 0) } }
    }

    /// The queued transaction with this hash.
    /// - Complexity: O(log k) for k transactions of its sender.
    public func transaction(_ hash: Hash) -> Transaction? {
        contents.withLock { $0.entry(hash)?.transaction }
    }

    /// Whether the transaction is queued. (Committed transactions are the chain store's business.)
    /// - Complexity: O(1)
    public func status(_ hash: Hash) -> MempoolStatus {
        contents.withLock { $0.contains(hash) } ? .pending : .unknown
    }

    /// The sender's queued transactions, by sequence.
    /// - Complexity: O(k) for its k transactions.
    public func transactions(from sender: Address) -> [Transaction] {
        contents.withLock { $0.queues[sender]?.entries.map(\.transaction) ?? [] }
    }

    /// How many transactions are queued.
    /// - Complexity: O(1)
    public var count: Int { contents.withLock { $0.count } }

    /// How many senders have queued transactions.
    /// - Complexity: O(1)
    public var senders: Int { contents.withLock { $0.senderCount } }
}
