import SluiceCore

// Proposals, votes, timeouts and order votes: each is bounded (its round within the window), checked
// (signature, certificates, leader, parent, time, payload) and only then counted or voted on. A message
// that fails a check is dropped with its reason; one that is merely late changes nothing, and its sender,
// if behind, is told where this node stands.

extension ConsensusCore {
    func handle(_ p: Proposal, from peer: UInt16) {
        let b = p.block
        let kind = "proposal"
        guard b.round + 1 >= pacemaker.round else {
            helpPeer(peer)
            return drop(peer, kind, "round \(b.round) is over (this node is in round \(pacemaker.round))")
        }
        guard b.round <= pacemaker.round + configuration.roundWindow else {
            return drop(peer, kind, "round \(b.round) is too far ahead of round \(pacemaker.round)")
        }
        do throws(ConsensusError) {
            try p.verify(in: context, certificates: false)
            try verify(b.quorumCertificate)
            if let tc = p.timeoutCertificate, b.round != b.quorumCertificate.round + 1 { try verify(tc) }
        } catch { return drop(peer, kind, error.message) }
        if let earlier = proposals[b.round], earlier.block.author == b.author, earlier.block.id != b.id {
            outputs.append(.evidence(.proposals(earlier, p)))
            return drop(peer, kind, "validator \(b.author) proposed two blocks for round \(b.round)")
        }
        if proposals[b.round] == nil { proposals[b.round] = p }
        absorb(b.quorumCertificate, from: peer)
        if let tc = p.timeoutCertificate, b.round != b.quorumCertificate.round + 1 { absorb(tc, from: peer) }
        // A proposal whose certificate this node already formed from the votes (they can outrun it) is
        // late, not wrong: its block is kept, for the commit that will need it, but gets no vote.
        let late = b.round < pacemaker.round
        guard b.round <= pacemaker.round else {
            return drop(peer, kind, "round \(b.round) is not the current round \(pacemaker.round)")
        }
        let leader = election.leader(of: b.round)
        guard b.author == leader else {
            return drop(peer, kind, "validator \(b.author) does not lead round \(b.round) (validator \(leader) does)")
        }
        guard let parent = tree.block(b.parentId) else {
            waiting = (p, peer)
            fetch(b.parentId, from: peer)
            return
        }
        if waiting?.proposal.block.id == b.id { waiting = nil }
        guard b.timestamp > parent.timestamp else {
            return drop(peer, kind, "block time \(b.timestamp) is not after its parent's \(parent.timestamp)")
        }
        guard b.timestamp <= now + configuration.maxClockDrift else {
            return drop(
                peer, kind, "block time \(b.timestamp) is over \(configuration.maxClockDrift) ms ahead of \(now)")
        }
        let failed = election.failedAuthors(after: b.quorumCertificate.round, before: b.round)
        guard b.failedAuthors == failed else {
            return drop(peer, kind, "its failed leaders \(b.failedAuthors) are not this node's \(failed)")
        }
        let pending = tree.path(to: parent.id) ?? []
        if let why = payloads.invalidity(of: b, pending: pending) { return drop(peer, kind, "payload: \(why)") }
        guard tree.block(b.id) != nil || tree.insert(b) else { return drop(peer, kind, "the block tree is full") }
        if late {
            resumeAfterFetch()
        } else {
            vote(for: b, timeoutCertificate: p.timeoutCertificate)
        }
    }

    func vote(for b: ConsensusBlock, timeoutCertificate: TimeoutCertificate?) {
        guard safety != nil else { return }
        do throws(ConsensusError) {
            guard let v = try safety?.vote(for: b, timeoutCertificate: timeoutCertificate) else { return }
            statistics.votesSent += 1
            broadcast(.vote(v))
            count(v)
        } catch { drop(nil, "vote", "no vote in round \(b.round): \(error.message)") }
    }

    /// Makes, signs and sends this leader's block for the current round, and votes for it first.
    func propose() {
        guard let me, safety != nil else { return proposeAt = nil }
        let r = pacemaker.round
        guard proposedRound < r, election.leader(of: r) == me else { return proposeAt = nil }
        let qc = tree.highQC
        guard let parent = tree.block(qc.blockId) else { return fetch(qc.blockId, from: nil) }
        // Pace: no block sooner than the minimum interval after its parent (a chain of empty blocks as fast
        // as the network goes would only burn disk).
        let due = parent.timestamp + configuration.minBlockInterval
        if now < due { return proposeAt = due }
        var tc: TimeoutCertificate?
        if qc.round + 1 != r {
            guard let t = tree.highTC, t.round + 1 == r else { return proposeAt = nil }
            tc = t
        }
        let pending = tree.path(to: parent.id) ?? []
        let timestamp = max(now, parent.timestamp + 1)
        let block = ConsensusBlock(
            epoch: context.epoch, round: r, height: parent.height + 1, author: me, timestamp: timestamp,
            quorumCertificate: qc, failedAuthors: election.failedAuthors(after: qc.round, before: r),
            payload: payloads.payload(height: parent.height + 1, round: r, timestamp: timestamp, pending: pending))
        proposeAt = nil
        proposedRound = r
        do throws(ConsensusError) {
            guard let signature = try safety?.signProposal(block) else { return }
            let proposal = Proposal(block: block, signature: signature, timeoutCertificate: tc)
            guard tree.insert(block) else { return drop(nil, "proposal", "the block tree is full") }
            proposals[r] = proposal
            // The vote saves the round before the proposal leaves: a restart never proposes twice.
            guard let v = try safety?.vote(for: block, timeoutCertificate: tc) else { return }
            statistics.proposalsSent += 1
            statistics.votesSent += 1
            broadcast(.proposal(proposal))
            broadcast(.vote(v))
            count(v)
        } catch { drop(nil, "proposal", "no proposal in round \(r): \(error.message)") }
    }

    func handle(_ v: Vote, from peer: UInt16) {
        let r = v.data.round
        guard v.voter == peer else { return drop(peer, "vote", "a vote relayed for validator \(v.voter)") }
        guard r > tree.highQC.round else { return }
        guard r <= pacemaker.round + configuration.roundWindow else {
            return drop(peer, "vote", "round \(r) is too far ahead of round \(pacemaker.round)")
        }
        do throws(ConsensusError) { try v.verify(in: context) } catch { return drop(peer, "vote", error.message) }
        count(v)
    }

    func count(_ v: Vote) {
        let power = context.validators.power(of: v.voter)
        switch votes.add(v, power: power) {
        case .duplicate: return
        case .equivocation(let earlier):
            outputs.append(.evidence(.votes(earlier, v)))
            drop(v.voter, "vote", "validator \(v.voter) voted twice in round \(v.data.round)")
        case .counted(let tally):
            let quorum = context.validators.quorumPower
            guard tally.power >= quorum, tally.power - power < quorum else { return }
            let qc = QuorumCertificate(data: v.data, signatures: tally.sorted)
            verified.insert(qc.hash)
            absorb(qc, from: v.voter == me ? nil : v.voter)
        }
    }

    func handle(_ m: TimeoutMessage, from peer: UInt16) {
        let t = m.vote
        let kind = "timeout"
        guard t.voter == peer else { return drop(peer, kind, "a timeout relayed for validator \(t.voter)") }
        guard t.round >= pacemaker.round else { return helpPeer(peer) }
        guard t.round <= pacemaker.round + configuration.roundWindow else {
            return drop(peer, kind, "round \(t.round) is too far ahead of round \(pacemaker.round)")
        }
        guard m.highQC.round >= t.highQCRound, m.highQC.round < t.round else {
            return drop(peer, kind, "its certificate of round \(m.highQC.round) does not fit its signed round")
        }
        do throws(ConsensusError) {
            try t.verify(in: context)
            try verify(m.highQC)
            if let tc = m.lastTC { try verify(tc) }
        } catch { return drop(peer, kind, error.message) }
        absorb(m.highQC, from: peer)
        if let tc = m.lastTC { absorb(tc, from: peer) }
        count(t, highQC: m.highQC)
    }

    func count(_ t: TimeoutVote, highQC: QuorumCertificate) {
        guard t.round >= pacemaker.round else { return }
        let power = context.validators.power(of: t.voter)
        guard let gathered = timeouts.add(t, highQC: highQC, power: power), let best = gathered.highQC else { return }
        let quorum = context.validators.quorumPower
        if gathered.power >= quorum, gathered.power - power < quorum {
            let tc = TimeoutCertificate(
                epoch: context.epoch, round: t.round,
                entries: gathered.entries.keys.sorted().map { gathered.entries[$0]! }, highQC: best)
            verified.insert(Hash.sha256(tc.canonicalBytes))
            absorb(tc, from: nil)
        } else if gathered.power > context.validators.maxFaultyPower, t.round == pacemaker.round,
            timedOutRound < t.round, me != nil
        {
            // More than the faulty power gave up on this round: at least one honest validator did; join it
            // rather than wait for this node's own timer.
            localTimeout()
        }
    }

    func sendOrderVote(for qc: QuorumCertificate) {
        guard configuration.orderVotes, safety != nil, qc.round > orderVotedRound else { return }
        do throws(ConsensusError) {
            guard let o = try safety?.orderVote(for: qc) else { return }
            orderVotedRound = qc.round
            statistics.orderVotesSent += 1
            broadcast(.orderVote(o))
            count(o)
        } catch {
            // The round was timed out: no order vote, which is the rule, not a fault.
        }
    }

    func handle(_ o: OrderVote, from peer: UInt16) {
        guard configuration.orderVotes else { return drop(peer, "order vote", "order votes are off") }
        guard o.voter == peer else { return drop(peer, "order vote", "relayed for validator \(o.voter)") }
        guard o.height > tree.root.height else { return }
        guard o.round <= pacemaker.round + configuration.roundWindow else {
            return drop(peer, "order vote", "round \(o.round) is too far ahead of round \(pacemaker.round)")
        }
        do throws(ConsensusError) { try o.verify(in: context) } catch { return drop(peer, "order vote", error.message) }
        count(o)
    }

    func count(_ o: OrderVote) {
        let power = context.validators.power(of: o.voter)
        guard let tally = orderVotes.add(o, power: power) else { return }
        let quorum = context.validators.quorumPower
        guard tally.power >= quorum, tally.power - power < quorum else { return }
        let oc = OrderCertificate(
            epoch: o.epoch, round: o.round, blockId: o.blockId, height: o.height, signatures: tally.sorted)
        commit(.ordered(oc), from: o.voter == me ? nil : o.voter)
    }
}
