public import SluiceCore

// Votes and quorum certificates. A vote names the block it is for and that block's parent, so that a
// certificate alone says whether it commits: a quorum on block B of round r + 1 whose parent P has
// round r commits P (the 2-chain rule). The certificate that commits a block is therefore also the proof
// a syncing node checks before it accepts that block as committed.

/// What a vote is for: a block and its parent.
public struct VoteData: Hashable, Sendable {
    public var epoch: UInt64
    public var round: UInt64
    public var blockId: Hash
    public var height: UInt64
    public var parentId: Hash
    public var parentRound: UInt64

    public init(epoch: UInt64, round: UInt64, blockId: Hash, height: UInt64, parentId: Hash, parentRound: UInt64) {
        self.epoch = epoch
        self.round = round
        self.blockId = blockId
        self.height = height
        self.parentId = parentId
        self.parentRound = parentRound
    }

    /// The block this certifies commits, by the 2-chain rule: the parent when the rounds are consecutive.
    public var committedParent: (id: Hash, round: UInt64, height: UInt64)? {
        guard height > 0, round == parentRound &+ 1 else { return nil }
        return (parentId, parentRound, height - 1)
    }
}

extension VoteData: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(epoch)
        w.write(round)
        w.write(blockId)
        w.write(height)
        w.write(parentId)
        w.write(parentRound)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        epoch = try r.read(UInt64.self)
        round = try r.read(UInt64.self)
        blockId = try r.readHash()
        height = try r.read(UInt64.self)
        parentId = try r.readHash()
        parentRound = try r.read(UInt64.self)
    }
}

/// One validator's vote for a block.
public struct Vote: Hashable, Sendable {
    public var data: VoteData
    public var voter: UInt16
    public var signature: [UInt8]

    public init(data: VoteData, voter: UInt16, signature: [UInt8]) {
        self.data = data
        self.voter = voter
        self.signature = signature
    }

    public func verify(in context: VerificationContext) throws(ConsensusError) {
        guard data.epoch == context.epoch else { throw .invalid("vote for epoch \(data.epoch), not \(context.epoch)") }
        guard context.check(signature, by: voter, domain: .vote, body: data.canonicalBytes) else {
            throw .invalid("vote by validator \(voter) for round \(data.round): the signature does not hold")
        }
    }
}

extension Vote: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(data)
        w.write(voter)
        w.writeBytes(signature)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        data = try r.read(VoteData.self)
        voter = try r.read(UInt16.self)
        signature = try r.readBytes(max: ConsensusLimits.signatureBytes, field: "signature")
    }
}

/// Votes of more than two thirds of the power for one block.
public struct QuorumCertificate: Hashable, Sendable {
    public var data: VoteData
    /// Ascending by validator index; empty only for the genesis certificate.
    public var signatures: [IndexedSignature]

    public init(data: VoteData, signatures: [IndexedSignature]) {
        self.data = data
        self.signatures = signatures
    }

    /// The certificate of an epoch's first block: nobody signs it, everyone knows it.
    public static func genesis(epoch: UInt64, blockId: Hash, height: UInt64) -> QuorumCertificate {
        QuorumCertificate(
            data: VoteData(epoch: epoch, round: 0, blockId: blockId, height: height, parentId: .zero, parentRound: 0),
            signatures: [])
    }

    public var round: UInt64 { data.round }
    public var blockId: Hash { data.blockId }
    public var isGenesis: Bool { signatures.isEmpty }

    /// The hash a block header names as its parent's certificate.
    public var hash: Hash { Hash.sha256(canonicalBytes) }

    public func verify(in context: VerificationContext) throws(ConsensusError) {
        guard data.epoch == context.epoch else {
            throw .invalid("certificate for epoch \(data.epoch), not \(context.epoch)")
        }
        if signatures.isEmpty {
            guard data.round == 0, data.blockId == context.genesisId else {
                throw .invalid("a certificate without signatures that is not the epoch's genesis")
            }
            return
        }
        try QuorumSignatures.verify(
            signatures, domain: .vote, body: data.canonicalBytes, in: context,
            what: "certificate for round \(data.round)")
    }
}

extension QuorumCertificate: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(data)
        w.writeArray(signatures)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        data = try r.read(VoteData.self)
        signatures = try QuorumSignatures.read(&r)
    }
}
