import SluiceCore
import SluiceState

// Why a transaction was discarded or failed, per module: the runtime's own rules and the Bank's
// (`BankError`), the market's (`MarketError`); staking and contracts will add theirs. A receipt carries one
// `TransactionError` (two bytes, on the hot path: no allocation); its message is what receipts show.

/// The runtime's checks before execution and the Bank's rules: discarded, or a transfer that failed.
public enum BankError: UInt8, Sendable, CaseIterable {
    // Checked before execution.
    case wrongChain = 1, expired, missingSignature, wrongKey, badSignature
    // The discard rules, in the order they are checked (every module's transactions).
    case senderMissing, sequenceMismatch, gasLimitTooLow, cannotPayMaxFee
    // Failed: fee and sequence taken, transfer not applied.
    case insufficientBalance, balanceOverflow

    public var message: String {
        switch self {
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
        }
    }
}

/// The market's failures: the fee and sequence were taken, nothing else changed.
public enum MarketError: UInt8, Sendable, CaseIterable {
    case alreadyRegistered = 1, stakeTooLow, invalidOffer, invalidJob, escrowOverflow, cannotPayEscrow, jobNotFound,
        notJobOwner, jobNotOpen, cannotPayStake, notAssigned, alreadyCommitted, notCommitPhase, notRevealPhase,
        revealMismatch, alreadyRevealed, notProvider, providerNotActive, capacityInUse, notUnbonding,
        unbondingNotOver, jobsInProgress, notAuditor, alreadyReported, auditClosed, notDisputable,
        disputeWindowClosed, cannotPayBond, nothingToClaim
    // Proof of GPU.
    case noChallenge, challengeClosed, wrongProof
    // Job specs the market cannot run (issue 13).
    case unknownVerification, zeroEscrow, jobNotEncodable

    public var message: String {
        switch self {
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

/// The error of one transaction: none, or its module's.
public enum TransactionError: Hashable, Sendable {
    case none
    case bank(BankError)
    case market(MarketError)

    /// The module whose rule it is (nil for none).
    public var module: RuntimeModuleID? {
        switch self {
        case .none: nil
        case .bank: .bank
        case .market: .market
        }
    }

    public var message: String? {
        switch self {
        case .none: nil
        case .bank(let e): e.message
        case .market(let e): e.message
        }
    }
}
