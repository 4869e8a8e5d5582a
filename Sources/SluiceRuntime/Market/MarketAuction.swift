import SluiceCore
public import SluiceExecution
public import SluiceState

// The market's block-end step: after all transactions of a block, in a fixed order, the block's new
// providers and jobs join the book, jobs under way move on (commitments, reveals, audits, deadlines),
// open jobs expire or are matched. Only this step writes the book, so transactions never contend on it.

/// Block-end writes over the state after the block: reads see earlier writes of the same step.
public struct PendingWrites<Reader: StateReader<StateValue>> {
    let state: Reader
    private(set) var values: [StateKey: StateValue?] = [:]
    private(set) var order: [StateKey] = []
    /// The step's events so far, in the order the step emitted them.
    private(set) var events: [Event] = []

    init(state: Reader) { self.state = state }

    func read(_ key: StateKey) -> StateValue? {
        if let v = values[key] { return v }
        return state.read(key)
    }

    mutating func write(_ key: StateKey, _ value: StateValue?) {
        if values.updateValue(value, forKey: key) == nil { order.append(key) }
    }

    mutating func emit(_ event: Event) { events.append(event) }

    /// In first-write order (deterministic: the step runs in a fixed order).
    var writes: [StateWrite<StateValue>] { order.map { StateWrite(key: $0, value: values[$0]!) } }
}

/// The market's batch auction at block end.
///
/// 1. Providers registered in this block join the book, jobs submitted in it join the open jobs.
/// 2. Jobs under way that got a commitment, reveal, report or dispute in this block, or whose deadline
///    passed, move on (`advance`, and the audits of `MarketAudit.swift`), in id order.
/// 3. Open jobs that are no longer open (cancelled) leave; open jobs older than `openJobBlocks` expire
///    with their escrow refunded.
/// 4. The rest are matched: jobs by (max price desc, submit height asc, id asc); each takes the k
///    cheapest eligible providers (active, a device class that fits and, when the chain asks for proofs,
///    passed proof of GPU, its ask ≤ the job's max price, free GPUs ≥ its GPU count) by (ask asc,
///    reputation desc, uptime desc, address asc), each at the ask of its cheapest class that fits, or
///    stays open when fewer than k fit. A provider's free GPUs shrink as it is assigned within the same
///    pass.
/// Nothing here depends on the order of the block's transactions: only on the set of new records
/// (sorted by id) and on the stored ones.
enum MarketAuction {
    /// What the step works with besides the state: the block, the genesis parameters (read once per
    /// block) and the registered providers by address, which audits draw from.
    struct Step {
        let context: BlockContext
        let params: MarketParameters
        let providers: [Address]
    }

    static func run<Reader: StateReader<StateValue>>(
        outputs: UnsafeBufferPointer<RuntimeReceipt>, context: BlockContext, anyMarketTransaction: Bool,
        writes: inout PendingWrites<Reader>
    ) {
        let stored = writes.read(.marketBook)
        guard case .book(let book)? = stored else {
            // No book yet: only a block with market transactions starts one.
            guard anyMarketTransaction else { return }
            let params = MarketParameters.stored(writes.read(.marketParameters))
            run(book: MarketBook(), outputs: outputs, context: context, params: params, writes: &writes, stored: nil)
            return
        }
        // Nothing new and nothing open: the book stays as it is (empty blocks cost nothing here).
        let proofDue = book.proofSchedule.first.map { $0.time < context.timestamp } ?? false
        guard anyMarketTransaction || !book.openJobs.isEmpty || !book.activeJobs.isEmpty || proofDue else { return }
        let params = MarketParameters.stored(writes.read(.marketParameters))
        run(book: book, outputs: outputs, context: context, params: params, writes: &writes, stored: book)
    }

    private static func run<Reader: StateReader<StateValue>>(
        book start: MarketBook, outputs: UnsafeBufferPointer<RuntimeReceipt>, context: BlockContext,
        params: MarketParameters, writes: inout PendingWrites<Reader>, stored: MarketBook?
    ) {
        var book = start
        // 1. New providers and jobs, sorted so that their order in the block does not matter.
        var newProviders: [Address] = []
        var reoffered: [Address] = []
        var newJobs: [Hash] = []
        for o in outputs where o.status == .success {
            switch o.market {
            case .registered: if let h = o.output { newProviders.append(Address(h)) }
            case .submitted: if let h = o.output { newJobs.append(h) }
            case .reoffered: if let h = o.output { reoffered.append(Address(h)) }
            case .cancelled, .delivered, .withdrawn, .none: break
            }
        }
        newProviders.sort()
        newJobs.sort()
        for address in newProviders {
            guard case .provider(var p)? = writes.read(.provider(address)) else { continue }
            p.registeredHeight = context.height
            writes.write(.provider(address), .provider(p))
        }
        if !newProviders.isEmpty { book.providers = mergeSorted(book.providers, newProviders) }
        let step = Step(context: context, params: params, providers: book.providers)
        // Proof of GPU: rounds for new and re-offered devices, missed deadlines, rounds that are due.
        if params.proofsRequired {
            let provers = Array(Set(newProviders + reoffered)).sorted()
            book.proofSchedule = advanceProofs(
                schedule: book.proofSchedule, fresh: provers, step: step, writes: &writes)
        }
        // New jobs are written once, below: matched, or still open with their submit height.
        var fresh: [Hash: JobRecord] = [:]
        fresh.reserveCapacity(newJobs.count)
        for id in newJobs {
            guard case .job(var j)? = writes.read(.job(id)) else { continue }
            j.submitHeight = context.height
            fresh[id] = j
        }
        book.openJobs.append(contentsOf: newJobs)

        // 2. Jobs under way: only those that got a commitment, a reveal, a report or a dispute in this
        //    block and those whose deadline passed (a prefix of the book's list, sorted by deadline) can
        //    move.
        var visit: [Hash] = []
        for o in outputs where o.status == .success && o.market == .delivered {
            if let id = o.output { visit.append(id) }
        }
        var overdue = 0
        while overdue < book.activeJobs.count && book.activeJobs[overdue].deadline < context.timestamp {
            visit.append(book.activeJobs[overdue].id)
            overdue += 1
        }
        var stillActive = book.activeJobs
        var reopened: [Hash] = []
        if !visit.isEmpty {
            visit.sort()
            var removed = Set<MarketBook.ActiveJob>()
            var added: [MarketBook.ActiveJob] = []
            var previous: Hash? = nil
            for id in visit where id != previous {
                previous = id
                guard case .job(var job)? = writes.read(.job(id)),
                    job.status == .matched || job.status == .committed || job.status == .disputed
                else { continue }
                let entry = MarketBook.ActiveJob(deadline: job.deadline, id: id)
                let progress = advance(&job, step: step, writes: &writes)
                writes.write(.job(id), .job(job))
                removed.insert(entry)
                switch progress {
                case .active: added.append(MarketBook.ActiveJob(deadline: job.deadline, id: id))
                case .reopened: reopened.append(id)
                case .done: break
                }
            }
            stillActive.removeAll { removed.contains($0) }
            // The list stays sorted: merge the few moved jobs in instead of sorting all of it again.
            stillActive = mergeSorted(stillActive, added.sorted())
        }
        book.openJobs.append(contentsOf: reopened)

        // 3. Drop what is no longer open; expire what waited too long.
        var open: [JobRecord] = []
        open.reserveCapacity(book.openJobs.count)
        for id in book.openJobs {
            if let job = fresh[id] {
                if job.status == .open { open.append(job) }
                continue
            }
            guard case .job(var job)? = writes.read(.job(id)), job.status == .open else { continue }
            if context.height >= job.submitHeight &+ params.openJobBlocks {
                for a in job.assigned {
                    release(a.provider, device: a.device, gpus: job.spec.gpuCount, writes: &writes)
                }
                refund(&job, writes: &writes)
                job.status = .expired
                writes.write(.job(id), .job(job))
                continue
            }
            open.append(job)
        }

        // 4. Match.
        var providers: [ProviderRecord] = []
        providers.reserveCapacity(book.providers.count)
        var leaving = Set<Address>()
        for address in book.providers {
            guard case .provider(let p)? = writes.read(.provider(address)) else { continue }
            if p.status == .active && p.free > 0 { providers.append(p) }
            if p.status == .withdrawn { leaving.insert(address) }
        }
        // One ask per device class (its own price, or the provider's), sorted by (price asc, reputation
        // desc, uptime desc, address asc, class asc): small keys, not the records.
        var asks: [Ask] = []
        asks.reserveCapacity(providers.count)
        for (i, p) in providers.enumerated() {
            // A silent provider offers nothing until its next heartbeat.
            guard p.isLive(at: context.height, timeoutBlocks: params.heartbeatTimeoutBlocks) else { continue }
            let uptime = p.uptimeBasisPoints(at: context.height, slotBlocks: params.uptimeSlotBlocks)
            for d in p.offer.devices.indices {
                asks.append(
                    Ask(
                        provider: Int32(i), device: Int32(d), price: p.ask(device: d), reputation: p.reputation,
                        uptime: uptime))
            }
        }
        asks.sort { a, b in
            if a.price != b.price { return a.price < b.price }
            if a.reputation != b.reputation { return a.reputation > b.reputation }
            if a.uptime != b.uptime { return a.uptime > b.uptime }
            if a.provider != b.provider { return providers[Int(a.provider)].owner < providers[Int(b.provider)].owner }
            return a.device < b.device
        }
        // Sort small keys, not the records.
        var order = Array(open.indices)
        order.sort { x, y in
            let a = open[x]
            let b = open[y]
            if a.spec.maxPricePerGPUHour != b.spec.maxPricePerGPUHour {
                return a.spec.maxPricePerGPUHour > b.spec.maxPricePerGPUHour
            }
            if a.submitHeight != b.submitHeight { return a.submitHeight < b.submitHeight }
            return a.id < b.id
        }
        var changedProviders = Set<Int>()
        var stillOpen: [(height: UInt64, id: Hash)] = []
        var newlyActive: [MarketBook.ActiveJob] = []
        for index in order {
            var job = open[index]
            // A job reopened after a missed commitment keeps the providers that did commit.
            let need = Int(job.spec.redundancy) - job.assigned.count
            var chosen: [(provider: Int, device: Int, price: Amount)] = []
            chosen.reserveCapacity(need)
            // Asks are sorted by price: the first one above what the job pays ends the search. A provider
            // serves a job once, at the ask of its cheapest class that fits.
            for ask in asks where need > 0 {
                if ask.price > job.spec.maxPricePerGPUHour { break }
                let i = Int(ask.provider)
                let p = providers[i]
                if p.free(device: Int(ask.device)) >= job.spec.gpuCount
                    && p.fits(job.spec, device: Int(ask.device), proven: step.params.proofsRequired)
                    && p.owner != job.consumer && !chosen.contains(where: { $0.provider == i })
                    && !job.assigned.contains(where: { $0.provider == p.owner })
                    && !job.failedProviders.contains(p.owner)
                {
                    chosen.append((i, Int(ask.device), ask.price))
                    if chosen.count == need { break }
                }
            }
            guard chosen.count == need else {
                stillOpen.append((job.submitHeight, job.id))
                if fresh[job.id] != nil { writes.write(.job(job.id), .job(job)) }
                continue
            }
            job.status = .matched
            job.matchedHeight = context.height
            job.deadline = context.timestamp &+ job.spec.maxDurationSeconds &+ params.commitGraceSeconds
            for (i, device, price) in chosen {
                job.assigned.append(
                    JobRecord.Assignment(provider: providers[i].owner, device: UInt32(device), pricePerGPUHour: price))
                providers[i].take(job.spec.gpuCount, device: device)
                changedProviders.insert(i)
            }
            writes.write(.job(job.id), .job(job))
            newlyActive.append(MarketBook.ActiveJob(deadline: job.deadline, id: job.id))
        }
        for i in changedProviders.sorted() { writes.write(.provider(providers[i].owner), .provider(providers[i])) }

        // The book keeps the still-open jobs in submission order, the active ones by id.
        if !leaving.isEmpty {
            book.providers.removeAll { leaving.contains($0) }
            book.proofSchedule.removeAll { leaving.contains($0.provider) }
        }
        stillOpen.sort { $0.height != $1.height ? $0.height < $1.height : $0.id < $1.id }
        book.openJobs = stillOpen.map(\.id)
        if !newlyActive.isEmpty {
            stillActive = mergeSorted(stillActive, newlyActive.sorted())
        }
        book.activeJobs = stillActive
        if book != stored { writes.write(.marketBook, .book(book)) }
    }

    enum Progress { case active, reopened, done }

    /// One device class's ask in the auction.
    struct Ask {
        var provider: Int32
        var device: Int32
        var price: Amount
        var reputation: Int64
        var uptime: UInt32
    }

    /// Moves a job under way on: all commitments in → reveals due; all reveals in → paid, or audited
    /// (`closeReveals`); a deadline passed → the providers that missed it are slashed and dropped, and
    /// the job is reopened for their slots (commit phase) or closed with the reveals it has (reveal
    /// phase); a disputed job's audit moves on (`advanceAudit`).
    static func advance<Reader: StateReader<StateValue>>(
        _ job: inout JobRecord, step: Step, writes: inout PendingWrites<Reader>
    ) -> Progress {
        let now = step.context.timestamp
        switch job.status {
        case .matched:
            if job.assigned.allSatisfy({ $0.commitment != nil }) {
                job.status = .committed
                job.deadline = now &+ step.params.revealWindowSeconds
                return .active
            }
            guard now > job.deadline else { return .active }
            for a in job.assigned where a.commitment == nil {
                fail(a.provider, device: a.device, job: job, step: step, writes: &writes)
                job.failedProviders.append(a.provider)
            }
            job.assigned.removeAll { $0.commitment == nil }
            job.status = .open
            return .reopened
        case .committed:
            if job.assigned.allSatisfy({ $0.result != nil }) { return closeReveals(&job, step: step, writes: &writes) }
            guard now > job.deadline else { return .active }
            for a in job.assigned where a.result == nil {
                fail(a.provider, device: a.device, job: job, step: step, writes: &writes)
                job.failedProviders.append(a.provider)
            }
            job.assigned.removeAll { $0.result == nil }
            if job.assigned.isEmpty {
                refund(&job, writes: &writes)
                job.status = .expired
                return .done
            }
            return closeReveals(&job, step: step, writes: &writes)
        case .disputed:
            return advanceAudit(&job, step: step, writes: &writes)
        case .open, .cancelled, .expired, .settled, .unresolved:
            return .done
        }
    }

    /// Pays the providers in `slots` for their usage: each its ask × GPUs × the seconds it used (capped
    /// by the maximum duration, rounded down), less the protocol fee for the treasury, out of the escrow.
    static func pay<Reader: StateReader<StateValue>>(
        _ job: inout JobRecord, slots: some Sequence<Int>, step: Step, writes: inout PendingWrites<Reader>
    ) {
        var fees: UInt128 = 0
        for i in slots {
            let a = job.assigned[i]
            let used = min(a.usageSeconds, job.spec.maxDurationSeconds)
            // price × GPUs × seconds ÷ 3600, rounded down; it fits: the escrow (rounded up) was computed
            // from the same product with the maximum price and duration, and k ≥ 1.
            let pay = min(
                a.pricePerGPUHour.value * UInt128(job.spec.gpuCount) * UInt128(used) / 3600, job.escrow.value)
            let fee = basisPoints(step.params.feeBasisPoints, of: pay)
            credit(a.provider, Amount(pay - fee), writes: &writes)
            fees += fee
            job.escrow = Amount(job.escrow.value - pay)
            job.assigned[i].paid = Amount(pay)
            if case .provider(var p)? = writes.read(.provider(a.provider)) {
                p.jobsDone += 1
                // Its weight in the epoch's emission: GPUs × seconds (≤ 2³² × 7 days, fits UInt64).
                p.addVerifiedWork(
                    UInt64(job.spec.gpuCount) * used, epoch: step.params.epoch(of: step.context.height))
                writes.write(.provider(a.provider), .provider(p))
            }
            MarketIncome.record(
                a.provider, .jobPay, pay - fee, fee: fee, job: job.id, height: step.context.height, writes: &writes)
        }
        if fees > 0 { credit(.treasury, Amount(fees), writes: &writes) }
    }

    /// ⌊value × bps / 10,000⌋, exactly and without overflow (bps ≤ 10,000).
    static func basisPoints(_ bps: UInt32, of value: UInt128) -> UInt128 {
        let (whole, rest) = value.quotientAndRemainder(dividingBy: 10_000)
        return whole * UInt128(bps) + rest * UInt128(bps) / 10_000
    }

    /// A provider (or an auditor) missed a deadline: it loses a slice of its stake to the job's consumer,
    /// its GPUs are freed and its failures counted.
    static func fail<Reader: StateReader<StateValue>>(
        _ provider: Address, device: UInt32, job: JobRecord, step: Step, writes: inout PendingWrites<Reader>
    ) {
        guard case .provider(var p)? = writes.read(.provider(provider)) else { return }
        let slash = basisPoints(step.params.missedDeadlineSlashBasisPoints, of: p.stake.value)
        p.stake = Amount(p.stake.value - slash)
        p.release(job.spec.gpuCount, device: Int(device))
        p.jobsFailed += 1
        writes.write(.provider(provider), .provider(p))
        if slash > 0 { credit(job.consumer, Amount(slash), writes: &writes) }
        MarketIncome.record(provider, .slash, slash, job: job.id, height: step.context.height, writes: &writes)
    }

    static func release<Reader: StateReader<StateValue>>(
        _ provider: Address, device: UInt32, gpus: UInt32, done: Bool = false, writes: inout PendingWrites<Reader>
    ) {
        guard case .provider(var p)? = writes.read(.provider(provider)) else { return }
        p.release(gpus, device: Int(device))
        if done { p.jobsDone += 1 }
        writes.write(.provider(provider), .provider(p))
    }

    static func credit<Reader: StateReader<StateValue>>(
        _ address: Address, _ amount: Amount, writes: inout PendingWrites<Reader>
    ) {
        let key = StateKey.account(address)
        var account = writes.read(key)?.account ?? AccountState(balance: .zero, sequence: 0)
        // Cannot overflow: the amount comes out of escrows and stakes, and the supply fits UInt128.
        account.balance = Amount(account.balance.value + amount.value)
        writes.write(key, .account(account))
    }

    /// Returns a job's remaining escrow to its consumer.
    static func refund<Reader: StateReader<StateValue>>(_ job: inout JobRecord, writes: inout PendingWrites<Reader>) {
        guard job.escrow > .zero else { return }
        credit(job.consumer, job.escrow, writes: &writes)
        writes.emit(.jobRefunded(job: job.id, consumer: job.consumer, amount: job.escrow))
        job.escrow = .zero
    }

    /// Two sorted lists as one sorted list; an element in both appears once.
    /// - Complexity: O(a + b).
    static func mergeSorted<T: Comparable>(_ a: [T], _ b: [T]) -> [T] {
        var out: [T] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if j == b.count || (i < a.count && a[i] < b[j]) {
                out.append(a[i])
                i += 1
            } else {
                if i < a.count && a[i] == b[j] { i += 1 }
                out.append(b[j])
                j += 1
            }
        }
        return out
    }
}
