public import SluiceCore
public import SluiceExecution
public import SluiceState

/// A transaction's receipt on the hot path: plain values, no allocation. The fields are declared widest
/// first so that the struct packs into 80 bytes (declared in reading order it took 96: the executors keep
/// one per transaction, and block execution measurably slowed).
public struct RuntimeReceipt: Hashable, Sendable {
    public var fee: Amount
    /// What moved besides the transfer's own amount, for the transaction's event: a cancelled job's
    /// refund, a withdrawn stake, claimed rewards.
    public var amount: Amount
    public var gasUsed: UInt64
    /// The compute workload's last digest; the new job's id for `job.submit`; the provider's address
    /// hash for `provider.register`.
    public var output: Hash?
    public var status: Receipt.Status
    public var error: TransactionError
    /// What the block-end market step has to look at.
    public var market: MarketEffect

    @inlinable
    public init(
        status: Receipt.Status, gasUsed: UInt64, fee: Amount, error: TransactionError, output: Hash?,
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
    public static func discarded(_ error: TransactionError) -> RuntimeReceipt {
        RuntimeReceipt(status: .discarded, gasUsed: 0, fee: .zero, error: error, output: nil)
    }

    /// The receipt as stored and shown, with the transaction's events.
    public func receipt(for tx: RuntimeTransaction) -> Receipt {
        Receipt(
            transactionHash: tx.hash, status: status, gasUsed: gasUsed, fee: fee, error: error.message,
            output: output, events: status == .success ? TransactionEvents.events(of: tx, receipt: self) : [])
    }
}

/// The runtime as a `BlockVM`: the shared rules, then the payload's module.
public struct RuntimeVM: BlockVM {
    public typealias Transaction = RuntimeTransaction
    public typealias Value = StateValue
    public typealias Output = RuntimeReceipt
    public typealias Event = SluiceCore.Event

    public init() {}

    /// The gas a payload needs before it runs (its module's intrinsic gas): what the mempool checks the
    /// gas limit against.
    @inlinable
    public static func intrinsicGas(of payload: Payload) -> UInt64 {
        switch payload.module {
        case .bank: Bank.intrinsicGas(of: payload) ?? 0
        case .market: Market.intrinsicGas(of: payload) ?? 0
        case .staking, .contracts: 0
        }
    }

    /// The largest encoding the mempool admits for `payload`, when its module needs more than `default`.
    public static func admissionBytes(of payload: Payload, default limit: Int) -> Int {
        let needed: Int? =
            switch payload.module {
            case .bank: Bank.admissionBytes(of: payload)
            case .market: Market.admissionBytes(of: payload)
            case .staking, .contracts: nil
            }
        return max(limit, needed ?? limit)
    }

    /// The rules every transaction shares (discarded, no fee, when its sender is missing, its sequence is
    /// not the next, its gas limit is below its intrinsic gas or it cannot pay the maximum fee), then its
    /// module.
    public func execute<View: StateView<StateValue>>(
        _ tx: RuntimeTransaction, index: Int, view: inout View
    ) throws(ExecutionSuspended) -> RuntimeReceipt {
        if tx.rejection != .none { return .discarded(tx.rejection) }
        let senderKey = StateKey.account(tx.sender)
        guard case .account(let sender)? = try view.read(senderKey) else { return .discarded(.bank(.senderMissing)) }
        guard sender.sequence == tx.sequence else { return .discarded(.bank(.sequenceMismatch)) }
        let gas = tx.gas
        guard tx.gasLimit >= gas else { return .discarded(.bank(.gasLimitTooLow)) }
        guard sender.balance >= Amount.product(tx.gasLimit, tx.gasPrice) else {
            return .discarded(.bank(.cannotPayMaxFee))
        }
        if tx.kind == .market { return try Market.execute(tx, sender: sender, gas: gas, view: &view) }
        return try Bank.execute(tx, sender: sender, gas: gas, view: &view)
    }

    public func declaredWrites(of tx: RuntimeTransaction, _ body: (StateKey) -> Void) -> Bool {
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

    public func estimatedCost(of tx: RuntimeTransaction) -> Double {
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

    /// Block end: each module's step in a fixed order (`RuntimeModuleID`): the Bank credits the fees to
    /// the treasury; the market runs its batch auction (new providers and jobs join the book, open jobs are
    /// matched or expire, deliveries move jobs on) and, at an epoch's last block, emissions. Each step emits
    /// its events (`BlockEndEvents`).
    public func finalize<Reader: StateReader<StateValue>>(
        outputs: UnsafeBufferPointer<RuntimeReceipt>, state: Reader, context: BlockContext
    ) -> BlockEnd<StateValue, Event> {
        var pending = PendingWrites(state: state)
        Bank.endOfBlock(outputs: outputs, context: context, writes: &pending)
        Market.endOfBlock(outputs: outputs, context: context, writes: &pending)
        return BlockEnd(writes: pending.writes, events: BlockEndEvents.finish(pending))
    }
}
