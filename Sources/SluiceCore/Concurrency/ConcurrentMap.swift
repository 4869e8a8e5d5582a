import Dispatch

// Data-parallel loops over arrays (hashing a block's transactions, verifying its signatures, hashing
// Merkle leaves, prefetching state): the array is cut into a few chunks per thread, run with
// `DispatchQueue.concurrentPerform`, and results land at their input position, so the output never
// depends on scheduling.

extension Array where Element: Sendable {
    /// `map` on all cores; the result is in input order.
    /// - Complexity: O(n) calls of `transform`, spread over about `threads` threads.
    public func concurrentMap<T>(threads: Int, _ transform: @Sendable (Element) -> T) -> [T] {
        let n = count
        return [T](unsafeUninitializedCapacity: n) { out, initialized in
            let target = UncheckedBuffer(base: out.baseAddress)
            withUnsafeBufferPointer { input in
                let source = UncheckedInput(buffer: input)
                Self.forEachChunk(n, threads: threads) { range in
                    for i in range { (target.base! + i).initialize(to: transform(source.buffer[i])) }
                }
            }
            initialized = n
        }
    }

    /// Calls `body` with every element, on all cores, in no particular order.
    public func concurrentForEach(threads: Int, _ body: @Sendable (Element) -> Void) {
        withUnsafeBufferPointer { input in
            let source = UncheckedInput(buffer: input)
            Self.forEachChunk(count, threads: threads) { range in
                for i in range { body(source.buffer[i]) }
            }
        }
    }

    private static func forEachChunk(_ n: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void) {
        guard n > 0 else { return }
        let chunks = Swift.max(1, Swift.min(Swift.max(threads, 1) * 8, n))
        DispatchQueue.concurrentPerform(iterations: chunks) { c in body((n * c / chunks)..<(n * (c + 1) / chunks)) }
    }
}

/// Each chunk writes a disjoint range of the output.
private struct UncheckedBuffer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>?
}

private struct UncheckedInput<T>: @unchecked Sendable {
    let buffer: UnsafeBufferPointer<T>
}
