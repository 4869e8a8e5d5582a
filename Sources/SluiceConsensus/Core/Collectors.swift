import SluiceCore

// Votes, timeouts and order votes gathered per round until they hold a quorum. One message per validator
// per round counts; a second, different vote of the same validator in a round is kept as evidence. Rounds
// below the committed one are pruned, and rounds too far ahead are never admitted (the core checks), so
// the collectors stay bounded whatever peers send.

struct VoteCollector {
    private var tallies: [UInt64: [VoteData: SignatureTally]] = [:]
    private var first: [UInt64: [UInt16: Vote]] = [:]

    enum Added {
        case duplicate
        case equivocation(Vote)
        case counted(SignatureTally)
    }

    mutating func add(_ v: Vote, power: UInt64) -> Added {
        let r = v.data.round
        if let earlier = first[r]?[v.voter] {
            return earlier.data == v.data ? .duplicate : .equivocation(earlier)
        }
        first[r, default: [:]][v.voter] = v
        var tally = tallies[r]?[v.data] ?? SignatureTally()
        _ = tally.add(v.voter, v.signature, power: power)
        tallies[r, default: [:]][v.data] = tally
        return .counted(tally)
    }

    mutating func prune(below round: UInt64) {
        tallies = tallies.filter { $0.key >= round }
        first = first.filter { $0.key >= round }
    }
}

struct TimeoutCollector {
    struct Round {
        var entries: [UInt16: TimeoutCertificate.Entry] = [:]
        var power: UInt64 = 0
        var highQC: QuorumCertificate?
    }
    private var rounds: [UInt64: Round] = [:]

    /// Adds a checked timeout with the certificate its sender holds; returns the round's gathering.
    mutating func add(_ t: TimeoutVote, highQC: QuorumCertificate, power: UInt64) -> Round? {
        var round = rounds[t.round] ?? Round()
        guard round.entries[t.voter] == nil else { return nil }
        round.entries[t.voter] = .init(voter: t.voter, highQCRound: t.highQCRound, signature: t.signature)
        round.power += power
        if highQC.round > (round.highQC?.round ?? 0) || round.highQC == nil { round.highQC = highQC }
        rounds[t.round] = round
        return round
    }

    mutating func prune(below round: UInt64) { rounds = rounds.filter { $0.key >= round } }
}

struct OrderVoteCollector {
    struct Key: Hashable {
        var blockId: Hash
        var height: UInt64
    }
    private var tallies: [UInt64: [Key: SignatureTally]] = [:]
    private var voted: [UInt64: Set<UInt16>] = [:]

    mutating func add(_ o: OrderVote, power: UInt64) -> SignatureTally? {
        guard voted[o.round, default: []].insert(o.voter).inserted else { return nil }
        let key = Key(blockId: o.blockId, height: o.height)
        var tally = tallies[o.round]?[key] ?? SignatureTally()
        _ = tally.add(o.voter, o.signature, power: power)
        tallies[o.round, default: [:]][key] = tally
        return tally
    }

    mutating func prune(below round: UInt64) {
        tallies = tallies.filter { $0.key >= round }
        voted = voted.filter { $0.key >= round }
    }
}

/// Digests of certificates already checked, so a certificate that arrives many times (in every
/// proposal, timeout and sync message) is verified once.
struct VerifiedCache {
    private var digests = Set<Hash>()
    static let capacity = 4096

    func contains(_ d: Hash) -> Bool { digests.contains(d) }

    mutating func insert(_ d: Hash) {
        if digests.count >= Self.capacity { digests.removeAll(keepingCapacity: true) }
        digests.insert(d)
    }
}
