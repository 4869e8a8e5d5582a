public import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// Short critical sections inside block execution (a version list, a transaction's status) are guarded
// by spin locks in preallocated arrays: no allocation, no syscall on the uncontended path, and a yield
// when a lock stays taken so oversubscribed threads make progress.

/// An array of spin locks, each on its own cache line.
@usableFromInline
struct SpinLockArray {
    @usableFromInline static var stride: Int { 16 }  // 16 × 4 bytes = one 64-byte cache line
    @usableFromInline var words: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline var count: Int

    init(count: Int) {
        self.count = count
        words = .allocate(capacity: count * Self.stride)
        for i in 0..<(count * Self.stride) { (words + i).initialize(to: Atomic<UInt32>(0)) }
    }

    func deallocate() {
        words.deinitialize(count: count * Self.stride)
        words.deallocate()
    }

    @inlinable @inline(__always)
    func lock(_ i: Int) { spinLock(words + i &* Self.stride) }

    @inlinable @inline(__always)
    func unlock(_ i: Int) {
        (words + i &* Self.stride).pointee.store(0, ordering: .releasing)
    }
}

/// Takes a spin lock word: compare-and-swap, then spin on plain loads, yielding now and then.
@inlinable @inline(__always)
func spinLock(_ w: UnsafeMutablePointer<Atomic<UInt32>>) {
    while true {
        if w.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged { return }
        var spins = 0
        while w.pointee.load(ordering: .relaxed) != 0 {
            spins &+= 1
            if spins > 64 {
                spins = 0
                yieldThread()
            }
        }
    }
}

@usableFromInline
func yieldThread() {
    sched_yield()
}
