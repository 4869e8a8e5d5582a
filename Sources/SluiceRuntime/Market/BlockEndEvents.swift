import SluiceCore
import SluiceExecution
import SluiceState

// The block-end step's events: those the steps emitted as they went (fees, refunds, income rows, proof
// rounds), then one per job whose status (or set of providers) the step changed, in the order the step
// first wrote each job.
// Status changes are found by comparing each job record written at block end with the record after the
// block's transactions, so no step can change a status without its event.
enum BlockEndEvents {
    /// - Complexity: O(j + e): one state read per job written, one pass over the events when a job settled.
    static func finish<Reader: StateReader<StateValue>>(_ pending: PendingWrites<Reader>) -> [Event] {
        var events = pending.events
        var settlements: [Hash: (payouts: [Payout], refund: UInt128)]? = nil
        for key in pending.order where key.space == .marketJob {
            guard case .job(let job)?? = pending.values[key] else { continue }
            let old: JobRecord? = if case .job(let o)? = pending.state.read(key) { o } else { nil }
            // A change of status, or of providers (a job re-matched in the block whose deadline dropped a
            // provider stays `matched`, with a new provider that must hear of it).
            guard let old, old.status == job.status, sameProviders(old.assigned, job.assigned) else {
                if job.status == .settled {
                    if settlements == nil { settlements = settlementsByJob(pending.events) }
                    let s = settlements?[job.id]
                    events.append(
                        .jobSettled(
                            job: job.id, consumer: job.consumer, payouts: s?.payouts ?? [],
                            refund: Amount(s?.refund ?? 0)))
                } else {
                    events.append(.jobStatus(job: job.id, status: job.status, providers: job.assigned.map(\.provider)))
                }
                continue
            }
        }
        return events
    }

    static func sameProviders(_ a: [JobRecord.Assignment], _ b: [JobRecord.Assignment]) -> Bool {
        guard a.count == b.count else { return false }
        for i in a.indices where a[i].provider != b[i].provider { return false }
        return true
    }

    /// Each job's pay (before the fee) and refunds among the step's events, in one pass.
    static func settlementsByJob(_ events: [Event]) -> [Hash: (payouts: [Payout], refund: UInt128)] {
        var by: [Hash: (payouts: [Payout], refund: UInt128)] = [:]
        for e in events {
            switch e {
            case .income(let account, .jobPay, let amount, let fee, let job?):
                by[job, default: ([], 0)].payouts.append(
                    Payout(provider: account, amount: Amount(amount.value &+ fee.value)))
            case .jobRefunded(let job, _, let amount): by[job, default: ([], 0)].refund &+= amount.value
            default: break
            }
        }
        return by
    }
}
