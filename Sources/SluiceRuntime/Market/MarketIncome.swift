public import SluiceCore
import SluiceExecution

// Income (docs/MARKET.md, "Income", "Uptime"): uptime from heartbeats, emissions per epoch, `reward.claim`
// and the income ledger.
//
// - Uptime is read, not stored: a provider's record keeps a 64-bit map of the uptime slots
//   (`uptimeSlotBlocks` blocks each) in which a heartbeat arrived, and the figure at a height is the share
//   of the completed slots of the last 64 (since registration) that had one. It changes with the height
//   alone, so the matching step computes it for the block it runs in and the API for the head, and no
//   block has to touch idle providers.
// - Emissions are minted in the block-end step of every block whose height is a multiple of
//   `epochBlocks`, after matching: the providers' share is split by the GPU-seconds of their jobs settled
//   in the epoch (accumulated on their records by `pay`), the validators' share goes to the block's
//   proposer (one validator today). They are credited to `market/reward/<address>`, never to balances,
//   so the step contends with no transfer; `reward.claim` moves them to the balance. `market/emitted`
//   counts what was minted, so balances + escrows + stakes + burned + unclaimed rewards = genesis supply
//   + emitted.
// - The ledger (`market/ledger/<address>`) lists what the block-end step paid or took from an address:
//   job pay, audit pay, shares of slashes, emissions, slashes. Those moves are no transaction's, so no
//   receipt shows them; the ledger keeps the last `IncomeLedger.capacity` rows and totals that never
//   drop.

/// Emissions credited to an address: what it can still claim, and all it was ever credited and claimed.
public struct RewardRecord: Hashable, Sendable {
    public var unclaimed: Amount
    public var earned: Amount
    public var claimed: Amount

    public init(unclaimed: Amount = .zero, earned: Amount = .zero, claimed: Amount = .zero) {
        self.unclaimed = unclaimed
        self.earned = earned
        self.claimed = claimed
    }
}

/// What the market's block-end step paid to or took from an address, newest last.
public struct IncomeLedger: Hashable, Sendable {
    public typealias Kind = IncomeKind

    public struct Entry: Hashable, Sendable {
        public var height: UInt64
        public var kind: Kind
        /// The job it concerns; nil for an emission.
        public var job: Hash?
        /// What was credited (or, for a slash, taken from the stake).
        public var amount: Amount
        /// The protocol fee withheld from a job payment.
        public var fee: Amount

        public init(height: UInt64, kind: Kind, job: Hash?, amount: Amount, fee: Amount = .zero) {
            self.height = height
            self.kind = kind
            self.job = job
            self.amount = amount
            self.fee = fee
        }
    }

    /// Rows kept per address: the oldest go first (about 9 KB a record at most).
    public static let capacity = 128

    /// Rows ever recorded; `count − entries.count` were dropped, the first kept one is row
    /// `count − entries.count` (from 0).
    public var count: UInt64
    /// Totals per kind (index: `Kind.rawValue`) over every row ever recorded, dropped ones included.
    public var totals: [Amount]
    public var entries: [Entry]

    public init() {
        count = 0
        totals = Array(repeating: .zero, count: Kind.allCases.count)
        entries = []
    }

    public func total(_ kind: Kind) -> Amount { totals[Int(kind.rawValue)] }

    mutating func append(_ entry: Entry) {
        count += 1
        let i = Int(entry.kind.rawValue)
        // Totals are bounded by the supply (plus emissions), which fits UInt128.
        totals[i] = Amount(totals[i].value &+ entry.amount.value)
        entries.append(entry)
        if entries.count > Self.capacity { entries.removeFirst(entries.count - Self.capacity) }
    }
}

extension ProviderRecord {
    /// Slots the uptime figure looks back over.
    public static let uptimeWindowSlots: UInt64 = 64

    /// Records a heartbeat at `height` in the slot map.
    mutating func recordHeartbeat(height: UInt64, slotBlocks: UInt64) {
        let slot = height / slotBlocks
        if heartbeats == 0 {
            heartbeatSlots = 1
        } else {
            let last = lastHeartbeatHeight / slotBlocks
            let shift = slot >= last ? slot - last : 0
            heartbeatSlots = shift >= 64 ? 1 : (heartbeatSlots << shift) | 1
        }
        lastHeartbeatHeight = height
        heartbeats += 1
    }

    /// Whether a heartbeat arrived in uptime slot `slot`.
    func heartbeat(inSlot slot: UInt64, slotBlocks: UInt64) -> Bool {
        guard heartbeats > 0 else { return false }
        let last = lastHeartbeatHeight / slotBlocks
        guard slot <= last, last - slot < 64 else { return false }
        return heartbeatSlots >> (last - slot) & 1 == 1
    }

    /// Uptime at `height`, in basis points: of the completed slots among the last 64 that began after
    /// the registration's slot, the share with a heartbeat; the current slot counts only once it has
    /// one. 10,000 while nothing was expected yet (a provider in its first slot).
    /// - Complexity: O(64).
    public func uptimeBasisPoints(at height: UInt64, slotBlocks: UInt64) -> UInt32 {
        let slotBlocks = max(slotBlocks, 1)
        let current = height / slotBlocks
        let first = max(
            registeredHeight / slotBlocks + 1, current >= Self.uptimeWindowSlots ? current - Self.uptimeWindowSlots : 0)
        var expected: UInt64 = 0
        var received: UInt64 = 0
        var slot = first
        while slot < current {
            expected += 1
            if heartbeat(inSlot: slot, slotBlocks: slotBlocks) { received += 1 }
            slot += 1
        }
        if heartbeat(inSlot: current, slotBlocks: slotBlocks) {
            expected += 1
            received += 1
        }
        guard expected > 0 else { return 10_000 }
        return UInt32(received * 10_000 / expected)
    }

    /// GPU-seconds of its jobs settled in `epoch`.
    public func verifiedGPUSeconds(inEpoch epoch: UInt64) -> UInt64 { workEpoch == epoch ? epochGPUSeconds : 0 }

    mutating func addVerifiedWork(_ gpuSeconds: UInt64, epoch: UInt64) {
        if workEpoch != epoch {
            workEpoch = epoch
            epochGPUSeconds = 0
        }
        let (sum, overflow) = epochGPUSeconds.addingReportingOverflow(gpuSeconds)
        epochGPUSeconds = overflow ? .max : sum
    }
}

extension MarketParameters {
    /// The epoch a block belongs to: heights 1 … `epochBlocks` are epoch 0, and so on (genesis is in
    /// epoch 0 too). Epoch e's emission is minted at the end of block (e + 1) × `epochBlocks`.
    public func epoch(of height: UInt64) -> UInt64 { height == 0 ? 0 : (height - 1) / max(epochBlocks, 1) }
}

/// The block-end emission step and the ledger (both run inside the market's block-end step).
enum MarketIncome {
    /// At an epoch's last block: mints `emissionPerEpoch` and credits it to reward records. The providers'
    /// share goes to the providers in the book with verified GPU-seconds in the epoch, each
    /// ⌊share × its seconds ÷ all seconds⌋, the rounding dust to the treasury; with no verified work it is
    /// not minted. The validators' share goes to the block's proposer (while blocks are unsigned the
    /// proposer is the treasury, which no key controls: then straight to its balance).
    static func endOfBlock<Reader: StateReader<StateValue>>(context: BlockContext, writes: inout PendingWrites<Reader>)
    {
        guard context.height > 0 else { return }
        let params = MarketParameters.stored(writes.read(.marketParameters))
        guard context.height % max(params.epochBlocks, 1) == 0, params.emissionPerEpoch > .zero else { return }
        let epoch = params.epoch(of: context.height)
        let total = params.emissionPerEpoch.value
        let providerPool = MarketAuction.basisPoints(params.providerShareBasisPoints, of: total)
        let validatorPool = total - providerPool

        var work: [(address: Address, seconds: UInt64)] = []
        if case .book(let book)? = writes.read(.marketBook) {
            for address in book.providers {
                guard case .provider(let p)? = writes.read(.provider(address)) else { continue }
                let seconds = p.verifiedGPUSeconds(inEpoch: epoch)
                if seconds > 0 { work.append((address, seconds)) }
            }
        }
        let allSeconds = work.reduce(UInt128(0)) { $0 + UInt128($1.seconds) }
        let minted = (allSeconds > 0 ? providerPool : 0) + validatorPool
        var emitted: UInt128 = 0
        if case .emitted(let e)? = writes.read(.marketEmitted) { emitted = e.value }
        // The supply fits UInt128: an emission that would overflow it is not minted.
        let (after, overflow) = emitted.addingReportingOverflow(minted)
        guard minted > 0, !overflow else { return }

        if allSeconds > 0 {
            var paid: UInt128 = 0
            for w in work {
                // ⌊pool × seconds ÷ all⌋ in full width; the quotient fits as seconds ≤ all.
                let product = providerPool.multipliedFullWidth(by: UInt128(w.seconds))
                let share = allSeconds.dividingFullWidth(product).quotient
                guard share > 0 else { continue }
                reward(w.address, share, height: context.height, writes: &writes)
                paid += share
            }
            if providerPool > paid { MarketAuction.credit(.treasury, Amount(providerPool - paid), writes: &writes) }
        }
        if validatorPool > 0 {
            if context.proposer == .treasury {
                MarketAuction.credit(.treasury, Amount(validatorPool), writes: &writes)
            } else {
                reward(context.proposer, validatorPool, height: context.height, writes: &writes)
            }
        }
        writes.write(.marketEmitted, .emitted(Amount(after)))
    }

    /// Credits an emission to an address's reward record and ledger.
    static func reward<Reader: StateReader<StateValue>>(
        _ address: Address, _ amount: UInt128, height: UInt64, writes: inout PendingWrites<Reader>
    ) {
        var rewards = RewardRecord()
        if case .reward(let r)? = writes.read(.reward(address)) { rewards = r }
        // Bounded by what was emitted, which fits UInt128.
        rewards.unclaimed = Amount(rewards.unclaimed.value + amount)
        rewards.earned = Amount(rewards.earned.value &+ amount)
        writes.write(.reward(address), .reward(rewards))
        record(address, .emission, amount, job: nil, height: height, writes: &writes)
    }

    /// Adds a row to an address's ledger (nothing for an amount of 0).
    static func record<Reader: StateReader<StateValue>>(
        _ address: Address, _ kind: IncomeLedger.Kind, _ amount: UInt128, fee: UInt128 = 0, job: Hash?,
        height: UInt64, writes: inout PendingWrites<Reader>
    ) {
        guard amount > 0 || fee > 0 else { return }
        writes.emit(.income(account: address, kind: kind, amount: Amount(amount), fee: Amount(fee), job: job))
        var ledger = IncomeLedger()
        if case .ledger(let l)? = writes.read(.ledger(address)) { ledger = l }
        ledger.append(
            IncomeLedger.Entry(height: height, kind: kind, job: job, amount: Amount(amount), fee: Amount(fee)))
        writes.write(.ledger(address), .ledger(ledger))
    }
}

extension Market {
    /// `reward.claim`: the sender's unclaimed emissions move to its balance.
    static func executeClaim<View: StateView<StateValue>>(
        sender: inout AccountState, address: Address, claimed: inout Amount, view: inout View
    ) throws(ExecutionSuspended) -> TransactionError {
        let key = StateKey.reward(address)
        guard case .reward(var record)? = try view.read(key), record.unclaimed > .zero else {
            return .market(.nothingToClaim)
        }
        guard let balance = sender.balance.adding(record.unclaimed) else { return .bank(.balanceOverflow) }
        sender.balance = balance
        record.claimed = Amount(record.claimed.value &+ record.unclaimed.value)
        claimed = record.unclaimed
        record.unclaimed = .zero
        view.write(key, .reward(record))
        return .none
    }
}

extension RewardRecord: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(unclaimed)
        w.write(earned)
        w.write(claimed)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        unclaimed = try r.readAmount()
        earned = try r.readAmount()
        claimed = try r.readAmount()
    }
}

extension IncomeLedger.Entry: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(height)
        w.write(kind.rawValue)
        w.writeOptional(job)
        w.write(amount)
        w.write(fee)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        height = try r.read(UInt64.self)
        let k = try r.readByte()
        guard let kind = IncomeLedger.Kind(rawValue: k) else { throw CoreError(.codec, "unknown ledger kind \(k)") }
        self.kind = kind
        job = try r.readOptional(Hash.self)
        amount = try r.readAmount()
        fee = try r.readAmount()
    }
}

extension IncomeLedger: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(count)
        w.writeArray(totals)
        w.writeArray(entries)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        count = try r.read(UInt64.self)
        totals = try r.readArray(Amount.self, max: Kind.allCases.count)
        guard totals.count == Kind.allCases.count else {
            throw CoreError(.codec, "a ledger has \(Kind.allCases.count) totals, not \(totals.count)")
        }
        entries = try r.readArray(Entry.self, max: Self.capacity)
    }
}
