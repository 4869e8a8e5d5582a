public import SluiceCore

// Timeouts move the protocol past a round whose leader failed. A validator that times out a round signs
// (epoch, round, the round of its highest certificate) and sends that certificate along; more than two
// thirds of such signatures form a timeout certificate, which lets the next leader propose without a
// certificate of the previous round. The certificate carries the highest certificate its signers had, and
// voters insist the next proposal extends one at least as high: whatever a quorum may have locked on is
// never abandoned.

/// A validator's signed timeout of a round.
public struct TimeoutVote: Hashable, Sendable {
    public var epoch: UInt64
    public var round: UInt64
    /// The round of the highest quorum certificate the signer had.
    public var highQCRound: UInt64
    public var voter: UInt16
    public var signature: [UInt8]

    public init(epoch: UInt64, round: UInt64, highQCRound: UInt64, voter: UInt16, signature: [UInt8]) {
        self.epoch = epoch
        self.round = round
        self.highQCRound = highQCRound
        self.voter = voter
        self.signature = signature
    }

    static func body(epoch: UInt64, round: UInt64, highQCRound: UInt64) -> [UInt8] {
        var w = CanonicalWriter(capacity: 24)
        w.write(epoch)
        w.write(round)
        w.write(highQCRound)
        return w.bytes
    }

    public func verify(in context: VerificationContext) throws(ConsensusError) {
        guard epoch == context.epoch else { throw .invalid("timeout for epoch \(epoch), not \(context.epoch)") }
        guard
            context.check(
                signature, by: voter, domain: .timeout,
                body: Self.body(epoch: epoch, round: round, highQCRound: highQCRound))
        else { throw .invalid("timeout by validator \(voter) for round \(round): the signature does not hold") }
    }
}

extension TimeoutVote: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(epoch)
        w.write(round)
        w.write(highQCRound)
        w.write(voter)
        w.writeBytes(signature)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        epoch = try r.read(UInt64.self)
        round = try r.read(UInt64.self)
        highQCRound = try r.read(UInt64.self)
        voter = try r.read(UInt16.self)
        signature = try r.readBytes(max: ConsensusLimits.signatureBytes, field: "signature")
    }
}

/// More than two thirds of the power timed out a round.
public struct TimeoutCertificate: Hashable, Sendable {
    public struct Entry: Hashable, Sendable, CanonicalCodable {
        public var voter: UInt16
        public var highQCRound: UInt64
        public var signature: [UInt8]
        public init(voter: UInt16, highQCRound: UInt64, signature: [UInt8]) {
            self.voter = voter
            self.highQCRound = highQCRound
            self.signature = signature
        }
        public func encode(to w: inout CanonicalWriter) {
            w.write(voter)
            w.write(highQCRound)
            w.writeBytes(signature)
        }
        public init(from r: inout CanonicalReader) throws(CoreError) {
            voter = try r.read(UInt16.self)
            highQCRound = try r.read(UInt64.self)
            signature = try r.readBytes(max: ConsensusLimits.signatureBytes, field: "signature")
        }
    }

    public var epoch: UInt64
    public var round: UInt64
    /// Ascending by voter.
    public var entries: [Entry]
    /// The highest of the signers' certificates.
    public var highQC: QuorumCertificate

    public init(epoch: UInt64, round: UInt64, entries: [Entry], highQC: QuorumCertificate) {
        self.epoch = epoch
        self.round = round
        self.entries = entries
        self.highQC = highQC
    }

    /// The highest certificate round among the signers: a proposal after this timeout extends at least it.
    public var highestQCRound: UInt64 { entries.map(\.highQCRound).max() ?? 0 }

    public func verify(in context: VerificationContext) throws(ConsensusError) {
        guard epoch == context.epoch else { throw .invalid("timeout certificate for epoch \(epoch)") }
        guard highQC.round >= highestQCRound else {
            throw .invalid(
                "timeout certificate for round \(round) carries a certificate of round \(highQC.round), its signers' "
                    + "highest is \(highestQCRound)")
        }
        guard highQC.round < round else {
            throw .invalid("timeout certificate for round \(round) carries a certificate of a later round")
        }
        var power: UInt64 = 0
        var previous = -1
        for e in entries {
            guard Int(e.voter) > previous, context.validators.validator(e.voter) != nil else {
                throw .invalid("timeout certificate for round \(round): signers are not distinct validators in order")
            }
            previous = Int(e.voter)
            power += context.validators.power(of: e.voter)
        }
        guard power >= context.validators.quorumPower else {
            throw .invalid("timeout certificate for round \(round): its signers hold no quorum")
        }
        for e in entries {
            let body = TimeoutVote.body(epoch: epoch, round: round, highQCRound: e.highQCRound)
            guard context.check(e.signature, by: e.voter, domain: .timeout, body: body) else {
                throw .invalid("timeout certificate for round \(round): validator \(e.voter)'s signature does not hold")
            }
        }
        try highQC.verify(in: context)
    }
}

extension TimeoutCertificate: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(epoch)
        w.write(round)
        w.writeArray(entries)
        w.write(highQC)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        epoch = try r.read(UInt64.self)
        round = try r.read(UInt64.self)
        entries = try r.readArray(Entry.self, max: ConsensusLimits.validators, field: "timeouts")
        for i in entries.indices.dropFirst() where entries[i - 1].voter >= entries[i].voter {
            throw CoreError(.codec, "timeout certificate signers are not in strictly ascending order")
        }
        highQC = try r.read(QuorumCertificate.self)
    }
}
