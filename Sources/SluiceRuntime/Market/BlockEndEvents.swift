import SluiceCore
import SluiceExecution

// The block-end step's events: those the steps emitted as they went (fees, refunds, income rows, proof
// rounds), then one per job whose status the step changed, in the order the step first wrote each job.
// Status changes are found by comparing each job record written at block end with the record after the
// block's transactions, so no step can change a status without its event.
enum BlockEndEvents {
    static func finish<Reader: StateReader<StateValue>>(_ pending: PendingWrites<Reader>) -> [Event] {
        var events = pending.events
        for key in pending.order where key.space == .marketJob {
            guard case .job(let job)?? = pending.values[key] else { continue }
            let before: JobStatus? = if case .job(let old)? = pending.state.read(key) { old.status } else { nil }
            guard before != job.status else { continue }
            if job.status == .settled {
                var payouts: [Payout] = []
                var refund = Amount.zero
                for e in pending.events {
                    switch e {
                    case .income(let account, .jobPay, let amount, let fee, job.id?):
                        payouts.append(Payout(provider: account, amount: Amount(amount.value &+ fee.value)))
                    case .jobRefunded(job.id, _, let amount): refund = Amount(refund.value &+ amount.value)
                    default: break
                    }
                }
                events.append(.jobSettled(job: job.id, consumer: job.consumer, payouts: payouts, refund: refund))
            } else {
                events.append(.jobStatus(job: job.id, status: job.status, providers: job.assigned.map(\.provider)))
            }
        }
        return events
    }
}
