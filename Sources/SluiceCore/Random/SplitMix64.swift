/// SplitMix64: a tiny, fast, deterministic pseudo-random generator.
///
/// For reproducible things only — benchmark workloads, property tests, and (later) choices the chain
/// derives from a public seed such as a block hash. Never for keys or secrets.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The amount the state advances by per output (2^64 / φ).
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// The output for a state: output i of a generator seeded with s is `mix(s &+ i &* increment)`, so any
    /// position of the stream can be computed directly (the proof-of-GPU matrices do).
    @inlinable
    public static func mix(_ state: UInt64) -> UInt64 {
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<n` (n > 0), by rejection so that it is unbiased.
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(truncatingIfNeeded: next(upperBound: UInt64(n)))
    }
}
