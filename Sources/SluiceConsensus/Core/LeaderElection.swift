import SluiceCore

// Who leads a round: a draw weighted by voting power, seeded by the epoch and the round, so every node
// computes the same leader and nobody can choose the draw. Reputation (as Aptos's leader reputation)
// skips crashed leaders: the committed history says which rounds produced a committed block (their
// author succeeded) and which did not (the block after records the failed leaders); a validator whose
// failures outnumber its successes in the recent window is drawn with 1/50 of its weight. The history is
// read only up to `lag` rounds before the round in question, so that nodes a few commits apart still
// agree; a node further behind may disagree until it catches up, which costs a round, never safety.

/// The leader schedule of one epoch.
struct LeaderElection {
    struct Record: Hashable {
        var round: UInt64
        var author: UInt16
        var succeeded: Bool
    }

    let validators: ValidatorSet
    let reputation: Bool
    /// Committed history, ascending by round, at most `capacity`.
    private(set) var history: [Record] = []
    static let capacity = 256
    static let window = 40
    static let lag: UInt64 = 10
    static let activeWeight: UInt64 = 50

    init(validators: ValidatorSet, reputation: Bool) {
        self.validators = validators
        self.reputation = reputation
    }

    /// Adds a committed block to the history.
    mutating func record(_ block: ConsensusBlock) {
        guard !block.isGenesis else { return }
        guard block.round > UInt64(block.failedAuthors.count) else { return }
        let firstFailed = block.round - UInt64(block.failedAuthors.count)
        for (i, a) in block.failedAuthors.enumerated() {
            history.append(Record(round: firstFailed + UInt64(i), author: a, succeeded: false))
        }
        history.append(Record(round: block.round, author: block.author, succeeded: true))
        if history.count > Self.capacity { history.removeFirst(history.count - Self.capacity) }
    }

    /// The leader of `round`.
    func leader(of round: UInt64) -> UInt16 {
        var weights = validators.validators.map { UInt128($0.power) * UInt128(Self.activeWeight) }
        if reputation {
            var successes = [Int](repeating: 0, count: validators.count)
            var failures = [Int](repeating: 0, count: validators.count)
            var seen = 0
            for r in history.reversed() where r.round + Self.lag < round && Int(r.author) < validators.count {
                if r.succeeded { successes[Int(r.author)] += 1 } else { failures[Int(r.author)] += 1 }
                seen += 1
                if seen == Self.window { break }
            }
            for i in weights.indices where failures[i] > successes[i] {
                weights[i] = UInt128(validators.validators[i].power)
            }
        }
        let total = weights.reduce(0, +)
        var w = CanonicalWriter(capacity: 40)
        for b in "sluice/leader".utf8 { w.write(b) }
        w.write(validators.epoch)
        w.write(round)
        let draw = UInt128(Hash.sha256(w.bytes).w0)
        // A uniform pick in 0..<total: (draw × total) / 2^64, from the full-width product.
        let product = draw.multipliedFullWidth(by: total)
        var pick = (product.high << 64) | (product.low >> 64)
        for (i, weight) in weights.enumerated() {
            if pick < weight { return UInt16(i) }
            pick -= weight
        }
        return UInt16(weights.count - 1)
    }

    /// The leaders of the rounds strictly between `parentRound` and `round`, the last
    /// `ConsensusLimits.failedAuthors` of them, oldest first: what a block of `round` records as failed.
    func failedAuthors(after parentRound: UInt64, before round: UInt64) -> [UInt16] {
        guard round > parentRound + 1 else { return [] }
        let limit = UInt64(ConsensusLimits.failedAuthors)
        let first = max(parentRound + 1, round > limit ? round - limit : 0)
        return (first..<round).map { leader(of: $0) }
    }
}
