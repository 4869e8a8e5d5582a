import SluiceCore

// The safety rules of the 2-chain protocol (Jolteon, as AptosBFT's safety_rules_2chain), the only code
// that signs votes, timeouts and order votes:
//
// - vote for a block of round r only if r is above every round voted or timed out, and the block extends
//   a certificate of round r - 1, or a timeout certificate of round r - 1 whose signers' highest
//   certificate is no higher than the one the block extends;
// - time out round r only if the highest certificate held is at least as high as any seen certified
//   (`oneChainRound`), and r follows it or a timeout certificate;
// - order-vote a certified block only above every round timed out.
//
// Each rule updates the safety data, saves it durably, and only then signs; a save that fails signs
// nothing. Asked again for what it already signed in a round, it returns the same signature.

/// Signs for one validator, never against a promise.
struct SafetyRules {
    private(set) var data: SafetyData
    let storage: any SafetyStorage
    let signer: any ConsensusSigner
    let me: UInt16
    let chainId: UInt64

    /// Loads the saved data (fresh data for a new epoch or a first start).
    init(
        storage: any SafetyStorage, signer: any ConsensusSigner, me: UInt16, chainId: UInt64, epoch: UInt64
    ) throws(ConsensusError) {
        let saved = try storage.load()
        if let saved, saved.epoch > epoch {
            throw ConsensusError(
                .storage, "the safety data is of epoch \(saved.epoch), later than this node's epoch \(epoch)")
        }
        data = saved.flatMap { $0.epoch == epoch ? $0 : nil } ?? SafetyData(epoch: epoch)
        self.storage = storage
        self.signer = signer
        self.me = me
        self.chainId = chainId
    }

    /// Records a certificate in memory (saved with the next signature).
    mutating func observe(_ qc: QuorumCertificate) { data.observe(qc) }

    private func sign(_ domain: SigningDomain, _ body: [UInt8]) -> [UInt8] {
        signer.sign(consensusSigningBytes(domain: domain, chainId: chainId, body: body))
    }

    private func persist(_ next: SafetyData) throws(ConsensusError) -> SafetyData {
        try storage.save(next)
        return next
    }

    /// A vote for `block`, which arrived with `timeoutCertificate` (checked by the caller).
    mutating func vote(for block: ConsensusBlock, timeoutCertificate: TimeoutCertificate?) throws(ConsensusError)
        -> Vote
    {
        guard block.epoch == data.epoch else { throw ConsensusError(.unsafe, "block of epoch \(block.epoch)") }
        if let last = data.lastVote, last.data.round == block.round {
            guard last.data.blockId == block.id else {
                throw ConsensusError(.unsafe, "already voted for another block in round \(block.round)")
            }
            return last
        }
        guard block.round > data.lastVotedRound else {
            throw ConsensusError(
                .unsafe, "round \(block.round) is not above round \(data.lastVotedRound), already voted or timed out")
        }
        let qcRound = block.quorumCertificate.round
        let extendsPrevious = block.round == qcRound + 1
        let afterTimeout =
            timeoutCertificate.map { block.round == $0.round + 1 && qcRound >= $0.highestQCRound } ?? false
        guard extendsPrevious || afterTimeout else {
            throw ConsensusError(
                .unsafe,
                "block of round \(block.round) extends round \(qcRound) without a timeout certificate that allows it")
        }
        var next = data
        next.lastVotedRound = block.round
        let vote = Vote(data: block.voteData, voter: me, signature: sign(.vote, block.voteData.canonicalBytes))
        next.lastVote = vote
        data = try persist(next.observing(block.quorumCertificate))
        return vote
    }

    /// A timeout of `round`, holding `highQC` and having entered the round by `lastTC`.
    mutating func timeout(round: UInt64, highQC: QuorumCertificate, lastTC: TimeoutCertificate?)
        throws(ConsensusError) -> TimeoutVote
    {
        if let last = data.lastTimeout, last.round == round, last.epoch == data.epoch { return last }
        guard round >= data.lastVotedRound else {
            throw ConsensusError(.unsafe, "cannot time out round \(round) after round \(data.lastVotedRound)")
        }
        guard round > data.highestOrderVoteRound else {
            throw ConsensusError(.unsafe, "round \(round) was order-voted")
        }
        let observed = data.observing(highQC)
        let follows = round == highQC.round + 1 || (lastTC.map { round == $0.round + 1 } ?? false)
        guard follows, highQC.round >= observed.oneChainRound else {
            throw ConsensusError(
                .unsafe,
                "cannot time out round \(round) holding a certificate of round \(highQC.round) (highest seen "
                    + "\(observed.oneChainRound))")
        }
        var next = observed
        next.lastVotedRound = max(next.lastVotedRound, round)
        next.highestTimeoutRound = max(next.highestTimeoutRound, round)
        let body = TimeoutVote.body(epoch: data.epoch, round: round, highQCRound: highQC.round)
        let vote = TimeoutVote(
            epoch: data.epoch, round: round, highQCRound: highQC.round, voter: me, signature: sign(.timeout, body))
        next.lastTimeout = vote
        data = try persist(next)
        return vote
    }

    /// An order vote for the block `qc` certifies.
    mutating func orderVote(for qc: QuorumCertificate) throws(ConsensusError) -> OrderVote {
        if let last = data.lastOrderVote, last.round == qc.round {
            guard last.blockId == qc.blockId else {
                throw ConsensusError(.unsafe, "already order-voted another block in round \(qc.round)")
            }
            return last
        }
        guard qc.round > data.highestTimeoutRound, qc.round > data.highestOrderVoteRound, !qc.isGenesis else {
            throw ConsensusError(.unsafe, "round \(qc.round) was timed out or order-voted")
        }
        var next = data.observing(qc)
        next.highestOrderVoteRound = qc.round
        let body = OrderVote.body(epoch: data.epoch, round: qc.round, blockId: qc.blockId, height: qc.data.height)
        let vote = OrderVote(
            epoch: data.epoch, round: qc.round, blockId: qc.blockId, height: qc.data.height, voter: me,
            signature: sign(.orderVote, body))
        next.lastOrderVote = vote
        data = try persist(next)
        return vote
    }
}

extension SafetyRules {
    /// Signs a proposal of this validator's, only in a round it has neither voted nor timed out: a leader
    /// that restarts never proposes twice for one round (it votes for its own proposal before sending it,
    /// which saves the round).
    func signProposal(_ block: ConsensusBlock) throws(ConsensusError) -> [UInt8] {
        guard block.author == me, block.epoch == data.epoch else {
            throw ConsensusError(.unsafe, "not this validator's proposal")
        }
        guard block.round > data.lastVotedRound else {
            throw ConsensusError(.unsafe, "round \(block.round) already voted or timed out: no proposal")
        }
        return sign(.proposal, Proposal.body(block))
    }
}

extension SafetyData {
    /// Raises the one-chain round (keeping its certificate) and the preferred round to what `qc` shows.
    mutating func observe(_ qc: QuorumCertificate) {
        guard qc.data.epoch == epoch else { return }
        if qc.round > oneChainRound || highQC == nil {
            oneChainRound = max(oneChainRound, qc.round)
            highQC = qc
        }
        preferredRound = max(preferredRound, qc.data.parentRound)
    }

    /// A copy that has observed `qc`.
    func observing(_ qc: QuorumCertificate) -> SafetyData {
        var copy = self
        copy.observe(qc)
        return copy
    }
}
