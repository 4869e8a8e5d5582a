import Dispatch
import SluiceCore
import Synchronization

// The few parallel primitives the tree needs, on Dispatch threads: no tasks, no await (house style for block
// processing). Each runs its work on at most `threads` threads and gives the same result for every count.

enum Parallel {
    /// Runs `body(0..<count)` on up to `threads` threads, each taking the next index until none is left.
    static func forEach(count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
        let width = min(threads, count)
        if width <= 1 {
            for index in 0..<count { body(index) }
            return
        }
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: width) { _ in
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                body(index)
            }
        }
    }

    /// The parts joined in order, copied concurrently when they are large (the copy is mostly page faults).
    static func concatenate<Element: Sendable>(_ parts: [[Element]], threads: Int) -> [Element] {
        var offsets: [Int] = []
        offsets.reserveCapacity(parts.count)
        var total = 0
        for part in parts {
            offsets.append(total)
            total += part.count
        }
        if threads <= 1 || total < 1 << 14 {
            var out: [Element] = []
            out.reserveCapacity(total)
            for part in parts { out.append(contentsOf: part) }
            return out
        }
        return [Element](unsafeUninitializedCapacity: total) { buffer, count in
            let base = SharedPointer(buffer.baseAddress!)
            forEach(count: parts.count, threads: threads) { [offsets] index in
                parts[index].withUnsafeBufferPointer { source in
                    _ = UnsafeMutableBufferPointer(start: base.pointer + offsets[index], count: source.count)
                        .initialize(fromContentsOf: source)
                }
            }
            count = total
        }
    }

    /// The changes in key order. A large batch is split by its keys' first byte and the 256 buckets are sorted
    /// concurrently; equal keys (which only `build` accepts, and then resolves) may come out in any order.
    static func sortedByKey(_ changes: [Change], threads: Int) -> [Change] {
        guard threads > 1, changes.count >= 1 << 15 else { return changes.sorted { $0.keyHash < $1.keyHash } }
        @inline(__always) func bucket(_ change: Change) -> Int { Int(truncatingIfNeeded: change.keyHash.w0 & 0xff) }
        var counts = [Int](repeating: 0, count: 256)
        for change in changes { counts[bucket(change)] += 1 }
        var starts = [Int](repeating: 0, count: 256)
        for b in 1..<256 { starts[b] = starts[b - 1] + counts[b - 1] }
        var out = [Change](unsafeUninitializedCapacity: changes.count) { buffer, count in
            var next = starts
            for change in changes {
                let b = bucket(change)
                (buffer.baseAddress! + next[b]).initialize(to: change)
                next[b] += 1
            }
            count = changes.count
        }
        out.withUnsafeMutableBufferPointer { buffer in
            let base = SharedPointer(buffer.baseAddress!)
            forEach(count: 256, threads: threads) { [starts, counts] b in
                var slice = UnsafeMutableBufferPointer(start: base.pointer + starts[b], count: counts[b])
                slice.sort { $0.keyHash < $1.keyHash }
            }
        }
        return out
    }
}

/// A buffer that threads write at disjoint offsets.
struct SharedPointer<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    init(_ pointer: UnsafeMutablePointer<Element>) { self.pointer = pointer }
}

/// Fixed slots that worker threads fill, each slot by exactly one thread, read after all have finished.
final class SlotArray<Element>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Element?>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    subscript(index: Int) -> Element? {
        get { slots[index] }
        set { slots[index] = newValue }
    }
}
