import SluiceCore

// The consensus core: a Jolteon / AptosBFT-style protocol as a pure state machine. It owns no thread, no
// socket, no clock and no file: the driver hands it messages (`receive`), the time (`tick`), and carries
// out what it returns (`ConsensusOutput`: messages to send, blocks committed, evidence, drops with their
// reason). Safety data and committed blocks go through the injected `SafetyStorage` and
// `ConsensusLedger`; payloads come from and are checked by the injected `PayloadProvider`. The node and
// the deterministic simulator run this same code.
//
// A round, in the common case: the leader proposes a block extending the highest certificate; every
// validator checks it and broadcasts a signed vote; each validator that gathers votes of more than two
// thirds of the power holds a quorum certificate (QC) and moves to the next round; a QC on a block whose
// parent is of the previous round commits the parent (2-chain rule: four message delays from proposal to
// commit); with order votes, validators holding a QC also broadcast an order vote and a quorum of those
// commits the block itself (three message delays). A round that yields no QC times out: a quorum of
// timeouts forms a timeout certificate that lets the next leader propose on the highest certificate its
// signers held. Blocks a validator lacks are fetched from the peer that referred to them; a node too far
// behind fetches committed blocks with their proof (block sync), while the others go on.

/// The protocol's settings.
public struct ConsensusConfiguration: Sendable {
    public var chainId: UInt64
    /// The first timer of a round, milliseconds.
    public var roundTimeout: UInt64 = 1000
    /// The timer's growth per round without a commit.
    public var backoff: Double = 1.5
    public var maxBackoffExponent: Int = 6
    /// Send and count order votes (AIP-89): three message delays to commit instead of four.
    public var orderVotes: Bool = true
    /// Skip crashed leaders (reputation); without it the draw is by power alone.
    public var leaderReputation: Bool = true
    /// How far ahead of the local clock a block's time may be, milliseconds.
    public var maxClockDrift: UInt64 = 5000
    /// How long to wait for a requested block before asking another peer, milliseconds.
    public var fetchRetry: UInt64 = 400
    /// How many rounds ahead of the current one messages are kept.
    public var roundWindow: UInt64 = 500
    /// The shortest time between a block and its parent, milliseconds (0: as fast as votes come). A node
    /// sets its block time here.
    public var minBlockInterval: UInt64 = 0

    public init(chainId: UInt64) { self.chainId = chainId }
}

/// What the node does with a block's payload: make one to propose, check one before voting.
public protocol PayloadProvider: AnyObject {
    /// The payload of a new block at `height`, on top of `pending` (the uncommitted blocks it extends,
    /// oldest first).
    func payload(height: UInt64, round: UInt64, timestamp: UInt64, pending: [ConsensusBlock]) -> [UInt8]
    /// Why `block`'s payload is not acceptable on top of `pending`, or nil.
    func invalidity(of block: ConsensusBlock, pending: [ConsensusBlock]) -> String?
}

/// Two signed messages of one validator for one round that conflict: evidence for slashing.
public enum DoubleSign: Hashable, Sendable {
    case votes(Vote, Vote)
    case proposals(Proposal, Proposal)

    public var validator: UInt16 {
        switch self {
        case .votes(let a, _): a.voter
        case .proposals(let a, _): a.block.author
        }
    }
}

/// What the core asks the driver to do.
public enum ConsensusOutput: Sendable {
    case send(ConsensusMessage, to: UInt16)
    /// To every other validator.
    case broadcast(ConsensusMessage)
    /// Blocks committed, oldest first, and the proof.
    case committed([ConsensusBlock], proof: CommitProof)
    case evidence(DoubleSign)
    /// A message that changed nothing, and why (for the log).
    case dropped(from: UInt16?, kind: String, reason: String)
}

/// One validator's (or a full node's) consensus.
public final class ConsensusCore {
    public let configuration: ConsensusConfiguration
    public let context: VerificationContext
    /// This node's index, nil for a full node (it follows and never signs).
    public let me: UInt16?
    var safety: SafetyRules?
    let ledger: any ConsensusLedger
    let payloads: any PayloadProvider
    var tree: BlockTree
    var pacemaker: Pacemaker
    var election: LeaderElection

    var votes = VoteCollector()
    var timeouts = TimeoutCollector()
    var orderVotes = OrderVoteCollector()
    /// The first valid proposal seen per round (for double-proposal evidence).
    var proposals: [UInt64: Proposal] = [:]
    /// A proposal waiting for its parent block.
    var waiting: (proposal: Proposal, from: UInt16)?
    /// The highest commit proof whose blocks are not all held yet.
    var pendingCommit: (proof: CommitProof, from: UInt16?)?
    /// Blocks asked for: id → (when, peer asked, attempts).
    var requested: [Hash: (at: UInt64, peer: UInt16, attempts: Int)] = [:]
    var ledgerRequestedAt: UInt64?
    var proposedRound: UInt64 = 0
    /// When this node, leader of the current round, proposes.
    var proposeAt: UInt64?
    var orderVotedRound: UInt64 = 0
    var timedOutRound: UInt64 = 0
    var lastSyncReply: [UInt16: UInt64] = [:]
    var verified = VerifiedCache()
    var now: UInt64 = 0
    var outputs: [ConsensusOutput] = []

    /// Counters, for tests, metrics and the simulator.
    public internal(set) var statistics = Statistics()
    public struct Statistics: Sendable {
        public var proposalsSent = 0
        public var votesSent = 0
        public var timeoutsSent = 0
        public var orderVotesSent = 0
        public var dropped = 0
        public var committedBlocks = 0
        public var blocksFetched = 0
        public var ledgerBlocksSynced = 0
    }

    /// - Parameters:
    ///   - me: this validator's index; nil for a full node.
    ///   - signer: signs as `me` (nil for a full node).
    public init(
        configuration: ConsensusConfiguration, validators: ValidatorSet, me: UInt16?, signer: (any ConsensusSigner)?,
        verifier: any ConsensusVerifier, safetyStorage: any SafetyStorage, ledger: any ConsensusLedger,
        payloads: any PayloadProvider
    ) throws(ConsensusError) {
        guard ledger.genesis.epoch == validators.epoch else {
            throw ConsensusError(
                .invalidSet, "the ledger is of epoch \(ledger.genesis.epoch), the set of \(validators.epoch)")
        }
        self.configuration = configuration
        context = VerificationContext(
            chainId: configuration.chainId, validators: validators, genesisId: ledger.genesis.id, verifier: verifier)
        self.me = me
        if let me {
            guard validators.validator(me) != nil, let signer else {
                throw ConsensusError(.invalidSet, "validator \(me) is not in the set or has no signer")
            }
            safety = try SafetyRules(
                storage: safetyStorage, signer: signer, me: me, chainId: configuration.chainId, epoch: validators.epoch)
        }
        self.ledger = ledger
        self.payloads = payloads
        let head = ledger.head
        let headCertificate =
            ledger.headCertificate
            ?? QuorumCertificate(
                data: VoteData(
                    epoch: head.epoch, round: head.round, blockId: head.id, height: head.height,
                    parentId: head.parentId,
                    parentRound: head.quorumCertificate.round), signatures: [])
        tree = BlockTree(root: head, rootCertificate: headCertificate, commitProof: ledger.commitProof)
        if let saved = safety?.data.highQC, saved.round > tree.highQC.round { tree.record(saved) }
        pacemaker = Pacemaker(
            base: configuration.roundTimeout, backoff: configuration.backoff,
            maxExponent: configuration.maxBackoffExponent)
        election = LeaderElection(validators: validators, reputation: configuration.leaderReputation)
        let from =
            head.height >= ledger.genesis.height + UInt64(LeaderElection.capacity)
            ? head.height - UInt64(LeaderElection.capacity) + 1 : ledger.genesis.height + 1
        if head.height >= from {
            for h in from...head.height { if let b = ledger.block(atHeight: h) { election.record(b) } }
        }
    }

    // MARK: - Inputs

    /// Starts at `now` (milliseconds): enters the first round, proposes if it leads it, and tells the
    /// peers where it stands (a restarted validator learns what it missed from their answers).
    public func start(now: UInt64) -> [ConsensusOutput] {
        self.now = now
        let first = max(tree.highQC.round, tree.highTC?.round ?? 0) + 1
        enterRound(max(first, 1))
        if me != nil { outputs.append(.broadcast(.syncInfo(syncInfo))) }
        finishInput()
        return takeOutputs()
    }

    /// Handles a message from validator `peer`.
    public func receive(_ message: ConsensusMessage, from peer: UInt16, now: UInt64) -> [ConsensusOutput] {
        self.now = max(self.now, now)
        guard context.validators.validator(peer) != nil, peer != me else {
            drop(peer, message.kind, "the sender is not another validator of epoch \(context.epoch)")
            return takeOutputs()
        }
        switch message {
        case .proposal(let p): handle(p, from: peer)
        case .vote(let v): handle(v, from: peer)
        case .timeout(let t): handle(t, from: peer)
        case .orderVote(let o): handle(o, from: peer)
        case .syncInfo(let s): handle(s, from: peer)
        case .blockRequest(let r): handle(r, from: peer)
        case .blockResponse(let blocks): handleBlocks(blocks, from: peer)
        case .ledgerRequest(let r): handle(r, from: peer)
        case .ledgerResponse(let r): handle(r, from: peer)
        }
        finishInput()
        return takeOutputs()
    }

    /// Advances the clock: times out the round when its timer has fired, retries block requests.
    public func tick(now: UInt64) -> [ConsensusOutput] {
        self.now = max(self.now, now)
        if self.now >= pacemaker.deadline { localTimeout() }
        retryRequests()
        finishInput()
        return takeOutputs()
    }

    /// When the core next needs a `tick`.
    public var nextDeadline: UInt64 {
        var d = pacemaker.deadline
        if let at = proposeAt { d = min(d, at) }
        for r in requested.values { d = min(d, r.at + configuration.fetchRetry) }
        if let at = ledgerRequestedAt { d = min(d, at + configuration.fetchRetry) }
        return d
    }

    // MARK: - State

    public var round: UInt64 { pacemaker.round }
    public var committed: ConsensusBlock { tree.root }
    public var highestCertificate: QuorumCertificate { tree.highQC }
    public var safetyData: SafetyData? { safety?.data }
    public func leader(of round: UInt64) -> UInt16 { election.leader(of: round) }

    var syncInfo: SyncInfo { SyncInfo(highQC: tree.highQC, highTC: tree.highTC, commitProof: tree.commitProof) }

    func takeOutputs() -> [ConsensusOutput] {
        defer { outputs.removeAll(keepingCapacity: true) }
        return outputs
    }

    func drop(_ peer: UInt16?, _ kind: String, _ reason: String) {
        statistics.dropped += 1
        outputs.append(.dropped(from: peer, kind: kind, reason: reason))
    }

    func send(_ message: ConsensusMessage, to peer: UInt16) { outputs.append(.send(message, to: peer)) }
    func broadcast(_ message: ConsensusMessage) { outputs.append(.broadcast(message)) }
}
