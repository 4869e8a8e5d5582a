import SluiceCore

// Certificates, rounds and commits: what every message handler funnels into. A checked certificate is
// absorbed once: recorded (the highest certificate is what the next leader extends), the round advanced
// past it, the 2-chain rule applied (commit), and an order vote sent for it.

extension ConsensusCore {
    func verify(_ qc: QuorumCertificate) throws(ConsensusError) {
        let digest = qc.hash
        if verified.contains(digest) { return }
        try qc.verify(in: context)
        verified.insert(digest)
    }

    func verify(_ tc: TimeoutCertificate) throws(ConsensusError) {
        let digest = Hash.sha256(tc.canonicalBytes)
        if verified.contains(digest) { return }
        try tc.verify(in: context)
        verified.insert(digest)
    }

    func verify(_ proof: CommitProof) throws(ConsensusError) {
        switch proof {
        case .chained(let qc):
            guard qc.data.committedParent != nil else { throw .invalid("a certificate whose rounds do not chain") }
            try verify(qc)
        case .ordered(let oc): try oc.verify(in: context)
        }
    }

    /// Takes in a checked quorum certificate.
    func absorb(_ qc: QuorumCertificate, from peer: UInt16?) {
        guard !qc.isGenesis else { return }
        safety?.observe(qc)
        let fresh = qc.round >= pacemaker.round
        let highest = tree.record(qc)
        if tree.block(qc.blockId) == nil, qc.data.height > tree.root.height { fetch(qc.blockId, from: peer) }
        if let parent = qc.data.committedParent, parent.height > tree.root.height { commit(.chained(qc), from: peer) }
        enterRound(qc.round + 1)
        if fresh, highest { sendOrderVote(for: qc) }
    }

    /// Takes in a checked timeout certificate.
    func absorb(_ tc: TimeoutCertificate, from peer: UInt16?) {
        absorb(tc.highQC, from: peer)
        tree.record(tc)
        enterRound(tc.round + 1)
    }

    /// Moves to round `r` if it is later, arms its timer, and schedules a proposal if this node leads it.
    func enterRound(_ r: UInt64) {
        guard pacemaker.enter(r, now: now, committedRound: tree.root.round) else { return }
        if let w = waiting, w.proposal.block.round < r { waiting = nil }
        let keepFrom = r > 2 ? r - 2 : 0
        votes.prune(below: min(keepFrom, tree.highQC.round))
        timeouts.prune(below: r)
        if let me, election.leader(of: r) == me, proposedRound < r { proposeAt = now }
    }

    /// Commits the block `proof` proves and its ancestors, fetching what is missing first.
    func commit(_ proof: CommitProof, from peer: UInt16?) {
        guard let target = proof.committed, target.height > tree.root.height else { return }
        guard let path = tree.path(to: target.id), !path.isEmpty else {
            if (pendingCommit?.proof.committed?.height ?? 0) < target.height { pendingCommit = (proof, peer) }
            if target.height > tree.root.height + UInt64(ConsensusLimits.blocksPerResponse) {
                requestLedger(from: peer)
            } else {
                fetch(target.id, from: peer)
            }
            return
        }
        do throws(ConsensusError) {
            try ledger.append(path, certificate: tree.certificates[target.id], proof: proof)
        } catch {
            drop(nil, "commit", "the ledger refused blocks \(path[0].height)...\(target.height): \(error.message)")
            return
        }
        _ = tree.commit(target.id, proof: proof)
        for b in path { election.record(b) }
        statistics.committedBlocks += path.count
        outputs.append(.committed(path, proof: proof))
        if let p = pendingCommit, (p.proof.committed?.height ?? 0) <= target.height { pendingCommit = nil }
        let root = tree.root.round
        orderVotes.prune(below: root + 1)
        proposals = proposals.filter { $0.key >= root }
        for b in path { requested[b.id] = nil }
    }

    /// The round timer fired: time the round out (again), and ask the peers where they stand.
    func localTimeout() {
        pacemaker.rearm(now: now, committedRound: tree.root.round)
        guard me != nil else { return }
        let round = pacemaker.round
        do throws(ConsensusError) {
            guard let t = try safety?.timeout(round: round, highQC: tree.highQC, lastTC: tree.highTC) else { return }
            timedOutRound = round
            statistics.timeoutsSent += 1
            broadcast(.timeout(TimeoutMessage(vote: t, highQC: tree.highQC, lastTC: tree.highTC)))
            count(t, highQC: tree.highQC)
        } catch {
            drop(nil, "timeout", "round \(round) not timed out: \(error.message)")
            broadcast(.syncInfo(syncInfo))
        }
    }

    /// Runs after every input: the proposal this node owes, if it is due and its parent is held.
    func finishInput() {
        guard let at = proposeAt, now >= at else { return }
        propose()
    }
}
