public import SluiceCore

// The validators of one epoch, their consensus keys and voting power. Indexes into the set (its order by
// address) name validators in every message and certificate: two bytes instead of thirty-two, and a
// signer list that has exactly one encoding. A quorum is more than two thirds of the power, so any two
// quorums share more than a third, hence at least one honest validator while faulty power stays at most
// a third (`maxFaultyPower`).

/// One validator of a set.
public struct ConsensusValidator: Hashable, Sendable {
    /// The account that registered it (stake, rewards and slashes go there).
    public var address: Address
    /// Its consensus public key (Ed25519: 32 bytes), which signs its proposals, votes and timeouts.
    public var publicKey: [UInt8]
    /// Its voting power (its stake, in whole tokens).
    public var power: UInt64

    public init(address: Address, publicKey: [UInt8], power: UInt64) {
        self.address = address
        self.publicKey = publicKey
        self.power = power
    }
}

/// The validator set of an epoch.
public struct ValidatorSet: Hashable, Sendable {
    public let epoch: UInt64
    /// Sorted by address; the position is the validator's index.
    public let validators: [ConsensusValidator]
    public let totalPower: UInt64
    private let indexByAddress: [Address: UInt16]

    /// Refuses an empty set, duplicate addresses or keys, zero power, more than `ConsensusLimits.validators`
    /// validators, or a total power that overflows.
    public init(epoch: UInt64, validators: [ConsensusValidator]) throws(ConsensusError) {
        guard !validators.isEmpty else { throw ConsensusError(.invalidSet, "a validator set needs a validator") }
        guard validators.count <= ConsensusLimits.validators else {
            throw ConsensusError(
                .invalidSet, "\(validators.count) validators: a set holds at most \(ConsensusLimits.validators)")
        }
        let sorted = validators.sorted { $0.address < $1.address }
        var total: UInt64 = 0
        var index: [Address: UInt16] = [:]
        var keys = Set<[UInt8]>()
        for (i, v) in sorted.enumerated() {
            guard v.power > 0 else {
                throw ConsensusError(.invalidSet, "validator \(v.address) has no voting power")
            }
            guard !v.publicKey.isEmpty, v.publicKey.count <= ConsensusLimits.publicKeyBytes else {
                throw ConsensusError(.invalidSet, "validator \(v.address) has a \(v.publicKey.count)-byte key")
            }
            guard index.updateValue(UInt16(i), forKey: v.address) == nil else {
                throw ConsensusError(.invalidSet, "validator \(v.address) appears twice")
            }
            guard keys.insert(v.publicKey).inserted else {
                throw ConsensusError(.invalidSet, "validator \(v.address) shares its consensus key with another")
            }
            let (sum, overflow) = total.addingReportingOverflow(v.power)
            guard !overflow, sum <= UInt64.max / 3 else {
                throw ConsensusError(.invalidSet, "the set's total voting power overflows")
            }
            total = sum
        }
        self.epoch = epoch
        self.validators = sorted
        totalPower = total
        indexByAddress = index
    }

    public var count: Int { validators.count }

    /// The power a certificate needs: more than two thirds of the total.
    public var quorumPower: UInt64 { totalPower * 2 / 3 + 1 }

    /// The most power that may be faulty while the protocol stays safe and live.
    public var maxFaultyPower: UInt64 { (totalPower - 1) / 3 }

    public func index(of address: Address) -> UInt16? { indexByAddress[address] }

    public func validator(_ index: UInt16) -> ConsensusValidator? {
        Int(index) < validators.count ? validators[Int(index)] : nil
    }

    public func power(of index: UInt16) -> UInt64 { validator(index)?.power ?? 0 }

    /// A stable identity of the set (its epoch, keys and powers): what a genesis and a certificate bind to.
    public var hash: Hash {
        var w = CanonicalWriter()
        w.write(epoch)
        w.writeULEB(UInt64(validators.count))
        for v in validators {
            w.write(v.address)
            w.writeBytes(v.publicKey)
            w.write(v.power)
        }
        return Hash.sha256(w.bytes)
    }
}
