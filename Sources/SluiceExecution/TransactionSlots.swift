public import Synchronization

// Per-transaction scheduler state, one 64-byte cache line per transaction.
//
// Neighbouring transactions are worked on by different threads at the same time; with one array per
// field their locks, statuses and incarnations would share cache lines and every update would bounce
// the line between cores. Here everything a transaction's bookkeeping touches sits in its own line:
//
//   0  lock (Atomic<UInt32>)        guards status, incarnation, dependents
//   4  read lock (Atomic<UInt32>)   guards the read set
//   8  status (UInt8)
//  12  incarnation (Int32)
//  16  dependents head (Int32)      intrusive list of transactions waiting on this one
//  20  dependents next (Int32)      this transaction's link in the list it waits in
//  24  read set (RawBuffer<ReadRecord>, 24 bytes)

@usableFromInline
struct TransactionSlots {
    @usableFromInline static var stride: Int { 64 }
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let count: Int

    init(count: Int) {
        precondition(MemoryLayout<RawBuffer<ReadRecord>>.size <= 40)
        self.count = count
        base = .allocate(byteCount: Swift.max(count, 1) * Self.stride, alignment: 64)
        for i in 0..<count {
            let slot = base + i * Self.stride
            slot.bindMemory(to: Atomic<UInt32>.self, capacity: 2).initialize(to: Atomic(0))
            (slot + 4).assumingMemoryBound(to: Atomic<UInt32>.self).initialize(to: Atomic(0))
            (slot + 24).bindMemory(to: RawBuffer<ReadRecord>.self, capacity: 1).initialize(to: RawBuffer(capacity: 8))
        }
    }

    func deallocate() {
        for i in 0..<count { readSet(i).pointee.free() }
        base.deallocate()
    }

    @inlinable @inline(__always)
    func slot(_ i: Int) -> UnsafeMutableRawPointer { base + i &* Self.stride }

    @inlinable @inline(__always)
    func lock(_ i: Int) { spinLock(slot(i).assumingMemoryBound(to: Atomic<UInt32>.self)) }

    @inlinable @inline(__always)
    func unlock(_ i: Int) {
        slot(i).assumingMemoryBound(to: Atomic<UInt32>.self).pointee.store(0, ordering: .releasing)
    }

    @inlinable @inline(__always)
    func lockReads(_ i: Int) { spinLock((slot(i) + 4).assumingMemoryBound(to: Atomic<UInt32>.self)) }

    @inlinable @inline(__always)
    func unlockReads(_ i: Int) {
        (slot(i) + 4).assumingMemoryBound(to: Atomic<UInt32>.self).pointee.store(0, ordering: .releasing)
    }

    @inlinable @inline(__always)
    func status(_ i: Int) -> UnsafeMutablePointer<UInt8> { (slot(i) + 8).assumingMemoryBound(to: UInt8.self) }

    @inlinable @inline(__always)
    func incarnation(_ i: Int) -> UnsafeMutablePointer<Int32> { (slot(i) + 12).assumingMemoryBound(to: Int32.self) }

    @inlinable @inline(__always)
    func dependentsHead(_ i: Int) -> UnsafeMutablePointer<Int32> { (slot(i) + 16).assumingMemoryBound(to: Int32.self) }

    @inlinable @inline(__always)
    func dependentsNext(_ i: Int) -> UnsafeMutablePointer<Int32> { (slot(i) + 20).assumingMemoryBound(to: Int32.self) }

    @inlinable @inline(__always)
    func readSet(_ i: Int) -> UnsafeMutablePointer<RawBuffer<ReadRecord>> {
        (slot(i) + 24).assumingMemoryBound(to: RawBuffer<ReadRecord>.self)
    }

    /// Sets every transaction of a block ready for its first incarnation.
    func reset(_ n: Int, status ready: UInt8) {
        for i in 0..<n {
            status(i).pointee = ready
            incarnation(i).pointee = 0
            dependentsHead(i).pointee = -1
        }
    }
}

/// An atomic on its own cache line.
@usableFromInline
struct PaddedAtomicInts {
    @usableFromInline let base: UnsafeMutablePointer<Atomic<Int>>
    @usableFromInline let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: count * 8)
        for i in 0..<(count * 8) { (base + i).initialize(to: Atomic(0)) }
    }

    func deallocate() {
        base.deinitialize(count: count * 8)
        base.deallocate()
    }

    @inlinable @inline(__always)
    subscript(_ i: Int) -> UnsafeMutablePointer<Atomic<Int>> { base + i &* 8 }
}
