public import SluiceCore

// A block as consensus sees it: a round, an author, the certificate of its parent, and an opaque
// payload (the node's: the transactions it orders). Consensus knows blocks, not modules; what a payload
// means is checked by the node's `PayloadProvider` before anyone votes for it.
//
// `failedAuthors` records the leaders of the rounds between the parent and this block that produced no
// block (at most the last `ConsensusLimits.failedAuthors` of them). Committed, it is the history the
// leader schedule's reputation reads, the same on every node; voters check it against their own schedule.

/// A proposed block.
public struct ConsensusBlock: Hashable, Sendable {
    public let epoch: UInt64
    public let round: UInt64
    public let height: UInt64
    /// The proposer's index in the epoch's set.
    public let author: UInt16
    /// Milliseconds since the Unix epoch; later than the parent's.
    public let timestamp: UInt64
    public let parentId: Hash
    /// Certifies the parent.
    public let quorumCertificate: QuorumCertificate
    /// Leaders of the failed rounds just before this one, oldest first.
    public let failedAuthors: [UInt16]
    public let payload: [UInt8]
    /// SHA-256 of the encoding.
    public let id: Hash

    public init(
        epoch: UInt64, round: UInt64, height: UInt64, author: UInt16, timestamp: UInt64,
        quorumCertificate: QuorumCertificate, failedAuthors: [UInt16] = [], payload: [UInt8]
    ) {
        self.epoch = epoch
        self.round = round
        self.height = height
        self.author = author
        self.timestamp = timestamp
        parentId = quorumCertificate.blockId
        self.quorumCertificate = quorumCertificate
        self.failedAuthors = failedAuthors
        self.payload = payload
        var w = CanonicalWriter(capacity: payload.count + 256)
        Self.encodeFields(
            &w, epoch, round, height, author, timestamp, quorumCertificate, failedAuthors, payload)
        id = Hash.sha256(w.bytes)
    }

    /// The first block of an epoch: round 0, no parent, no payload; its id is what the genesis certificate
    /// certifies. `height` is the committed height the epoch starts from, `seed` tells chains apart.
    public static func genesis(epoch: UInt64, height: UInt64, timestamp: UInt64, seed: Hash) -> ConsensusBlock {
        ConsensusBlock(
            epoch: epoch, round: 0, height: height, author: 0, timestamp: timestamp,
            quorumCertificate: QuorumCertificate(
                data: VoteData(epoch: epoch, round: 0, blockId: seed, height: height, parentId: .zero, parentRound: 0),
                signatures: []),
            payload: [])
    }

    public var isGenesis: Bool { round == 0 }

    /// What a vote for this block signs.
    public var voteData: VoteData {
        VoteData(
            epoch: epoch, round: round, blockId: id, height: height, parentId: parentId,
            parentRound: quorumCertificate.round)
    }

    private static func encodeFields(
        _ w: inout CanonicalWriter, _ epoch: UInt64, _ round: UInt64, _ height: UInt64, _ author: UInt16,
        _ timestamp: UInt64, _ qc: QuorumCertificate, _ failedAuthors: [UInt16], _ payload: [UInt8]
    ) {
        w.write(epoch)
        w.write(round)
        w.write(height)
        w.write(author)
        w.write(timestamp)
        w.write(qc)
        w.writeULEB(UInt64(failedAuthors.count))
        for a in failedAuthors { w.write(a) }
        w.writeBytes(payload)
    }
}

extension ConsensusBlock: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        Self.encodeFields(&w, epoch, round, height, author, timestamp, quorumCertificate, failedAuthors, payload)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        let epoch = try r.read(UInt64.self)
        let round = try r.read(UInt64.self)
        let height = try r.read(UInt64.self)
        let author = try r.read(UInt16.self)
        let timestamp = try r.read(UInt64.self)
        let qc = try r.read(QuorumCertificate.self)
        let count = try r.readLength(max: ConsensusLimits.failedAuthors, field: "failed authors")
        var failed: [UInt16] = []
        for _ in 0..<count { failed.append(try r.read(UInt16.self)) }
        let payload = try r.readBytes(max: ConsensusLimits.payloadBytes, field: "payload")
        self.init(
            epoch: epoch, round: round, height: height, author: author, timestamp: timestamp, quorumCertificate: qc,
            failedAuthors: failed, payload: payload)
    }
}

/// A leader's signed block, with the timeout certificate of the previous round when the block does not
/// extend a certificate of that round.
public struct Proposal: Hashable, Sendable {
    public var block: ConsensusBlock
    public var signature: [UInt8]
    public var timeoutCertificate: TimeoutCertificate?

    public init(block: ConsensusBlock, signature: [UInt8], timeoutCertificate: TimeoutCertificate?) {
        self.block = block
        self.signature = signature
        self.timeoutCertificate = timeoutCertificate
    }

    /// What the author signs: the block's id (which commits to everything in it).
    static func body(_ block: ConsensusBlock) -> [UInt8] {
        var w = CanonicalWriter(capacity: 48)
        w.write(block.epoch)
        w.write(block.round)
        w.write(block.id)
        return w.bytes
    }

    /// Checks the author's signature, the fit of the parent's certificate and of the timeout certificate,
    /// and (with `certificates`) their signatures; not the payload, the leader schedule or the safety rules
    /// (the core does).
    public func verify(in context: VerificationContext, certificates: Bool = true) throws(ConsensusError) {
        let b = block
        guard b.epoch == context.epoch else { throw .invalid("proposal for epoch \(b.epoch), not \(context.epoch)") }
        guard b.round > 0 else { throw .invalid("a proposal for round 0") }
        guard context.check(signature, by: b.author, domain: .proposal, body: Self.body(b)) else {
            throw .invalid("proposal for round \(b.round) by validator \(b.author): the signature does not hold")
        }
        guard b.quorumCertificate.round < b.round else {
            throw .invalid("proposal for round \(b.round) extends a certificate of round \(b.quorumCertificate.round)")
        }
        guard b.height == b.quorumCertificate.data.height + 1 else {
            throw .invalid("proposal at height \(b.height) on a parent at height \(b.quorumCertificate.data.height)")
        }
        if b.round != b.quorumCertificate.round + 1 {
            guard let tc = timeoutCertificate, tc.round + 1 == b.round else {
                throw .invalid(
                    "proposal for round \(b.round) extends round \(b.quorumCertificate.round) without a timeout "
                        + "certificate for round \(b.round - 1)")
            }
            guard b.quorumCertificate.round >= tc.highestQCRound else {
                throw .invalid(
                    "proposal for round \(b.round) extends round \(b.quorumCertificate.round), below the round "
                        + "\(tc.highestQCRound) its timeout certificate's signers had certified")
            }
            if certificates { try tc.verify(in: context) }
        }
        if certificates { try b.quorumCertificate.verify(in: context) }
    }
}

extension Proposal: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(block)
        w.writeBytes(signature)
        w.writeOptional(timeoutCertificate)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        block = try r.read(ConsensusBlock.self)
        signature = try r.readBytes(max: ConsensusLimits.signatureBytes, field: "signature")
        timeoutCertificate = try r.readOptional(TimeoutCertificate.self)
    }
}
