import Crypto
import Foundation
import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState
import Testing

private func addr(_ name: String) -> Address { Address(Hash.sha256(Array(name.utf8))) }
private let alice = addr("alice")
private let bob = addr("bob")
private let carol = addr("carol")

private func account(_ balance: UInt128, _ sequence: UInt64 = 0) -> StateValue {
    .account(AccountState(balance: Amount(balance), sequence: sequence))
}

private func transfer(
    from: Address = alice, to: Address = bob, amount: UInt128, sequence: UInt64 = 0, gasLimit: UInt64 = 20,
    gasPrice: UInt64 = 1
) -> RuntimeTransaction {
    let tx = Transaction(
        chainId: 1, sender: from, sequence: sequence, gasLimit: gasLimit, gasPrice: gasPrice,
        payload: .transfer(to: to, amount: Amount(amount)))
    return RuntimeTransaction(tx, hash: tx.hash)
}

/// Runs a block sequentially and with Block-STM (forced, 2 threads); both must agree.
private func run(_ pre: [StateKey: StateValue], _ txs: [RuntimeTransaction]) -> (
    post: [StateKey: StateValue], receipts: [RuntimeReceipt]
) {
    let base = DictionaryState(pre)
    let s = SequentialExecutor(vm: RuntimeVM()).execute(txs, base: base)
    let p = ParallelExecutor(vm: RuntimeVM(), threads: 2, policy: .forceParallel).execute(txs, base: base)
    #expect(s.outputs == p.outputs)
    #expect(s.sortedWrites == p.sortedWrites)
    var post = base
    post.apply(s.writes)
    return (post.values, s.outputs)
}

private func balance(_ state: [StateKey: StateValue], _ a: Address) -> UInt128? {
    state[.account(a)]?.account?.balance.value
}

@Suite("The Bank's rules, one test per rule")
struct BankRulesTests {
    /// The tree's key hash is SHA-256 of the key's canonical bytes, whatever the space and id.
    @Test func keyHashIsTheHashOfTheCanonicalKey() {
        var rng = SystemRandomNumberGenerator()
        for space in [1, 2, 9, 0x0102_0304] as [UInt32] {
            for _ in 0..<20 {
                let id = Hash(w0: rng.next(), w1: rng.next(), w2: rng.next(), w3: rng.next())
                let key = StateKey(space: StateKey.Space(rawValue: space), id: id)
                // Against swift-crypto's SHA-256 of the encoding, not only our own hash of it.
                #expect(StateCommitment.keyHash(key).bytes == Array(SHA256.hash(data: key.canonicalBytes)))
            }
        }
    }

    let pre: [StateKey: StateValue] = [.account(alice): account(1000)]

    @Test func missingSenderIsDiscarded() {
        let (post, r) = run(pre, [transfer(from: carol, amount: 1)])
        #expect(r == [.discarded(.bank(.senderMissing))])
        #expect(post == pre)
    }

    @Test func wrongSequenceIsDiscarded() {
        let (post, r) = run(pre, [transfer(amount: 1, sequence: 1)])
        #expect(r == [.discarded(.bank(.sequenceMismatch))])
        #expect(post == pre)
    }

    @Test func gasLimitBelowTransferGasIsDiscarded() {
        let (post, r) = run(pre, [transfer(amount: 1, gasLimit: Bank.transferGas - 1)])
        #expect(r == [.discarded(.bank(.gasLimitTooLow))])
        #expect(post == pre)
        // Exactly the transfer gas is enough.
        #expect(run(pre, [transfer(amount: 1, gasLimit: Bank.transferGas)]).receipts[0].status == .success)
    }

    @Test func unpayableMaxFeeIsDiscarded() {
        // gasLimit × gasPrice = 1001 > 1000.
        let (post, r) = run(pre, [transfer(amount: 0, gasLimit: 1001, gasPrice: 1)])
        #expect(r == [.discarded(.bank(.cannotPayMaxFee))])
        #expect(post == pre)
        // Exactly payable is fine: the fee charged is the gas used, not the limit.
        let ok = run(pre, [transfer(amount: 0, gasLimit: 1000, gasPrice: 1)])
        #expect(ok.receipts[0].status == .success)
        #expect(balance(ok.post, alice) == 990)
    }

    @Test func maxFeeIsComputedWithoutOverflow() {
        let rich: [StateKey: StateValue] = [.account(alice): account(UInt128(UInt64.max) * 2)]
        let (post, r) = run(rich, [transfer(amount: 0, gasLimit: .max, gasPrice: .max)])
        #expect(r == [.discarded(.bank(.cannotPayMaxFee))])
        #expect(post == rich)
    }

    @Test func discardRulesApplyInOrder() {
        // Wrong sequence and too little gas and unpayable: the sequence is checked first.
        #expect(
            run(pre, [transfer(amount: 1, sequence: 5, gasLimit: 1, gasPrice: 10_000)]).receipts == [
                .discarded(.bank(.sequenceMismatch))
            ])
        // Too little gas and unpayable: gas first.
        #expect(
            run(pre, [transfer(amount: 1, gasLimit: 1, gasPrice: 10_000)]).receipts == [
                .discarded(.bank(.gasLimitTooLow))
            ])
    }

    @Test func overdraftFailsButPaysTheFeeAndTakesTheSequence() {
        // Balance 1000, fee 10, amount 991 > 990 remaining.
        let (post, r) = run(pre, [transfer(amount: 991)])
        #expect(
            r == [
                RuntimeReceipt(status: .failed, gasUsed: 10, fee: 10, error: .bank(.insufficientBalance), output: nil)
            ])
        #expect(post[.account(alice)] == account(990, 1))
        #expect(post[.account(bob)] == nil)
        #expect(balance(post, .treasury) == 10)
    }

    @Test func successMovesTheAmountAndCreatesTheRecipient() {
        let (post, r) = run(pre, [transfer(amount: 990)])
        #expect(r == [RuntimeReceipt(status: .success, gasUsed: 10, fee: 10, error: .none, output: nil)])
        #expect(post[.account(alice)] == account(0, 1))
        #expect(post[.account(bob)] == account(990, 0))
    }

    @Test func zeroAmountStillCreatesTheRecipient() {
        let (post, r) = run(pre, [transfer(amount: 0)])
        #expect(r[0].status == .success)
        #expect(post[.account(bob)] == account(0, 0))
    }

    @Test func transferToSelfOnlyCostsTheFee() {
        let (post, r) = run(pre, [transfer(to: alice, amount: 500, gasPrice: 2)])
        #expect(r == [RuntimeReceipt(status: .success, gasUsed: 10, fee: 20, error: .none, output: nil)])
        #expect(post[.account(alice)] == account(980, 1))
        // More than the balance after the fee fails, even to self.
        #expect(run(pre, [transfer(to: alice, amount: 991)]).receipts[0].status == .failed)
    }

    @Test func feesGoToTheTreasuryAtBlockEnd() {
        let treasuryKey = StateKey.account(.treasury)
        let start: [StateKey: StateValue] = [.account(alice): account(1000), treasuryKey: account(5)]
        // The treasury spends its 5 in the block: it sees its pre-block balance, not the block's fees.
        let fromTreasury = transfer(from: .treasury, to: bob, amount: 0, gasLimit: 10, gasPrice: 1)
        let (post, r) = run(
            start, [transfer(amount: 1, gasPrice: 3), fromTreasury, transfer(amount: 1, sequence: 1, gasPrice: 2)])
        #expect(r.map(\.status) == [.success, .discarded, .success])
        #expect(r[1] == .discarded(.bank(.cannotPayMaxFee)))
        #expect(balance(post, .treasury) == UInt128(5 + 30 + 20))
    }

    @Test func noFeesLeaveTheTreasuryAbsent() {
        let (post, _) = run(pre, [transfer(from: carol, amount: 1)])
        #expect(post[.account(.treasury)] == nil)
    }

    @Test func computeTransferChargesItsRoundsAndReturnsTheChainedDigest() {
        let tx = Transaction(
            chainId: 1, sender: alice, sequence: 0, gasLimit: 50, gasPrice: 1,
            payload: .computeTransfer(to: bob, amount: 1, rounds: 3))
        let (_, r) = run(pre, [RuntimeTransaction(tx, hash: tx.hash)])
        var digest = tx.hash.bytes
        for _ in 0..<3 { digest = Array(SHA256.hash(data: digest)) }
        #expect(r[0].status == .success)
        #expect(r[0].gasUsed == 13)
        #expect(r[0].output == (try? Hash(bytes: digest)))
    }

    @Test func supplyIsConserved() {
        let many: [StateKey: StateValue] = [.account(alice): account(1000), .account(bob): account(50)]
        let txs = [
            transfer(amount: 100), transfer(from: bob, to: alice, amount: 140, gasPrice: 2),
            transfer(amount: 5000, sequence: 1), transfer(from: bob, to: carol, amount: 3, sequence: 1),
        ]
        let (post, _) = run(many, txs)
        let total = post.values.compactMap { $0.account?.balance.value }.reduce(0, +)
        #expect(total == 1050)
    }
}

@Suite("Checks before execution: chain id, expiry, signatures")
struct PrecheckTests {
    @Test func preparedTransactionsCarryTheirRejection() throws {
        let key = try SigningKey(scheme: .ed25519)
        let other = try SigningKey(scheme: .ed25519)
        func tx(_ chain: UInt64 = 1, expiry: UInt64 = .max) -> Transaction {
            Transaction(
                chainId: chain, sender: key.address, sequence: 0, gasLimit: 20, gasPrice: 1, expiry: expiry,
                payload: .transfer(to: bob, amount: 1))
        }
        var tampered = tx().signed(with: key)
        tampered.gasPrice = 2
        var wrongKey = tx().signed(with: other)
        wrongKey.sender = key.address
        let txs = [
            tx().signed(with: key), tx(2).signed(with: key), tx(expiry: 99).signed(with: key), tampered, wrongKey, tx(),
        ]
        let prepared = RuntimeTransaction.prepare(txs, chainId: 1, timestamp: 100, verify: true, threads: 2)
        #expect(
            prepared.map(\.rejection) == [
                .none, .bank(.wrongChain), .bank(.expired), .bank(.badSignature), .bank(.wrongKey),
                .bank(.missingSignature),
            ])
        #expect(prepared.map(\.hash) == txs.map(\.hash))
        let unverified = RuntimeTransaction.prepare(txs, chainId: 1, timestamp: 100, verify: false, threads: 1)
        #expect(unverified.map(\.rejection) == [.none, .bank(.wrongChain), .bank(.expired), .none, .none, .none])

        let pre: [StateKey: StateValue] = [.account(key.address): account(100)]
        let (post, receipts) = run(pre, prepared)
        #expect(receipts.map(\.status) == [.success, .discarded, .discarded, .discarded, .discarded, .discarded])
        #expect(post[.account(key.address)] == account(89, 1))
    }
}

@Suite("The state root")
struct StateRootTests {
    @Test func dependsOnlyOnTheSetOfValues() {
        var a: [StateKey: StateValue] = [:]
        var b: [StateKey: StateValue] = [:]
        let keys = (0..<200).map { StateKey.account(addr("k\($0)")) }
        for (i, k) in keys.enumerated() { a[k] = account(UInt128(i)) }
        for (i, k) in keys.enumerated().reversed() { b[k] = account(UInt128(i)) }
        #expect(StateCommitment.root(of: a) == StateCommitment.root(of: b))
        b[keys[7]] = account(8)
        #expect(StateCommitment.root(of: a) != StateCommitment.root(of: b))
    }
}
