// What a block did, as typed events: each transaction's receipt carries the events of what it did, and
// the block-end step (fees, the market's auction, audits, proofs of GPU, emissions) has its own list.
// The header of the next block commits to all of them through the receipts root (`ReceiptsTree`), so a
// client proves an event to itself with a header alone (`sluice tx proof`).
//
// Events are facts, never instructions: a client that follows them (the provider agent, `job submit
// --wait`, the dashboard) learns what changed without polling, and can check any of them against a header.

/// Where a job is in its life (the job record's status; `job.<name>` events report each change).
public enum JobStatus: UInt8, Sendable, NamedCases {
    case open = 0
    case matched = 1
    case cancelled = 2
    case expired = 3
    /// Every assigned provider committed: reveals are due.
    case committed = 4
    /// Paid and refunded.
    case settled = 5
    /// An audit is under way: the reveals disagreed, the job was drawn for a random audit, or its
    /// consumer disputed it after settlement. The escrow (or the bond) is held until it ends.
    case disputed = 6
    /// The reveals disagreed and no auditor reported within `maxAuditRounds`: refunded in full,
    /// nobody slashed or paid.
    case unresolved = 7

    public var name: String {
        switch self {
        case .open: "open"
        case .matched: "matched"
        case .cancelled: "cancelled"
        case .expired: "expired"
        case .committed: "committed"
        case .settled: "settled"
        case .disputed: "disputed"
        case .unresolved: "unresolved"
        }
    }
}

/// What the market's block-end step paid to or took from an address (a row of its income ledger, and an
/// `income` event).
public enum IncomeKind: UInt8, Sendable, CaseIterable {
    /// Payment for a job it ran (net of the protocol fee; the fee is in the row).
    case jobPay = 0
    /// Payment for an audit it ran.
    case auditPay = 1
    /// The auditor's share of the slashes its report caused.
    case slashShare = 2
    /// Its share of an epoch's emission, credited to its reward record (not to its balance).
    case emission = 3
    /// Stake it lost: a missed deadline or a result an audit contradicted.
    case slash = 4

    public var name: String {
        switch self {
        case .jobPay: "job-pay"
        case .auditPay: "audit-pay"
        case .slashShare: "slash-share"
        case .emission: "emission"
        case .slash: "slash"
        }
    }

    /// The event kind an income row is reported as.
    public var eventKind: Event.Kind {
        switch self {
        case .jobPay: .jobPaid
        case .auditPay: .auditPaid
        case .slashShare: .slashShared
        case .emission: .rewardCredited
        case .slash: .providerSlashed
        }
    }
}

/// One provider's pay for a settled job (before the protocol fee, which the `job.paid` event shows).
public struct Payout: Hashable, Sendable {
    public var provider: Address
    public var amount: Amount
    public init(provider: Address, amount: Amount) {
        self.provider = provider
        self.amount = amount
    }
}

/// Something a transaction or a block-end step did.
public enum Event: Hashable, Sendable {
    // Transactions (emitted only by those that succeeded).
    case transfer(from: Address, to: Address, amount: Amount)
    case providerRegistered(provider: Address, stake: Amount)
    case providerUpdated(provider: Address)
    case providerHeartbeat(provider: Address)
    case providerUnbonding(provider: Address)
    case providerWithdrawn(provider: Address, amount: Amount)
    /// A device's proof-of-GPU answer was right and in time (`provider.prove`): it is eligible again.
    case proofPassed(provider: Address, device: UInt32)
    case jobSubmitted(job: Hash, consumer: Address, escrow: Amount)
    case jobCancelled(job: Hash, consumer: Address, refund: Amount)
    case resultCommitted(job: Hash, provider: Address)
    case resultRevealed(job: Hash, provider: Address, result: Hash)
    case auditReported(job: Hash, auditor: Address)
    case jobDisputed(job: Hash, consumer: Address)
    case rewardClaimed(account: Address, amount: Amount)
    // Block end.
    /// The block's fees, credited to the treasury.
    case feesCollected(amount: Amount)
    /// A job's status changed (matched, committed, disputed, expired, unresolved, open again); a
    /// settlement is `jobSettled`.
    case jobStatus(job: Hash, status: JobStatus, providers: [Address])
    case jobSettled(job: Hash, consumer: Address, payouts: [Payout], refund: Amount)
    case jobRefunded(job: Hash, consumer: Address, amount: Amount)
    /// A row of an address's income ledger: job or audit pay, a share of a slash, an emission, a slash.
    case income(account: Address, kind: IncomeKind, amount: Amount, fee: Amount, job: Hash?)
    /// A proof-of-GPU round issued to a provider (its challenge is due within the round's blocks).
    case proofIssued(provider: Address, round: UInt64)
    /// A device missed its round's deadline: not eligible until it passes a later round.
    case proofFailed(provider: Address, device: UInt32)
    /// An auditor was drawn for a job (a disagreement, a random audit, a dispute, or the previous auditor
    /// missed its window): its report is due.
    case auditAssigned(job: Hash, auditor: Address)

    /// The kinds, as the API and the CLI name them (`kind` filters of `/v1/events`).
    public enum Kind: UInt8, Sendable, NamedCases {
        case transfer = 0
        case providerRegistered = 1
        case providerUpdated = 2
        case providerHeartbeat = 3
        case providerUnbonding = 4
        case providerWithdrawn = 5
        case proofPassed = 6
        case jobSubmitted = 7
        case jobCancelled = 8
        case resultCommitted = 9
        case resultRevealed = 10
        case auditReported = 11
        case jobDisputed = 12
        case rewardClaimed = 13
        case feesCollected = 14
        case jobStatus = 15
        case jobSettled = 16
        case jobRefunded = 17
        case jobPaid = 18
        case auditPaid = 19
        case slashShared = 20
        case rewardCredited = 21
        case providerSlashed = 22
        case proofIssued = 23
        case proofFailed = 24
        case auditAssigned = 25

        public var name: String {
            switch self {
            case .transfer: "transfer"
            case .providerRegistered: "provider.registered"
            case .providerUpdated: "provider.updated"
            case .providerHeartbeat: "provider.heartbeat"
            case .providerUnbonding: "provider.unbonding"
            case .providerWithdrawn: "provider.withdrawn"
            case .proofPassed: "proof.passed"
            case .jobSubmitted: "job.submitted"
            case .jobCancelled: "job.cancelled"
            case .resultCommitted: "result.committed"
            case .resultRevealed: "result.revealed"
            case .auditReported: "audit.reported"
            case .jobDisputed: "job.disputed"
            case .rewardClaimed: "reward.claimed"
            case .feesCollected: "fees.collected"
            case .jobStatus: "job.status"
            case .jobSettled: "job.settled"
            case .jobRefunded: "job.refunded"
            case .jobPaid: "job.paid"
            case .auditPaid: "audit.paid"
            case .slashShared: "slash.shared"
            case .rewardCredited: "reward.credited"
            case .providerSlashed: "provider.slashed"
            case .proofIssued: "proof.issued"
            case .proofFailed: "proof.failed"
            case .auditAssigned: "audit.assigned"
            }
        }
    }

    public var kind: Kind {
        switch self {
        case .transfer: .transfer
        case .providerRegistered: .providerRegistered
        case .providerUpdated: .providerUpdated
        case .providerHeartbeat: .providerHeartbeat
        case .providerUnbonding: .providerUnbonding
        case .providerWithdrawn: .providerWithdrawn
        case .proofPassed: .proofPassed
        case .jobSubmitted: .jobSubmitted
        case .jobCancelled: .jobCancelled
        case .resultCommitted: .resultCommitted
        case .resultRevealed: .resultRevealed
        case .auditReported: .auditReported
        case .jobDisputed: .jobDisputed
        case .rewardClaimed: .rewardClaimed
        case .feesCollected: .feesCollected
        case .jobStatus: .jobStatus
        case .jobSettled: .jobSettled
        case .jobRefunded: .jobRefunded
        case .income(_, let kind, _, _, _): kind.eventKind
        case .proofIssued: .proofIssued
        case .proofFailed: .proofFailed
        case .auditAssigned: .auditAssigned
        }
    }

    /// The job it concerns, if any.
    public var job: Hash? {
        switch self {
        case .jobSubmitted(let job, _, _), .jobCancelled(let job, _, _), .resultCommitted(let job, _),
            .resultRevealed(let job, _, _), .auditReported(let job, _), .jobDisputed(let job, _),
            .auditAssigned(let job, _),
            .jobStatus(let job, _, _), .jobSettled(let job, _, _, _), .jobRefunded(let job, _, _):
            job
        case .income(_, _, _, _, let job): job
        default: nil
        }
    }

    /// Every address it concerns (as sender, recipient, provider, consumer, auditor or payee).
    public var accounts: [Address] {
        switch self {
        case .transfer(let from, let to, _): [from, to]
        case .providerRegistered(let p, _), .providerUpdated(let p), .providerHeartbeat(let p),
            .providerUnbonding(let p), .providerWithdrawn(let p, _), .proofPassed(let p, _), .proofIssued(let p, _),
            .proofFailed(let p, _):
            [p]
        case .jobSubmitted(_, let c, _), .jobCancelled(_, let c, _), .jobDisputed(_, let c),
            .jobRefunded(_, let c, _):
            [c]
        case .resultCommitted(_, let p), .resultRevealed(_, let p, _), .auditReported(_, let p),
            .auditAssigned(_, let p):
            [p]
        case .rewardClaimed(let a, _), .income(let a, _, _, _, _): [a]
        case .feesCollected: [.treasury]
        case .jobStatus(_, _, let providers): providers
        case .jobSettled(_, let c, let payouts, _): [c] + payouts.map(\.provider)
        }
    }

    /// The provider it concerns, if it is about one provider (its own transactions, proofs, slashes, pay).
    public var provider: Address? {
        switch self {
        case .providerRegistered(let p, _), .providerUpdated(let p), .providerHeartbeat(let p),
            .providerUnbonding(let p), .providerWithdrawn(let p, _), .proofPassed(let p, _), .proofIssued(let p, _),
            .proofFailed(let p, _), .resultCommitted(_, let p), .resultRevealed(_, let p, _), .auditAssigned(_, let p):
            p
        case .income(let a, let kind, _, _, _) where kind != .emission: a
        default: nil
        }
    }
}

extension JobStatus: Codable {
    public init(from decoder: any Decoder) throws { self = try .decodeName(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
}
