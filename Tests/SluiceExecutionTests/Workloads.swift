import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState

func testAddress(_ i: Int) -> Address {
    Address(Hash.sha256(Array("account-\(i)".utf8)))
}

/// A random block over `accounts` accounts, with a mix of successes, failures and discards.
func randomBlock(
    seed: UInt64, accounts: Int, size: Int, computeRounds: UInt32 = 0, badShare: Double = 0.1
) -> (base: DictionaryState<StateValue>, txs: [RuntimeTransaction]) {
    var rng = SplitMix64(seed: seed)
    var base: [StateKey: StateValue] = [:]
    var sequences = [UInt64](repeating: 0, count: accounts)
    for i in 0..<accounts {
        // Some accounts are poor, so transfers fail or cannot pay the max fee.
        let balance: UInt64 = rng.next() % 4 == 0 ? UInt64.random(in: 0...40, using: &rng) : 1_000_000
        base[.account(testAddress(i))] = .account(AccountState(balance: Amount(UInt128(balance)), sequence: 0))
    }
    var txs: [RuntimeTransaction] = []
    for n in 0..<size {
        let s = Int.random(in: 0..<accounts, using: &rng)
        // A few recipients are fresh accounts, created by the block.
        let r =
            rng.next() % 16 == 0
            ? accounts + Int.random(in: 0..<8, using: &rng) : Int.random(in: 0..<accounts, using: &rng)
        var sequence = sequences[s]
        var gasLimit: UInt64 = 20
        var sender = testAddress(s)
        let roll = Double(rng.next() % 1000) / 1000
        if roll < badShare / 4 {
            sequence += 1  // sequence gap: discarded
        } else if roll < badShare / 2 {
            gasLimit = 5  // below the gas needed: discarded
        } else if roll < badShare * 3 / 4 {
            sender = testAddress(accounts + 100 + n)  // no such account: discarded
        } else {
            sequences[s] += 1  // may still fail or be discarded for funds; the sequence guess is then off
        }
        let amount = Amount(UInt128(rng.next() % 3 == 0 ? rng.next() % 2_000_000 : rng.next() % 100))
        let payload: Payload =
            computeRounds > 0
            ? .computeTransfer(to: testAddress(r), amount: amount, rounds: computeRounds)
            : .transfer(to: testAddress(r), amount: amount)
        if computeRounds > 0 { gasLimit += UInt64(computeRounds) }
        let tx = Transaction(
            chainId: 1, sender: sender, sequence: sequence, gasLimit: gasLimit, gasPrice: 1 + rng.next() % 3,
            payload: payload)
        txs.append(RuntimeTransaction(tx, hash: Hash.sha256(Array("tx-\(seed)-\(n)".utf8))))
    }
    return (DictionaryState(base), txs)
}

/// The Bank with footprint hints removed or wrong, to exercise Block-STM without (or despite) them.
struct HintedBankVM: BlockVM {
    enum Hints {
        /// No hints: plain Block-STM, no pre-placed estimates.
        case none
        /// Declares a key it never writes and misses the recipient.
        case misleading
    }

    let hints: Hints
    let bank = RuntimeVM()

    func execute<View: StateView<StateValue>>(
        _ tx: RuntimeTransaction, index: Int, view: inout View
    ) throws(ExecutionSuspended) -> RuntimeReceipt {
        try bank.execute(tx, index: index, view: &view)
    }

    func declaredWrites(of tx: RuntimeTransaction, _ body: (StateKey) -> Void) -> Bool {
        switch hints {
        case .none:
            return false
        case .misleading:
            body(.account(tx.sender))
            body(.account(testAddress(0)))
            return true
        }
    }

    func estimatedCost(of tx: RuntimeTransaction) -> Double { hints == .none ? bank.estimatedCost(of: tx) : 5000 }

    func finalize<Reader: StateReader<StateValue>>(
        outputs: UnsafeBufferPointer<RuntimeReceipt>, state: Reader, context: BlockContext
    ) -> BlockEnd<StateValue, Event> { bank.finalize(outputs: outputs, state: state, context: context) }
}

/// Writes many undeclared keys per transaction, to overflow the executor's preallocated tables.
struct WideWriterVM: BlockVM {
    func execute<View: StateView<StateValue>>(
        _ tx: RuntimeTransaction, index: Int, view: inout View
    ) throws(ExecutionSuspended) -> RuntimeReceipt {
        var sum: UInt128 = 0
        for k in 0..<40 {
            let key = StateKey(space: .init(rawValue: 9), id: Hash.sha256(Array("wide-\(index % 50)-\(k)".utf8)))
            if case .account(let a)? = try view.read(key) { sum &+= a.balance.value }
            view.write(key, .account(AccountState(balance: Amount(sum &+ UInt128(index)), sequence: UInt64(index))))
        }
        return RuntimeReceipt(status: .success, gasUsed: 1, fee: .zero, error: .none, output: nil)
    }
    func declaredWrites(of tx: RuntimeTransaction, _ body: (StateKey) -> Void) -> Bool { false }
    func estimatedCost(of tx: RuntimeTransaction) -> Double { 50_000 }
    func finalize<Reader: StateReader<StateValue>>(
        outputs: UnsafeBufferPointer<RuntimeReceipt>, state: Reader, context: BlockContext
    ) -> BlockEnd<StateValue, Event> { BlockEnd() }
}
