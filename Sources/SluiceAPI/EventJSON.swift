public import SluiceCore

/// An event as the API shows it: its kind's name and the fields that kind has (others absent).
public struct EventJSON: Codable, Sendable, Equatable {
    public struct PayoutJSON: Codable, Sendable, Equatable {
        public var provider: Address
        public var amount: Amount
    }

    public var kind: String
    public var from: Address?
    public var to: Address?
    public var account: Address?
    public var provider: Address?
    public var consumer: Address?
    public var auditor: Address?
    public var job: Hash?
    public var amount: Amount?
    public var fee: Amount?
    public var stake: Amount?
    public var escrow: Amount?
    public var refund: Amount?
    public var status: String?
    public var providers: [Address]?
    public var payouts: [PayoutJSON]?
    public var result: Hash?
    public var device: UInt32?
    public var round: UInt64?

    public init(_ event: Event) {
        kind = event.kind.name
        switch event {
        case .transfer(let from, let to, let amount):
            self.from = from
            self.to = to
            self.amount = amount
        case .providerRegistered(let p, let stake):
            provider = p
            self.stake = stake
        case .providerUpdated(let p), .providerHeartbeat(let p), .providerUnbonding(let p): provider = p
        case .providerWithdrawn(let p, let amount):
            provider = p
            self.amount = amount
        case .proofPassed(let p, let device), .proofFailed(let p, let device):
            provider = p
            self.device = device
        case .proofIssued(let p, let round):
            provider = p
            self.round = round
        case .jobSubmitted(let job, let consumer, let escrow):
            self.job = job
            self.consumer = consumer
            self.escrow = escrow
        case .jobCancelled(let job, let consumer, let refund):
            self.job = job
            self.consumer = consumer
            self.refund = refund
        case .jobRefunded(let job, let consumer, let amount):
            self.job = job
            self.consumer = consumer
            self.amount = amount
        case .resultCommitted(let job, let p):
            self.job = job
            provider = p
        case .resultRevealed(let job, let p, let result):
            self.job = job
            provider = p
            self.result = result
        case .auditReported(let job, let auditor), .auditAssigned(let job, let auditor):
            self.job = job
            self.auditor = auditor
        case .jobDisputed(let job, let consumer):
            self.job = job
            self.consumer = consumer
        case .rewardClaimed(let a, let amount):
            account = a
            self.amount = amount
        case .feesCollected(let amount): self.amount = amount
        case .jobStatus(let job, let status, let providers):
            self.job = job
            self.status = status.name
            self.providers = providers
        case .jobSettled(let job, let consumer, let payouts, let refund):
            self.job = job
            self.consumer = consumer
            self.payouts = payouts.map { PayoutJSON(provider: $0.provider, amount: $0.amount) }
            self.refund = refund
        case .income(let a, _, let amount, let fee, let job):
            account = a
            self.amount = amount
            self.fee = fee
            self.job = job
        }
    }
}
