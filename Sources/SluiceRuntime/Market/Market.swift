public import SluiceCore
public import SluiceExecution

// The GPU compute market's transactions (docs/MARKET.md). They run inside the Bank's rules: the same
// discard checks (sender, sequence, gas, max fee), then the fee is taken and the sequence advances, and
// the market action either applies (success) or not (failed, with its reason).
//
// A submission touches only its consumer's account and a new job key, a registration only its
// provider's account and provider key: they run in parallel. Who gets which job is decided at block
// end (`MarketAuction`), from the book and the records, never from the order of transactions.

/// What a transaction left for the block-end market step.
public enum MarketEffect: UInt8, Sendable, Hashable {
    case none
    /// A new provider (its address hash is the receipt's output).
    case registered
    /// A new job (its id is the receipt's output).
    case submitted
    /// A job was cancelled (its book entry goes at block end).
    case cancelled
    /// A commitment or a reveal arrived (the block-end step moves the job on).
    case delivered
    /// A provider withdrew its stake (it leaves the book at block end).
    case withdrawn
}

extension BankVM {
    func executeMarket<View: StateView<StateValue>>(
        _ tx: BankTransaction, sender account: AccountState, gas: UInt64, view: inout View
    ) throws(ExecutionSuspended) -> BankReceipt {
        let senderKey = StateKey.account(tx.sender)
        var sender = account
        let fee = Amount.product(gas, tx.gasPrice)
        sender.balance = Amount(sender.balance.value - fee.value)  // cannot underflow: checked against the max fee
        sender.sequence += 1
        func failed(_ error: BankError) -> BankReceipt {
            view.write(senderKey, .account(sender))
            return BankReceipt(status: .failed, gasUsed: gas, fee: fee, error: error, output: nil)
        }

        switch tx.payload {
        case .providerRegister(let offer):
            let key = StateKey.provider(tx.sender)
            if try view.read(key) != nil { return failed(.alreadyRegistered) }
            guard offer.stake >= MarketParameters.minimumStake else { return failed(.stakeTooLow) }
            guard !offer.devices.isEmpty, offer.devices.allSatisfy({ $0.count > 0 }), offer.pricePerGPUHour > .zero,
                offer.devices.reduce(UInt64(0), { $0 + UInt64($1.count) }) <= UInt64(UInt32.max)
            else { return failed(.invalidOffer) }
            guard let left = sender.balance.subtracting(offer.stake) else { return failed(.cannotPayStake) }
            sender.balance = left
            view.write(senderKey, .account(sender))
            view.write(key, .provider(ProviderRecord(owner: tx.sender, offer: offer)))
            return BankReceipt(
                status: .success, gasUsed: gas, fee: fee, error: .none, output: tx.sender.hash, market: .registered)

        case .jobSubmit(let spec):
            guard spec.redundancy >= 1, spec.redundancy <= MarketParameters.maxRedundancy, spec.gpuCount >= 1,
                spec.maxDurationSeconds >= 1, spec.maxDurationSeconds <= MarketParameters.maxDurationSeconds,
                spec.runner == "process" || spec.runner == "container"
            else { return failed(.invalidJob) }
            guard let escrow = spec.escrow else { return failed(.escrowOverflow) }
            guard let left = sender.balance.subtracting(escrow) else { return failed(.cannotPayEscrow) }
            let id = JobRecord.id(consumer: tx.sender, sequence: tx.sequence)
            sender.balance = left
            view.write(senderKey, .account(sender))
            view.write(.job(id), .job(JobRecord(id: id, consumer: tx.sender, spec: spec, escrow: escrow)))
            return BankReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .submitted)

        case .jobCancel(let id):
            guard case .job(var job)? = try view.read(.job(id)) else { return failed(.jobNotFound) }
            guard job.consumer == tx.sender else { return failed(.notJobOwner) }
            guard job.status == .open else { return failed(.jobNotOpen) }
            // Cannot overflow: the escrow came out of balances, and supply fits UInt128.
            sender.balance = Amount(sender.balance.value + job.escrow.value)
            job.escrow = .zero
            job.status = .cancelled
            view.write(senderKey, .account(sender))
            view.write(.job(id), .job(job))
            return BankReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .cancelled)

        case let .jobCommit(id, commitment):
            guard case .job(var job)? = try view.read(.job(id)) else { return failed(.jobNotFound) }
            guard let slot = job.assigned.firstIndex(where: { $0.provider == tx.sender }) else {
                return failed(.notAssigned)
            }
            guard job.status == .matched else { return failed(.notCommitPhase) }
            guard job.assigned[slot].commitment == nil else { return failed(.alreadyCommitted) }
            job.assigned[slot].commitment = commitment
            view.write(senderKey, .account(sender))
            view.write(.job(id), .job(job))
            return BankReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .delivered)

        case let .jobReveal(id, result, salt, usage, logs):
            guard case .job(var job)? = try view.read(.job(id)) else { return failed(.jobNotFound) }
            guard let slot = job.assigned.firstIndex(where: { $0.provider == tx.sender }) else {
                return failed(.notAssigned)
            }
            guard job.status == .committed else { return failed(.notRevealPhase) }
            guard job.assigned[slot].result == nil else { return failed(.alreadyRevealed) }
            guard
                job.assigned[slot].commitment
                    == JobCommitment.make(job: id, provider: tx.sender, result: result, salt: salt)
            else { return failed(.revealMismatch) }
            job.assigned[slot].result = result
            job.assigned[slot].usageSeconds = min(usage, job.spec.maxDurationSeconds)
            job.assigned[slot].logs = logs == .zero ? nil : logs
            view.write(senderKey, .account(sender))
            view.write(.job(id), .job(job))
            return BankReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .delivered)

        case .providerUpdate, .providerHeartbeat, .providerUnbond, .providerWithdraw:
            let key = StateKey.provider(tx.sender)
            guard case .provider(var p)? = try view.read(key) else { return failed(.notProvider) }
            switch tx.payload {
            case .providerUpdate(let update):
                guard p.status == .active else { return failed(.providerNotActive) }
                guard !update.devices.isEmpty, update.devices.allSatisfy({ $0.count > 0 }),
                    update.pricePerGPUHour > .zero,
                    update.devices.reduce(UInt64(0), { $0 + UInt64($1.count) }) <= UInt64(UInt32.max)
                else { return failed(.invalidOffer) }
                let capacity = update.devices.reduce(UInt32(0)) { $0 + $1.count }
                guard capacity >= p.busy else { return failed(.capacityInUse) }
                p.offer.devices = update.devices
                p.offer.pricePerGPUHour = update.pricePerGPUHour
                p.capacity = capacity
            case .providerHeartbeat:
                guard p.status == .active else { return failed(.providerNotActive) }
                p.lastHeartbeatHeight = tx.height
                p.heartbeats += 1
            case .providerUnbond:
                guard p.status == .active else { return failed(.providerNotActive) }
                p.status = .unbonding
                p.unbondHeight = tx.height
            default:  // withdraw
                guard p.status == .unbonding else { return failed(.notUnbonding) }
                guard tx.height >= p.unbondHeight &+ MarketParameters.unbondingBlocks else {
                    return failed(.unbondingNotOver)
                }
                guard p.busy == 0 else { return failed(.jobsInProgress) }
                // Cannot overflow: the stake came out of a balance, and the supply fits UInt128.
                sender.balance = Amount(sender.balance.value + p.stake.value)
                p.stake = .zero
                p.status = .withdrawn
            }
            view.write(senderKey, .account(sender))
            view.write(key, .provider(p))
            let effect: MarketEffect = tx.payload == .providerWithdraw ? .withdrawn : .none
            return BankReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: nil, market: effect)

        case .transfer, .computeTransfer:
            preconditionFailure("not a market transaction")
        }
    }
}

/// Block-end writes over the state after the block: reads see earlier writes of the same step.
public struct PendingWrites<Reader: StateReader<StateValue>> {
    let state: Reader
    private(set) var values: [StateKey: StateValue?] = [:]
    private(set) var order: [StateKey] = []

    init(state: Reader) { self.state = state }

    func read(_ key: StateKey) -> StateValue? {
        if let v = values[key] { return v }
        return state.read(key)
    }

    mutating func write(_ key: StateKey, _ value: StateValue?) {
        if values.updateValue(value, forKey: key) == nil { order.append(key) }
    }

    /// In first-write order (deterministic: the step runs in a fixed order).
    var writes: [StateWrite<StateValue>] { order.map { StateWrite(key: $0, value: values[$0]!) } }
}

/// The market's batch auction at block end.
///
/// 1. Providers registered in this block join the book, jobs submitted in it join the open jobs.
/// 2. Open jobs that are no longer open (cancelled) leave; open jobs older than `openJobBlocks` expire
///    with their escrow refunded.
/// 3. The rest are matched: jobs by (max price desc, submit height asc, id asc); each takes the k
///    cheapest eligible providers (active, devices that fit, ask ≤ its max price, free GPUs ≥ its GPU
///    count) by (ask asc, reputation desc, address asc) at their own ask, or stays open when fewer
///    than k fit. A provider's free GPUs shrink as it is assigned within the same pass.
/// Nothing here depends on the order of the block's transactions: only on the set of new records
/// (sorted by id) and on the stored ones.
enum MarketAuction {
    static func run<Reader: StateReader<StateValue>>(
        outputs: UnsafeBufferPointer<BankReceipt>, context: BlockContext, anyMarketTransaction: Bool,
        writes: inout PendingWrites<Reader>
    ) {
        let stored = writes.read(.marketBook)
        guard case .book(var book)? = stored else {
            // No book yet: only a block with market transactions starts one.
            guard anyMarketTransaction else { return }
            run(book: MarketBook(), outputs: outputs, context: context, writes: &writes, stored: nil)
            return
        }
        // Nothing new and nothing open: the book stays as it is (empty blocks cost nothing here).
        guard anyMarketTransaction || !book.openJobs.isEmpty || !book.activeJobs.isEmpty else { return }
        run(book: book, outputs: outputs, context: context, writes: &writes, stored: book)
    }

    private static func run<Reader: StateReader<StateValue>>(
        book start: MarketBook, outputs: UnsafeBufferPointer<BankReceipt>, context: BlockContext,
        writes: inout PendingWrites<Reader>, stored: MarketBook?
    ) {
        var book = start
        // 1. New providers and jobs, sorted so that their order in the block does not matter.
        var newProviders: [Address] = []
        var newJobs: [Hash] = []
        for o in outputs where o.status == .success {
            switch o.market {
            case .registered: if let h = o.output { newProviders.append(Address(h)) }
            case .submitted: if let h = o.output { newJobs.append(h) }
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
        // New jobs are written once, below: matched, or still open with their submit height.
        var fresh: [Hash: JobRecord] = [:]
        fresh.reserveCapacity(newJobs.count)
        for id in newJobs {
            guard case .job(var j)? = writes.read(.job(id)) else { continue }
            j.submitHeight = context.height
            fresh[id] = j
        }
        book.openJobs.append(contentsOf: newJobs)

        // 2. Jobs under way: only those that got a commitment or a reveal in this block and those whose
        //    deadline passed (a prefix of the book's list, sorted by deadline) can move.
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
                guard case .job(var job)? = writes.read(.job(id)), job.status == .matched || job.status == .committed
                else { continue }
                let entry = MarketBook.ActiveJob(deadline: job.deadline, id: id)
                let progress = advance(&job, context: context, writes: &writes)
                writes.write(.job(id), .job(job))
                removed.insert(entry)
                switch progress {
                case .active: added.append(MarketBook.ActiveJob(deadline: job.deadline, id: id))
                case .reopened: reopened.append(id)
                case .done: break
                }
            }
            stillActive.removeAll { removed.contains($0) }
            stillActive.append(contentsOf: added)
            stillActive.sort()
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
            if context.height >= job.submitHeight &+ MarketParameters.openJobBlocks {
                for a in job.assigned { release(a.provider, gpus: job.spec.gpuCount, writes: &writes) }
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
        providers.sort { a, b in
            if a.offer.pricePerGPUHour != b.offer.pricePerGPUHour {
                return a.offer.pricePerGPUHour < b.offer.pricePerGPUHour
            }
            if a.reputation != b.reputation { return a.reputation > b.reputation }
            return a.owner < b.owner
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
            var chosen: [Int] = []
            chosen.reserveCapacity(need)
            // Providers are sorted by ask: the first one asking more than the job pays ends the search.
            for (i, p) in providers.enumerated() where need > 0 {
                if p.offer.pricePerGPUHour > job.spec.maxPricePerGPUHour { break }
                if p.free >= job.spec.gpuCount && p.fits(job.spec) && p.owner != job.consumer
                    && !job.assigned.contains(where: { $0.provider == p.owner })
                    && !job.failedProviders.contains(p.owner)
                {
                    chosen.append(i)
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
            job.deadline = context.timestamp &+ job.spec.maxDurationSeconds &+ MarketParameters.commitGraceSeconds
            for i in chosen {
                job.assigned.append(
                    JobRecord.Assignment(
                        provider: providers[i].owner, pricePerGPUHour: providers[i].offer.pricePerGPUHour))
                providers[i].busy += job.spec.gpuCount
                changedProviders.insert(i)
            }
            writes.write(.job(job.id), .job(job))
            newlyActive.append(MarketBook.ActiveJob(deadline: job.deadline, id: job.id))
        }
        for i in changedProviders.sorted() { writes.write(.provider(providers[i].owner), .provider(providers[i])) }

        // The book keeps the still-open jobs in submission order, the active ones by id.
        if !leaving.isEmpty { book.providers.removeAll { leaving.contains($0) } }
        stillOpen.sort { $0.height != $1.height ? $0.height < $1.height : $0.id < $1.id }
        book.openJobs = stillOpen.map(\.id)
        if !newlyActive.isEmpty {
            stillActive.append(contentsOf: newlyActive)
            stillActive.sort()
        }
        book.activeJobs = stillActive
        if book != stored { writes.write(.marketBook, .book(book)) }
    }

    enum Progress { case active, reopened, done }

    /// Moves a matched or committed job on: all commitments in → reveals due; all reveals in → settled
    /// (or disputed); a deadline passed → the providers that missed it are slashed and dropped, and the
    /// job is reopened for their slots (commit phase) or settled with the reveals it has (reveal phase).
    static func advance<Reader: StateReader<StateValue>>(
        _ job: inout JobRecord, context: BlockContext, writes: inout PendingWrites<Reader>
    ) -> Progress {
        switch job.status {
        case .matched:
            if job.assigned.allSatisfy({ $0.commitment != nil }) {
                job.status = .committed
                job.deadline = context.timestamp &+ MarketParameters.revealWindowSeconds
                return .active
            }
            guard context.timestamp > job.deadline else { return .active }
            for a in job.assigned where a.commitment == nil {
                fail(a.provider, job: job, writes: &writes)
                job.failedProviders.append(a.provider)
            }
            job.assigned.removeAll { $0.commitment == nil }
            job.status = .open
            return .reopened
        case .committed:
            if job.assigned.allSatisfy({ $0.result != nil }) {
                settle(&job, writes: &writes)
                return .done
            }
            guard context.timestamp > job.deadline else { return .active }
            for a in job.assigned where a.result == nil {
                fail(a.provider, job: job, writes: &writes)
                job.failedProviders.append(a.provider)
            }
            job.assigned.removeAll { $0.result == nil }
            if job.assigned.isEmpty {
                refund(&job, writes: &writes)
                job.status = .expired
            } else {
                settle(&job, writes: &writes)
            }
            return .done
        case .open, .cancelled, .expired, .settled, .disputed:
            return .done
        }
    }

    /// All reveals agree: each provider is paid its ask × GPUs × the hours it used (capped by the
    /// maximum duration, rounded down), less the protocol fee for the treasury; the rest of the escrow
    /// goes back to the consumer. They disagree: the job is disputed and its escrow held for the audit.
    static func settle<Reader: StateReader<StateValue>>(_ job: inout JobRecord, writes: inout PendingWrites<Reader>) {
        let results = Set(job.assigned.compactMap(\.result))
        for a in job.assigned {
            release(a.provider, gpus: job.spec.gpuCount, done: results.count == 1, writes: &writes)
        }
        guard results.count == 1, let agreed = results.first else {
            job.status = .disputed
            return
        }
        var fees: UInt128 = 0
        for i in job.assigned.indices {
            let a = job.assigned[i]
            let used = min(a.usageSeconds, job.spec.maxDurationSeconds)
            // price × GPUs × seconds ÷ 3600, rounded down; it fits: the escrow (rounded up) was computed
            // from the same product with the maximum price and duration, and k ≥ 1.
            let pay = min(
                a.pricePerGPUHour.value * UInt128(job.spec.gpuCount) * UInt128(used) / 3600, job.escrow.value)
            let fee = pay * MarketParameters.feeBasisPoints / 10_000
            credit(a.provider, Amount(pay - fee), writes: &writes)
            fees += fee
            job.escrow = Amount(job.escrow.value - pay)
            job.assigned[i].paid = Amount(pay)
        }
        if fees > 0 { credit(.treasury, Amount(fees), writes: &writes) }
        refund(&job, writes: &writes)
        job.result = agreed
        job.status = .settled
    }

    /// A provider missed a deadline: it loses a slice of its stake to the job's consumer, its GPUs are
    /// freed and its failures counted.
    static func fail<Reader: StateReader<StateValue>>(
        _ provider: Address, job: JobRecord, writes: inout PendingWrites<Reader>
    ) {
        guard case .provider(var p)? = writes.read(.provider(provider)) else { return }
        let slash = p.stake.value * MarketParameters.missedDeadlineSlashBasisPoints / 10_000
        p.stake = Amount(p.stake.value - slash)
        p.busy = p.busy >= job.spec.gpuCount ? p.busy - job.spec.gpuCount : 0
        p.jobsFailed += 1
        writes.write(.provider(provider), .provider(p))
        if slash > 0 { credit(job.consumer, Amount(slash), writes: &writes) }
    }

    static func release<Reader: StateReader<StateValue>>(
        _ provider: Address, gpus: UInt32, done: Bool = false, writes: inout PendingWrites<Reader>
    ) {
        guard case .provider(var p)? = writes.read(.provider(provider)) else { return }
        p.busy = p.busy >= gpus ? p.busy - gpus : 0
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
        job.escrow = .zero
    }

    static func mergeSorted(_ a: [Address], _ b: [Address]) -> [Address] {
        var out: [Address] = []
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
