import SluiceCore
import SluiceExecution
import SluiceState

// Proof of GPU at block end (docs/MARKET.md, "Proof of GPU"). A provider's devices get a challenge when it
// registers, when it changes its devices (`provider.update`) and every `proofIntervalSeconds` after; each
// device must answer with `provider.prove` before its deadline. A device that answered is eligible for
// matching; one that missed its deadline is not, until it passes a later round. Challenges come from the
// block's seed, so no provider knows its challenge before the block that issues it.
//
// The book keeps one entry per provider in `proofSchedule`, sorted by when it next needs this step (the
// latest deadline of a pending round, else the next round), so a block visits only the providers due.

extension MarketAuction {
    /// Issues a new round to every device of `p` and returns when the step must look at it again (its
    /// latest deadline).
    static func issueProofRound<Reader: StateReader<StateValue>>(
        _ p: inout ProviderRecord, step: Step, writes: inout PendingWrites<Reader>
    ) -> UInt64 {
        let now = step.context.timestamp
        if p.proofs.count != p.offer.devices.count { p.proofs = p.offer.devices.map { _ in DeviceProof() } }
        var latest = now
        for (d, device) in p.offer.devices.enumerated() {
            var proof = p.proofs[d]
            proof.round &+= 1
            proof.seed = GPUChallenge.seed(block: step.context.seed, provider: p.owner, device: d, round: proof.round)
            let n = GPUChallenge.size(for: device, targetMilliseconds: step.params.proofTargetMilliseconds)
            proof.size = UInt32(n)
            // Twice the time at the claimed speed, rounded up to whole seconds, plus the window.
            let expected = GPUChallenge.expectedMilliseconds(size: n, device: device)
            proof.deadline = now &+ (2 * expected + 999) / 1000 &+ step.params.proofWindowSeconds
            proof.pending = true
            p.proofs[d] = proof
            writes.emit(.proofIssued(provider: p.owner, round: UInt64(proof.round)))
            latest = max(latest, proof.deadline)
        }
        p.proofIssuedTimestamp = now
        return latest
    }

    /// Moves the proofs of the providers in `fresh` (registered or re-offered in this block: a round now)
    /// and of those the schedule says are due: a pending challenge past its deadline fails its device; a
    /// provider whose interval has passed gets a new round. Returns the new schedule.
    static func advanceProofs<Reader: StateReader<StateValue>>(
        schedule start: [MarketBook.ProofDue], fresh: [Address], step: Step, writes: inout PendingWrites<Reader>
    ) -> [MarketBook.ProofDue] {
        let now = step.context.timestamp
        let interval = step.params.proofIntervalSeconds
        var schedule = start
        var due = 0
        while due < schedule.count && schedule[due].time < now { due += 1 }
        let visit = schedule[..<due].map(\.provider)
        schedule.removeFirst(due)
        let freshSet = Set(fresh)
        if !fresh.isEmpty { schedule.removeAll { freshSet.contains($0.provider) } }
        var added: [MarketBook.ProofDue] = []
        // Fresh providers first (sorted), then the due ones not among them (in schedule order): fixed order.
        for address in fresh + visit.filter({ !freshSet.contains($0) }) {
            guard case .provider(var p)? = writes.read(.provider(address)) else { continue }
            guard p.status != .withdrawn else { continue }
            let next: UInt64
            if freshSet.contains(address) {
                next = issueProofRound(&p, step: step, writes: &writes)
            } else {
                var stillPending: UInt64 = 0
                for d in p.proofs.indices where p.proofs[d].pending {
                    if now > p.proofs[d].deadline {
                        p.proofs[d].pending = false
                        p.proofs[d].eligible = false
                        p.proofs[d].failed &+= 1
                        writes.emit(.proofFailed(provider: address, device: UInt32(d)))
                    } else {
                        stillPending = max(stillPending, p.proofs[d].deadline)
                    }
                }
                if stillPending > 0 {
                    next = stillPending
                } else if now >= p.proofIssuedTimestamp &+ interval {
                    next = p.status == .active ? issueProofRound(&p, step: step, writes: &writes) : now &+ interval
                } else {
                    next = p.proofIssuedTimestamp &+ interval
                }
            }
            writes.write(.provider(address), .provider(p))
            added.append(MarketBook.ProofDue(time: next, provider: address))
        }
        // The rest of the schedule is still sorted: merge the visited providers back in.
        return added.isEmpty ? schedule : mergeSorted(schedule, added.sorted())
    }
}
