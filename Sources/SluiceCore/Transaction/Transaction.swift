/// What a transaction asks the state machine to do.
public enum Payload: Hashable, Sendable {
    /// Move `amount` from the sender to `to`.
    case transfer(to: Address, amount: Amount)
    /// A transfer that also does a fixed CPU cost: `rounds` chained SHA-256 digests starting from the
    /// transaction's hash. It stands in for contract calls in benchmarks until Wasm contracts exist.
    case computeTransfer(to: Address, amount: Amount, rounds: UInt32)
    // Market payloads larger than a transfer's are boxed (`indirect`), so a transaction stays small
    // and cheap to copy on the transfer path.
    /// Become a GPU provider: stake and offer devices at a price (docs/MARKET.md).
    indirect case providerRegister(ProviderRegistration)
    /// Submit a job to the market, escrowing its maximum cost.
    indirect case jobSubmit(JobSpec)
    /// Cancel an open job of the sender: its escrow comes back.
    case jobCancel(job: Hash)
    /// An assigned provider commits to its result: `JobCommitment.make(…)`, hiding it until all commit.
    indirect case jobCommit(job: Hash, commitment: Hash)
    /// An assigned provider reveals its result, the salt of its commitment and the seconds it used, and
    /// names the blob of its run's logs (stdout and stderr; zero when it kept none). The logs are not
    /// part of the commitment: runs agree on results, not on their logs.
    indirect case jobReveal(job: Hash, result: Hash, salt: Hash, usageSeconds: UInt64, logs: Hash)
    /// A provider changes its devices and price (its GPUs in use must still fit).
    indirect case providerUpdate(ProviderUpdate)
    /// A provider says it is alive (feeds its uptime).
    case providerHeartbeat
    /// A provider stops taking jobs and starts its unbonding period.
    case providerUnbond
    /// A provider takes its stake back after the unbonding period, with no job in progress.
    case providerWithdraw
    /// The auditor drawn for a disputed job reports its result, the seconds it used and the blob of its
    /// run's logs (zero when it kept none).
    indirect case auditReport(job: Hash, result: Hash, usageSeconds: UInt64, logs: Hash)
    /// The consumer of a settled job asks for an audit of it, within the dispute window, with a bond.
    case jobDispute(job: Hash)
    /// A provider answers the proof-of-GPU challenge of one of its devices (`GPUChallenge`).
    indirect case providerProve(GPUChallengeAnswer)
    /// Move the sender's unclaimed emissions (`market/reward/<sender>`) to its balance.
    case rewardClaim

    /// Which of the payloads this is.
    public var kind: PayloadKind {
        switch self {
        case .transfer: .transfer
        case .computeTransfer: .computeTransfer
        case .providerRegister: .providerRegister
        case .jobSubmit: .jobSubmit
        case .jobCancel: .jobCancel
        case .jobCommit: .jobCommit
        case .jobReveal: .jobReveal
        case .providerUpdate: .providerUpdate
        case .providerHeartbeat: .providerHeartbeat
        case .providerUnbond: .providerUnbond
        case .providerWithdraw: .providerWithdraw
        case .auditReport: .auditReport
        case .jobDispute: .jobDispute
        case .providerProve: .providerProve
        case .rewardClaim: .rewardClaim
        }
    }

    /// The account that receives an amount, for payloads that move one.
    public var recipient: Address? {
        switch self {
        case .transfer(let to, _), .computeTransfer(let to, _, _): to
        case .providerRegister, .jobSubmit, .jobCancel, .jobCommit, .jobReveal, .providerUpdate, .providerHeartbeat,
            .providerUnbond, .providerWithdraw, .auditReport, .jobDispute, .providerProve, .rewardClaim:
            nil
        }
    }
}

/// Proof that the sender signed: the scheme, the public key the sender's address derives from, and the signature.
public struct Authenticator: Hashable, Sendable {
    public var scheme: SignatureScheme
    public var publicKey: [UInt8]
    public var signature: [UInt8]

    public init(scheme: SignatureScheme, publicKey: [UInt8], signature: [UInt8]) {
        self.scheme = scheme
        self.publicKey = publicKey
        self.signature = signature
    }
}

/// A signed request to change state.
public struct Transaction: Hashable, Sendable {
    public var chainId: UInt64
    public var sender: Address
    public var sequence: UInt64
    public var gasLimit: UInt64
    public var gasPrice: UInt64
    /// The last block timestamp (Unix seconds) at which the transaction may be included.
    public var expiry: UInt64
    public var payload: Payload
    public var authenticator: Authenticator?

    /// No expiry.
    public static let never: UInt64 = .max

    public init(
        chainId: UInt64, sender: Address, sequence: UInt64, gasLimit: UInt64, gasPrice: UInt64,
        expiry: UInt64 = Transaction.never, payload: Payload, authenticator: Authenticator? = nil
    ) {
        self.chainId = chainId
        self.sender = sender
        self.sequence = sequence
        self.gasLimit = gasLimit
        self.gasPrice = gasPrice
        self.expiry = expiry
        self.payload = payload
        self.authenticator = authenticator
    }
}

/// The kinds of payload, as the API, the CLI and the receipts name them (`transfer`, `job.submit`, …). In
/// JSON a kind is its name.
public enum PayloadKind: Sendable, Hashable, NamedCases, Codable {
    case transfer, computeTransfer, providerRegister, jobSubmit, jobCancel, jobCommit, jobReveal, providerUpdate
    case providerHeartbeat, providerUnbond, providerWithdraw, auditReport, jobDispute, providerProve, rewardClaim

    public var name: String {
        switch self {
        case .transfer: "transfer"
        case .computeTransfer: "compute-transfer"
        case .providerRegister: "provider.register"
        case .jobSubmit: "job.submit"
        case .jobCancel: "job.cancel"
        case .jobCommit: "job.commit"
        case .jobReveal: "job.reveal"
        case .providerUpdate: "provider.update"
        case .providerHeartbeat: "provider.heartbeat"
        case .providerUnbond: "provider.unbond"
        case .providerWithdraw: "provider.withdraw"
        case .auditReport: "audit.report"
        case .jobDispute: "job.dispute"
        case .providerProve: "provider.prove"
        case .rewardClaim: "reward.claim"
        }
    }

    public init(from decoder: any Decoder) throws { self = try .decodeName(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
}
