public import SluiceCore
import SluiceExecution
public import SluiceState

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
    /// A commitment, a reveal, an audit report or a dispute arrived (the block-end step moves the job on).
    case delivered
    /// A provider withdrew its stake (it leaves the book at block end).
    case withdrawn
    /// A provider changed its devices: the block-end step issues them a new proof-of-GPU round.
    case reoffered
}

/// The market module: providers, jobs, escrow, audits, proofs of GPU, rewards (docs/MARKET.md).
public enum Market: RuntimeModule {
    public static let id = RuntimeModuleID.market
    /// The size limit of a `provider.prove` (its Merkle openings: 8 of them, up to ~7 KB, and a post-quantum
    /// signature adds 5 KB), whatever the node's default transaction size is.
    public static let proofTransactionBytes = 24 * 1024

    @inlinable
    public static func intrinsicGas(of payload: Payload) -> UInt64? {
        switch payload {
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
        case .transfer, .computeTransfer: nil
        }
    }

    public static func admissionBytes(of payload: Payload) -> Int? {
        if case .providerProve = payload { return proofTransactionBytes }
        return nil
    }

    /// A market transaction whose sender passed the shared checks.
    static func execute<View: StateView<StateValue>>(
        _ tx: RuntimeTransaction, sender account: AccountState, gas: UInt64, view: inout View
    ) throws(ExecutionSuspended) -> RuntimeReceipt {
        let senderKey = StateKey.account(tx.sender)
        var sender = account
        let fee = Amount.product(gas, tx.gasPrice)
        sender.balance = Amount(sender.balance.value - fee.value)  // cannot underflow: checked against the max fee
        sender.sequence += 1
        func failed(_ error: MarketError) -> RuntimeReceipt { failedWith(.market(error)) }
        func failedWith(_ error: TransactionError) -> RuntimeReceipt {
            view.write(senderKey, .account(sender))
            return RuntimeReceipt(status: .failed, gasUsed: gas, fee: fee, error: error, output: nil)
        }

        switch tx.payload {
        case .providerRegister(let offer):
            let key = StateKey.provider(tx.sender)
            if try view.read(key) != nil { return failed(.alreadyRegistered) }
            let params = MarketParameters.stored(try view.read(.marketParameters))
            guard offer.stake >= params.minimumStake else { return failed(.stakeTooLow) }
            if let error = MarketRules.offerFailure(
                devices: offer.devices, price: offer.pricePerGPUHour, runners: offer.runners)
            {
                return failed(error)
            }
            guard let left = sender.balance.subtracting(offer.stake) else { return failed(.cannotPayStake) }
            sender.balance = left
            view.write(senderKey, .account(sender))
            view.write(key, .provider(ProviderRecord(owner: tx.sender, offer: offer)))
            return RuntimeReceipt(
                status: .success, gasUsed: gas, fee: fee, error: .none, output: tx.sender.hash, market: .registered)

        case .jobSubmit(let spec):
            if let error = MarketRules.jobFailure(spec) { return failed(error) }
            guard let escrow = spec.escrow else { return failed(.escrowOverflow) }  // checked by the rules
            guard let left = sender.balance.subtracting(escrow) else { return failed(.cannotPayEscrow) }
            let id = JobRecord.id(consumer: tx.sender, sequence: tx.sequence)
            sender.balance = left
            view.write(senderKey, .account(sender))
            view.write(.job(id), .job(JobRecord(id: id, consumer: tx.sender, spec: spec, escrow: escrow)))
            return RuntimeReceipt(
                status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .submitted)

        case .jobCancel(let id):
            guard case .job(var job)? = try view.read(.job(id)) else { return failed(.jobNotFound) }
            guard job.consumer == tx.sender else { return failed(.notJobOwner) }
            guard job.status == .open else { return failed(.jobNotOpen) }
            // Cannot overflow: the escrow came out of balances, and supply fits UInt128.
            sender.balance = Amount(sender.balance.value + job.escrow.value)
            let refund = job.escrow
            job.escrow = .zero
            job.status = .cancelled
            view.write(senderKey, .account(sender))
            view.write(.job(id), .job(job))
            return RuntimeReceipt(
                status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .cancelled, amount: refund)

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
            return RuntimeReceipt(
                status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .delivered)

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
            return RuntimeReceipt(
                status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .delivered)

        case let .auditReport(id, result, usage, logs):
            guard case .job(var job)? = try view.read(.job(id)) else { return failed(.jobNotFound) }
            guard job.status == .disputed, var audit = job.audit, let auditor = audit.auditor, auditor == tx.sender
            else { return failed(.notAuditor) }
            guard audit.result == nil else { return failed(.alreadyReported) }
            guard tx.timestamp <= job.deadline else { return failed(.auditClosed) }
            audit.result = result
            audit.usageSeconds = min(usage, job.spec.maxDurationSeconds)
            audit.logs = logs == .zero ? nil : logs
            job.audit = audit
            view.write(senderKey, .account(sender))
            view.write(.job(id), .job(job))
            return RuntimeReceipt(
                status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .delivered)

        case .jobDispute(let id):
            guard case .job(var job)? = try view.read(.job(id)) else { return failed(.jobNotFound) }
            guard job.consumer == tx.sender else { return failed(.notJobOwner) }
            guard job.status == .settled, job.audit == nil, job.result != nil else { return failed(.notDisputable) }
            let params = MarketParameters.stored(try view.read(.marketParameters))
            guard tx.timestamp <= job.settledTimestamp &+ params.disputeWindowSeconds else {
                return failed(.disputeWindowClosed)
            }
            let bond = disputeBond(job.spec, params: params)
            guard let left = sender.balance.subtracting(bond) else { return failed(.cannotPayBond) }
            sender.balance = left
            // The bond is held in the job's escrow (empty since settlement) until the audit ends.
            job.escrow = bond
            job.status = .disputed
            job.audit = JobRecord.Audit(kind: .dispute)
            view.write(senderKey, .account(sender))
            view.write(.job(id), .job(job))
            return RuntimeReceipt(
                status: .success, gasUsed: gas, fee: fee, error: .none, output: id, market: .delivered)

        case .providerUpdate, .providerHeartbeat, .providerUnbond, .providerWithdraw:
            let key = StateKey.provider(tx.sender)
            guard case .provider(var p)? = try view.read(key) else { return failed(.notProvider) }
            var reoffered = false
            var returned = Amount.zero
            switch tx.payload {
            case .providerUpdate(let update):
                guard p.status == .active else { return failed(.providerNotActive) }
                if let error = MarketRules.offerFailure(devices: update.devices, price: update.pricePerGPUHour) {
                    return failed(error)
                }
                let capacity = update.devices.reduce(UInt32(0)) { $0 + $1.count }
                // A class with GPUs in use stays where it is, the same model and VRAM, with at least as many:
                // its jobs and audits name it by index.
                for (i, taken) in p.busyByDevice.enumerated() where taken > 0 {
                    guard i < update.devices.count, update.devices[i].model == p.offer.devices[i].model,
                        update.devices[i].vramGB == p.offer.devices[i].vramGB, update.devices[i].count >= taken
                    else { return failed(.capacityInUse) }
                }
                p.busyByDevice = (0..<update.devices.count).map { $0 < p.busyByDevice.count ? p.busyByDevice[$0] : 0 }
                if p.offer.devices != update.devices {
                    // New devices prove themselves from scratch (a round is issued at block end).
                    p.proofs = []
                    reoffered = true
                }
                p.offer.devices = update.devices
                p.offer.pricePerGPUHour = update.pricePerGPUHour
                p.capacity = capacity
            case .providerHeartbeat:
                guard p.status == .active else { return failed(.providerNotActive) }
                let params = MarketParameters.stored(try view.read(.marketParameters))
                p.recordHeartbeat(height: tx.height, slotBlocks: max(params.uptimeSlotBlocks, 1))
            case .providerUnbond:
                guard p.status == .active else { return failed(.providerNotActive) }
                p.status = .unbonding
                p.unbondHeight = tx.height
            default:  // withdraw
                guard p.status == .unbonding else { return failed(.notUnbonding) }
                let params = MarketParameters.stored(try view.read(.marketParameters))
                guard tx.height >= p.unbondHeight &+ params.unbondingBlocks else {
                    return failed(.unbondingNotOver)
                }
                guard p.busy == 0 else { return failed(.jobsInProgress) }
                // Cannot overflow: the stake came out of a balance, and the supply fits UInt128.
                sender.balance = Amount(sender.balance.value + p.stake.value)
                returned = p.stake
                p.stake = .zero
                p.status = .withdrawn
            }
            view.write(senderKey, .account(sender))
            view.write(key, .provider(p))
            let effect: MarketEffect = tx.payload == .providerWithdraw ? .withdrawn : reoffered ? .reoffered : .none
            return RuntimeReceipt(
                status: .success, gasUsed: gas, fee: fee, error: .none,
                output: effect == .reoffered ? tx.sender.hash : nil, market: effect, amount: returned)

        case .providerProve(let answer):
            let key = StateKey.provider(tx.sender)
            guard case .provider(var p)? = try view.read(key) else { return failed(.notProvider) }
            let d = Int(answer.device)
            guard d < p.proofs.count, p.proofs[d].pending else { return failed(.noChallenge) }
            guard tx.timestamp <= p.proofs[d].deadline else { return failed(.challengeClosed) }
            guard p.proofs[d].challenge.verify(answer) == nil else { return failed(.wrongProof) }
            p.proofs[d].pending = false
            p.proofs[d].eligible = true
            p.proofs[d].passed &+= 1
            p.proofs[d].verifiedHeight = tx.height
            view.write(senderKey, .account(sender))
            view.write(key, .provider(p))
            return RuntimeReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: nil)

        case .rewardClaim:
            var claimed = Amount.zero
            let error = try executeClaim(sender: &sender, address: tx.sender, claimed: &claimed, view: &view)
            guard error == .none else { return failedWith(error) }
            view.write(senderKey, .account(sender))
            return RuntimeReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: nil, amount: claimed)

        case .transfer, .computeTransfer:
            preconditionFailure("not a market transaction")
        }
    }

    /// The bond of a `job.dispute`: what an audit of the job can cost at most (one provider at the job's
    /// maximum price for its maximum duration, rounded up), and at least `disputeBond`.
    public static func disputeBond(_ spec: JobSpec, params: MarketParameters) -> Amount {
        var one = spec
        one.redundancy = 1
        // It fits: the job's escrow, k times as much, did.
        return max(one.escrow ?? .zero, params.disputeBond)
    }

    /// Block end: the batch auction (new providers and jobs join the book, deliveries and deadlines move
    /// jobs on, open jobs are matched or expire, proof rounds), then, at an epoch's last block, emissions.
    static func endOfBlock<Reader: StateReader<StateValue>>(
        outputs: UnsafeBufferPointer<RuntimeReceipt>, context: BlockContext, writes pending: inout PendingWrites<Reader>
    ) {
        var market = false
        for o in outputs where o.market != .none {
            market = true
            break
        }
        MarketAuction.run(outputs: outputs, context: context, anyMarketTransaction: market, writes: &pending)
        MarketIncome.endOfBlock(context: context, writes: &pending)
    }
}
