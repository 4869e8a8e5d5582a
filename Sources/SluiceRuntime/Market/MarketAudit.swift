public import SluiceCore
import SluiceExecution
public import SluiceState

// Audits (docs/MARKET.md, "When results disagree", "Random audit"). A job is audited when its reveals
// disagree, when its agreeing reveals are drawn for a random audit (then it is paid only after the
// audit), or when its consumer disputes it after settlement (`job.dispute`, with a bond). Everything
// here runs in the block-end step, job by job in id order, so it is as deterministic as matching:
//
// - The auditor of round r is drawn from the providers that could run the job now (active, devices that
//   fit, free GPUs, ask ≤ the job's max price, not its consumer) and are neither among its providers
//   nor failed for it, sorted by address, with SHA-256("SLUICE::audit" ‖ block seed ‖ job id ‖ r).
//   Round 0 of the same seed decides whether agreeing reveals are audited at all.
// - The auditor's GPUs are taken and its report is due the job's maximum duration plus `auditGrace`
//   later. One that misses it is slashed like a missed commitment and the next round draws another;
//   a round with no eligible provider waits `auditGrace`. After `maxAuditRounds` rounds the audit gives
//   up: a disagreement is refunded (`unresolved`), agreeing providers are paid, a dispute's bond goes
//   back.
// - A report settles the job: providers whose result the auditor's equals are paid; each contradicted
//   one loses `dishonestSlash` of its stake, split burned / auditor / consumer; the auditor is paid its
//   ask for the seconds it used (no fee), from the escrow, or from the treasury when it confirmed a
//   random audit or a consumer's dispute refuted providers that were already paid.

extension JobRecord {
    /// SHA-256("SLUICE::audit" ‖ block seed ‖ job id ‖ round): round 0 draws whether agreeing reveals
    /// are audited, round r ≥ 1 the auditor of round r.
    public static func auditSeed(_ seed: Hash, job: Hash, round: UInt8) -> Hash {
        var w = CanonicalWriter(capacity: 96)
        for b in "SLUICE::audit".utf8 { w.write(b) }
        w.write(seed)
        w.write(job)
        w.write(round)
        return Hash.sha256(w.bytes)
    }

    /// Whether agreeing reveals closed in a block with this seed are drawn for a random audit.
    public static func drawnForAudit(_ seed: Hash, job: Hash, probabilityBasisPoints: UInt32) -> Bool {
        probabilityBasisPoints > 0 && auditSeed(seed, job: job, round: 0).w0 % 10_000 < UInt64(probabilityBasisPoints)
    }
}

extension MarketAuction {
    /// The reveals are in (or their window closed): the providers' GPUs are free again. Disagreeing
    /// reveals start an audit; agreeing ones are paid now, unless the job is drawn for a random audit
    /// and an auditor can be drawn in this block (with none eligible, the job is paid as if not drawn).
    static func closeReveals<Reader: StateReader<StateValue>>(
        _ job: inout JobRecord, step: Step, writes: inout PendingWrites<Reader>
    ) -> Progress {
        for a in job.assigned { release(a.provider, device: a.device, gpus: job.spec.gpuCount, writes: &writes) }
        let results = Set(job.assigned.compactMap(\.result))
        guard results.count == 1, let agreed = results.first else {
            job.status = .disputed
            job.audit = JobRecord.Audit(kind: .disagreement)
            return advanceAudit(&job, step: step, writes: &writes)
        }
        if JobRecord.drawnForAudit(
            step.context.seed, job: job.id, probabilityBasisPoints: step.params.auditProbabilityBasisPoints),
            let auditor = drawAuditor(for: job, round: 1, step: step, writes: &writes)
        {
            job.status = .disputed
            job.audit = JobRecord.Audit(kind: .random)
            job.audit?.round = 1
            assign(auditor, to: &job, step: step, writes: &writes)
            return .active
        }
        pay(&job, slots: job.assigned.indices, step: step, writes: &writes)
        refund(&job, writes: &writes)
        job.result = agreed
        job.status = .settled
        job.settledTimestamp = step.context.timestamp
        return .done
    }

    /// Moves a disputed job's audit on: a report settles it; a missed report fails the auditor; a new
    /// round draws the next auditor, or the audit gives up after `maxAuditRounds`.
    static func advanceAudit<Reader: StateReader<StateValue>>(
        _ job: inout JobRecord, step: Step, writes: inout PendingWrites<Reader>
    ) -> Progress {
        guard var audit = job.audit else { return .done }
        let now = step.context.timestamp
        if let auditor = audit.auditor {
            if audit.result != nil {
                resolveAudit(&job, step: step, writes: &writes)
                return .done
            }
            guard now > job.deadline else { return .active }
            fail(auditor, device: audit.device, job: job, step: step, writes: &writes)
            job.failedProviders.append(auditor)
            audit.auditor = nil
            audit.pricePerGPUHour = .zero
        } else if audit.round > 0 {
            // A round that found nobody: the next one begins at its deadline.
            guard now > job.deadline else { return .active }
        }
        guard audit.round < step.params.maxAuditRounds else {
            job.audit = audit
            giveUp(&job, step: step, writes: &writes)
            return .done
        }
        audit.round += 1
        job.audit = audit
        if let auditor = drawAuditor(for: job, round: audit.round, step: step, writes: &writes) {
            assign(auditor, to: &job, step: step, writes: &writes)
        } else {
            job.deadline = now &+ step.params.auditGraceSeconds
        }
        return .active
    }

    /// An auditor drawn for a round: the provider and the device class the audit runs on, at that class's ask.
    struct Auditor {
        var record: ProviderRecord
        var device: Int
        var ask: Amount
    }

    /// The auditor of `round`, drawn from the eligible providers (sorted by address) with the audit seed, on
    /// its cheapest class that fits the job with its GPUs free; nil when none is eligible.
    /// - Complexity: O(p) reads, p the registered providers.
    static func drawAuditor<Reader: StateReader<StateValue>>(
        for job: JobRecord, round: UInt8, step: Step, writes: inout PendingWrites<Reader>
    ) -> Auditor? {
        var eligible: [Auditor] = []
        for address in step.providers {
            guard case .provider(let p)? = writes.read(.provider(address)) else { continue }
            if p.status == .active
                && p.isLive(at: step.context.height, timeoutBlocks: step.params.heartbeatTimeoutBlocks),
                let (device, ask) = p.cheapestFreeClass(for: job.spec, proven: step.params.proofsRequired),
                ask <= job.spec.maxPricePerGPUHour && p.owner != job.consumer
                    && !job.assigned.contains(where: { $0.provider == p.owner })
                    && !job.failedProviders.contains(p.owner)
            {
                eligible.append(Auditor(record: p, device: device, ask: ask))
            }
        }
        guard !eligible.isEmpty else { return nil }
        let draw = JobRecord.auditSeed(step.context.seed, job: job.id, round: round).w0
        return eligible[Int(draw % UInt64(eligible.count))]
    }

    /// Makes the drawn auditor the job's: its class's GPUs are taken and its report is due in the audit window.
    static func assign<Reader: StateReader<StateValue>>(
        _ auditor: Auditor, to job: inout JobRecord, step: Step, writes: inout PendingWrites<Reader>
    ) {
        var p = auditor.record
        p.take(job.spec.gpuCount, device: auditor.device)
        writes.write(.provider(p.owner), .provider(p))
        job.audit?.auditor = p.owner
        job.audit?.device = UInt32(auditor.device)
        job.audit?.pricePerGPUHour = auditor.ask
        job.deadline = step.context.timestamp &+ job.spec.maxDurationSeconds &+ step.params.auditGraceSeconds
        writes.emit(.auditAssigned(job: job.id, auditor: p.owner))
    }

    /// The auditor reported: pay, slash and refund as the audit decides, and settle the job.
    static func resolveAudit<Reader: StateReader<StateValue>>(
        _ job: inout JobRecord, step: Step, writes: inout PendingWrites<Reader>
    ) {
        guard var audit = job.audit, let auditor = audit.auditor, let found = audit.result else { return }
        release(auditor, device: audit.device, gpus: job.spec.gpuCount, done: true, writes: &writes)
        let confirmed = job.assigned.indices.filter { job.assigned[$0].result == found }
        let contradicted = job.assigned.indices.filter { job.assigned[$0].result != found }
        // A disagreement whose audit matches no side cannot be told from a job that does not reproduce:
        // nobody is slashed. Agreeing providers (random audit, dispute) are contradicted together.
        let dishonest = audit.kind == .disagreement && confirmed.isEmpty ? [] : contradicted
        var burned: UInt128 = 0
        var toAuditor: UInt128 = 0
        var toConsumer: UInt128 = 0
        for i in dishonest {
            let shares = slashDishonest(job.assigned[i].provider, step: step, writes: &writes)
            MarketIncome.record(
                job.assigned[i].provider, .slash, shares.burned + shares.auditor + shares.consumer, job: job.id,
                height: step.context.height, writes: &writes)
            burned += shares.burned
            toAuditor += shares.auditor
            toConsumer += shares.consumer
        }
        if burned > 0 { burn(burned, writes: &writes) }
        if toAuditor > 0 { credit(auditor, Amount(toAuditor), writes: &writes) }
        MarketIncome.record(auditor, .slashShare, toAuditor, job: job.id, height: step.context.height, writes: &writes)
        if toConsumer > 0 { credit(job.consumer, Amount(toConsumer), writes: &writes) }
        // The auditor's run: its ask × GPUs × the seconds it used; it fits as a provider's payment does
        // (its ask is at most the job's max price).
        let cost =
            audit.pricePerGPUHour.value * UInt128(job.spec.gpuCount)
            * UInt128(min(audit.usageSeconds, job.spec.maxDurationSeconds)) / 3600
        switch audit.kind {
        case .disagreement:
            pay(&job, slots: confirmed, step: step, writes: &writes)
            audit.paid = payFromEscrow(&job, cost, to: auditor, writes: &writes)
            job.result = confirmed.isEmpty ? nil : found
        case .random where contradicted.isEmpty:
            // Confirmed: the providers are paid from the escrow, the audit by the treasury (the fee's
            // purpose).
            pay(&job, slots: confirmed, step: step, writes: &writes)
            audit.paid = payFromTreasury(cost, to: auditor, writes: &writes)
            job.result = found
        case .random:
            audit.paid = payFromEscrow(&job, cost, to: auditor, writes: &writes)
            job.result = nil
        case .dispute where contradicted.isEmpty:
            // The consumer was wrong: its bond pays the audit, the rest comes back.
            audit.paid = payFromEscrow(&job, cost, to: auditor, writes: &writes)
        case .dispute:
            // The providers were wrong and already paid: the bond comes back whole, the treasury pays
            // the audit.
            audit.paid = payFromTreasury(cost, to: auditor, writes: &writes)
            job.result = nil
        }
        MarketIncome.record(
            auditor, .auditPay, audit.paid.value, job: job.id, height: step.context.height, writes: &writes)
        refund(&job, writes: &writes)
        job.audit = audit
        job.status = .settled
        job.settledTimestamp = step.context.timestamp
    }

    /// No auditor reported in `maxAuditRounds` rounds: nobody is slashed. A disagreement is refunded in
    /// full (`unresolved`); agreeing providers under a random audit are paid; a dispute's bond goes back.
    static func giveUp<Reader: StateReader<StateValue>>(
        _ job: inout JobRecord, step: Step, writes: inout PendingWrites<Reader>
    ) {
        switch job.audit?.kind {
        case .random?:
            pay(&job, slots: job.assigned.indices, step: step, writes: &writes)
            job.result = job.assigned.first?.result
            job.status = .settled
        case .dispute?:
            job.status = .settled
        case .disagreement?, nil:
            job.status = .unresolved
        }
        refund(&job, writes: &writes)
        job.settledTimestamp = step.context.timestamp
    }

    /// A provider's result was contradicted: it loses `dishonestSlash` of its stake and a dispute is
    /// counted. Returns the slash split into burned, auditor's and consumer's shares (the consumer's
    /// share takes the rounding).
    static func slashDishonest<Reader: StateReader<StateValue>>(
        _ provider: Address, step: Step, writes: inout PendingWrites<Reader>
    ) -> (burned: UInt128, auditor: UInt128, consumer: UInt128) {
        guard case .provider(var p)? = writes.read(.provider(provider)) else { return (0, 0, 0) }
        let slash = basisPoints(step.params.dishonestSlashBasisPoints, of: p.stake.value)
        p.stake = Amount(p.stake.value - slash)
        p.jobsDisputed += 1
        writes.write(.provider(provider), .provider(p))
        let burned = basisPoints(step.params.slashBurnBasisPoints, of: slash)
        let auditor = basisPoints(step.params.slashAuditorBasisPoints, of: slash)
        return (burned, auditor, slash - burned - auditor)
    }

    /// Adds to `market/burned`: the total that slashes took out of the supply.
    static func burn<Reader: StateReader<StateValue>>(_ amount: UInt128, writes: inout PendingWrites<Reader>) {
        var total: UInt128 = 0
        if case .burned(let b)? = writes.read(.marketBurned) { total = b.value }
        // Cannot overflow: what is burned came out of stakes, and the supply fits UInt128.
        writes.write(.marketBurned, .burned(Amount(total + amount)))
    }

    /// Pays up to `amount` out of the job's escrow; returns what was paid.
    static func payFromEscrow<Reader: StateReader<StateValue>>(
        _ job: inout JobRecord, _ amount: UInt128, to address: Address, writes: inout PendingWrites<Reader>
    ) -> Amount {
        let paid = min(amount, job.escrow.value)
        guard paid > 0 else { return .zero }
        job.escrow = Amount(job.escrow.value - paid)
        credit(address, Amount(paid), writes: &writes)
        return Amount(paid)
    }

    /// Pays up to `amount` out of the treasury (no more than it holds); returns what was paid.
    static func payFromTreasury<Reader: StateReader<StateValue>>(
        _ amount: UInt128, to address: Address, writes: inout PendingWrites<Reader>
    ) -> Amount {
        let key = StateKey.account(.treasury)
        guard var treasury = writes.read(key)?.account else { return .zero }
        let paid = min(amount, treasury.balance.value)
        guard paid > 0 else { return .zero }
        treasury.balance = Amount(treasury.balance.value - paid)
        writes.write(key, .account(treasury))
        credit(address, Amount(paid), writes: &writes)
        return Amount(paid)
    }
}
