// The pacemaker: which round this validator is in and when it gives up on it. A round ends early with a
// certificate (of votes or of timeouts) for it or a later one; otherwise its timer fires, the validator
// times it out, and keeps resending its timeout until a timeout certificate moves everyone on. The timer
// grows exponentially with the rounds since the last commit (×`backoff` per round, capped at
// `maxBackoffExponent`), so after a partition heals the validators' rounds overlap long enough to agree.

/// The round and its timer.
struct Pacemaker {
    private(set) var round: UInt64 = 0
    private(set) var deadline: UInt64 = 0
    let base: UInt64
    let backoff: Double
    let maxExponent: Int

    /// The timer of `round` when the last committed block has `committedRound`.
    func duration(of round: UInt64, committedRound: UInt64) -> UInt64 {
        let behind = round > committedRound + 3 ? Int(min(round - committedRound - 3, 64)) : 0
        var d = Double(base)
        for _ in 0..<min(behind, maxExponent) { d *= backoff }
        return UInt64(d)
    }

    /// Enters `next` if it is later than the current round.
    mutating func enter(_ next: UInt64, now: UInt64, committedRound: UInt64) -> Bool {
        guard next > round else { return false }
        round = next
        deadline = now + duration(of: next, committedRound: committedRound)
        return true
    }

    /// Restarts the timer of the current round (after timing it out, to resend).
    mutating func rearm(now: UInt64, committedRound: UInt64) {
        deadline = now + duration(of: round, committedRound: committedRound)
    }
}
