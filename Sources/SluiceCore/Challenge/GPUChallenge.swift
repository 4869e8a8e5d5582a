// Proof of GPU (docs/MARKET.md, "Proof of GPU"): the chain hands a provider's device a seed; the device must
// compute the product C = A·B of two n×n matrices derived from the seed and answer, before a deadline, with a
// Merkle root over C and a few openings of C that the chain checks by recomputing them.
//
// Why this shape:
// - The entries of A and B are 4-bit integers (0…15), so every entry of C is an integer below n·225 < 2^24:
//   exact in FP32 whatever the summation order. A GPU computes it with plain float multiply-adds (no special
//   kernel, no rounding question) and the chain, the CPU and every GPU agree bit for bit.
// - Any single entry of C costs O(n) to recompute (one row of A, one column of B, both generated from the seed
//   by index), so the chain checks an opening in microseconds while the product costs n³ multiply-adds.
// - The openings are chosen from the root itself (Fiat–Shamir): a device that computed only a fraction f of C
//   passes with probability f^samples, and every new guess costs it a new root over all of C.
// - The deadline bounds the time: n is sized from the score the provider claims, so a device far slower than
//   its claim (a CPU posing as a GPU, a small GPU posing as a large one) cannot answer in time.
//
// The Merkle tree: leaf i holds entries 8i…8i+7 of C in row-major order (little-endian u32), hashed as
// SHA-256(0x00 ‖ 32 bytes); a node is SHA-256(0x01 ‖ left ‖ right); a level of odd length carries its last node
// up unchanged. The opening of a leaf lists the sibling hashes from the leaf up, skipping carried levels.

import Foundation

/// A proof-of-GPU challenge: the seed and the side of the matrices.
public struct GPUChallenge: Hashable, Sendable {
    public var seed: Hash
    public var size: Int

    /// Entries per Merkle leaf, openings per answer, and the bounds of n (a multiple of `sizeStep`).
    public static let leafEntries = 8
    public static let samples = 8
    public static let minimumSize = 64
    public static let maximumSize = 16384
    public static let sizeStep = 64

    public init(seed: Hash, size: Int) {
        self.seed = seed
        self.size = size
    }

    /// The seed of a device's challenge: the block's seed, the provider, the device's index and the round.
    public static func seed(block: Hash, provider: Address, device: Int, round: UInt32) -> Hash {
        var w = CanonicalWriter(capacity: 96)
        for b in "SLUICE::pog".utf8 { w.write(b) }
        w.write(block)
        w.write(provider)
        w.write(UInt32(device))
        w.write(round)
        return Hash.sha256(w.bytes)
    }

    /// The side n for a device: the product takes about `targetMilliseconds` at the speed the device claims
    /// (a GPU's score is FP32 GFLOPS, a multiply-add counting two; a CPU's is millions of multiply-adds per
    /// second per core, `count` cores), within [minimumSize, maximumSize], and the three matrices fit in half
    /// its memory.
    public static func size(for device: GPUDevice, targetMilliseconds: UInt64) -> Int {
        let perSecond = claimedMultiplyAddsPerSecond(device)
        let work = perSecond * Double(targetMilliseconds) / 1000
        var n = Int(min(Double(maximumSize), work > 0 ? cbrt(work) : 0))
        if device.vramGB > 0 {
            // 3 n² four-byte entries ≤ half the memory.
            let fit = Int((Double(device.vramGB) * Double(1 << 30) / 24).squareRoot())
            n = min(n, fit)
        }
        n = n / sizeStep * sizeStep
        return max(minimumSize, min(maximumSize, n))
    }

    /// Multiply-adds per second at the speed a device claims: a GPU's score is FP32 GFLOPS (a multiply-add
    /// counts two), a CPU's is millions of multiply-adds per second per core, times its cores.
    static func claimedMultiplyAddsPerSecond(_ device: GPUDevice) -> Double {
        device.model == "cpu"
            ? Double(device.score) * 1e6 * Double(max(1, device.count))
            : Double(device.score) * 1e9 / 2
    }

    /// The expected time at the claimed speed, in milliseconds (rounded up; at least 1).
    public static func expectedMilliseconds(size n: Int, device: GPUDevice) -> UInt64 {
        let perSecond = claimedMultiplyAddsPerSecond(device)
        guard perSecond > 0 else { return UInt64(Int32.max) }
        let ms = Double(n) * Double(n) * Double(n) / perSecond * 1000
        return UInt64(max(1, min(Double(UInt32.max), ms.rounded(.up))))
    }

    // MARK: The matrices

    /// The two 64-bit streams: A from the seed's first word, B from its second.
    @inlinable public var seedA: UInt64 { seed.w0 }
    @inlinable public var seedB: UInt64 { seed.w1 }

    /// Entry `index` (row-major) of the matrix with stream `stream`: the top 4 bits of SplitMix64's output at
    /// position index + 1.
    @inlinable
    public static func element(_ stream: UInt64, _ index: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: SplitMix64.mix(stream &+ (index &+ 1) &* SplitMix64.increment) >> 60)
    }

    /// C[row][column], computed from the seed in O(n).
    public func entry(row: Int, column: Int) -> UInt32 {
        let n = UInt64(size)
        var sum: UInt32 = 0
        for k in 0..<n {
            sum &+= Self.element(seedA, UInt64(row) * n + k) &* Self.element(seedB, k * n + UInt64(column))
        }
        return sum
    }

    public var leafCount: Int { size * size / Self.leafEntries }

    /// The leaves the answer must open: chosen from the root, so they are unknown until all of C is committed.
    public func sampledLeaves(root: Hash) -> [Int] {
        (0..<Self.samples).map { t in
            var w = CanonicalWriter(capacity: 96)
            for b in "SLUICE::pog-sample".utf8 { w.write(b) }
            w.write(seed)
            w.write(root)
            w.write(UInt32(t))
            return Int(Hash.sha256(w.bytes).w0 % UInt64(leafCount))
        }
    }

    // MARK: The tree

    public static func leafHash(_ values: UnsafeBufferPointer<UInt32>) -> Hash {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &bytes) { raw in
            raw[0] = 0
            for (i, v) in values.prefix(leafEntries).enumerated() {
                raw.storeBytes(of: v.littleEndian, toByteOffset: 1 + 4 * i, as: UInt32.self)
            }
            return Hash.sha256(UnsafeRawBufferPointer(rebasing: raw[0..<(1 + 4 * leafEntries)]))
        }
    }

    public static func nodeHash(_ left: Hash, _ right: Hash) -> Hash { Hash.sha256(tag: 1, left, right) }

    /// Checks an answer: the right leaves opened, their entries equal to C's, their paths leading to the root.
    public func verify(_ answer: GPUChallengeAnswer) -> GPUChallengeFailure? {
        guard size >= Self.minimumSize, size <= Self.maximumSize, size % Self.sizeStep == 0 else {
            return .badSize
        }
        let expected = sampledLeaves(root: answer.root)
        guard answer.openings.count == expected.count else { return .wrongOpenings }
        for (opening, leaf) in zip(answer.openings, expected) {
            guard opening.leaf == UInt64(leaf), opening.values.count == Self.leafEntries else {
                return .wrongOpenings
            }
            let first = leaf * Self.leafEntries
            let row = first / size
            let column = first % size
            for e in 0..<Self.leafEntries where entry(row: row, column: column + e) != opening.values[e] {
                return .wrongValue(row: row, column: column + e)
            }
            var hash = opening.values.withUnsafeBufferPointer { Self.leafHash($0) }
            var index = leaf
            var width = leafCount
            var path = opening.path.makeIterator()
            while width > 1 {
                let sibling = index ^ 1
                if sibling < width {
                    guard let h = path.next() else { return .badPath }
                    hash = index & 1 == 0 ? Self.nodeHash(hash, h) : Self.nodeHash(h, hash)
                }
                index >>= 1
                width = (width + 1) / 2
            }
            guard path.next() == nil, hash == answer.root else { return .badPath }
        }
        return nil
    }
}

/// Why an answer was refused.
public enum GPUChallengeFailure: Hashable, Sendable, CustomStringConvertible {
    case badSize
    case wrongOpenings
    case wrongValue(row: Int, column: Int)
    case badPath

    public var description: String {
        switch self {
        case .badSize: "the challenge's size is out of range"
        case .wrongOpenings: "the answer does not open the leaves its root selects"
        case let .wrongValue(row, column): "C[\(row)][\(column)] is not the product's entry"
        case .badPath: "an opening's path does not lead to the root"
        }
    }
}

/// One opened leaf: its index, its entries and the sibling hashes from the leaf up.
public struct GPUChallengeOpening: Hashable, Sendable {
    public var leaf: UInt64
    public var values: [UInt32]
    public var path: [Hash]

    public init(leaf: UInt64, values: [UInt32], path: [Hash]) {
        self.leaf = leaf
        self.values = values
        self.path = path
    }
}

/// `provider.prove`: the answer for one device's challenge.
public struct GPUChallengeAnswer: Hashable, Sendable {
    /// The index of the device in the provider's offer.
    public var device: UInt8
    public var root: Hash
    public var openings: [GPUChallengeOpening]

    public init(device: UInt8, root: Hash, openings: [GPUChallengeOpening]) {
        self.device = device
        self.root = root
        self.openings = openings
    }
}

extension GPUChallengeOpening: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(leaf)
        w.writeULEB(UInt64(values.count))
        for v in values { w.write(v) }
        w.writeArray(path)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        leaf = try r.read(UInt64.self)
        let count = try r.readLength(max: GPUChallenge.leafEntries)
        values = []
        for _ in 0..<count { values.append(try r.read(UInt32.self)) }
        path = try r.readArray(Hash.self, max: WireLimits.openingPathHashes, field: "opening path")
    }
}

extension GPUChallengeAnswer: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(device)
        w.write(root)
        w.writeArray(openings)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        device = try r.readByte()
        root = try r.readHash()
        openings = try r.readArray(GPUChallengeOpening.self, max: GPUChallenge.samples)
    }
}
