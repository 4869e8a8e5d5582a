import SluiceCore
import SluiceExecution

// The block-end step's events: those the steps emitted as they went (fees, refunds, income rows, proof
// rounds), then one per job whose status (or set of providers) the step changed, in the order the step
// first wrote each job.
// Status changes are found by comparing each job record written at block end with the record after the
// block's transactions, so no step can change a status without its event.
enum BlockEndEvents {
    static func finish<Reader: StateReader<StateValue>>(_ pending: PendingWrites<Reader>) -> [Event] {
        var events = pending.events
        for key in pending.order where key.space == .marketJob {
            guard case .job(let job)?? = pending.values[key] else { continue }
            let old: JobRecord? = if case .job(let o)? = pending.state.read(key) { o } else { nil }
            // A change of status, or of providers (a job re-matched in the block whose deadline dropped a
            // provider stays `matched`, with a new provider that must hear of it).
            guard old?.status != job.status || old?.assigned.map(\.provider) != job.assigned.map(\.provider) else {
                continue
            }
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
