public import SluiceCore

/// Why a transaction was discarded or failed. Stored as a byte in receipts on the hot path.
public enum BankError: UInt8, Sendable, CaseIterable {
    case none = 0
    // Checked before execution.
    case wrongChain, expired, missingSignature, wrongKey, badSignature
    // The Bank's discard rules, in the order they are checked.
    case senderMissing, sequenceMismatch, gasLimitTooLow, cannotPayMaxFee
    // Failed: fee and sequence taken, transfer not applied.
    case insufficientBalance, balanceOverflow
    // Failed market transactions (fee and sequence taken, nothing else changed).
    case alreadyRegistered, stakeTooLow, invalidOffer, invalidJob, escrowOverflow, cannotPayEscrow, jobNotFound,
        notJobOwner, jobNotOpen, cannotPayStake, notAssigned, alreadyCommitted, notCommitPhase, notRevealPhase,
        revealMismatch, alreadyRevealed, notProvider, providerNotActive, capacityInUse, notUnbonding,
        unbondingNotOver, jobsInProgress, notAuditor, alreadyReported, auditClosed, notDisputable,
        disputeWindowClosed, cannotPayBond, nothingToClaim
    // Proof of GPU.
    case noChallenge, challengeClosed, wrongProof
    // Job specs the market cannot run (issue 13): appended, so that earlier raw values keep their meaning.
    case unknownVerification, zeroEscrow, jobNotEncodable

    public var message: String? {
        switch self {
        case .none: nil
        case .wrongChain: "the transaction is for another chain id"
        case .expired: "the transaction expired before this block"
        case .missingSignature: "the transaction has no authenticator"
        case .wrongKey: "the authenticator's public key does not derive the sender address"
        case .badSignature: "the signature does not verify"
        case .senderMissing: "the sender account does not exist"
        case .sequenceMismatch: "the sequence number is not the sender's next sequence"
        case .gasLimitTooLow: "the gas limit is below the gas the transaction needs"
        case .cannotPayMaxFee: "the sender's balance cannot pay gasLimit × gasPrice"
        case .insufficientBalance: "the amount is more than the sender's balance after the fee"
        case .balanceOverflow: "the recipient's balance would overflow"
        case .alreadyRegistered: "the sender is already a registered provider"
        case .stakeTooLow: "the stake is below the market's minimum stake"
        case .invalidOffer: "the offer needs at least one device with a count above 0 and a price above 0"
        case .invalidJob:
            "the job spec is invalid: redundancy 1…16, at least one GPU, duration 1 s…7 days, runner process or container"
        case .escrowOverflow: "the job's escrow (k × GPUs × price × hours) overflows"
        case .cannotPayEscrow: "the sender's balance after the fee cannot pay the job's escrow"
        case .jobNotFound: "there is no such job"
        case .notJobOwner: "only the job's consumer can cancel it"
        case .jobNotOpen: "the job is no longer open (matched, cancelled or expired)"
        case .cannotPayStake: "the sender's balance after the fee cannot pay the stake"
        case .notAssigned: "the sender is not assigned to this job"
        case .alreadyCommitted: "the sender already committed a result for this job"
        case .notCommitPhase: "the job does not take commitments now (not matched, or every provider committed)"
        case .notRevealPhase: "the job does not take reveals now (commitments are still missing, or it is settled)"
        case .revealMismatch: "the result and salt do not match the sender's commitment"
        case .alreadyRevealed: "the sender already revealed its result for this job"
        case .notProvider: "the sender is not a registered provider"
        case .providerNotActive: "the provider is unbonding or withdrawn"
        case .capacityInUse:
            "a device class with GPUs in use must keep its place, model and VRAM, and at least as many GPUs as its jobs use now"
        case .notUnbonding: "the provider has not started unbonding (send provider.unbond first)"
        case .unbondingNotOver: "the unbonding period is not over yet"
        case .jobsInProgress: "the provider still has jobs in progress"
        case .notAuditor: "the sender is not the auditor drawn for this job now"
        case .alreadyReported: "the auditor already reported its result for this job"
        case .auditClosed: "the audit window is over: another auditor is drawn at the end of this block"
        case .notDisputable:
            "only a settled job that was not audited can be disputed (a disputed or audited job cannot)"
        case .disputeWindowClosed: "the dispute window of this job is over"
        case .cannotPayBond: "the sender's balance after the fee cannot pay the dispute bond"
        case .noChallenge: "this device of the provider has no proof-of-GPU challenge waiting for an answer"
        case .challengeClosed: "the challenge's deadline has passed: the next round brings a new one"
        case .wrongProof: "the answer does not prove the challenge's product (wrong entry, path or openings)"
        case .nothingToClaim:
            "the sender has no unclaimed rewards (emissions are credited at the end of each epoch)"
        case .unknownVerification:
            "the job's verification mode is not one the market knows: use "
                + VerificationMode.allCases.map { "\($0.rawValue) (\($0.name))" }.joined(separator: ", ")
        case .zeroEscrow:
            "the job's escrow is zero (a zero price per GPU-hour): offer a price above 0"
        case .jobNotEncodable:
            "a field of the job spec is over its limit (runner \(WireLimits.runnerNameBytes), bundle URI "
                + "\(WireLimits.bundleURIBytes), model \(WireLimits.jobModelBytes) bytes): shorten it"
        }
    }
}

/// A transaction ready for execution: decoded, hashed, and checked for what does not depend on state
/// (chain id, expiry, signature). Signature checks run before execution, in parallel across cores.
public struct BankTransaction: Sendable {
    public var sender: Address
    public var sequence: UInt64
    public var gasLimit: UInt64
    public var gasPrice: UInt64
    /// Read-only: `kind`, `to`, `amount`, `rounds` and `gas` are derived from it.
    public private(set) var payload: Payload
    public var hash: Hash
    /// Set when the transaction is discarded before execution.
    public var rejection: BankError
    /// The height of the block it executes in (the market's unbonding period counts blocks).
    public var height: UInt64 = 0
    /// The Unix seconds of the block it executes in (the market's dispute and audit windows count seconds).
    public var timestamp: UInt64 = 0
    /// The transfer's fields, copied out of the payload so that the hot path (execution, footprints,
    /// costs) never touches the payload enum, whose market cases are boxed (copying it costs a call).
    public var kind: Kind
    public var to: Address
    public var amount: Amount
    public var rounds: UInt32
    /// The gas the payload needs.
    public var gas: UInt64

    public enum Kind: UInt8, Sendable {
        case transfer, computeTransfer, market
    }

    public init(_ tx: Transaction, hash: Hash, rejection: BankError = .none) {
        sender = tx.sender
        sequence = tx.sequence
        gasLimit = tx.gasLimit
        gasPrice = tx.gasPrice
        payload = tx.payload
        self.hash = hash
        self.rejection = rejection
        switch tx.payload {
        case let .transfer(to, amount):
            kind = .transfer
            self.to = to
            self.amount = amount
            rounds = 0
        case let .computeTransfer(to, amount, rounds):
            kind = .computeTransfer
            self.to = to
            self.amount = amount
            self.rounds = rounds
        default:
            kind = .market
            to = .treasury
            amount = .zero
            rounds = 0
        }
        gas = BankVM.gas(of: tx.payload)
    }

    /// Prepares a block's transactions: hashes, chain id, expiry and (unless `verify` is false)
    /// signatures, spread over `threads` threads.
    public static func prepare(
        _ txs: [Transaction], chainId: UInt64, timestamp: UInt64, verify: Bool, threads: Int, height: UInt64 = 1
    ) -> [BankTransaction] {
        txs.concurrentMap(threads: threads) { tx in
            var rejection = BankError.none
            if tx.chainId != chainId {
                rejection = .wrongChain
            } else if tx.expiry < timestamp {
                rejection = .expired
            } else if verify {
                switch tx.verifySignature() {
                case .none: break
                case .missing: rejection = .missingSignature
                case .wrongKey: rejection = .wrongKey
                case .invalid: rejection = .badSignature
                }
            }
            var prepared = BankTransaction(tx, hash: tx.hash, rejection: rejection)
            prepared.height = height
            prepared.timestamp = timestamp
            return prepared
        }
    }
}
