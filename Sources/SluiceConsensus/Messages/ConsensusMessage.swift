public import SluiceCore

// The messages validators exchange. Each is decoded strictly (one encoding per value, bounded lengths),
// then checked by the core before it changes anything: a message that fails either is dropped with its
// reason, never half applied.

/// A validator's timeout of a round, with what lets others catch up: its highest certificate and the
/// timeout certificate that brought it to this round.
public struct TimeoutMessage: Hashable, Sendable {
    public var vote: TimeoutVote
    public var highQC: QuorumCertificate
    public var lastTC: TimeoutCertificate?

    public init(vote: TimeoutVote, highQC: QuorumCertificate, lastTC: TimeoutCertificate?) {
        self.vote = vote
        self.highQC = highQC
        self.lastTC = lastTC
    }
}

/// Where a validator stands, sent to one that is behind.
public struct SyncInfo: Hashable, Sendable {
    public var highQC: QuorumCertificate
    public var highTC: TimeoutCertificate?
    public var commitProof: CommitProof?

    public init(highQC: QuorumCertificate, highTC: TimeoutCertificate?, commitProof: CommitProof?) {
        self.highQC = highQC
        self.highTC = highTC
        self.commitProof = commitProof
    }
}

/// Asks for a block and up to `count - 1` of its ancestors.
public struct BlockRequest: Hashable, Sendable {
    public var blockId: Hash
    public var count: UInt16
    public init(blockId: Hash, count: UInt16) {
        self.blockId = blockId
        self.count = count
    }
}

/// Committed blocks from `fromHeight` on, ascending, for a node too far behind to connect uncommitted ones.
public struct LedgerRequest: Hashable, Sendable {
    public var fromHeight: UInt64
    public init(fromHeight: UInt64) { self.fromHeight = fromHeight }
}

/// Committed blocks, ascending, and the proof that the last of them is committed.
public struct LedgerResponse: Hashable, Sendable {
    public var blocks: [ConsensusBlock]
    public var proof: CommitProof
    public init(blocks: [ConsensusBlock], proof: CommitProof) {
        self.blocks = blocks
        self.proof = proof
    }
}

/// A message between validators.
public enum ConsensusMessage: Hashable, Sendable {
    case proposal(Proposal)
    case vote(Vote)
    case timeout(TimeoutMessage)
    case orderVote(OrderVote)
    case syncInfo(SyncInfo)
    case blockRequest(BlockRequest)
    /// The requested block first, then its ancestors, newest to oldest.
    case blockResponse([ConsensusBlock])
    case ledgerRequest(LedgerRequest)
    case ledgerResponse(LedgerResponse)

    /// A short name for logs.
    public var kind: String {
        switch self {
        case .proposal: "proposal"
        case .vote: "vote"
        case .timeout: "timeout"
        case .orderVote: "order vote"
        case .syncInfo: "sync info"
        case .blockRequest: "block request"
        case .blockResponse: "block response"
        case .ledgerRequest: "ledger request"
        case .ledgerResponse: "ledger response"
        }
    }

    /// Decodes a message from a peer; the error says what is wrong with it.
    public init(wire bytes: [UInt8]) throws(ConsensusError) {
        guard bytes.count <= ConsensusLimits.messageBytes else {
            throw .invalid("a \(bytes.count)-byte message, over \(ConsensusLimits.messageBytes)")
        }
        do throws(CoreError) {
            self = try ConsensusMessage(
                canonicalBytes: bytes,
                limits: CanonicalReader.Limits(maxBytes: ConsensusLimits.payloadBytes, maxElements: 1 << 16))
        } catch { throw ConsensusError(decoding: "a consensus message", error) }
    }
}

extension TimeoutMessage: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(vote)
        w.write(highQC)
        w.writeOptional(lastTC)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        vote = try r.read(TimeoutVote.self)
        highQC = try r.read(QuorumCertificate.self)
        lastTC = try r.readOptional(TimeoutCertificate.self)
    }
}

extension SyncInfo: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(highQC)
        w.writeOptional(highTC)
        w.writeOptional(commitProof)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        highQC = try r.read(QuorumCertificate.self)
        highTC = try r.readOptional(TimeoutCertificate.self)
        commitProof = try r.readOptional(CommitProof.self)
    }
}

extension BlockRequest: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(blockId)
        w.write(count)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        blockId = try r.readHash()
        count = try r.read(UInt16.self)
    }
}

extension LedgerRequest: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) { w.write(fromHeight) }
    public init(from r: inout CanonicalReader) throws(CoreError) { fromHeight = try r.read(UInt64.self) }
}

extension LedgerResponse: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.writeArray(blocks)
        w.write(proof)
    }
    public init(from r: inout CanonicalReader) throws(CoreError) {
        blocks = try r.readArray(ConsensusBlock.self, max: ConsensusLimits.blocksPerResponse, field: "blocks")
        proof = try r.read(CommitProof.self)
    }
}

extension ConsensusMessage: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        switch self {
        case .proposal(let m):
            w.writeULEB(0)
            w.write(m)
        case .vote(let m):
            w.writeULEB(1)
            w.write(m)
        case .timeout(let m):
            w.writeULEB(2)
            w.write(m)
        case .orderVote(let m):
            w.writeULEB(3)
            w.write(m)
        case .syncInfo(let m):
            w.writeULEB(4)
            w.write(m)
        case .blockRequest(let m):
            w.writeULEB(5)
            w.write(m)
        case .blockResponse(let blocks):
            w.writeULEB(6)
            w.writeArray(blocks)
        case .ledgerRequest(let m):
            w.writeULEB(7)
            w.write(m)
        case .ledgerResponse(let m):
            w.writeULEB(8)
            w.write(m)
        }
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        switch try r.readULEB() {
        case 0: self = .proposal(try r.read(Proposal.self))
        case 1: self = .vote(try r.read(Vote.self))
        case 2: self = .timeout(try r.read(TimeoutMessage.self))
        case 3: self = .orderVote(try r.read(OrderVote.self))
        case 4: self = .syncInfo(try r.read(SyncInfo.self))
        case 5: self = .blockRequest(try r.read(BlockRequest.self))
        case 6:
            self = .blockResponse(
                try r.readArray(ConsensusBlock.self, max: ConsensusLimits.blocksPerResponse, field: "blocks"))
        case 7: self = .ledgerRequest(try r.read(LedgerRequest.self))
        case 8: self = .ledgerResponse(try r.read(LedgerResponse.self))
        case let t: throw CoreError(.codec, "unknown consensus message tag \(t)")
        }
    }
}
