import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState
import Testing

// Every transaction kind and every block-end step emits its typed events (issue 14): what a client that
// follows events instead of polling learns, checked against the state the same blocks leave.

private func addr(_ name: String) -> Address { Address(Hash.sha256(Array(name.utf8))) }
private let alice = addr("events/alice")
private let carol = addr("events/carol")

@Suite("Events: one per transaction kind, and every block-end step's")
struct EventTests {
    @Test func transfersAndFees() throws {
        var chain = MarketChain(funded: [alice], balance: 1_000)
        chain.block([chain.tx(alice, .transfer(to: carol, amount: 7))])
        #expect(chain.receipts.map(\.events) == [[.transfer(from: alice, to: carol, amount: 7)]])
        #expect(chain.blockEvents == [.feesCollected(amount: Amount(UInt128(Bank.transferGas)))])
        // A failed transfer pays its fee but did nothing: no event of its own.
        chain.block([chain.tx(alice, .transfer(to: carol, amount: 10_000))])
        #expect(chain.receipts[0].status == .failed && chain.receipts[0].events.isEmpty)
        #expect(chain.blockEvents == [.feesCollected(amount: Amount(UInt128(Bank.transferGas)))])
    }

    /// A job's life as events: submitted, matched to its providers, committed, settled with each payout
    /// and the refund, the income rows; a provider's own transactions.
    @Test func aJobsLifeAndAProvidersTransactions() throws {
        var chain = MarketChain(funded: [consumer, p1, p2], balance: 1_000_000_000)
        chain.block([chain.tx(p1, offer(price: 6_000_000)), chain.tx(p2, offer(price: 7_000_000))])
        #expect(
            chain.receipts.map(\.events) == [
                [.providerRegistered(provider: p1, stake: 5_000)], [.providerRegistered(provider: p2, stake: 5_000)],
            ])
        chain.block([chain.tx(consumer, job(maxPrice: 10_000_000, k: 2, hours: 3))])
        let id = try #require(chain.receipts[0].output)
        #expect(chain.receipts[0].events == [.jobSubmitted(job: id, consumer: consumer, escrow: 60_000_000)])
        #expect(chain.blockEvents.contains(.jobStatus(job: id, status: .matched, providers: [p1, p2])))

        let result = Hash.sha256(Array("the picture".utf8))
        chain.block([chain.tx(p1, commit(id, p1, result: result)), chain.tx(p2, commit(id, p2, result: result))])
        #expect(
            chain.receipts.map(\.events) == [
                [.resultCommitted(job: id, provider: p1)], [.resultCommitted(job: id, provider: p2)],
            ])
        #expect(chain.blockEvents.contains(.jobStatus(job: id, status: .committed, providers: [p1, p2])))

        chain.block([
            chain.tx(p1, reveal(id, result: result, usage: 7200)),
            chain.tx(p2, reveal(id, result: result, usage: 7200)),
        ])
        #expect(chain.receipts[0].events == [.resultRevealed(job: id, provider: p1, result: result)])
        // 6/h × 2 h = 12 and 7/h × 2 h = 14 before the 2 % fee; 60 − 26 = 34 back to the consumer.
        #expect(
            chain.blockEvents.contains(
                .jobSettled(
                    job: id, consumer: consumer,
                    payouts: [Payout(provider: p1, amount: 12_000_000), Payout(provider: p2, amount: 14_000_000)],
                    refund: 34_000_000)))
        #expect(chain.blockEvents.contains(.jobRefunded(job: id, consumer: consumer, amount: 34_000_000)))
        #expect(
            chain.blockEvents.contains(
                .income(account: p1, kind: .jobPay, amount: 11_760_000, fee: 240_000, job: id)))
        #expect(chain.job(id)?.status == .settled)

        // The provider's own transactions.
        chain.block([chain.tx(p1, .providerHeartbeat)])
        #expect(chain.receipts[0].events == [.providerHeartbeat(provider: p1)])
        chain.block([chain.tx(p1, .providerUnbond)])
        #expect(chain.receipts[0].events == [.providerUnbonding(provider: p1)])
        let stake = try #require(chain.provider(p1)?.stake)
        chain.block([chain.tx(p1, .providerWithdraw)], at: chain.height + MarketParameters().unbondingBlocks)
        #expect(chain.receipts[0].events == [.providerWithdrawn(provider: p1, amount: stake)])
        // Every event ever emitted names the job or the accounts it is about.
        #expect(chain.allEvents.filter { $0.job == id }.count >= 8)
    }

    @Test func cancelAndExpiryRefund() throws {
        var chain = MarketChain(funded: [consumer], balance: 1_000_000_000)
        chain.block([chain.tx(consumer, job(maxPrice: 10_000_000))])
        let open = try #require(chain.receipts[0].output)
        chain.block([chain.tx(consumer, .jobCancel(job: open))])
        #expect(chain.receipts[0].events == [.jobCancelled(job: open, consumer: consumer, refund: 30_000_000)])

        chain.block([chain.tx(consumer, job(maxPrice: 10_000_000))])
        let waiting = try #require(chain.receipts[0].output)
        chain.block([], at: chain.height + MarketParameters().openJobBlocks)
        #expect(chain.blockEvents.contains(.jobRefunded(job: waiting, consumer: consumer, amount: 30_000_000)))
        #expect(chain.blockEvents.contains(.jobStatus(job: waiting, status: .expired, providers: [])))
    }

    /// A provider that misses its commitment is slashed (an income row of kind slash), the job opens again.
    @Test func aMissedDeadlineIsASlashEvent() throws {
        var chain = MarketChain(funded: [consumer, p1], balance: 1_000_000_000)
        chain.block([chain.tx(p1, offer(price: 6_000_000))])
        chain.block([chain.tx(consumer, job(maxPrice: 10_000_000))])
        let id = try #require(chain.receipts[0].output)
        let deadline = try #require(chain.job(id)?.deadline)
        chain.block([], after: deadline - chain.clock + 1)
        #expect(
            chain.blockEvents.contains {
                if case .income(p1, .slash, let amount, _, id?) = $0 { return amount > .zero }
                return false
            }, "\(chain.blockEvents)")
        #expect(chain.blockEvents.contains(.jobStatus(job: id, status: .open, providers: [])))
    }

    /// Proof rounds: issued at registration, failed at the deadline when nobody answers.
    @Test func proofRoundsIssuedAndFailed() throws {
        var chain = MarketChain(funded: [p1], balance: 1_000_000_000, proofs: true)
        chain.block([chain.tx(p1, offer(price: 6_000_000))])
        #expect(chain.blockEvents.contains(.proofIssued(provider: p1, round: 1)))
        let deadline = try #require(chain.provider(p1)?.proofs.first?.deadline)
        chain.block([], after: deadline - chain.clock + 1)
        #expect(chain.blockEvents.contains(.proofFailed(provider: p1, device: 0)))
    }

    /// An epoch's emission is one `reward.credited` row per address; a claim is the claimer's event.
    @Test func emissionsAndClaims() throws {
        var params = MarketParameters()
        params.epochBlocks = 10
        var chain = MarketChain(funded: [p1, carol], balance: 1_000_000_000, params: params)
        chain.proposer = carol
        chain.block([chain.tx(p1, offer(price: 6_000_000))])
        chain.block([], at: 10)
        let credited = chain.blockEvents.filter { $0.kind == .rewardCredited }
        #expect(credited.contains { $0.accounts == [carol] }, "\(chain.blockEvents)")
        #expect(credited.allSatisfy { $0.kind.name == "reward.credited" })
        let unclaimed = try #require(chain.reward(carol)?.unclaimed)
        chain.block([chain.tx(carol, .rewardClaim)])
        #expect(chain.receipts[0].events == [.rewardClaimed(account: carol, amount: unclaimed)])
    }
}
