public import SluiceCore
public import Synchronization

// MVMemory of Block-STM: for every key the block touches, the versions written by its transactions,
// ordered by transaction index.
//
// A read by transaction j returns the version of the highest transaction i < j that wrote the key,
// or the base state when there is none, or an ESTIMATE when i's last write was invalidated (then j
// waits for i). Validation re-reads and compares versions.
//
// Layout, chosen so that no read or write allocates:
// - Keys are interned into an open-addressing table split into lock stripes; an entry's id is its
//   slot. The stripe's spin lock guards the slots and the version lists of its entries.
// - Versions are nodes in a preallocated pool, threaded into two singly linked lists: the entry's
//   list (descending transaction index) and the owner transaction's list of nodes it wrote. A new
//   incarnation reuses its nodes; nodes it no longer writes are unlinked.
// - Everything is sized from the block before execution. If a block outgrows a table anyway, the
//   memory reports overflow and the executor runs the block sequentially (same result) and sizes the
//   next block larger.

/// One read a transaction made: which entry, and which version it saw (writer -1: the base state).
/// `from` is the reader's own node on that key, if it has one: the version it reads is the next one.
@usableFromInline
struct ReadRecord {
    @usableFromInline var entry: Int32
    @usableFromInline var writer: Int32
    @usableFromInline var incarnation: Int32
    @usableFromInline var from: Int32
    @inlinable init(entry: Int32, writer: Int32, incarnation: Int32, from: Int32) {
        self.entry = entry
        self.writer = writer
        self.incarnation = incarnation
        self.from = from
    }
}

@usableFromInline
enum VersionedRead<Value> {
    case storage(entry: Int32, from: Int32)
    case value(entry: Int32, writer: Int32, incarnation: Int32, from: Int32, value: Value?)
    case estimate(writer: Int32)
    case overflow
}

@usableFromInline
final class MultiVersionMemory<Value>: @unchecked Sendable {
    @usableFromInline static var stripeBits: Int { 6 }
    @usableFromInline static var stripeCount: Int { 1 << stripeBits }

    // Key table.
    @usableFromInline var stripeShift = 0
    @usableFromInline var stripeMask = 0
    @usableFromInline var capacity = 0
    @usableFromInline var locks: SpinLockArray
    /// Keys per stripe, one cache line apart.
    @usableFromInline var fill: UnsafeMutablePointer<Int32>
    @usableFromInline var slotUsed: UnsafeMutablePointer<UInt8>
    @usableFromInline var slotKey: UnsafeMutablePointer<StateKey>
    @usableFromInline var slotHead: UnsafeMutablePointer<Int32>
    /// One spin lock per entry, guarding its version list. Keys are found and added under the stripe
    /// lock; versions are read and written under the entry's own lock, so two threads contend (and
    /// move a cache line) only when they touch the same key.
    @usableFromInline var slotLock: UnsafeMutablePointer<Atomic<UInt32>>

    // Version nodes.
    @usableFromInline var nodeCapacity = 0
    @usableFromInline let nodeCount = Atomic<Int>(0)
    // Each node is a record of whole cache lines (different transactions' nodes are written by
    // different threads): tx @0, incarnation @4, next @8, entry @12, owner-next @16, estimate @20,
    // linked @21 (false once unlinked; nodes are never reused within a block), value @32.
    @usableFromInline static var nodeStride: Int { (32 + MemoryLayout<Value?>.stride + 63) & ~63 }
    @usableFromInline var nodes: UnsafeMutableRawPointer
    @usableFromInline var nodeTx: StridedField<Int32>
    @usableFromInline var nodeIncarnation: StridedField<Int32>
    @usableFromInline var nodeNext: StridedField<Int32>
    @usableFromInline var nodeEntry: StridedField<Int32>
    @usableFromInline var nodeOwnerNext: StridedField<Int32>
    @usableFromInline var nodeEstimate: StridedField<Bool>
    @usableFromInline var nodeLinked: StridedField<Bool>
    @usableFromInline var nodeValue: StridedField<Value?>

    // Per transaction: the head of the list of nodes it owns.
    @usableFromInline var txCapacity = 0
    @usableFromInline var ownerHead: UnsafeMutablePointer<Int32>

    @usableFromInline let overflowed = Atomic<Bool>(false)

    init() {
        locks = SpinLockArray(count: Self.stripeCount)
        fill = .allocate(capacity: Self.stripeCount * 16)
        slotUsed = .allocate(capacity: 0)
        slotKey = .allocate(capacity: 0)
        slotHead = .allocate(capacity: 0)
        slotLock = .allocate(capacity: 0)
        nodes = .allocate(byteCount: Self.nodeStride, alignment: 64)
        (nodeTx, nodeIncarnation, nodeNext, nodeEntry, nodeOwnerNext, nodeEstimate, nodeLinked, nodeValue) =
            Self.fields(nodes)
        ownerHead = .allocate(capacity: 0)
    }

    deinit {
        locks.deallocate()
        fill.deallocate()
        slotUsed.deallocate()
        slotKey.deallocate()
        slotHead.deallocate()
        slotLock.deinitialize(count: capacity)
        slotLock.deallocate()
        freeNodes()
        ownerHead.deallocate()
    }

    private static func fields(_ base: UnsafeMutableRawPointer) -> (
        StridedField<Int32>, StridedField<Int32>, StridedField<Int32>, StridedField<Int32>, StridedField<Int32>,
        StridedField<Bool>, StridedField<Bool>, StridedField<Value?>
    ) {
        let stride = nodeStride
        return (
            StridedField(base: base, offset: 0, stride: stride), StridedField(base: base, offset: 4, stride: stride),
            StridedField(base: base, offset: 8, stride: stride), StridedField(base: base, offset: 12, stride: stride),
            StridedField(base: base, offset: 16, stride: stride), StridedField(base: base, offset: 20, stride: stride),
            StridedField(base: base, offset: 21, stride: stride), StridedField(base: base, offset: 32, stride: stride)
        )
    }

    private func freeNodes() {
        for i in 0..<nodeCapacity { nodeValue.pointer(i).deinitialize(count: 1) }
        nodes.deallocate()
    }

    /// Sizes and clears the memory for a block. Grows, never shrinks, so steady state allocates nothing.
    /// - Complexity: O(keys + nodes + transactions) to clear.
    func prepare(transactions: Int, expectedKeys: Int, expectedWrites: Int) {
        let wantSlots = Swift.max(1 << 12, (expectedKeys * 2).nextPowerOfTwo)
        if wantSlots > capacity {
            slotUsed.deallocate()
            slotKey.deallocate()
            slotHead.deallocate()
            slotLock.deinitialize(count: capacity)
            slotLock.deallocate()
            capacity = wantSlots
            slotUsed = .allocate(capacity: capacity)
            slotKey = .allocate(capacity: capacity)
            slotHead = .allocate(capacity: capacity)
            slotLock = .allocate(capacity: capacity)
            for i in 0..<capacity { (slotLock + i).initialize(to: Atomic(0)) }
            let perStripe = capacity >> Self.stripeBits
            stripeShift = perStripe.trailingZeroBitCount
            stripeMask = perStripe - 1
        }
        slotUsed.update(repeating: 0, count: capacity)
        fill.update(repeating: 0, count: Self.stripeCount * 16)

        let wantNodes = Swift.max(1 << 12, expectedWrites * 2)
        if wantNodes > nodeCapacity {
            freeNodes()
            nodeCapacity = wantNodes
            nodes = .allocate(byteCount: nodeCapacity * Self.nodeStride, alignment: 64)
            (nodeTx, nodeIncarnation, nodeNext, nodeEntry, nodeOwnerNext, nodeEstimate, nodeLinked, nodeValue) =
                Self.fields(nodes)
            for i in 0..<nodeCapacity { nodeValue.pointer(i).initialize(to: nil) }
        } else {
            // Drop the previous block's values (they may hold buffers).
            let used = Swift.min(nodeCount.load(ordering: .relaxed), nodeCapacity)
            for i in 0..<used { nodeValue[i] = nil }
        }
        nodeCount.store(0, ordering: .relaxed)

        if transactions > txCapacity {
            ownerHead.deallocate()
            txCapacity = transactions
            ownerHead = .allocate(capacity: txCapacity)
        }
        ownerHead.update(repeating: -1, count: transactions)
        overflowed.store(false, ordering: .relaxed)
    }

    @inlinable @inline(__always)
    func stripe(of key: StateKey) -> Int { Int(truncatingIfNeeded: key.hashWord) & (Self.stripeCount - 1) }

    @inlinable @inline(__always)
    func lockEntry(_ entry: Int32) { spinLock(slotLock + Int(entry)) }

    @inlinable @inline(__always)
    func unlockEntry(_ entry: Int32) { (slotLock + Int(entry)).pointee.store(0, ordering: .releasing) }

    /// Finds or adds the entry of `key` under its stripe lock; negative on overflow.
    @inlinable
    func entry(of key: StateKey, insert: Bool) -> Int32 {
        let s = stripe(of: key)
        locks.lock(s)
        let entry = entryLocked(key, stripe: s, insert: insert)
        locks.unlock(s)
        return entry
    }

    /// Finds or inserts `key` in its stripe, which the caller holds. Returns -1 when the stripe is full.
    @inlinable @inline(__always)
    func entryLocked(_ key: StateKey, stripe s: Int, insert: Bool) -> Int32 {
        let base = s << stripeShift
        var i = Int(truncatingIfNeeded: key.hashWord >> UInt64(Self.stripeBits)) & stripeMask
        while true {
            let slot = base + i
            if slotUsed[slot] == 0 {
                guard insert else { return -1 }
                // Keep the stripe under 7/8 full so probes stay short.
                if Int(fill[s &* 16]) * 8 >= (stripeMask + 1) * 7 {
                    overflowed.store(true, ordering: .relaxed)
                    return -2
                }
                fill[s &* 16] += 1
                slotUsed[slot] = 1
                (slotKey + slot).initialize(to: key)
                slotHead[slot] = -1
                return Int32(truncatingIfNeeded: slot)
            }
            if slotKey[slot] == key { return Int32(truncatingIfNeeded: slot) }
            i = (i &+ 1) & stripeMask
        }
    }

    /// What transaction `txIndex` reads for `key`.
    ///
    /// When the reader owns a node on the key (it wrote it before, or declared it), the version below
    /// is simply the next node of the list: O(1) however many transactions write the key. Otherwise
    /// the list is walked from its head, skipping higher transactions.
    @inlinable
    func read(_ key: StateKey, txIndex: Int32) -> VersionedRead<Value> {
        let own = ownNode(Int(txIndex), key: key)
        let entry: Int32
        var node: Int32
        if own >= 0 {
            entry = nodeEntry[Int(own)]
            lockEntry(entry)
            node = nodeNext[Int(own)]
        } else {
            entry = self.entry(of: key, insert: true)
            if entry < 0 { return .overflow }
            lockEntry(entry)
            node = slotHead[Int(entry)]
        }
        while node >= 0 && nodeTx[Int(node)] >= txIndex { node = nodeNext[Int(node)] }
        let result: VersionedRead<Value>
        if node < 0 {
            result = .storage(entry: entry, from: own)
        } else if nodeEstimate[Int(node)] {
            result = .estimate(writer: nodeTx[Int(node)])
        } else {
            result = .value(
                entry: entry, writer: nodeTx[Int(node)], incarnation: nodeIncarnation[Int(node)], from: own,
                value: nodeValue[Int(node)])
        }
        unlockEntry(entry)
        return result
    }

    /// True when every read still sees the version it saw.
    @inlinable
    func validate(txIndex: Int32, reads: RawBuffer<ReadRecord>) -> Bool {
        for j in 0..<reads.count {
            let r = reads[j]
            lockEntry(r.entry)
            // Start after the reader's own node while it is still linked; else from the head.
            var node = r.from >= 0 && nodeLinked[Int(r.from)] ? nodeNext[Int(r.from)] : slotHead[Int(r.entry)]
            while node >= 0 && nodeTx[Int(node)] >= txIndex { node = nodeNext[Int(node)] }
            let ok: Bool
            if node < 0 {
                ok = r.writer < 0
            } else {
                ok =
                    !nodeEstimate[Int(node)] && nodeTx[Int(node)] == r.writer
                    && nodeIncarnation[Int(node)] == r.incarnation
            }
            unlockEntry(r.entry)
            if !ok { return false }
        }
        return true
    }

    @inlinable @inline(__always)
    func allocateNode() -> Int32 {
        let n = nodeCount.wrappingAdd(1, ordering: .relaxed).oldValue
        if n >= nodeCapacity {
            overflowed.store(true, ordering: .relaxed)
            return -1
        }
        return Int32(truncatingIfNeeded: n)
    }

    /// The node of `txIndex` for `key`, found through the owner list (owner thread only).
    @inlinable @inline(__always)
    func ownNode(_ txIndex: Int, key: StateKey) -> Int32 {
        var node = ownerHead[txIndex]
        while node >= 0 {
            if slotKey[Int(nodeEntry[Int(node)])] == key { return node }
            node = nodeOwnerNext[Int(node)]
        }
        return -1
    }

    /// Inserts a new node for `txIndex` into the entry of `key`, in index order, and into the owner list.
    @inlinable
    func insertNode(
        _ txIndex: Int32, incarnation: Int32, key: StateKey, value: Value?, estimate: Bool
    ) -> Bool {
        let node = allocateNode()
        if node < 0 { return false }
        let n = Int(node)
        nodeTx[n] = txIndex
        nodeIncarnation[n] = incarnation
        nodeEstimate[n] = estimate
        nodeValue[n] = value
        nodeLinked[n] = true
        let entry = self.entry(of: key, insert: true)
        if entry < 0 { return false }
        nodeEntry[n] = entry
        lockEntry(entry)
        var prev: Int32 = -1
        var cur = slotHead[Int(entry)]
        while cur >= 0 && nodeTx[Int(cur)] > txIndex {
            prev = cur
            cur = nodeNext[Int(cur)]
        }
        nodeNext[n] = cur
        if prev < 0 { slotHead[Int(entry)] = node } else { nodeNext[Int(prev)] = node }
        unlockEntry(entry)
        nodeOwnerNext[n] = ownerHead[Int(txIndex)]
        ownerHead[Int(txIndex)] = node
        return true
    }

    /// Declares, before execution, that `txIndex` will write `key`: an ESTIMATE readers wait on.
    @inlinable
    func declareEstimate(_ txIndex: Int, key: StateKey) -> Bool {
        if ownNode(txIndex, key: key) >= 0 { return true }
        return insertNode(Int32(txIndex), incarnation: -1, key: key, value: nil, estimate: true)
    }

    /// Applies an incarnation's write set. Returns whether it wrote a key the previous incarnation did
    /// not (then higher transactions must be revalidated), or nil on overflow.
    @inlinable
    func record(
        _ txIndex: Int, incarnation: Int32, writes: RawBuffer<StateWrite<Value>>
    ) -> Bool? {
        var wroteNewKey = false
        for j in 0..<writes.count {
            let w = writes[j]
            let node = ownNode(txIndex, key: w.key)
            if node >= 0 {
                let entry = nodeEntry[Int(node)]
                lockEntry(entry)
                nodeValue[Int(node)] = w.value
                nodeIncarnation[Int(node)] = incarnation
                nodeEstimate[Int(node)] = false
                unlockEntry(entry)
            } else {
                if !insertNode(Int32(txIndex), incarnation: incarnation, key: w.key, value: w.value, estimate: false) {
                    return nil
                }
                wroteNewKey = true
            }
        }
        // Unlink the nodes this incarnation did not write.
        var prevOwned: Int32 = -1
        var node = ownerHead[txIndex]
        while node >= 0 {
            let next = nodeOwnerNext[Int(node)]
            if nodeIncarnation[Int(node)] != incarnation {
                unlinkFromEntry(node)
                if prevOwned < 0 { ownerHead[txIndex] = next } else { nodeOwnerNext[Int(prevOwned)] = next }
            } else {
                prevOwned = node
            }
            node = next
        }
        return wroteNewKey
    }

    @inlinable
    func unlinkFromEntry(_ node: Int32) {
        let entry = nodeEntry[Int(node)]
        lockEntry(entry)
        var prev: Int32 = -1
        var cur = slotHead[Int(entry)]
        while cur >= 0 && cur != node {
            prev = cur
            cur = nodeNext[Int(cur)]
        }
        if cur == node {
            if prev < 0 {
                slotHead[Int(entry)] = nodeNext[Int(node)]
            } else {
                nodeNext[Int(prev)] = nodeNext[Int(node)]
            }
        }
        nodeLinked[Int(node)] = false
        nodeValue[Int(node)] = nil
        unlockEntry(entry)
    }

    /// After a failed validation: every write of the aborted incarnation becomes an ESTIMATE.
    @inlinable
    func convertToEstimates(_ txIndex: Int) {
        var node = ownerHead[txIndex]
        while node >= 0 {
            let entry = nodeEntry[Int(node)]
            lockEntry(entry)
            nodeEstimate[Int(node)] = true
            unlockEntry(entry)
            node = nodeOwnerNext[Int(node)]
        }
    }

    // MARK: After execution (one thread)

    /// The value the block leaves at `key`: `.some(v)` when the block wrote it, nil when it did not.
    func finalValue(_ key: StateKey) -> Value?? {
        let entry = entryLocked(key, stripe: stripe(of: key), insert: false)
        guard entry >= 0 else { return nil }
        let head = slotHead[Int(entry)]
        guard head >= 0 else { return nil }
        return .some(nodeValue[Int(head)])
    }

    /// Replaces the final value of a key the block wrote; false when it did not write it.
    func setFinalValue(_ key: StateKey, _ value: Value?) -> Bool {
        let entry = entryLocked(key, stripe: stripe(of: key), insert: false)
        guard entry >= 0 else { return false }
        let head = slotHead[Int(entry)]
        guard head >= 0 else { return false }
        nodeValue[Int(head)] = value
        return true
    }

    /// Every key the block wrote with its final value.
    func collectWrites(into writes: inout [StateWrite<Value>]) {
        for slot in 0..<capacity where slotUsed[slot] != 0 {
            let head = slotHead[slot]
            if head >= 0 {
                precondition(!nodeEstimate[Int(head)], "an estimate survived block execution")
                writes.append(StateWrite(key: slotKey[slot], value: nodeValue[Int(head)]))
            }
        }
    }
}

/// One field of an array of fixed-stride records in raw memory.
@usableFromInline
struct StridedField<T> {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let offset: Int
    @usableFromInline let stride: Int

    @inlinable init(base: UnsafeMutableRawPointer, offset: Int, stride: Int) {
        self.base = base
        self.offset = offset
        self.stride = stride
    }

    @inlinable @inline(__always)
    func pointer(_ i: Int) -> UnsafeMutablePointer<T> {
        (base + (i &* stride &+ offset)).assumingMemoryBound(to: T.self)
    }

    @inlinable
    subscript(i: Int) -> T {
        @inline(__always) get { pointer(i).pointee }
        @inline(__always) nonmutating set { pointer(i).pointee = newValue }
    }
}

extension Int {
    @usableFromInline var nextPowerOfTwo: Int {
        self <= 1 ? 1 : 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount)
    }
}
