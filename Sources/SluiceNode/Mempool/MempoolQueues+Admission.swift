import SluiceCore
import SluiceRuntime
import SluiceState

extension MempoolQueues {
    /// Applies the stateful rules to a transaction that passed the stateless ones, and queues it if it
    /// passes them too. A rejection changes nothing.
    ///
    /// Rules, in order: not already queued; the sender has an account; account sequence ≤ sequence <
    /// account sequence + window; a transaction queued at the same sequence is replaced only by one
    /// paying ≥ 10% more per gas; the sender is under its limit; the sender's balance covers the max
    /// fees of all its queued transactions with this one; and when the mempool is full, the cheapest
    /// sender tail is evicted for a newcomer paying strictly more per gas.
    /// - Complexity: O(k + log n) for k transactions of the sender and n in the mempool.
    mutating func admit(_ checked: CheckedTransaction, configuration: Mempool.Configuration) -> AdmissionResult {
        let tx = checked.transaction
        let hash = checked.hash
        if let rejection = checked.rejection { return .rejected(hash, rejection) }
        if contains(hash) { return .rejected(hash, .duplicate) }
        guard let account = checked.account else { return .rejected(hash, .unknownSender(tx.sender)) }
        guard tx.sequence >= account.sequence else {
            return .rejected(hash, .sequenceTooOld(sequence: tx.sequence, next: account.sequence))
        }
        guard tx.sequence - account.sequence < configuration.sequenceWindow else {
            return .rejected(
                hash,
                .sequenceTooFarAhead(
                    sequence: tx.sequence, next: account.sequence, window: configuration.sequenceWindow)
            )
        }

        let queue = queues[tx.sender] ?? SenderQueue()
        let (index, found) = queue.search(tx.sequence)
        var otherFees = queue.totalMaxFee
        if found {
            let old = queue.entries[index]
            guard UInt128(tx.gasPrice) * 10 >= UInt128(old.gasPrice) * 11 else {
                let minimum = (UInt128(old.gasPrice) * 11 + 9) / 10
                return .rejected(
                    hash,
                    .underpriced(
                        sequence: tx.sequence, price: tx.gasPrice, minimum: UInt64(clamping: minimum)))
            }
            otherFees -= old.maxFee
        } else if queue.entries.count >= configuration.perSenderLimit {
            return .rejected(hash, .senderLimit(limit: configuration.perSenderLimit))
        }

        let maxFee = UInt128(tx.gasLimit) * UInt128(tx.gasPrice)
        let (required, overflow) = otherFees.addingReportingOverflow(maxFee)
        guard !overflow, required <= account.balance.value else {
            return .rejected(
                hash, .feeUnpayable(required: overflow ? .max : Amount(required), balance: account.balance))
        }

        if !found && count >= configuration.capacity {
            let victim = evictionCandidate()
            guard let victim, victim.gasPrice < tx.gasPrice, !strands(victim, for: tx) else {
                return .rejected(hash, .mempoolFull(capacity: configuration.capacity, lowestPrice: victim?.gasPrice))
            }
            removeTail(of: victim.sender)
        }
        put(tx, hash: hash)
        return .accepted(hash)
    }

    /// Whether evicting `victim` would leave `tx` behind a gap of its own sender's making.
    private func strands(_ victim: EvictionCandidate, for tx: Transaction) -> Bool {
        guard victim.sender == tx.sender, let at = locations[victim.hash] else { return false }
        return at.sequence < tx.sequence
    }
}
