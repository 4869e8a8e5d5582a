public import SluiceCore

// What a validator has promised, kept on disk. Every vote, timeout and order vote is signed only after
// the promise it makes is saved (and synced), so a validator that crashes and restarts at any moment
// never signs two different things for one round: it resends what it signed, or refuses.

/// The safety rules' persistent state for one validator.
public struct SafetyData: Hashable, Sendable {
    public var epoch: UInt64
    /// The highest round this validator voted or timed out in; it votes only in higher rounds.
    public var lastVotedRound: UInt64 = 0
    /// The highest parent round of a certificate it saw (the 2-chain's locked round).
    public var preferredRound: UInt64 = 0
    /// The highest round it saw certified; its timeouts carry a certificate at least this high.
    public var oneChainRound: UInt64 = 0
    /// The highest round it timed out; it order-votes only above it.
    public var highestTimeoutRound: UInt64 = 0
    /// The highest round it order-voted; it never times out at or below it.
    public var highestOrderVoteRound: UInt64 = 0
    /// Its last vote, resent as is if the same proposal comes again.
    public var lastVote: Vote?
    /// Its last timeout, resent as is while the round lasts.
    public var lastTimeout: TimeoutVote?
    /// Its last order vote.
    public var lastOrderVote: OrderVote?
    /// The certificate of `oneChainRound`, so that after a restart its timeouts still carry one that high.
    public var highQC: QuorumCertificate?

    public init(epoch: UInt64) { self.epoch = epoch }
}

extension SafetyData: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(epoch)
        w.write(lastVotedRound)
        w.write(preferredRound)
        w.write(oneChainRound)
        w.write(highestTimeoutRound)
        w.write(highestOrderVoteRound)
        w.writeOptional(lastVote)
        w.writeOptional(lastTimeout)
        w.writeOptional(lastOrderVote)
        w.writeOptional(highQC)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        epoch = try r.read(UInt64.self)
        lastVotedRound = try r.read(UInt64.self)
        preferredRound = try r.read(UInt64.self)
        oneChainRound = try r.read(UInt64.self)
        highestTimeoutRound = try r.read(UInt64.self)
        highestOrderVoteRound = try r.read(UInt64.self)
        lastVote = try r.readOptional(Vote.self)
        lastTimeout = try r.readOptional(TimeoutVote.self)
        lastOrderVote = try r.readOptional(OrderVote.self)
        highQC = try r.readOptional(QuorumCertificate.self)
    }
}
