import SluiceCore
import SluiceRuntime
import SluiceState

/// One queued transaction with what the mempool keeps about it.
struct QueuedTransaction: Sendable {
    let transaction: Transaction
    let hash: Hash
    /// gasLimit × gasPrice: the most it can cost its sender in fees.
    let maxFee: UInt128
    /// Admission order, mempool-wide; larger is newer.
    let arrival: UInt64

    var sequence: UInt64 { transaction.sequence }
    var gasPrice: UInt64 { transaction.gasPrice }
}

/// A sender's queued transactions, sorted by sequence, at most one per sequence.
struct SenderQueue: Sendable {
    var entries: [QueuedTransaction] = []
    /// The sum of the entries' max fees; never above the sender's balance when it was last checked.
    var totalMaxFee: UInt128 = 0

    /// The index of the first entry whose sequence is at least `sequence`, and whether it is that one.
    /// - Complexity: O(log k) for k entries.
    func search(_ sequence: UInt64) -> (index: Int, found: Bool) {
        var low = 0
        var high = entries.count
        while low < high {
            let mid = (low + high) / 2
            if entries[mid].sequence < sequence { low = mid + 1 } else { high = mid }
        }
        return (low, low < entries.count && entries[low].sequence == sequence)
    }
}

/// A sender's highest-sequence transaction, the only one of the sender that may be evicted (evicting a
/// lower one would strand those above it). The heap's top is the cheapest per gas, the newest on ties.
struct EvictionCandidate: Comparable, Sendable {
    var gasPrice: UInt64
    var arrival: UInt64
    var sender: Address
    var hash: Hash

    static func < (a: EvictionCandidate, b: EvictionCandidate) -> Bool {
        a.gasPrice != b.gasPrice ? a.gasPrice < b.gasPrice : a.arrival > b.arrival
    }
}

/// The next ready transaction of one sender while a batch is assembled. `<` means "goes first":
/// higher gas price, then lower sender address, then lower sequence.
private struct ReadyHead: Comparable {
    var gasPrice: UInt64
    var sender: Address
    var sequence: UInt64
    var index: Int

    static func < (a: ReadyHead, b: ReadyHead) -> Bool {
        if a.gasPrice != b.gasPrice { return a.gasPrice > b.gasPrice }
        if a.sender != b.sender { return a.sender < b.sender }
        return a.sequence < b.sequence
    }
}

/// The mempool's contents: per-sender queues, a hash index and the eviction heap. Not thread-safe;
/// `Mempool` keeps it behind a mutex.
struct MempoolQueues: Sendable {
    private(set) var queues: [Address: SenderQueue] = [:]
    /// Where each queued transaction is: its sender (its sequence is in the transaction).
    private(set) var locations: [Hash: (sender: Address, sequence: UInt64)] = [:]
    /// Candidates for eviction, one per sender's tail, maintained lazily: an entry whose transaction is no
    /// longer its sender's tail is skipped when it reaches the top, and the heap is rebuilt when stale
    /// entries outnumber live ones.
    private var eviction = MinHeap<EvictionCandidate>()
    private var nextArrival: UInt64 = 0

    var count: Int { locations.count }
    var senderCount: Int { queues.count }

    /// - Complexity: O(log k) for k transactions of the sender.
    func entry(_ hash: Hash) -> QueuedTransaction? {
        guard let at = locations[hash], let queue = queues[at.sender] else { return nil }
        let (index, found) = queue.search(at.sequence)
        return found ? queue.entries[index] : nil
    }

    func contains(_ hash: Hash) -> Bool { locations[hash] != nil }

    /// Queues `tx` in its sender's slot for its sequence, replacing what was there. The caller has
    /// checked every rule. Returns the replaced transaction.
    /// - Complexity: O(k) for k transactions of the sender (array insertion), O(log n) heap push.
    @discardableResult
    mutating func put(_ tx: Transaction, hash: Hash) -> QueuedTransaction? {
        let entry = QueuedTransaction(
            transaction: tx, hash: hash, maxFee: UInt128(tx.gasLimit) * UInt128(tx.gasPrice), arrival: nextArrival)
        nextArrival += 1
        var replaced: QueuedTransaction?
        modify(tx.sender) { queue in
            let (index, found) = queue.search(tx.sequence)
            if found {
                replaced = queue.entries[index]
                queue.totalMaxFee -= queue.entries[index].maxFee
                queue.entries[index] = entry
            } else {
                queue.entries.insert(entry, at: index)
            }
            queue.totalMaxFee += entry.maxFee
        }
        if let replaced { locations.removeValue(forKey: replaced.hash) }
        locations[hash] = (tx.sender, tx.sequence)
        return replaced
    }

    /// The cheapest evictable transaction (see `EvictionCandidate`), dropping stale heap entries.
    /// - Complexity: amortized O(log n).
    mutating func evictionCandidate() -> EvictionCandidate? {
        while let top = eviction.min {
            if queues[top.sender]?.entries.last?.hash == top.hash { return top }
            _ = eviction.popMin()
        }
        return nil
    }

    /// Removes `sender`'s highest-sequence transaction.
    /// - Complexity: amortized O(log n).
    mutating func removeTail(of sender: Address) {
        var removed: QueuedTransaction?
        modify(sender) { queue in
            removed = queue.entries.popLast()
            if let removed { queue.totalMaxFee -= removed.maxFee }
        }
        if let removed { locations.removeValue(forKey: removed.hash) }
    }

    /// Removes the transaction with this hash, wherever it is in its sender's queue; false if not queued.
    /// The sender's later sequences stay and wait for the gap to be filled (or expire).
    /// - Complexity: O(k) for k transactions of the sender, amortized O(log n) heap upkeep.
    mutating func remove(_ hash: Hash) -> Bool {
        guard let at = locations.removeValue(forKey: hash) else { return false }
        modify(at.sender) { queue in
            let (index, found) = queue.search(at.sequence)
            guard found, queue.entries[index].hash == hash else { return }
            queue.totalMaxFee -= queue.entries[index].maxFee
            queue.entries.remove(at: index)
        }
        return true
    }

    /// Applies `change` to `sender`'s queue in place, then drops the queue if empty and refreshes the
    /// sender's eviction candidate if its tail changed.
    private mutating func modify(_ sender: Address, _ change: (inout SenderQueue) -> Void) {
        let tailBefore = queues[sender]?.entries.last?.hash
        change(&queues[sender, default: SenderQueue()])
        let tail = queues[sender]?.entries.last
        if tail == nil { queues.removeValue(forKey: sender) }
        guard let tail, tail.hash != tailBefore else { return }
        eviction.push(
            EvictionCandidate(gasPrice: tail.gasPrice, arrival: tail.arrival, sender: sender, hash: tail.hash))
        if eviction.count > 2 * queues.count + 64 {
            eviction = MinHeap(
                queues.map { sender, queue in
                    let t = queue.entries[queue.entries.count - 1]
                    return EvictionCandidate(gasPrice: t.gasPrice, arrival: t.arrival, sender: sender, hash: t.hash)
                })
        }
    }

    /// Up to `maxCount` transactions ready to execute in this order: for each sender, the gap-free run
    /// from its account's sequence; across senders, the highest gas price first (then sender address,
    /// then sequence), and never a sender's sequence s + 1 before s.
    /// - Complexity: O(S log k + m log S) for S senders with k transactions each and m returned.
    func ready(maxCount: Int, account: (Address) -> AccountState?) -> [Transaction] {
        guard maxCount > 0 else { return [] }
        var heads: [ReadyHead] = []
        for (sender, queue) in queues {
            guard let next = account(sender)?.sequence else { continue }
            let (index, found) = queue.search(next)
            guard found else { continue }
            let e = queue.entries[index]
            heads.append(ReadyHead(gasPrice: e.gasPrice, sender: sender, sequence: e.sequence, index: index))
        }
        var heap = MinHeap(heads)
        var out: [Transaction] = []
        out.reserveCapacity(Swift.min(maxCount, count))
        while out.count < maxCount, let head = heap.popMin() {
            let entries = queues[head.sender]!.entries
            out.append(entries[head.index].transaction)
            let i = head.index + 1
            if i < entries.count, entries[i].sequence == head.sequence + 1 {
                heap.push(
                    ReadyHead(gasPrice: entries[i].gasPrice, sender: head.sender, sequence: head.sequence + 1, index: i)
                )
            }
        }
        return out
    }

    /// Re-checks every queued transaction against the state after a block: drops those whose sequence
    /// the account has passed (included or superseded), the expired, and — from the highest sequence
    /// down — those whose max fees the sender can no longer pay. Senders are visited in address order.
    /// - Complexity: O(S log S + n) for S senders and n transactions, plus one state read per sender.
    mutating func recheck(now: UInt64, account: (Address) -> AccountState?) -> [DroppedTransaction] {
        var dropped: [DroppedTransaction] = []
        for sender in queues.keys.sorted() {
            guard let queue = queues[sender] else { continue }
            let firstDropped = dropped.count
            var kept: [QueuedTransaction] = []
            var total: UInt128 = 0
            if let state = account(sender) {
                kept.reserveCapacity(queue.entries.count)
                for e in queue.entries {
                    if e.sequence < state.sequence {
                        dropped.append(
                            .init(hash: e.hash, reason: .sequenceTooOld(sequence: e.sequence, next: state.sequence)))
                    } else if e.transaction.expiry < now {
                        dropped.append(.init(hash: e.hash, reason: .expired(expiry: e.transaction.expiry, now: now)))
                    } else {
                        kept.append(e)
                        total += e.maxFee  // cannot overflow: a subset of a queue whose total fitted
                    }
                }
                while total > state.balance.value, let last = kept.popLast() {
                    dropped.append(
                        .init(hash: last.hash, reason: .feeUnpayable(required: Amount(total), balance: state.balance)))
                    total -= last.maxFee
                }
            } else {
                for e in queue.entries { dropped.append(.init(hash: e.hash, reason: .unknownSender(sender))) }
            }
            guard kept.count != queue.entries.count else { continue }
            for d in dropped[firstDropped...] { locations.removeValue(forKey: d.hash) }
            modify(sender) { q in
                q.entries = kept
                q.totalMaxFee = total
            }
        }
        return dropped
    }
}
