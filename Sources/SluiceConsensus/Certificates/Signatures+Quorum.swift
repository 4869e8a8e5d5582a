public import SluiceCore

/// What checking a message needs: the chain, the epoch's validators, the genesis of the epoch and a
/// verifier of signatures.
public struct VerificationContext: Sendable {
    public let chainId: UInt64
    public let validators: ValidatorSet
    /// The id of the epoch's first block, which the genesis certificate (no signatures) certifies.
    public let genesisId: Hash
    public let verifier: any ConsensusVerifier

    public init(chainId: UInt64, validators: ValidatorSet, genesisId: Hash, verifier: any ConsensusVerifier) {
        self.chainId = chainId
        self.validators = validators
        self.genesisId = genesisId
        self.verifier = verifier
    }

    var epoch: UInt64 { validators.epoch }

    /// Checks one validator's signature over `body` in `domain`.
    func check(_ signature: [UInt8], by index: UInt16, domain: SigningDomain, body: [UInt8]) -> Bool {
        guard let v = validators.validator(index) else { return false }
        return verifier.isValid(
            signature: signature, message: consensusSigningBytes(domain: domain, chainId: chainId, body: body), by: v)
    }
}

/// A validator's signature, named by its index in the set.
public struct IndexedSignature: Hashable, Sendable {
    public var index: UInt16
    public var signature: [UInt8]
    public init(index: UInt16, signature: [UInt8]) {
        self.index = index
        self.signature = signature
    }
}

extension IndexedSignature: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(index)
        w.writeBytes(signature)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        index = try r.read(UInt16.self)
        signature = try r.readBytes(max: ConsensusLimits.signatureBytes, field: "signature")
    }
}

/// Signatures of distinct validators, ascending by index (one encoding per set of signers).
enum QuorumSignatures {
    static func read(_ r: inout CanonicalReader) throws(CoreError) -> [IndexedSignature] {
        let list = try r.readArray(IndexedSignature.self, max: ConsensusLimits.validators, field: "signatures")
        for i in list.indices.dropFirst() where list[i - 1].index >= list[i].index {
            throw CoreError(.codec, "signatures are not in strictly ascending validator order")
        }
        return list
    }

    /// Checks that the signers are validators, distinct, hold a quorum, and that each signature holds.
    static func verify(
        _ signatures: [IndexedSignature], domain: SigningDomain, body: [UInt8], in context: VerificationContext,
        what: String
    ) throws(ConsensusError) {
        var power: UInt64 = 0
        var previous: Int = -1
        for s in signatures {
            guard Int(s.index) > previous else { throw .invalid("\(what): signers are not distinct and ordered") }
            previous = Int(s.index)
            guard context.validators.validator(s.index) != nil else {
                throw .invalid("\(what): signer \(s.index) is not a validator of epoch \(context.epoch)")
            }
            power += context.validators.power(of: s.index)
        }
        guard power >= context.validators.quorumPower else {
            throw .invalid(
                "\(what): signers hold \(power) of \(context.validators.totalPower) voting power, a quorum is "
                    + "\(context.validators.quorumPower)")
        }
        for s in signatures where !context.check(s.signature, by: s.index, domain: domain, body: body) {
            throw .invalid("\(what): validator \(s.index)'s signature does not hold")
        }
    }
}

/// Adds up votes until they hold a quorum.
struct SignatureTally {
    var signatures: [UInt16: [UInt8]] = [:]
    var power: UInt64 = 0

    /// Adds a signature; false if the validator had already signed.
    mutating func add(_ index: UInt16, _ signature: [UInt8], power p: UInt64) -> Bool {
        guard signatures[index] == nil else { return false }
        signatures[index] = signature
        power += p
        return true
    }

    /// The signatures, ascending by index.
    var sorted: [IndexedSignature] {
        signatures.keys.sorted().map { IndexedSignature(index: $0, signature: signatures[$0]!) }
    }
}
