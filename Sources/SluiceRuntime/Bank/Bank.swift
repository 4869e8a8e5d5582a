import Crypto
public import SluiceCore
public import SluiceExecution

// The Bank: accounts, transfers and fees. Its rules are the reference for every later module.
//
// A transaction is discarded (no state change, no gas, no fee) when, checked in order: its sender
// account does not exist; its sequence is not the account's; its gas limit is below what it needs;
// the sender cannot pay gasLimit × gasPrice. Otherwise the fee (gas used × gas price) is taken and
// the sequence advances, and then the transfer either applies (success; the recipient is created if
// missing, even for amount 0) or, when the amount exceeds what is left, does not (failed). Fees are
// not written per transaction: they travel in the receipts and are credited to the treasury once, at
// block end, so a block's transactions never contend on the treasury.

/// The Bank's receipt on the hot path: plain values, no allocation.
public struct BankReceipt: Hashable, Sendable {
    public var status: Receipt.Status
    public var gasUsed: UInt64
    public var fee: Amount
    public var error: BankError
    /// The compute workload's last digest; the new job's id for `job.submit`; the provider's address
    /// hash for `provider.register`.
    public var output: Hash?
    /// What the block-end market step has to look at.
    public var market: MarketEffect
    /// What moved besides the transfer's own amount, for the transaction's event: a cancelled job's
    /// refund, a withdrawn stake, claimed rewards.
    public var amount: Amount

    @inlinable
    public init(
        status: Receipt.Status, gasUsed: UInt64, fee: Amount, error: BankError, output: Hash?,
        market: MarketEffect = .none, amount: Amount = .zero
    ) {
        self.amount = amount
        self.status = status
        self.gasUsed = gasUsed
        self.fee = fee
        self.error = error
        self.output = output
        self.market = market
    }

    @inlinable
    public static func discarded(_ error: BankError) -> BankReceipt {
        BankReceipt(status: .discarded, gasUsed: 0, fee: .zero, error: error, output: nil)
    }

    /// The receipt as stored and shown, with the transaction's events.
    public func receipt(for tx: BankTransaction) -> Receipt {
        Receipt(
            transactionHash: tx.hash, status: status, gasUsed: gasUsed, fee: fee, error: error.message,
            output: output, events: status == .success ? TransactionEvents.events(of: tx, receipt: self) : [])
    }
}

/// The Bank as a `BlockVM`.
public struct BankVM: BlockVM {
    public typealias Transaction = BankTransaction
    public typealias Value = StateValue
    public typealias Output = BankReceipt
    public typealias Event = SluiceCore.Event

    /// Gas of a plain transfer.
    public static let transferGas: UInt64 = 10
    /// Extra gas per SHA-256 round of a compute transfer.
    public static let computeRoundGas: UInt64 = 1

    public init() {}

    /// The gas a payload needs.
    @inlinable
    public static func gas(of payload: Payload) -> UInt64 {
        switch payload {
        case .transfer: transferGas
        case .computeTransfer(_, _, let rounds): transferGas + UInt64(rounds) * computeRoundGas
        case .providerRegister: MarketParameters.registerGas
        case .jobSubmit: MarketParameters.submitGas
        case .jobCancel: MarketParameters.cancelGas
        case .jobCommit: MarketParameters.commitGas
        case .jobReveal: MarketParameters.revealGas
        case .providerUpdate: MarketParameters.updateGas
        case .providerHeartbeat: MarketParameters.heartbeatGas
        case .providerUnbond: MarketParameters.unbondGas
        case .providerWithdraw: MarketParameters.withdrawGas
        case .auditReport: MarketParameters.reportGas
        case .jobDispute: MarketParameters.disputeGas
        case .providerProve: MarketParameters.proveGas
        case .rewardClaim: MarketParameters.claimGas
        }
    }

    public func execute<View: StateView<StateValue>>(
        _ tx: BankTransaction, index: Int, view: inout View
    ) throws(ExecutionSuspended) -> BankReceipt {
        if tx.rejection != .none { return .discarded(tx.rejection) }
        let senderKey = StateKey.account(tx.sender)
        guard case .account(var sender)? = try view.read(senderKey) else { return .discarded(.senderMissing) }
        guard sender.sequence == tx.sequence else { return .discarded(.sequenceMismatch) }
        let gas = tx.gas
        guard tx.gasLimit >= gas else { return .discarded(.gasLimitTooLow) }
        guard sender.balance >= Amount.product(tx.gasLimit, tx.gasPrice) else { return .discarded(.cannotPayMaxFee) }

        if tx.kind == .market { return try executeMarket(tx, sender: sender, gas: gas, view: &view) }
        let to = tx.to
        let amount = tx.amount
        let rounds = tx.rounds
        // Read the recipient before the work, so a dependency is found before the work is done.
        let recipientKey = StateKey.account(to)
        let recipientBefore: StateValue? = to == tx.sender ? nil : try view.read(recipientKey)

        let fee = Amount.product(gas, tx.gasPrice)
        sender.balance = Amount(sender.balance.value - fee.value)  // cannot underflow: fee ≤ gasLimit × gasPrice
        sender.sequence += 1
        let output: Hash? = rounds > 0 ? Self.work(from: tx.hash, rounds: rounds) : nil

        guard let remaining = sender.balance.subtracting(amount) else {
            view.write(senderKey, .account(sender))
            return BankReceipt(status: .failed, gasUsed: gas, fee: fee, error: .insufficientBalance, output: output)
        }
        if to == tx.sender {
            view.write(senderKey, .account(sender))
            return BankReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: output)
        }
        var recipient = recipientBefore?.account ?? AccountState(balance: .zero, sequence: 0)
        guard let credited = recipient.balance.adding(amount) else {
            view.write(senderKey, .account(sender))
            return BankReceipt(status: .failed, gasUsed: gas, fee: fee, error: .balanceOverflow, output: output)
        }
        sender.balance = remaining
        recipient.balance = credited
        view.write(senderKey, .account(sender))
        view.write(recipientKey, .account(recipient))
        return BankReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: output)
    }

    /// `rounds` chained SHA-256 digests starting from `seed`.
    public static func work(from seed: Hash, rounds: UInt32) -> Hash {
        var digest = seed
        for _ in 0..<rounds {
            digest = withUnsafeBytes(of: digest) { raw in
                SHA256.hash(data: raw).withUnsafeBytes { Hash(unsafeBytes: $0) }
            }
        }
        return digest
    }

    public func declaredWrites(of tx: BankTransaction, _ body: (StateKey) -> Void) -> Bool {
        if tx.rejection != .none { return true }
        body(.account(tx.sender))
        if tx.kind != .market {
            if tx.to != tx.sender { body(.account(tx.to)) }
            return true
        }
        switch tx.payload {
        case .providerRegister, .providerUpdate, .providerHeartbeat, .providerUnbond, .providerWithdraw,
            .providerProve:
            body(.provider(tx.sender))
        case .jobSubmit: body(.job(JobRecord.id(consumer: tx.sender, sequence: tx.sequence)))
        case .jobCancel(let job), .jobCommit(let job, _), .jobReveal(let job, _, _, _, _),
            .auditReport(let job, _, _, _),
            .jobDispute(let job):
            body(.job(job))
        case .rewardClaim: body(.reward(tx.sender))
        case .transfer, .computeTransfer: break
        }
        return true
    }

    public func estimatedCost(of tx: BankTransaction) -> Double {
        switch tx.kind {
        case .transfer: 120
        case .computeTransfer: 120 + 150 * Double(tx.rounds)
        case .market:
            switch tx.payload {
            case .jobSubmit, .jobReveal: 500
            case .providerProve: 2_000_000
            default: 300
            }
        }
    }

    /// Block end: the fees go to the treasury, then the market's batch auction runs (new providers and
    /// jobs join the book, open jobs are matched or expire), then, at an epoch's last block, emissions.
    /// Each step emits its events (`BlockEndEvents`).
    public func finalize<Reader: StateReader<StateValue>>(
        outputs: UnsafeBufferPointer<BankReceipt>, state: Reader, context: BlockContext
    ) -> BlockEnd<StateValue, Event> {
        var total: UInt128 = 0
        var market = false
        for o in outputs {
            total += o.fee.value
            if o.market != .none { market = true }
        }
        var pending = PendingWrites(state: state)
        if total > 0 {
            let key = StateKey.account(.treasury)
            var treasury = pending.read(key)?.account ?? AccountState(balance: .zero, sequence: 0)
            // Supply is bounded by UInt128 at genesis, so the sum of balances cannot overflow.
            treasury.balance = Amount(treasury.balance.value + total)
            pending.write(key, .account(treasury))
            pending.emit(.feesCollected(amount: Amount(total)))
        }
        MarketAuction.run(outputs: outputs, context: context, anyMarketTransaction: market, writes: &pending)
        MarketIncome.endOfBlock(context: context, writes: &pending)
        return BlockEnd(writes: pending.writes, events: BlockEndEvents.finish(pending))
    }
}
