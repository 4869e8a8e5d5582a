public import SluiceCore

// Order votes (AIP-89): once a validator holds a quorum certificate on a block of round r, and has not
// timed out round r, it signs an order vote for that block. More than two thirds of order votes order the
// block at once — three message delays from the proposal (proposal, vote, order vote) instead of the four
// of the 2-chain rule, which waits for the next round's certificate. Safe because a validator never times
// out a round it order-voted (it has moved past it) nor order-votes a round it timed out, so a timeout
// certificate for round r and an order certificate for round r cannot both form, and every later timeout
// certificate carries a certificate of round r or higher.

/// A validator's order vote for a certified block.
public struct OrderVote: Hashable, Sendable {
    public var epoch: UInt64
    public var round: UInt64
    public var blockId: Hash
    public var height: UInt64
    public var voter: UInt16
    public var signature: [UInt8]

    public init(epoch: UInt64, round: UInt64, blockId: Hash, height: UInt64, voter: UInt16, signature: [UInt8]) {
        self.epoch = epoch
        self.round = round
        self.blockId = blockId
        self.height = height
        self.voter = voter
        self.signature = signature
    }

    static func body(epoch: UInt64, round: UInt64, blockId: Hash, height: UInt64) -> [UInt8] {
        var w = CanonicalWriter(capacity: 56)
        w.write(epoch)
        w.write(round)
        w.write(blockId)
        w.write(height)
        return w.bytes
    }

    public func verify(in context: VerificationContext) throws(ConsensusError) {
        guard epoch == context.epoch else { throw .invalid("order vote for epoch \(epoch), not \(context.epoch)") }
        let body = Self.body(epoch: epoch, round: round, blockId: blockId, height: height)
        guard context.check(signature, by: voter, domain: .orderVote, body: body) else {
            throw .invalid("order vote by validator \(voter) for round \(round): the signature does not hold")
        }
    }
}

extension OrderVote: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(epoch)
        w.write(round)
        w.write(blockId)
        w.write(height)
        w.write(voter)
        w.writeBytes(signature)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        epoch = try r.read(UInt64.self)
        round = try r.read(UInt64.self)
        blockId = try r.readHash()
        height = try r.read(UInt64.self)
        voter = try r.read(UInt16.self)
        signature = try r.readBytes(max: ConsensusLimits.signatureBytes, field: "signature")
    }
}

/// More than two thirds of order votes for one block: the block and its ancestors are committed.
public struct OrderCertificate: Hashable, Sendable {
    public var epoch: UInt64
    public var round: UInt64
    public var blockId: Hash
    public var height: UInt64
    public var signatures: [IndexedSignature]

    public init(epoch: UInt64, round: UInt64, blockId: Hash, height: UInt64, signatures: [IndexedSignature]) {
        self.epoch = epoch
        self.round = round
        self.blockId = blockId
        self.height = height
        self.signatures = signatures
    }

    public func verify(in context: VerificationContext) throws(ConsensusError) {
        guard epoch == context.epoch else { throw .invalid("order certificate for epoch \(epoch)") }
        try QuorumSignatures.verify(
            signatures, domain: .orderVote,
            body: OrderVote.body(epoch: epoch, round: round, blockId: blockId, height: height),
            in: context, what: "order certificate for round \(round)")
    }
}

extension OrderCertificate: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(epoch)
        w.write(round)
        w.write(blockId)
        w.write(height)
        w.writeArray(signatures)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        epoch = try r.read(UInt64.self)
        round = try r.read(UInt64.self)
        blockId = try r.readHash()
        height = try r.read(UInt64.self)
        signatures = try QuorumSignatures.read(&r)
    }
}

/// Proof that a block is committed: a certificate with consecutive rounds on its child (2-chain), or an
/// order certificate on the block itself.
public enum CommitProof: Hashable, Sendable {
    case chained(QuorumCertificate)
    case ordered(OrderCertificate)

    /// The committed block this proves: id, round and height.
    public var committed: (id: Hash, round: UInt64, height: UInt64)? {
        switch self {
        case .chained(let qc): qc.data.committedParent
        case .ordered(let oc): (oc.blockId, oc.round, oc.height)
        }
    }

    public func verify(in context: VerificationContext) throws(ConsensusError) {
        switch self {
        case .chained(let qc):
            guard qc.data.committedParent != nil else { throw .invalid("a certificate whose rounds do not chain") }
            try qc.verify(in: context)
        case .ordered(let oc): try oc.verify(in: context)
        }
    }
}

extension CommitProof: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        switch self {
        case .chained(let qc):
            w.writeULEB(0)
            w.write(qc)
        case .ordered(let oc):
            w.writeULEB(1)
            w.write(oc)
        }
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        switch try r.readULEB() {
        case 0: self = .chained(try r.read(QuorumCertificate.self))
        case 1: self = .ordered(try r.read(OrderCertificate.self))
        case let t: throw CoreError(.codec, "unknown commit proof tag \(t)")
        }
    }
}
