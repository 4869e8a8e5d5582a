import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState
import Testing

// Audits at the state-machine level (docs/MARKET.md, "When results disagree", "Random audit"): every
// block runs sequentially and with Block-STM (`MarketChain.block` compares them), and each test checks
// the exact amounts and that balances + escrows + stakes + burned stay constant.

private func addr(_ name: String) -> Address { Address(Hash.sha256(Array(name.utf8))) }
private let p4 = addr("provider-4")
private let p5 = addr("provider-5")
private let outsider = addr("outsider")
private let r1 = Hash.sha256(Array("result one".utf8))
private let r2 = Hash.sha256(Array("result two".utf8))
private let r3 = Hash.sha256(Array("result three".utf8))
private let million: UInt128 = 1_000_000
private let asks: [Address: UInt128] = [
    p1: 6 * million, p2: 7 * million, p3: 8 * million, p4: 9 * million, p5: 9_500_000,
]
/// An audit's window for the jobs here (3 h): the maximum duration plus `auditGraceSeconds`.
private let auditWindow = 3 * 3600 + MarketParameters.default.auditGraceSeconds

private func report(_ job: Hash, _ result: Hash, usage: UInt64 = 3600) -> Payload {
    .auditReport(job: job, result: result, usageSeconds: usage, logs: .zero)
}

/// The auditor the chain must draw: the candidates by address, indexed by the audit seed.
private func expectedAuditor(_ candidates: [Address], chain: MarketChain, job: Hash, round: UInt8) -> Address {
    let sorted = candidates.sorted()
    let draw = JobRecord.auditSeed(MarketChain.seed(at: chain.height), job: job, round: round).w0
    return sorted[Int(draw % UInt64(sorted.count))]
}

/// A chain with the given providers registered (asks above); the consumer, an outsider, the treasury
/// and every provider funded.
private func market(_ providers: [Address], params: MarketParameters? = nil) -> MarketChain {
    var chain = MarketChain(
        funded: [consumer, outsider, .treasury, p1, p2, p3, p4, p5], balance: 1_000_000_000, params: params)
    chain.block(providers.map { chain.tx($0, offer(price: asks[$0]!)) })
    return chain
}

/// Runs a job matched to `providers` (in order) through commit and reveal, each revealing its result
/// after an hour of work.
private func runJob(
    _ chain: inout MarketChain, k: UInt8, reveals: [(Address, Hash)]
) throws -> Hash {
    let id = try #require(chain.block([chain.tx(consumer, job(maxPrice: 10 * million, k: k, hours: 3))])[0].output)
    #expect(chain.job(id)?.assigned.map(\.provider) == reveals.map(\.0))
    chain.block(reveals.map { chain.tx($0.0, commit(id, $0.0, result: $0.1)) })
    chain.block(reveals.map { chain.tx($0.0, reveal(id, result: $0.1, usage: 3600)) })
    return id
}

@Suite("The market: audits of disagreements")
struct MarketAuditTests {
    /// p1 (ask 6) reveals r1, p2 (ask 7) reveals r2 on a k = 2 job (1 GPU, ≤ 10/h, ≤ 3 h: escrow 60);
    /// `auditors` (asks 8, 9, 9.5) could audit it.
    private func disputed(auditors: [Address] = [p3, p4, p5]) throws -> (MarketChain, Hash) {
        var chain = market([p1, p2] + auditors)
        let id = try runJob(&chain, k: 2, reveals: [(p1, r1), (p2, r2)])
        return (chain, id)
    }

    @Test func disagreeingRevealsDrawAnAuditorThatIsNotAmongTheProviders() throws {
        let (chain, id) = try disputed()
        let j = try #require(chain.job(id))
        let audit = try #require(j.audit)
        #expect(j.status == .disputed && audit.kind == .disagreement && audit.round == 1)
        let auditor = try #require(audit.auditor)
        #expect(auditor == expectedAuditor([p3, p4, p5], chain: chain, job: id, round: 1))
        #expect(![p1, p2].contains(auditor))
        #expect(audit.pricePerGPUHour.value == asks[auditor])
        // Its GPU is taken until it reports; the providers' are free; the escrow is held.
        #expect(chain.provider(auditor)?.busy == 1)
        #expect(chain.provider(p1)?.busy == 0 && chain.provider(p2)?.busy == 0)
        #expect(j.escrow.value == 60 * million && j.deadline == chain.clock + auditWindow)
        #expect(chain.book?.activeJobs == [MarketBook.ActiveJob(deadline: j.deadline, id: id)])
    }

    @Test func aReportConfirmingOneSidePaysItAndSlashesTheOther() throws {
        var (chain, id) = try disputed()
        let auditor = try #require(chain.job(id)?.audit?.auditor)
        let supply = chain.supply
        let before = (
            consumer: chain.balance(consumer), p1: chain.balance(p1), p2: chain.balance(p2),
            auditor: chain.balance(auditor), treasury: chain.balance(.treasury)
        )
        let r = chain.block([chain.tx(auditor, report(id, r1, usage: 3600))])
        #expect(r[0].status == .success)
        let j = try #require(chain.job(id))
        #expect(j.status == .settled && j.result == r1 && j.escrow == .zero && j.settledTimestamp == chain.clock)
        #expect(j.audit?.result == r1 && j.audit?.paid.value == asks[auditor])
        // p1 is paid as in settlement: 6 for the hour, less the 2 % fee.
        #expect(chain.balance(p1) == before.p1 + 5_880_000)
        #expect(j.assigned[0].paid.value == 6 * million && j.assigned[1].paid == .zero)
        // p2 loses half its stake of 5,000: 1,250 burned, 625 to the auditor, 625 to the consumer.
        let liar = try #require(chain.provider(p2))
        #expect(liar.stake == 2_500 && liar.jobsDisputed == 1 && chain.balance(p2) == before.p2)
        #expect(chain.burned == 1_250)
        // The auditor: its ask for its hour, no fee, and its share; its GPU is free again.
        #expect(chain.balance(auditor) == before.auditor + asks[auditor]! + 625 - UInt128(MarketParameters.reportGas))
        #expect(chain.provider(auditor)?.busy == 0 && chain.provider(auditor)?.jobsDone == 1)
        // The consumer: the escrow less both payments, and its share of the slash.
        #expect(chain.balance(consumer) == before.consumer + 60 * million - 6 * million - asks[auditor]! + 625)
        #expect(chain.balance(.treasury) == before.treasury + 120_000 + UInt128(MarketParameters.reportGas))
        #expect(chain.provider(p1)?.jobsDone == 1 && chain.provider(p1)?.stake == 5_000)
        #expect(chain.book?.activeJobs == [])
        #expect(chain.supply == supply)
    }

    @Test func aReportMatchingNoSideSlashesNobodyAndPaysOnlyTheAuditor() throws {
        var (chain, id) = try disputed()
        let auditor = try #require(chain.job(id)?.audit?.auditor)
        let supply = chain.supply
        let consumerBefore = chain.balance(consumer)
        chain.block([chain.tx(auditor, report(id, r3, usage: 1800))])
        let j = try #require(chain.job(id))
        #expect(j.status == .settled && j.result == nil && j.escrow == .zero)
        #expect(j.assigned.allSatisfy { $0.paid == .zero })
        #expect(chain.provider(p1)?.stake == 5_000 && chain.provider(p2)?.stake == 5_000)
        #expect(chain.provider(p2)?.jobsDisputed == 0 && chain.burned == 0)
        // The auditor is paid its ask for half an hour; the consumer gets the rest.
        #expect(j.audit?.paid.value == asks[auditor]! / 2)
        #expect(chain.balance(consumer) == consumerBefore + 60 * million - asks[auditor]! / 2)
        #expect(chain.supply == supply)
    }

    @Test func anAuditorThatMissesItsDeadlineIsSlashedAndReplacedUntilTheAuditGivesUp() throws {
        var (chain, id) = try disputed()
        let supply = chain.supply
        var candidates = [p3, p4, p5]
        var consumerBefore = chain.balance(consumer)
        for round in 1...3 {
            let auditor = try #require(chain.job(id)?.audit?.auditor)
            #expect(chain.job(id)?.audit?.round == UInt8(round))
            chain.block([], after: auditWindow + 1)
            // Slashed like a missed commitment: 10 % of its stake to the consumer; never drawn again.
            let missed = try #require(chain.provider(auditor))
            #expect(missed.stake == 4_500 && missed.jobsFailed == 1 && missed.busy == 0)
            #expect(chain.balance(consumer) == consumerBefore + 500 + (round == 3 ? 60 * million : 0))
            consumerBefore = chain.balance(consumer)
            let j = try #require(chain.job(id))
            #expect(j.failedProviders.last == auditor)
            candidates.removeAll { $0 == auditor }
            if round < 3 {
                #expect(j.status == .disputed && j.audit?.round == UInt8(round + 1))
                #expect(j.audit?.auditor == expectedAuditor(candidates, chain: chain, job: id, round: UInt8(round + 1)))
            }
        }
        // Three rounds without a report: refunded in full (above), nobody slashed for the job itself.
        let j = try #require(chain.job(id))
        #expect(j.status == .unresolved && j.escrow == .zero && j.result == nil)
        #expect(chain.provider(p1)?.stake == 5_000 && chain.provider(p2)?.stake == 5_000)
        #expect(chain.book?.activeJobs == [])
        #expect(chain.supply == supply)
    }

    @Test func onlyTheDrawnAuditorReportsOnceAndWithinItsWindow() throws {
        var (chain, id) = try disputed()
        let auditor = try #require(chain.job(id)?.audit?.auditor)
        let other = try #require([p3, p4, p5].first { $0 != auditor })
        var r = chain.block([
            chain.tx(p1, report(id, r1)), chain.tx(consumer, report(id, r1)), chain.tx(other, report(id, r1)),
            chain.tx(auditor, report(Hash.sha256([77]), r1)),
        ])
        #expect(
            r.map(\.error) == [.market(.notAuditor), .market(.notAuditor), .market(.notAuditor), .market(.jobNotFound)])
        // Late: a report in a block past the deadline is refused, and the auditor is replaced at its end.
        r = chain.block([chain.tx(auditor, report(id, r1))], after: auditWindow + 1)
        #expect(r[0].error == .market(.auditClosed))
        #expect(chain.job(id)?.audit?.auditor != auditor && chain.job(id)?.audit?.round == 2)
        r = chain.block([chain.tx(auditor, report(id, r1))])
        #expect(r[0].error == .market(.notAuditor))
        // The new auditor reports once; a second report is refused.
        let next = try #require(chain.job(id)?.audit?.auditor)
        r = chain.block([chain.tx(next, report(id, r1)), chain.tx(next, report(id, r2))])
        #expect(r[0].status == .success && r[1].error == .market(.alreadyReported))
        #expect(chain.job(id)?.status == .settled && chain.job(id)?.result == r1)
        // Once settled, nobody reports.
        r = chain.block([chain.tx(next, report(id, r1))])
        #expect(r[0].error == .market(.notAuditor))
    }

    @Test func withNobodyToAuditTheRoundWaitsAndANewProviderIsDrawnLater() throws {
        var (chain, id) = try disputed(auditors: [])
        var j = try #require(chain.job(id))
        #expect(j.status == .disputed && j.audit?.round == 1 && j.audit?.auditor == nil)
        #expect(j.deadline == chain.clock + MarketParameters.default.auditGraceSeconds)
        // A provider joins; at the next round it is drawn.
        chain.block([chain.tx(p3, offer(price: asks[p3]!))])
        #expect(chain.job(id)?.audit?.auditor == nil)
        chain.block([], after: MarketParameters.default.auditGraceSeconds + 1)
        j = try #require(chain.job(id))
        #expect(j.audit?.round == 2 && j.audit?.auditor == p3)
        #expect(chain.provider(p3)?.busy == 1)
    }
}

@Suite("The market: random audits and disputes")
struct MarketRandomAuditTests {
    static let always = MarketParameters(auditProbabilityBasisPoints: 10_000)
    static let never = MarketParameters(auditProbabilityBasisPoints: 0)

    @Test func agreeingRevealsDrawnForAuditArePaidOnlyWhenTheAuditConfirmsThem() throws {
        var chain = market([p1, p2], params: Self.always)
        let id = try runJob(&chain, k: 1, reveals: [(p1, r1)])
        var j = try #require(chain.job(id))
        #expect(j.status == .disputed && j.audit?.kind == .random && j.audit?.auditor == p2)
        #expect(j.result == nil && j.assigned[0].paid == .zero && j.escrow.value == 30 * million)
        #expect(chain.provider(p1)?.busy == 0 && chain.provider(p2)?.busy == 1)
        let supply = chain.supply
        let before = (consumer: chain.balance(consumer), p1: chain.balance(p1), treasury: chain.balance(.treasury))
        chain.block([chain.tx(p2, report(id, r1, usage: 1800))])
        j = try #require(chain.job(id))
        #expect(j.status == .settled && j.result == r1 && j.escrow == .zero)
        #expect(chain.balance(p1) == before.p1 + 5_880_000)
        #expect(chain.balance(consumer) == before.consumer + 30 * million - 6 * million)
        // The treasury pays the audit (7 for half an hour) and takes p1's fee.
        #expect(j.audit?.paid == 3_500_000)
        #expect(
            chain.balance(.treasury) == before.treasury + 120_000 + UInt128(MarketParameters.reportGas) - 3_500_000)
        #expect(chain.supply == supply && chain.burned == 0)
    }

    @Test func aRandomAuditContradictingTheProvidersSlashesThem() throws {
        var chain = market([p1, p2], params: Self.always)
        let id = try runJob(&chain, k: 1, reveals: [(p1, r1)])
        let supply = chain.supply
        let before = (consumer: chain.balance(consumer), p1: chain.balance(p1), p2: chain.balance(p2))
        chain.block([chain.tx(p2, report(id, r2, usage: 1800))])
        let j = try #require(chain.job(id))
        #expect(j.status == .settled && j.result == nil && j.escrow == .zero && j.assigned[0].paid == .zero)
        #expect(chain.provider(p1)?.stake == 2_500 && chain.provider(p1)?.jobsDisputed == 1)
        #expect(chain.balance(p1) == before.p1 && chain.burned == 1_250)
        // The auditor is paid from the escrow, plus its share; the consumer gets the rest and its share.
        #expect(chain.balance(p2) == before.p2 + 3_500_000 + 625 - UInt128(MarketParameters.reportGas))
        #expect(chain.balance(consumer) == before.consumer + 30 * million - 3_500_000 + 625)
        #expect(chain.supply == supply)
    }

    @Test func noRandomAuditWithoutProbabilityOrWithoutAnAuditor() throws {
        var chain = market([p1, p2], params: Self.never)
        var id = try runJob(&chain, k: 1, reveals: [(p1, r1)])
        #expect(chain.job(id)?.status == .settled && chain.job(id)?.audit == nil)
        // Always audited, but nobody else could run it: paid at once.
        chain = market([p1], params: Self.always)
        id = try runJob(&chain, k: 1, reveals: [(p1, r1)])
        #expect(chain.job(id)?.status == .settled && chain.job(id)?.result == r1 && chain.job(id)?.audit == nil)
    }

    @Test func theRandomDrawFollowsTheAuditSeed() throws {
        // 2 %: over many jobs, the ones audited are exactly those whose seed says so.
        let params = MarketParameters(auditProbabilityBasisPoints: 2_000)
        var chain = market([p1, p2], params: params)
        var audited = 0
        for _ in 0..<12 {
            let id = try runJob(&chain, k: 1, reveals: [(p1, r1)])
            let drawn = JobRecord.drawnForAudit(
                MarketChain.seed(at: chain.height), job: id, probabilityBasisPoints: 2_000)
            #expect((chain.job(id)?.status == .disputed) == drawn)
            if drawn {
                audited += 1
                chain.block([chain.tx(p2, report(id, r1, usage: 1))])
            }
        }
        #expect(audited < 12)
    }

    @Test func theConsumerDisputesASettledJobWithABondThatPaysAConfirmingAudit() throws {
        var chain = market([p1, p2], params: Self.never)
        let id = try runJob(&chain, k: 1, reveals: [(p1, r1)])
        #expect(chain.job(id)?.status == .settled)
        let supply = chain.supply
        let before = chain.balance(consumer)
        var r = chain.block([chain.tx(consumer, .jobDispute(job: id))])
        #expect(r[0].status == .success)
        // The bond: what one provider could cost (10/h × 3 h = 30), at least `disputeBond`.
        var j = try #require(chain.job(id))
        #expect(j.status == .disputed && j.audit?.kind == .dispute && j.audit?.auditor == p2)
        #expect(j.escrow.value == 30 * million)
        #expect(chain.balance(consumer) == before - 30 * million - UInt128(MarketParameters.disputeGas))
        r = chain.block([chain.tx(p2, report(id, r1, usage: 1800))])
        j = try #require(chain.job(id))
        #expect(j.status == .settled && j.result == r1 && j.escrow == .zero && j.audit?.paid == 3_500_000)
        #expect(chain.balance(consumer) == before - 3_500_000 - UInt128(MarketParameters.disputeGas))
        #expect(chain.provider(p1)?.stake == 5_000)
        #expect(chain.supply == supply)
        // One audit per job.
        r = chain.block([chain.tx(consumer, .jobDispute(job: id))])
        #expect(r[0].error == .market(.notDisputable))
    }

    @Test func aDisputeThatRefutesThePaidProvidersSlashesThemAndReturnsTheBond() throws {
        var chain = market([p1, p2], params: Self.never)
        let id = try runJob(&chain, k: 1, reveals: [(p1, r1)])
        let supply = chain.supply
        chain.block([chain.tx(consumer, .jobDispute(job: id))])
        let before = (consumer: chain.balance(consumer), p2: chain.balance(p2), treasury: chain.balance(.treasury))
        chain.block([chain.tx(p2, report(id, r2, usage: 1800))])
        let j = try #require(chain.job(id))
        #expect(j.status == .settled && j.result == nil && j.escrow == .zero)
        #expect(chain.provider(p1)?.stake == 2_500 && chain.provider(p1)?.jobsDisputed == 1 && chain.burned == 1_250)
        // The bond comes back whole with the consumer's share; the treasury pays the audit.
        #expect(chain.balance(consumer) == before.consumer + 30 * million + 625)
        #expect(chain.balance(p2) == before.p2 + 3_500_000 + 625 - UInt128(MarketParameters.reportGas))
        #expect(chain.balance(.treasury) == before.treasury - 3_500_000 + UInt128(MarketParameters.reportGas))
        #expect(chain.supply == supply)
    }

    @Test func disputeRules() throws {
        var chain = market(
            [p1, p2], params: MarketParameters(auditProbabilityBasisPoints: 0, disputeWindowSeconds: 30))
        let id = try runJob(&chain, k: 1, reveals: [(p1, r1)])
        var r = chain.block([
            chain.tx(outsider, .jobDispute(job: id)), chain.tx(consumer, .jobDispute(job: Hash.sha256([5]))),
        ])
        #expect(r.map(\.error) == [.market(.notJobOwner), .market(.jobNotFound)])
        // A job under way cannot be disputed; a settled one only within the window.
        let running = try #require(
            chain.block([chain.tx(consumer, job(maxPrice: 10 * million, k: 1, hours: 3))])[0].output)
        r = chain.block([chain.tx(consumer, .jobDispute(job: running))])
        #expect(r[0].error == .market(.notDisputable))
        r = chain.block([chain.tx(consumer, .jobDispute(job: id))], after: 30)
        #expect(r[0].error == .market(.disputeWindowClosed))
        // A bond the consumer cannot pay.
        var poor = market([p1, p2], params: Self.never)
        let cheap = try runJob(&poor, k: 1, reveals: [(p1, r1)])
        let balance = poor.balance(consumer)
        poor.block([poor.tx(consumer, .transfer(to: outsider, amount: Amount(balance - 1_000)))])
        r = poor.block([poor.tx(consumer, .jobDispute(job: cheap))])
        #expect(r[0].error == .market(.cannotPayBond))
    }
}

@Suite("The market's genesis parameters")
struct MarketParametersTests {
    @Test func parametersRoundTripAndAreValidated() throws {
        let params = MarketParameters(
            minimumStake: 7, openJobBlocks: 9, feeBasisPoints: 1, auditProbabilityBasisPoints: 10_000,
            slashBurnBasisPoints: 0, slashAuditorBasisPoints: 10_000, slashConsumerBasisPoints: 0, maxAuditRounds: 1,
            disputeBond: 3, disputeWindowSeconds: 1)
        let entry = try params.genesisEntry()
        #expect(entry.key == .marketParameters && entry.key.description == "market/params")
        #expect(try StateValue(canonicalBytes: entry.value.canonicalBytes) == .marketParameters(params))
        #expect(try StateValue(canonicalBytes: StateValue.burned(12).canonicalBytes) == .burned(12))
        #expect(throws: Never.self) { try MarketParameters.default.validate() }

        var bad = MarketParameters.default
        bad.feeBasisPoints = 10_001
        #expect(throws: MarketParametersError.self) { try bad.genesisEntry() }
        bad = .default
        bad.slashConsumerBasisPoints = 2_000
        #expect(#expect(throws: MarketParametersError.self) { try bad.validate() }?.code == .splitNotWhole)
        bad = .default
        bad.disputeWindowSeconds = 0
        let error = #expect(throws: MarketParametersError.self) { try bad.validate() }
        #expect(error?.code == .zeroWindow && error?.message.contains("disputeWindowSeconds") == true)
        bad = .default
        bad.maxAuditRounds = 0
        #expect(#expect(throws: MarketParametersError.self) { try bad.validate() }?.code == .zeroWindow)
    }

    @Test func theMarketRunsOnItsGenesisParametersOrTheDefaults() throws {
        // No parameters in the state: the defaults (a minimum stake of 1,000, jobs open 1,200 blocks).
        var plain = MarketChain(funded: [consumer, p1])
        #expect(plain.block([plain.tx(p1, offer(price: 6, stake: 1_000))])[0].status == .success)
        // A stricter genesis: 2,000 to register, jobs open 5 blocks, a 10 % fee.
        let params = MarketParameters(minimumStake: 2_000, openJobBlocks: 5, feeBasisPoints: 1_000)
        var chain = MarketChain(funded: [consumer, p1, p2], params: params)
        var r = chain.block([
            chain.tx(p1, offer(price: 6_000, stake: 1_000)), chain.tx(p2, offer(price: 6_000, stake: 2_000)),
        ])
        #expect(r[0].error == .market(.stakeTooLow) && r[1].status == .success)
        let waiting = try #require(chain.block([chain.tx(consumer, job(vram: 99))])[0].output)
        chain.block([], at: chain.height + 4)
        #expect(chain.job(waiting)?.status == .open)
        chain.block([], at: chain.height + 1)
        #expect(chain.job(waiting)?.status == .expired)
        // The fee: 10 % of 6,000 for an hour.
        let id = try #require(chain.block([chain.tx(consumer, job(maxPrice: 10_000, k: 1, hours: 1))])[0].output)
        r = chain.block([chain.tx(p2, commit(id, p2, result: r1))])
        let before = chain.balance(p2)
        chain.block([chain.tx(p2, reveal(id, result: r1, usage: 3600))])
        #expect(chain.job(id)?.status == .settled)
        #expect(chain.balance(p2) == before + 6_000 - 600 - UInt128(MarketParameters.revealGas))
    }
}
