public import SluiceCore
import SluiceState

// The events of a transaction that succeeded, derived after execution from the transaction and its
// receipt. Execution stays allocation-free (a receipt is plain values): what an event needs beyond the
// transaction's own fields travels in the receipt (`output`: the new job's id; `amount`: a refund, a
// returned stake, claimed rewards).

public enum TransactionEvents {
    /// What `tx` did, given its successful receipt.
    public static func events(of tx: RuntimeTransaction, receipt: RuntimeReceipt) -> [Event] {
        let sender = tx.sender
        switch tx.payload {
        case .transfer(let to, let amount), .computeTransfer(let to, let amount, _):
            return [.transfer(from: sender, to: to, amount: amount)]
        case .providerRegister(let offer): return [.providerRegistered(provider: sender, stake: offer.stake)]
        case .providerUpdate: return [.providerUpdated(provider: sender)]
        case .providerHeartbeat: return [.providerHeartbeat(provider: sender)]
        case .providerUnbond: return [.providerUnbonding(provider: sender)]
        case .providerWithdraw: return [.providerWithdrawn(provider: sender, amount: receipt.amount)]
        case .providerProve(let answer): return [.proofPassed(provider: sender, device: UInt32(answer.device))]
        case .jobSubmit(let spec):
            guard let id = receipt.output else { return [] }
            return [.jobSubmitted(job: id, consumer: sender, escrow: spec.escrow ?? .zero)]
        case .jobCancel(let job): return [.jobCancelled(job: job, consumer: sender, refund: receipt.amount)]
        case .jobCommit(let job, _): return [.resultCommitted(job: job, provider: sender)]
        case .jobReveal(let job, let result, _, _, _):
            return [.resultRevealed(job: job, provider: sender, result: result)]
        case .auditReport(let job, _, _, _): return [.auditReported(job: job, auditor: sender)]
        case .jobDispute(let job): return [.jobDisputed(job: job, consumer: sender)]
        case .rewardClaim: return [.rewardClaimed(account: sender, amount: receipt.amount)]
        }
    }
}
