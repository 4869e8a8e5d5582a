import Dispatch

// Answering a challenge: the product on the CPU (the fallback of providers without a GPU, and the tests'), and
// the Merkle tree and openings over a product computed anywhere (the agent's GPU path copies C back and calls
// `answer`).

extension GPUChallenge {
    /// A (or B when `second`) as floats, row-major: every entry is exact.
    public func matrix(second: Bool) -> [Float] {
        let stream = second ? seedB : seedA
        let count = size * size
        return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for i in 0..<count { buffer[i] = Float(Self.element(stream, UInt64(i))) }
            initialized = count
        }
    }

    /// C = A·B on the CPU with `threads` threads, blocked so that a slice of B stays in cache. Float
    /// multiply-adds are exact here (every partial sum is an integer below 2^24).
    /// - Complexity: O(n³).
    public func productOnCPU(threads: Int) -> [UInt32] {
        let n = size
        let a = matrix(second: false)
        let b = matrix(second: true)
        var c = [Float](repeating: 0, count: n * n)
        let columnsPerBlock = 512
        let depthPerBlock = 128
        let workers = max(1, min(threads, n / 16))
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    let shared = Disjoint((c.baseAddress!, a, b))
                    DispatchQueue.concurrentPerform(iterations: workers) { worker in
                        let (cBase, a, b) = shared.value
                        let rows = (n * worker / workers)..<(n * (worker + 1) / workers)
                        for j0 in stride(from: 0, to: n, by: columnsPerBlock) {
                            let j1 = min(n, j0 + columnsPerBlock)
                            for k0 in stride(from: 0, to: n, by: depthPerBlock) {
                                let k1 = min(n, k0 + depthPerBlock)
                                for i in rows {
                                    let out = cBase + i * n
                                    for k in k0..<k1 {
                                        let x = a[i * n + k]
                                        let row = b.baseAddress! + k * n
                                        for j in j0..<j1 { out[j] += x * row[j] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return c.map { UInt32($0) }
    }

    /// The answer over a computed product C (n² entries, row-major): the root, then the openings it selects.
    /// Hashes the leaves and levels on `threads` threads.
    /// - Complexity: O(n²) hashes.
    public func answer(device: UInt8, product: UnsafeBufferPointer<UInt32>, threads: Int) -> GPUChallengeAnswer {
        precondition(product.count == size * size, "the product has \(product.count) entries, not \(size * size)")
        var levels: [[Hash]] = []
        let leaves = leafCount
        var level = [Hash](repeating: .zero, count: leaves)
        let workers = max(1, threads)
        level.withUnsafeMutableBufferPointer { out in
            let shared = Disjoint((out.baseAddress!, product))
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let (outBase, product) = shared.value
                for i in (leaves * worker / workers)..<(leaves * (worker + 1) / workers) {
                    let slice = UnsafeBufferPointer(
                        rebasing: product[(i * Self.leafEntries)..<((i + 1) * Self.leafEntries)])
                    outBase[i] = Self.leafHash(slice)
                }
            }
        }
        levels.append(level)
        while level.count > 1 {
            let below = level
            let width = (below.count + 1) / 2
            level = [Hash](repeating: .zero, count: width)
            below.withUnsafeBufferPointer { below in
                level.withUnsafeMutableBufferPointer { out in
                    let shared = Disjoint((out.baseAddress!, below))
                    let parallel = width >= 4096 ? workers : 1
                    DispatchQueue.concurrentPerform(iterations: parallel) { worker in
                        let (outBase, below) = shared.value
                        for i in (width * worker / parallel)..<(width * (worker + 1) / parallel) {
                            outBase[i] =
                                2 * i + 1 < below.count ? Self.nodeHash(below[2 * i], below[2 * i + 1]) : below[2 * i]
                        }
                    }
                }
            }
            levels.append(level)
        }
        let root = level[0]
        let openings = sampledLeaves(root: root).map { leaf in
            var path: [Hash] = []
            var index = leaf
            for l in levels.dropLast() {
                let sibling = index ^ 1
                if sibling < l.count { path.append(l[sibling]) }
                index >>= 1
            }
            let values = Array(product[(leaf * Self.leafEntries)..<((leaf + 1) * Self.leafEntries)])
            return GPUChallengeOpening(leaf: UInt64(leaf), values: values, path: path)
        }
        return GPUChallengeAnswer(device: device, root: root, openings: openings)
    }

    /// The whole answer on the CPU.
    public func answerOnCPU(device: UInt8, threads: Int) -> GPUChallengeAnswer {
        let c = productOnCPU(threads: threads)
        return c.withUnsafeBufferPointer { answer(device: device, product: $0, threads: threads) }
    }
}

/// Buffers shared by the workers of one loop, each writing a disjoint range.
private struct Disjoint<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
