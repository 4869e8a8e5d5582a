// A growable buffer with manual lifetime, for the executor's per-transaction and per-worker lists.
//
// Unlike Array it has no reference count and no uniqueness check on append, and it can be swapped
// between a worker and a transaction slot by value, so capacity circulates instead of being freed and
// allocated again. Its owner frees it explicitly.

@usableFromInline
struct RawBuffer<Element> {
    @usableFromInline var base: UnsafeMutablePointer<Element>
    @usableFromInline var count: Int
    @usableFromInline var capacity: Int

    @inlinable
    init(capacity: Int) {
        self.capacity = Self.roundedCapacity(capacity)
        base = Self.allocateLines(self.capacity)
        count = 0
    }

    /// Whole cache lines, so that two buffers used by two threads never share one.
    @inlinable
    static func roundedCapacity(_ wanted: Int) -> Int {
        let size = Swift.max(MemoryLayout<Element>.stride, 1)
        let bytes = (Swift.max(wanted, 1) * size + 63) & ~63
        return bytes / size
    }

    @inlinable
    static func allocateLines(_ capacity: Int) -> UnsafeMutablePointer<Element> {
        UnsafeMutableRawPointer.allocate(
            byteCount: capacity * MemoryLayout<Element>.stride,
            alignment: Swift.max(64, MemoryLayout<Element>.alignment)
        ).bindMemory(to: Element.self, capacity: capacity)
    }

    @inlinable @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count &+= 1
    }

    @usableFromInline
    mutating func grow() {
        let newCapacity = Self.roundedCapacity(capacity * 2)
        let bigger = Self.allocateLines(newCapacity)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = newCapacity
    }

    @inlinable @inline(__always)
    mutating func removeAll() {
        base.deinitialize(count: count)
        count = 0
    }

    @inlinable
    subscript(i: Int) -> Element {
        @inline(__always) get { base[i] }
        @inline(__always) nonmutating set { base[i] = newValue }
    }

    @usableFromInline
    func free() {
        base.deinitialize(count: count)
        base.deallocate()
    }
}
