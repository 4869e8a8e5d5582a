import Foundation
public import SluiceCore
import SluiceExecution
import SluiceRuntime
public import SluiceStorage

// The single-validator block loop: take the mempool's ready transactions (best price first, each
// sender's sequences gap-free), execute and commit them as the next block through the chain store, then
// let the mempool drop what the block included or made invalid.
//
// Signatures were verified when the mempool admitted the transactions, so the block is applied without
// verifying them again; chain id and expiry are checked again at execution. Empty blocks are allowed
// and cost one small synced batch. The node's pipeline (overlapping admission, execution and commit)
// and BFT ordering will replace this loop behind the same inputs and outputs.
//
// The chain store commits a block only if it reads back from its encoding (`ChainStore.commit`). The
// mempool admits only transactions that do, so a refusal means a transaction got past admission (a bug,
// or a limit changed under a running node): the producer then drops the transactions that do not read
// back, reports each, and builds the block again without them. It never commits a block that nodes
// could not read again.

/// Produces blocks from a mempool onto a chain store.
public final class BlockProducer: @unchecked Sendable {
    public let mempool: Mempool
    public let applier: BlockApplier
    /// The most transactions in one block (never more than a block may hold: `WireLimits.blockTransactions`).
    public let maxBlockSize: Int
    /// Where a dropped transaction is reported (the node's standard error by default).
    let report: @Sendable (String) -> Void

    public init(
        mempool: Mempool, applier: BlockApplier, maxBlockSize: Int = 10_000,
        report: @escaping @Sendable (String) -> Void = BlockProducer.standardError
    ) {
        self.mempool = mempool
        self.applier = applier
        self.maxBlockSize = Swift.min(Swift.max(maxBlockSize, 1), WireLimits.blockTransactions)
        self.report = report
    }

    /// Writes a line to standard error.
    public static let standardError: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// One produced block: what was committed and what the mempool dropped afterwards.
    public struct Produced: Sendable {
        public var applied: BlockApplier.Applied
        /// Dropped after the block (now invalid), and before it, for not reading back (`.undecodable`).
        public var dropped: [DroppedTransaction]
    }

    /// Builds, executes and commits the next block at `timestamp` (Unix seconds).
    /// - Complexity: O(n log n) to pick n transactions, then the block's execution and commit.
    public func produce(timestamp: UInt64) throws(StorageError) -> Produced {
        let store = applier.store
        var transactions = mempool.batch(maxCount: maxBlockSize, state: store)
        var refused: [DroppedTransaction] = []
        let applied: BlockApplier.Applied
        while true {
            do {
                applied = try applier.apply(transactions, timestamp: timestamp, verify: false)
                break
            } catch  where error.code == .undecodable {
                let unreadable = Self.unreadable(transactions)
                // Nothing to leave out: the block as a whole cannot be read (not a transaction's fault).
                guard !unreadable.isEmpty else { throw error }
                let hashes = Set(unreadable.map(\.hash))
                mempool.remove(hashes)
                for d in unreadable {
                    report("error: block producer: dropped transaction \(d.hash.hex): \(d.reason.description)")
                }
                refused += unreadable
                transactions.removeAll { hashes.contains($0.hash) }
            }
        }
        let dropped = mempool.blockCommitted(state: store, now: timestamp)
        return Produced(applied: applied, dropped: refused + dropped)
    }

    /// The transactions that do not read back from their encoding, with the decoder's reason.
    /// - Complexity: O(n) decodes.
    static func unreadable(_ transactions: [Transaction]) -> [DroppedTransaction] {
        transactions.compactMap { tx in
            let bytes = tx.canonicalBytes
            do throws(CoreError) { try tx.checkRoundTrip(encoded: bytes) } catch {
                return DroppedTransaction(hash: Hash.sha256(bytes), reason: .undecodable(reason: error.message))
            }
            return nil
        }
    }
}
