import Crypto
public import SluiceCore
import SluiceExecution
import SluiceState

// The Bank: accounts, transfers and fees. Its rules are the reference for every later module.
//
// A transaction is discarded (no state change, no gas, no fee) when, checked in order: its sender
// account does not exist; its sequence is not the account's; its gas limit is below what it needs;
// the sender cannot pay gasLimit × gasPrice (`RuntimeVM.execute`, for every module). Otherwise the fee
// (gas used × gas price) is taken and the sequence advances, and then the transfer either applies
// (success; the recipient is created if missing, even for amount 0) or, when the amount exceeds what is
// left, does not (failed). Fees are not written per transaction: they travel in the receipts and are
// credited to the treasury once, at block end, so a block's transactions never contend on the treasury.

/// The Bank module: `transfer` and `computeTransfer`, and the fees at block end.
public enum Bank: RuntimeModule {
    public static let id = RuntimeModuleID.bank
    /// Gas of a plain transfer.
    public static let transferGas: UInt64 = 10
    /// Extra gas per SHA-256 round of a compute transfer.
    public static let computeRoundGas: UInt64 = 1

    @inlinable
    public static func intrinsicGas(of payload: Payload) -> UInt64? {
        switch payload {
        case .transfer: transferGas
        case .computeTransfer(_, _, let rounds): transferGas + UInt64(rounds) * computeRoundGas
        default: nil
        }
    }

    public static func admissionBytes(of payload: Payload) -> Int? { nil }

    /// A transfer whose sender passed the shared checks.
    static func execute<View: StateView<StateValue>>(
        _ tx: RuntimeTransaction, sender account: AccountState, gas: UInt64, view: inout View
    ) throws(ExecutionSuspended) -> RuntimeReceipt {
        var sender = account
        let senderKey = StateKey.account(tx.sender)
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
            return RuntimeReceipt(
                status: .failed, gasUsed: gas, fee: fee, error: .bank(.insufficientBalance), output: output)
        }
        if to == tx.sender {
            view.write(senderKey, .account(sender))
            return RuntimeReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: output)
        }
        var recipient = recipientBefore?.account ?? AccountState(balance: .zero, sequence: 0)
        guard let credited = recipient.balance.adding(amount) else {
            view.write(senderKey, .account(sender))
            return RuntimeReceipt(
                status: .failed, gasUsed: gas, fee: fee, error: .bank(.balanceOverflow), output: output)
        }
        sender.balance = remaining
        recipient.balance = credited
        view.write(senderKey, .account(sender))
        view.write(recipientKey, .account(recipient))
        return RuntimeReceipt(status: .success, gasUsed: gas, fee: fee, error: .none, output: output)
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

    /// Block end: the block's fees, credited to the treasury in one write.
    static func endOfBlock<Reader: StateReader<StateValue>>(
        outputs: UnsafeBufferPointer<RuntimeReceipt>, context: BlockContext, writes pending: inout PendingWrites<Reader>
    ) {
        var total: UInt128 = 0
        for o in outputs { total += o.fee.value }
        guard total > 0 else { return }
        let key = StateKey.account(.treasury)
        var treasury = pending.read(key)?.account ?? AccountState(balance: .zero, sequence: 0)
        // Supply is bounded by UInt128 at genesis, so the sum of balances cannot overflow.
        treasury.balance = Amount(treasury.balance.value + total)
        pending.write(key, .account(treasury))
        pending.emit(.feesCollected(amount: Amount(total)))
    }
}
