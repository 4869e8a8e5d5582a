import SluiceCore
import SluiceExecution
import Testing

@testable import SluiceRuntime
@testable import SluiceState

// Income at the state-machine level (docs/MARKET.md, "Income"): emissions at epoch ends split by verified
// GPU-seconds, the rounding dust, `reward.claim`, the ledger and uptime. Every block runs sequentially
// and with Block-STM (`MarketChain.block` compares them), and the supply invariant (balances + escrows +
// stakes + burned + unclaimed = genesis + emitted) is checked throughout.

private func addr(_ name: String) -> Address { Address(Hash.sha256(Array(name.utf8))) }
private let validator = addr("validator")
private let r1 = Hash.sha256(Array("income result".utf8))

/// Epochs of 10 blocks, 1,000 minted each, half to the providers; uptime slots of 10 blocks.
/// No random audits, so every agreeing job is paid at once.
private let params = MarketParameters(
    auditProbabilityBasisPoints: 0, emissionPerEpoch: 1_000, epochBlocks: 10, uptimeSlotBlocks: 10)

/// p1 (ask 6/h) and p2 (ask 7/h) registered in block 1, one GPU each.
private func market(proposer: Address = validator) -> MarketChain {
    var chain = MarketChain(funded: [consumer, p1, p2, p3, .treasury], balance: 1_000_000, params: params)
    chain.proposer = proposer
    chain.block([chain.tx(p1, offer(price: 6)), chain.tx(p2, offer(price: 7))])
    return chain
}

/// Two one-GPU jobs in one block (p1 takes the first, p2 the second), revealed with `usage` seconds each.
private func runTwoJobs(_ chain: inout MarketChain, usage: (UInt64, UInt64)) throws -> (Hash, Hash) {
    let r = chain.block([chain.tx(consumer, job(maxPrice: 10)), chain.tx(consumer, job(maxPrice: 10))])
    let a = try #require(r[0].output)
    let b = try #require(r[1].output)
    let (first, second) = chain.job(a)?.assigned.first?.provider == p1 ? (a, b) : (b, a)
    #expect(chain.job(first)?.assigned.map(\.provider) == [p1] && chain.job(second)?.assigned.map(\.provider) == [p2])
    chain.block([chain.tx(p1, commit(first, p1, result: r1)), chain.tx(p2, commit(second, p2, result: r1))])
    chain.block([
        chain.tx(p1, reveal(first, result: r1, usage: usage.0)),
        chain.tx(p2, reveal(second, result: r1, usage: usage.1)),
    ])
    #expect(chain.job(first)?.status == .settled && chain.job(second)?.status == .settled)
    return (first, second)
}

/// Empty blocks up to (and including) `height`.
private func advance(_ chain: inout MarketChain, to height: UInt64) {
    while chain.height < height { chain.block([]) }
}

@Suite("The market: emissions, reward.claim, the income ledger, uptime")
struct MarketIncomeTests {
    @Test func anEpochsEmissionIsSplitByVerifiedGPUSecondsWithTheDustToTheTreasury() throws {
        var chain = market()
        let genesis = chain.supply
        let (first, _) = try runTwoJobs(&chain, usage: (1_000, 2_000))
        #expect(chain.provider(p1)?.verifiedGPUSeconds(inEpoch: 0) == 1_000)
        #expect(chain.provider(p2)?.verifiedGPUSeconds(inEpoch: 0) == 2_000)
        // Nothing is minted before the epoch's last block.
        advance(&chain, to: 9)
        #expect(chain.emitted == 0 && chain.reward(p1) == nil)
        let treasury = chain.balance(.treasury)
        chain.block([])
        #expect(chain.height == 10)
        // 500 to the providers: ⌊500 × 1000 / 3000⌋ = 166 and ⌊500 × 2000 / 3000⌋ = 333, 1 of dust to the
        // treasury; 500 to the proposer.
        #expect(chain.reward(p1) == RewardRecord(unclaimed: 166, earned: 166))
        #expect(chain.reward(p2) == RewardRecord(unclaimed: 333, earned: 333))
        #expect(chain.reward(validator) == RewardRecord(unclaimed: 500, earned: 500))
        #expect(chain.balance(.treasury) == treasury + 1)
        #expect(chain.emitted == 1_000)
        #expect(chain.supply == genesis)
        // Balances did not move: emissions go to reward records.
        // The ledger: p1's job payment (6/h × 1000 s = 1, fee 0) then its emission.
        let ledger = try #require(chain.ledger(p1))
        #expect(ledger.entries.map(\.kind) == [.jobPay, .emission])
        #expect(ledger.entries[0].job == first && ledger.entries[0].height == 4)
        #expect(ledger.entries[1] == IncomeLedger.Entry(height: 10, kind: .emission, job: nil, amount: 166))
        #expect(ledger.total(.emission) == 166 && ledger.count == 2)
    }

    @Test func theNextEpochCountsOnlyItsOwnWorkAndAProviderShareWithoutWorkIsNotMinted() throws {
        var chain = market()
        let genesis = chain.supply
        _ = try runTwoJobs(&chain, usage: (1_000, 2_000))
        advance(&chain, to: 10)
        #expect(chain.emitted == 1_000)
        // Epoch 1 (blocks 11 … 20): no work. Only the validators' share is minted.
        advance(&chain, to: 20)
        #expect(chain.emitted == 1_500)
        #expect(chain.reward(p1)?.earned == 166 && chain.reward(validator)?.earned == 1_000)
        // Epoch 2: only p2 works; it takes the whole providers' share, no dust.
        let r = chain.block([chain.tx(consumer, job(maxPrice: 10))])
        let id = try #require(r[0].output)
        let worker = try #require(chain.job(id)?.assigned.first?.provider)
        chain.block([chain.tx(worker, commit(id, worker, result: r1))])
        chain.block([chain.tx(worker, reveal(id, result: r1, usage: 7))])
        advance(&chain, to: 30)
        let expected: Amount = worker == p1 ? 666 : 833
        #expect(chain.reward(worker)?.earned == expected)
        #expect(chain.emitted == 2_500)
        #expect(chain.supply == genesis)
    }

    @Test func withoutASignedProposerTheValidatorsShareGoesToTheTreasury() throws {
        var chain = market(proposer: .treasury)
        let treasury = chain.balance(.treasury)
        advance(&chain, to: 10)
        #expect(chain.balance(.treasury) == treasury + 500)
        #expect(chain.reward(.treasury) == nil && chain.emitted == 500)
    }

    @Test func claimMovesTheRewardsToTheBalanceAndFailsWhenThereIsNothing() throws {
        var chain = market()
        let genesis = chain.supply
        _ = try runTwoJobs(&chain, usage: (1_000, 2_000))
        // Before the epoch ends: nothing to claim (fee taken, nothing else changes).
        let before = chain.balance(p1)
        var r = chain.block([chain.tx(p1, .rewardClaim)])
        #expect(r[0].status == .failed && r[0].error == .market(.nothingToClaim))
        #expect(chain.balance(p1) == before - UInt128(MarketParameters.claimGas) && chain.reward(p1) == nil)
        advance(&chain, to: 10)
        let balance = chain.balance(p1)
        r = chain.block([chain.tx(p1, .rewardClaim), chain.tx(validator, .rewardClaim), chain.tx(p3, .rewardClaim)])
        #expect(r[0].status == .success)
        #expect(chain.balance(p1) == balance + 166 - UInt128(MarketParameters.claimGas))
        #expect(chain.reward(p1) == RewardRecord(unclaimed: 0, earned: 166, claimed: 166))
        // The validator has no account: discarded, nothing changed. p3 has one but no rewards.
        #expect(r[1].status == .discarded && chain.reward(validator)?.unclaimed == 500)
        #expect(r[2].status == .failed && r[2].error == .market(.nothingToClaim))
        // Claimed once: a second claim fails.
        r = chain.block([chain.tx(p1, .rewardClaim)])
        #expect(r[0].error == .market(.nothingToClaim) && chain.reward(p1)?.claimed == 166)
        #expect(chain.supply == genesis)
        #expect(RuntimeVM.intrinsicGas(of: .rewardClaim) == MarketParameters.claimGas)
    }

    @Test func aClaimAndTheEpochEndInTheSameBlockBothCount() throws {
        var chain = market()
        _ = try runTwoJobs(&chain, usage: (1_000, 2_000))
        advance(&chain, to: 20)
        #expect(chain.reward(p1)?.unclaimed == 166)
        // Block 30 ends epoch 2 (no work: nothing for p1) while p1 claims: the claim takes what was there.
        advance(&chain, to: 29)
        let r = chain.block([chain.tx(p1, .rewardClaim)])
        #expect(r[0].status == .success && chain.reward(p1) == RewardRecord(unclaimed: 0, earned: 166, claimed: 166))
        #expect(chain.reward(validator)?.earned == 1_500)
    }

    @Test func slashesAndAuditsAreInTheLedger() throws {
        var chain = market()
        // p1 takes a job and never commits: slashed 10 % of 5,000 at the deadline.
        let id = try #require(chain.block([chain.tx(consumer, job(maxPrice: 10, hours: 1))])[0].output)
        #expect(chain.job(id)?.assigned.map(\.provider) == [p1])
        chain.block([], after: 3_600 + MarketParameters.default.commitGraceSeconds + 1)
        let ledger = try #require(chain.ledger(p1))
        #expect(ledger.entries == [IncomeLedger.Entry(height: chain.height, kind: .slash, job: id, amount: 500)])
        #expect(ledger.total(.slash) == 500 && chain.provider(p1)?.stake == 4_500)
    }

    @Test func theLedgerKeepsItsLastRowsAndAllTotals() throws {
        var ledger = IncomeLedger()
        for i in 0..<(IncomeLedger.capacity + 5) {
            ledger.append(IncomeLedger.Entry(height: UInt64(i), kind: .jobPay, job: .zero, amount: 2, fee: 1))
        }
        #expect(ledger.entries.count == IncomeLedger.capacity && ledger.count == UInt64(IncomeLedger.capacity + 5))
        #expect(
            ledger.entries.first?.height == 5
                && ledger.total(.jobPay) == Amount(UInt128(2 * (IncomeLedger.capacity + 5))))
        #expect(try IncomeLedger(canonicalBytes: ledger.canonicalBytes) == ledger)
        let value = StateValue.ledger(ledger)
        #expect(try StateValue(canonicalBytes: value.canonicalBytes) == value)
        for v in [StateValue.reward(RewardRecord(unclaimed: 1, earned: 2, claimed: 1)), .emitted(7)] {
            #expect(try StateValue(canonicalBytes: v.canonicalBytes) == v)
        }
        let claim = Transaction(chainId: 1, sender: p1, sequence: 0, gasLimit: 100, gasPrice: 1, payload: .rewardClaim)
        #expect(try Transaction(canonicalBytes: claim.canonicalBytes) == claim)
        // Tag 14 (13 is provider.prove's).
        #expect(Payload.rewardClaim.canonicalBytes == [14])
    }

    @Test func uptimeIsTheShareOfRecentSlotsWithAHeartbeat() throws {
        var p = ProviderRecord(
            owner: p1,
            offer: ProviderRegistration(
                devices: [GPUDevice(model: "m", vramGB: 1, count: 1, score: 0)], region: "", endpoint: "", stake: 1,
                pricePerGPUHour: 1))
        p.registeredHeight = 5
        // Nothing expected yet in the registration's slot.
        #expect(p.uptimeBasisPoints(at: 9, slotBlocks: 10) == 10_000)
        // Slot 1 (blocks 10 … 19) passed without a heartbeat.
        #expect(p.uptimeBasisPoints(at: 20, slotBlocks: 10) == 0)
        p.recordHeartbeat(height: 21, slotBlocks: 10)
        // Slot 2 counts as soon as it has one: 1 of 2.
        #expect(p.uptimeBasisPoints(at: 22, slotBlocks: 10) == 5_000)
        p.recordHeartbeat(height: 25, slotBlocks: 10)
        p.recordHeartbeat(height: 33, slotBlocks: 10)
        p.recordHeartbeat(height: 51, slotBlocks: 10)
        // Slots 1 … 5: heartbeats in 2, 3, 5, none in 1 and 4.
        #expect(p.uptimeBasisPoints(at: 55, slotBlocks: 10) == 6_000)
        #expect(p.heartbeats == 4 && p.lastHeartbeatHeight == 51)
        // 64 slots later only the window counts: all silent.
        #expect(p.uptimeBasisPoints(at: 51 + 70 * 10, slotBlocks: 10) == 0)
        // A heartbeat after a long silence starts a fresh map.
        p.recordHeartbeat(height: 51 + 70 * 10, slotBlocks: 10)
        #expect(p.heartbeat(inSlot: 5, slotBlocks: 10) == false && p.heartbeatSlots == 1)
        #expect(try ProviderRecord(canonicalBytes: p.canonicalBytes) == p)
    }

    @Test func uptimeBreaksTiesAfterReputationInMatching() throws {
        // Two providers at the same ask: by address alone the lower one would win; the other sends its
        // heartbeats and wins instead.
        var chain = MarketChain(funded: [consumer, p1, p2], params: params)
        chain.block([chain.tx(p1, offer(price: 6)), chain.tx(p2, offer(price: 6))])
        let (low, high) = p1 < p2 ? (p1, p2) : (p2, p1)
        advance(&chain, to: 9)
        for height in [10, 20, 30] as [UInt64] {
            advance(&chain, to: height - 1)
            chain.block([chain.tx(high, .providerHeartbeat)])
        }
        advance(&chain, to: 51)
        // Slots 1 … 4 completed: 3 of 4 with a heartbeat.
        #expect(chain.provider(high)?.uptimeBasisPoints(at: 52, slotBlocks: 10) == 7_500)
        #expect(chain.provider(low)?.uptimeBasisPoints(at: 52, slotBlocks: 10) == 0)
        let id = try #require(chain.block([chain.tx(consumer, job(maxPrice: 10))])[0].output)
        #expect(chain.job(id)?.assigned.map(\.provider) == [high])
    }

    @Test func aProviderSilentPastTheTimeoutIsNotMatchedUntilItsNextHeartbeat() throws {
        var timed = params
        timed.heartbeatTimeoutBlocks = 20
        var chain = MarketChain(funded: [consumer, p1, p2], params: timed)
        // Block 1: p1 asks less than p2; only p2 sends heartbeats afterwards.
        chain.block([chain.tx(p1, offer(price: 6)), chain.tx(p2, offer(price: 7))])
        advance(&chain, to: 15)
        chain.block([chain.tx(p2, .providerHeartbeat)])
        advance(&chain, to: 20)
        // At block 21 p1's registration is exactly 20 blocks old: still live, and the cheaper ask.
        #expect(chain.provider(p1)?.isLive(at: 21, timeoutBlocks: 20) == true)
        #expect(chain.provider(p1)?.isLive(at: 22, timeoutBlocks: 20) == false)
        advance(&chain, to: 21)
        // Block 22: p1 is silent, so the job goes to p2 at its higher ask.
        let a = try #require(chain.block([chain.tx(consumer, job(maxPrice: 10))])[0].output)
        #expect(chain.job(a)?.assigned.map(\.provider) == [p2])
        // Block 23: p2 is busy and p1 silent: the next job waits.
        let b = try #require(chain.block([chain.tx(consumer, job(maxPrice: 10))])[0].output)
        #expect(chain.job(b)?.status == .open)
        // Block 24: p1's heartbeat makes it live again, and the waiting job is matched to it.
        chain.block([chain.tx(p1, .providerHeartbeat)])
        #expect(chain.job(b)?.assigned.map(\.provider) == [p1])
        // A timeout of 0 never skips anyone.
        #expect(chain.provider(p1)?.isLive(at: 1_000_000, timeoutBlocks: 0) == true)
    }

    @Test func emissionParametersAreValidatedAndEncoded() throws {
        var bad = params
        bad.providerShareBasisPoints = 10_001
        #expect(throws: MarketParametersError.self) { try bad.validate() }
        bad = params
        bad.epochBlocks = 0
        #expect { try bad.validate() } throws: { ($0 as? MarketParametersError)?.code == .zeroWindow }
        bad = params
        bad.uptimeSlotBlocks = 0
        #expect { try bad.validate() } throws: { ($0 as? MarketParametersError)?.code == .zeroWindow }
        #expect(try MarketParameters(canonicalBytes: params.canonicalBytes) == params)
        // A version-1 value (an older genesis) reads the new parameters as their defaults.
        var old = Array(MarketParameters.default.canonicalBytes.dropLast(16 + 8 + 4 + 8 + 3 * 8 + 8))
        old[0] = 1
        #expect(try MarketParameters(canonicalBytes: old) == .default)
        // A version-2 value reads the heartbeat timeout as its default.
        var two = Array(MarketParameters.default.canonicalBytes.dropLast(8))
        two[0] = 2
        #expect(try MarketParameters(canonicalBytes: two) == .default)
        var four = MarketParameters.default.canonicalBytes
        four[0] = 4
        #expect(throws: CoreError.self) { try MarketParameters(canonicalBytes: four) }
        #expect(params.epoch(of: 0) == 0 && params.epoch(of: 10) == 0 && params.epoch(of: 11) == 1)
    }
}
