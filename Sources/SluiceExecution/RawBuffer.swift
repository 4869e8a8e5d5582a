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
        self.capacity = Swift.max(capacity, 1)
        base = .allocate(capacity: self.capacity)
        count = 0
    }

    @inlinable @inline(__always)
    mutating func append(_ element: Element) {
        if count == capacity { grow() }
        (base + count).initialize(to: element)
        count &+= 1
    }

    @usableFromInline
    mutating func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
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
