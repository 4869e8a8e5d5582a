import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import Testing

/// One test per rejection reason; each shows the rejection leaves the mempool as it was.
@Suite struct RejectionTests {
    let alice = TestSender()
    let bob = TestSender()
    let state: DictionaryState<StateValue>
    let mempool = pool()

    init() {
        state = accounts([(alice, 1_000_000, 0), (bob, 1_000_000, 7)])
        // Something already queued, so "unchanged" means something.
        expectAccepted([alice.tx(0), bob.tx(7)], by: mempool, state: state)
    }

    var senders: [TestSender] { [alice, bob] }

    @Test func oversized() {
        let small = pool(maxTransactionBytes: 150)
        let tx = alice.tx(0)
        let r = expectRejected(tx, "oversized", by: small, state: state, senders: senders)
        #expect(r == .oversized(size: tx.canonicalBytes.count, limit: 150))
        #expect(small.count == 0)
    }

    @Test func wrongChain() {
        let r = expectRejected(alice.tx(1, chainId: 8), "wrong_chain", by: mempool, state: state, senders: senders)
        #expect(r?.message.contains("sign it again with chain id 7") == true)
    }

    @Test func expired() {
        expectRejected(alice.tx(1, expiry: 99), "expired", by: mempool, state: state, now: 100, senders: senders)
        // Valid through its expiry second.
        expectAccepted([alice.tx(1, expiry: 100)], by: mempool, state: state, now: 100)
    }

    @Test(arguments: [SignatureFailure.missing, .wrongKey, .invalid])
    func badSignature(failure: SignatureFailure) {
        var tx = alice.tx(1)
        switch failure {
        case .missing: tx.authenticator = nil
        case .wrongKey: tx.sign(with: bob.key)  // bob's key does not derive alice's address
        case .invalid: tx.authenticator!.signature[5] ^= 1
        }
        let r = expectRejected(tx, "bad_signature", by: mempool, state: state, senders: senders)
        #expect(r == .badSignature(failure))
    }

    @Test func gasLimitTooLow() {
        expectRejected(alice.tx(1, gasLimit: 9), "gas_limit_too_low", by: mempool, state: state, senders: senders)
        let compute = Payload.computeTransfer(to: recipient, amount: 1, rounds: 5)
        let r = expectRejected(
            alice.tx(1, gasLimit: 14, payload: compute), "gas_limit_too_low", by: mempool, state: state,
            senders: senders)
        #expect(r == .gasLimitTooLow(limit: 14, required: 15))
        expectAccepted([alice.tx(1, gasLimit: 15, payload: compute)], by: mempool, state: state)
    }

    @Test func gasPriceTooLow() {
        let strict = pool(minGasPrice: 5)
        let r = expectRejected(
            alice.tx(0, gasPrice: 4), "gas_price_too_low", by: strict, state: state, senders: senders)
        #expect(r == .gasPriceTooLow(price: 4, minimum: 5))
        expectAccepted([alice.tx(0, gasPrice: 5)], by: strict, state: state)
    }

    @Test func unknownSender() {
        let carol = TestSender()
        let r = expectRejected(carol.tx(0), "unknown_sender", by: mempool, state: state, senders: senders + [carol])
        #expect(r?.message.contains("fund it") == true)
    }

    @Test func sequenceTooOld() {
        let r = expectRejected(bob.tx(5), "sequence_too_old", by: mempool, state: state, senders: senders)
        #expect(r?.message == "sequence 5 is behind the account's next sequence 7: use sequence 7")
    }

    @Test func sequenceTooFarAhead() {
        let r = expectRejected(alice.tx(64), "sequence_too_far_ahead", by: mempool, state: state, senders: senders)
        #expect(r == .sequenceTooFarAhead(sequence: 64, next: 0, window: 64))
        expectAccepted([alice.tx(63)], by: mempool, state: state)  // the last one inside the window
        expectRejected(bob.tx(7 + 64), "sequence_too_far_ahead", by: mempool, state: state, senders: senders)
    }

    @Test func feeUnpayable() {
        let poor = TestSender()
        let s = accounts([(poor, 25, 0)])
        expectAccepted([poor.tx(0, gasPrice: 2)], by: mempool, state: s)  // max fee 20 of 25
        let r = expectRejected(
            poor.tx(1, gasPrice: 2), "fee_unpayable", by: mempool, state: s, senders: senders + [poor])
        #expect(r == .feeUnpayable(required: 40, balance: 25))
    }

    @Test func duplicate() {
        expectRejected(alice.tx(0), "duplicate", by: mempool, state: state, senders: senders)
        // Within one batch too: the second copy is the duplicate.
        let tx = alice.tx(1)
        let results = mempool.admit([tx, tx], state: state, now: 0)
        #expect(results == [.accepted(tx.hash), .rejected(tx.hash, .duplicate)])
    }

    @Test func underpriced() {
        let r = expectRejected(alice.tx(0, amount: 2), "underpriced", by: mempool, state: state, senders: senders)
        #expect(r == .underpriced(sequence: 0, price: 1, minimum: 2))
    }

    @Test func senderLimit() {
        let limited = pool(perSenderLimit: 3)
        expectAccepted([alice.tx(0), alice.tx(1), alice.tx(2)], by: limited, state: state)
        let r = expectRejected(alice.tx(3), "sender_limit", by: limited, state: state, senders: senders)
        #expect(r == .senderLimit(limit: 3))
        // A replacement is not a new transaction: still allowed.
        expectAccepted([alice.tx(2, gasPrice: 2)], by: limited, state: state)
    }

    @Test func mempoolFull() {
        let full = pool(capacity: 2)
        expectAccepted([alice.tx(0, gasPrice: 3), bob.tx(7, gasPrice: 3)], by: full, state: state)
        let r = expectRejected(alice.tx(1, gasPrice: 3), "mempool_full", by: full, state: state, senders: senders)
        #expect(r == .mempoolFull(capacity: 2, lowestPrice: 3))
    }

    @Test func everyCodeIsDistinctAndEveryMessageSaysWhatToDo() {
        let all: [MempoolRejection] = [
            .oversized(size: 9000, limit: 8192), .wrongChain(expected: 1, got: 2), .expired(expiry: 1, now: 2),
            .badSignature(.invalid), .gasLimitTooLow(limit: 1, required: 10), .gasPriceTooLow(price: 0, minimum: 1),
            .unknownSender(recipient), .sequenceTooOld(sequence: 1, next: 2),
            .sequenceTooFarAhead(sequence: 99, next: 0, window: 64), .feeUnpayable(required: 2, balance: 1),
            .duplicate, .underpriced(sequence: 0, price: 10, minimum: 11), .senderLimit(limit: 100),
            .mempoolFull(capacity: 10, lowestPrice: 4), .undecodable(reason: "bundleURI: length 513"),
            .invalidPayload(.zeroEscrow),
        ]
        #expect(Set(all.map(\.code)).count == all.count)
        for r in all { #expect(r.message.contains(":"), "\(r.code): \(r.message)") }
    }
}
