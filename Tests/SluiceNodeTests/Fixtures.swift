import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import Testing

let testChain: UInt64 = 7
let recipient = Address(Hash.sha256(Array("recipient".utf8)))

/// A sender with a real key that signs its transactions.
struct TestSender: Sendable {
    let key: SigningKey

    init(_ scheme: SignatureScheme = .ed25519) {
        key = try! SigningKey(scheme: scheme)
    }

    var address: Address { key.address }

    /// A signed transfer from this sender.
    func tx(
        _ sequence: UInt64, gasPrice: UInt64 = 1, gasLimit: UInt64 = 10, expiry: UInt64 = Transaction.never,
        chainId: UInt64 = testChain, amount: UInt128 = 1, payload: Payload? = nil
    ) -> Transaction {
        Transaction(
            chainId: chainId, sender: address, sequence: sequence, gasLimit: gasLimit, gasPrice: gasPrice,
            expiry: expiry, payload: payload ?? .transfer(to: recipient, amount: Amount(amount))
        ).signed(with: key)
    }
}

/// An in-memory state holding the given accounts.
func accounts(_ list: [(TestSender, balance: UInt128, sequence: UInt64)]) -> DictionaryState<StateValue> {
    var values: [StateKey: StateValue] = [:]
    for (sender, balance, sequence) in list {
        values[.account(sender.address)] = .account(AccountState(balance: Amount(balance), sequence: sequence))
    }
    return DictionaryState(values)
}

func pool(
    capacity: Int = 100_000, perSenderLimit: Int = 100, sequenceWindow: UInt64 = 64, minGasPrice: UInt64 = 1,
    maxTransactionBytes: Int = 8 * 1024
) -> Mempool {
    Mempool(
        configuration: .init(
            chainId: testChain, maxTransactionBytes: maxTransactionBytes, capacity: capacity,
            perSenderLimit: perSenderLimit, sequenceWindow: sequenceWindow, minGasPrice: minGasPrice))
}

/// Everything the mempool holds for these senders, to show that a rejection changed nothing.
struct Snapshot: Equatable {
    var count: Int
    var senders: Int
    var queues: [[Transaction]]

    init(_ mempool: Mempool, _ senders: [TestSender]) {
        count = mempool.count
        self.senders = mempool.senders
        queues = senders.map { mempool.transactions(from: $0.address) }
    }
}

/// Submits `tx` and expects it rejected with `code`, with the mempool unchanged. Returns the rejection.
@discardableResult
func expectRejected(
    _ tx: Transaction, _ code: String, by mempool: Mempool, state: DictionaryState<StateValue>, now: UInt64 = 0,
    senders: [TestSender], sourceLocation: SourceLocation = #_sourceLocation
) -> MempoolRejection? {
    let before = Snapshot(mempool, senders)
    let result = mempool.admit(tx, state: state, now: now)
    #expect(result.hash == tx.hash, sourceLocation: sourceLocation)
    #expect(result.rejection?.code == code, "\(result)", sourceLocation: sourceLocation)
    #expect(Snapshot(mempool, senders) == before, sourceLocation: sourceLocation)
    if result.rejection != .duplicate {
        #expect(mempool.status(tx.hash) == .unknown, sourceLocation: sourceLocation)
    }
    return result.rejection
}

func expectAccepted(
    _ txs: [Transaction], by mempool: Mempool, state: DictionaryState<StateValue>, now: UInt64 = 0,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let results = mempool.admit(txs, state: state, now: now)
    #expect(results == txs.map { .accepted($0.hash) }, sourceLocation: sourceLocation)
}
