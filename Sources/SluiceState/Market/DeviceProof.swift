public import SluiceCore

/// One device class's proof of GPU (docs/MARKET.md, "Proof of GPU"): the current challenge and the record.
public struct DeviceProof: Hashable, Sendable {
    /// Rounds issued so far; the current challenge's seed and side.
    public var round: UInt32
    public var seed: Hash
    public var size: UInt32
    /// Unix seconds by which the current challenge must be answered.
    public var deadline: UInt64
    /// A challenge is waiting for its answer.
    public var pending: Bool
    /// It passed the latest round that was decided: it may be matched. A new round keeps it eligible while
    /// pending; a missed deadline clears it, the next passed round sets it again.
    public var eligible: Bool
    public var passed: UInt32
    public var failed: UInt32
    /// The block of its latest passed proof (0: none).
    public var verifiedHeight: UInt64

    public init() {
        round = 0
        seed = .zero
        size = 0
        deadline = 0
        pending = false
        eligible = false
        passed = 0
        failed = 0
        verifiedHeight = 0
    }

    public var challenge: GPUChallenge { GPUChallenge(seed: seed, size: Int(size)) }
}

extension DeviceProof: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(round)
        w.write(seed)
        w.write(size)
        w.write(deadline)
        w.write(pending)
        w.write(eligible)
        w.write(passed)
        w.write(failed)
        w.write(verifiedHeight)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        round = try r.read(UInt32.self)
        seed = try r.readHash()
        size = try r.read(UInt32.self)
        deadline = try r.read(UInt64.self)
        pending = try r.readBool()
        eligible = try r.readBool()
        passed = try r.read(UInt32.self)
        failed = try r.read(UInt32.self)
        verifiedHeight = try r.read(UInt64.self)
    }
}
