import SluiceCore
import SluiceExecution
import SluiceState

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
