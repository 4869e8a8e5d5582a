import Foundation
import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState
import Testing

private func addr(_ name: String) -> Address { Address(Hash.sha256(Array(name.utf8))) }

/// A chain in memory: blocks run sequentially and with Block-STM (forced, 2 threads), which must agree.
struct MarketChain {
    var state: [StateKey: StateValue]
    var height: UInt64 = 0
    var sequences: [Address: UInt64] = [:]
    var threads = 2
    /// The proposer of the blocks: receives the validators' share of emissions.
    var proposer: Address = .treasury
    /// The last block's receipts with their events, and its block-end events.
    var receipts: [Receipt] = []
    var blockEvents: [Event] = []
    /// Every event of every block so far, transactions' first in each block.
    var allEvents: [Event] = []

    /// Without `proofs`, the chain asks for no proof of GPU (`proofIntervalSeconds` 0), so that tests of
    /// other parts need not answer challenges; `ProofOfGPUTests` turns them on.
    init(funded: [Address], balance: UInt128 = 1_000_000, params: MarketParameters? = nil, proofs: Bool = false) {
        state = [:]
        for a in funded { state[.account(a)] = .account(AccountState(balance: Amount(balance), sequence: 0)) }
        var params = params ?? MarketParameters()
        if !proofs { params.proofIntervalSeconds = 0 }
        let entry = try! params.genesisEntry()
        state[entry.key] = entry.value
    }

    /// A transaction from `sender` with its next sequence (counted here, as a wallet would).
    mutating func tx(_ sender: Address, _ payload: Payload, gasPrice: UInt64 = 1) -> RuntimeTransaction {
        let seq = sequences[sender, default: 0]
        sequences[sender] = seq + 1
        let t = Transaction(
            chainId: 1, sender: sender, sequence: seq, gasLimit: max(100, RuntimeVM.intrinsicGas(of: payload)),
            gasPrice: gasPrice,
            payload: payload)
        return RuntimeTransaction(t, hash: t.hash)
    }

    /// Unix seconds of the next block (each block adds one second unless told otherwise).
    var clock: UInt64 = 1_000

    @discardableResult
    mutating func block(_ txs: [RuntimeTransaction], at height: UInt64? = nil, after seconds: UInt64 = 1)
        -> [RuntimeReceipt]
    {
        self.height = height ?? self.height + 1
        clock += seconds
        let context = BlockContext(
            height: self.height, timestamp: clock, seed: Self.seed(at: self.height), proposer: proposer)
        var txs = txs
        for i in txs.indices {
            txs[i].height = self.height
            txs[i].timestamp = clock
        }
        let base = DictionaryState(state)
        let s = SequentialExecutor(vm: RuntimeVM()).execute(txs, base: base, context: context)
        let p = ParallelExecutor(vm: RuntimeVM(), threads: threads, policy: .forceParallel)
            .execute(txs, base: base, context: context)
        #expect(s.outputs == p.outputs, "block \(self.height): outputs differ")
        #expect(s.sortedWrites == p.sortedWrites, "block \(self.height): writes differ")
        #expect(s.events == p.events, "block \(self.height): block-end events differ")
        receipts = zip(txs, s.outputs).map { $1.receipt(for: $0) }
        blockEvents = s.events
        allEvents += receipts.flatMap(\.events) + blockEvents
        var post = base
        post.apply(s.writes)
        state = post.values
        return s.outputs
    }

    /// The seed of the block at a height (it stands in for the parent's hash: it changes every block).
    static func seed(at height: UInt64) -> Hash { Hash.sha256(withUnsafeBytes(of: height.littleEndian) { Array($0) }) }

    func balance(_ a: Address) -> UInt128 { state[.account(a)]?.account?.balance.value ?? 0 }
    var burned: UInt128 {
        if case .burned(let b)? = state[.marketBurned] { return b.value }
        return 0
    }
    var emitted: UInt128 {
        if case .emitted(let e)? = state[.marketEmitted] { return e.value }
        return 0
    }
    func reward(_ a: Address) -> RewardRecord? {
        if case .reward(let r)? = state[.reward(a)] { return r }
        return nil
    }
    func ledger(_ a: Address) -> IncomeLedger? {
        if case .ledger(let l)? = state[.ledger(a)] { return l }
        return nil
    }
    func job(_ id: Hash) -> JobRecord? {
        if case .job(let j)? = state[.job(id)] { return j }
        return nil
    }
    func provider(_ a: Address) -> ProviderRecord? {
        if case .provider(let p)? = state[.provider(a)] { return p }
        return nil
    }
    var book: MarketBook? {
        if case .book(let b)? = state[.marketBook] { return b }
        return nil
    }

    /// Balances + escrows still held + stakes + burned + unclaimed rewards − emitted: what the market must
    /// conserve (the genesis supply).
    var supply: UInt128 {
        var total: UInt128 = 0
        for (_, v) in state {
            switch v {
            case .account(let a): total += a.balance.value
            case .job(let j): total += j.escrow.value
            case .provider(let p): total += p.stake.value
            case .burned(let b): total += b.value
            case .reward(let r): total += r.unclaimed.value
            case .bytes, .book, .marketParameters, .emitted, .ledger: break
            }
        }
        return total - emitted
    }
}

func offer(
    price: UInt128, stake: UInt128 = 5_000, gpus: UInt32 = 1, vram: UInt32 = 24, model: String = "RTX 4090",
    runners: [Runner] = [.process]
)
    -> Payload
{
    .providerRegister(
        ProviderRegistration(
            devices: [GPUDevice(model: model, vramGB: vram, count: gpus, score: 100)], region: "eu",
            endpoint: "http://p", stake: Amount(stake), pricePerGPUHour: Amount(price), runners: runners))
}

func job(
    maxPrice: UInt128 = 10, k: UInt8 = 1, gpus: UInt32 = 1, hours: UInt64 = 3, vram: UInt32 = 16, model: String = "",
    runner: Runner = .process
) -> Payload {
    .jobSubmit(
        JobSpec(
            runner: runner, bundleHash: Hash.sha256([7]), bundleURI: "blob:0x07", inputsHash: .zero, gpuCount: gpus,
            minVramGB: vram, model: model, maxDurationSeconds: hours * 3600, maxPricePerGPUHour: Amount(maxPrice),
            redundancy: k, verification: 0))
}

let consumer = addr("consumer")
let p1 = addr("provider-1")
let p2 = addr("provider-2")
let p3 = addr("provider-3")

@Suite("The market: registration, submission, block-end matching, cancel, expiry")
struct MarketTests {
    @Test func registrationTakesTheStakeAndJoinsTheBook() {
        var chain = MarketChain(funded: [p1])
        let r = chain.block([chain.tx(p1, offer(price: 6))])
        #expect(r[0].status == .success && r[0].market == .registered)
        #expect(chain.balance(p1) == 1_000_000 - 5_000 - UInt128(MarketParameters.registerGas))
        let p = chain.provider(p1)
        #expect(p?.stake == 5_000 && p?.capacity == 1 && p?.busy == 0 && p?.registeredHeight == 1)
        #expect(chain.book?.providers == [p1])
    }

    @Test func registrationFailures() {
        var chain = MarketChain(funded: [p1, p2], balance: 3_000)
        var r = chain.block([chain.tx(p1, offer(price: 6, stake: 999))])
        #expect(r[0].status == .failed && r[0].error == .market(.stakeTooLow))
        r = chain.block([chain.tx(p1, offer(price: 6, stake: 5_000))])
        #expect(r[0].error == .market(.cannotPayStake))
        r = chain.block([chain.tx(p1, offer(price: 0, stake: 1_000))])
        #expect(r[0].error == .market(.invalidOffer))
        r = chain.block([chain.tx(p1, offer(price: 5, stake: 1_000)), chain.tx(p1, offer(price: 5, stake: 1_000))])
        #expect(r[0].status == .success && r[1].error == .market(.alreadyRegistered))
        // Failed ones took only their fee: the supply is intact.
        #expect(chain.supply == 6_000)
    }

    @Test func aJobEscrowsAndIsMatchedAtBlockEndAtTheProvidersAsk() throws {
        var chain = MarketChain(funded: [consumer, p1])
        chain.block([chain.tx(p1, offer(price: 6))])
        let r = chain.block([chain.tx(consumer, job(maxPrice: 10, k: 1, hours: 3))])
        #expect(r[0].status == .success && r[0].market == .submitted)
        let id = try #require(r[0].output)
        let j = try #require(chain.job(id))
        #expect(j.escrow == 30)  // 1 × 1 GPU × 10/h × 3 h
        #expect(j.status == .matched && j.matchedHeight == 2 && j.submitHeight == 2)
        #expect(j.assigned == [JobRecord.Assignment(provider: p1, pricePerGPUHour: 6)])
        #expect(chain.provider(p1)?.busy == 1)
        #expect(chain.balance(consumer) == 1_000_000 - 30 - UInt128(MarketParameters.submitGas))
        #expect(chain.book?.openJobs == [])
    }

    @Test func redundancyTakesTheKCheapestThenReputationThenAddress() throws {
        var chain = MarketChain(funded: [consumer, p1, p2, p3])
        chain.block([chain.tx(p1, offer(price: 7)), chain.tx(p2, offer(price: 6)), chain.tx(p3, offer(price: 6))])
        let r = chain.block([chain.tx(consumer, job(maxPrice: 10, k: 2))])
        let jobId = try #require(r[0].output)
        let j = try #require(chain.job(jobId))
        // p2 and p3 ask 6, p1 asks 7: the two at 6, in address order (equal reputation).
        #expect(Set(j.assigned.map(\.provider)) == [p2, p3])
        #expect(j.assigned.map(\.provider) == [p2, p3].sorted())
        #expect(j.escrow == 60)
    }

    @Test func jobsAreServedByMaxPriceThenAgeAndCapacityRunsOut() throws {
        let c2 = addr("consumer-2")
        var chain = MarketChain(funded: [consumer, c2, p1])
        chain.block([chain.tx(p1, offer(price: 5, gpus: 1))])
        // Two jobs in one block, one GPU: the one paying more wins, whatever its place in the block.
        let r = chain.block([chain.tx(consumer, job(maxPrice: 8)), chain.tx(c2, job(maxPrice: 9))])
        let cheapId = try #require(r[0].output)
        let richId = try #require(r[1].output)
        let cheap = try #require(chain.job(cheapId))
        let rich = try #require(chain.job(richId))
        #expect(rich.status == .matched && cheap.status == .open)
        #expect(chain.book?.openJobs == [cheap.id])
    }

    @Test func aJobIsMatchedOnlyToProvidersThatSupportItsRunner() throws {
        var chain = MarketChain(funded: [consumer, p1, p2])
        // p1 is cheaper but runs processes only; the container job waits for p2.
        chain.block([chain.tx(p1, offer(price: 5)), chain.tx(p2, offer(price: 6, runners: [.process, .container]))])
        let r = chain.block([
            chain.tx(consumer, job(runner: .container)), chain.tx(consumer, job(runner: .process)),
        ])
        let containerID = try #require(r[0].output)
        let processID = try #require(r[1].output)
        let container = try #require(chain.job(containerID))
        let process = try #require(chain.job(processID))
        #expect(container.assigned.map(\.provider) == [p2])
        #expect(process.assigned.map(\.provider) == [p1])
        // A provider listing no runner is refused (one that does not exist does not decode).
        let bad = chain.block([chain.tx(consumer, offer(price: 5, runners: []))])
        #expect(bad[0].status == .failed)
    }

    @Test func noProviderFitsThenTheJobExpiresWithAFullRefund() throws {
        var chain = MarketChain(funded: [consumer, p1])
        chain.block([chain.tx(p1, offer(price: 6, vram: 8))])
        let before = chain.supply
        let r = chain.block([chain.tx(consumer, job(vram: 16))])  // needs 16 GB, p1 has 8
        let id = try #require(r[0].output)
        #expect(chain.job(id)?.status == .open)
        chain.block([])
        #expect(chain.job(id)?.status == .open)
        let paid = chain.balance(consumer)
        chain.block([], at: 2 + MarketParameters.default.openJobBlocks)
        let j = try #require(chain.job(id))
        #expect(j.status == .expired && j.escrow == .zero)
        #expect(chain.balance(consumer) == paid + 30)
        #expect(chain.book?.openJobs == [])
        #expect(chain.supply == before)
    }

    @Test func cancelRefundsAnOpenJobOnlyForItsConsumer() throws {
        var chain = MarketChain(funded: [consumer, p1])
        let r = chain.block([chain.tx(consumer, job())])  // no provider at all: stays open
        let id = try #require(r[0].output)
        var c = chain.block([chain.tx(p1, .jobCancel(job: id))])
        #expect(c[0].status == .failed && c[0].error == .market(.notJobOwner))
        c = chain.block([chain.tx(p1, .jobCancel(job: Hash.sha256([9])))])
        #expect(c[0].error == .market(.jobNotFound))
        let before = chain.balance(consumer)
        c = chain.block([chain.tx(consumer, .jobCancel(job: id))])
        #expect(c[0].status == .success)
        #expect(chain.balance(consumer) == before + 30 - UInt128(MarketParameters.cancelGas))
        #expect(chain.job(id)?.status == .cancelled)
        #expect(chain.book?.openJobs == [])
        c = chain.block([chain.tx(consumer, .jobCancel(job: id))])
        #expect(c[0].error == .market(.jobNotOpen))
    }

    @Test func aMatchedJobCannotBeCancelled() throws {
        var chain = MarketChain(funded: [consumer, p1])
        chain.block([chain.tx(p1, offer(price: 6))])
        let id = try #require(chain.block([chain.tx(consumer, job())])[0].output)
        #expect(chain.block([chain.tx(consumer, .jobCancel(job: id))])[0].error == .market(.jobNotOpen))
    }

    @Test func anEscrowTheConsumerCannotPayIsRefused() {
        var chain = MarketChain(funded: [consumer], balance: 100)
        let r = chain.block([chain.tx(consumer, job(maxPrice: 10, k: 2, hours: 5))])  // escrow 100 > 100 - 30
        #expect(r[0].status == .failed && r[0].error == .market(.cannotPayEscrow))
        #expect(chain.balance(consumer) == 100 - UInt128(MarketParameters.submitGas))
        #expect(chain.book?.openJobs ?? [] == [])
    }

    @Test func invalidSpecsAreRefused() {
        var chain = MarketChain(funded: [consumer])
        let r = chain.block([
            chain.tx(consumer, job(k: 0)), chain.tx(consumer, job(gpus: 0)), chain.tx(consumer, job(hours: 24 * 8)),
        ])
        #expect(r.allSatisfy { $0.error == .market(.invalidJob) })
    }

    @Test func theOrderOfTransactionsInABlockDoesNotChangeWhoGetsWhat() {
        let consumers = (0..<6).map { addr("c\($0)") }
        let providers = (0..<4).map { addr("p\($0)") }
        var reference: [StateKey: StateValue]? = nil
        var rng = SplitMix64(seed: 42)
        for round in 0..<8 {
            var chain = MarketChain(funded: consumers + providers)
            var regs: [RuntimeTransaction] = []
            for (i, p) in providers.enumerated() { regs.append(chain.tx(p, offer(price: UInt128(5 + i % 2), gpus: 2))) }
            var jobs: [RuntimeTransaction] = []
            for (i, c) in consumers.enumerated() {
                jobs.append(chain.tx(c, job(maxPrice: UInt128(6 + i % 3), k: UInt8(1 + i % 2))))
            }
            var all = regs + jobs
            if round > 0 { all.shuffle(using: &rng) }
            chain.block(all)
            if let reference {
                #expect(chain.state == reference, "round \(round): another order gave another state")
            } else {
                reference = chain.state
            }
        }
        // And the auction did something: with 8 GPUs and 9 wanted, one job waits.
        #expect(reference != nil)
    }

    @Test func randomMarketAndBankBlocksConserveSupplyAndParallelEqualsSequential() {
        var rng = SplitMix64(seed: 20_261_126)
        let people = (0..<12).map { addr("person-\($0)") }
        // Random audits of a third of the agreeing jobs, a long dispute window: every audit path is taken.
        // Epochs of 10 blocks (6 emissions), uptime slots of 5 blocks.
        let params = MarketParameters(
            auditProbabilityBasisPoints: 3_000, disputeWindowSeconds: 100_000, emissionPerEpoch: 1_000,
            epochBlocks: 10, uptimeSlotBlocks: 5)
        var chain = MarketChain(funded: people, balance: 200_000, params: params)
        chain.threads = 4
        // The validators' share goes to a person, who claims it like the providers do.
        chain.proposer = people[0]
        // Heartbeats and claims draw from their own generator, so the market's random path stays the same.
        var income = SplitMix64(seed: 7)
        var claims = 0
        let genesis = chain.supply
        var submitted: [Hash] = []
        var results: [String: Hash] = [:]
        var reports = 0
        var disputes = 0
        for _ in 0..<60 {
            var txs: [RuntimeTransaction] = []
            // The jobs someone can act on: under way, or settled and still disputable.
            let underWay = submitted.filter { id in
                guard let j = chain.job(id) else { return false }
                return [.matched, .committed, .disputed].contains(j.status) || (j.status == .settled && j.audit == nil)
            }
            for _ in 0..<Int(rng.next() % 40) {
                let who = people[Int(rng.next() % UInt64(people.count))]
                switch rng.next() % 8 {
                case 0:
                    txs.append(
                        chain.tx(who, offer(price: UInt128(1 + rng.next() % 9), gpus: UInt32(1 + rng.next() % 3))))
                case 1:
                    txs.append(
                        chain.tx(
                            who,
                            job(
                                maxPrice: UInt128(1 + rng.next() % 12), k: UInt8(1 + rng.next() % 3), gpus: 1,
                                hours: 1 + rng.next() % 4)))
                case 2...4 where !underWay.isEmpty:
                    // The job's work: a commitment or a reveal by one of its providers (a wrong result now
                    // and then, for disagreements), the auditor's report (one side's result, or another),
                    // the consumer's dispute of a settled job.
                    let id = underWay[Int(rng.next() % UInt64(underWay.count))]
                    guard let j = chain.job(id) else { break }
                    if j.status == .disputed, let auditor = j.audit?.auditor {
                        guard rng.next() % 3 != 0 else { break }
                        let sides = j.assigned.compactMap(\.result) + [Hash.sha256([9])]
                        let found = sides[Int(rng.next() % UInt64(sides.count))]
                        txs.append(
                            chain.tx(
                                auditor,
                                .auditReport(job: id, result: found, usageSeconds: rng.next() % 20_000, logs: .zero)))
                        reports += 1
                    } else if j.status == .settled {
                        guard rng.next() % 2 == 0 else { break }
                        txs.append(chain.tx(j.consumer, .jobDispute(job: id)))
                        disputes += 1
                    } else if let a = j.assigned.randomElement(using: &rng) {
                        let result = Hash.sha256(withUnsafeBytes(of: id) { Array($0) } + [rng.next() % 8 == 0 ? 1 : 0])
                        let claimed = results[id.hex + a.provider.hex] ?? result
                        results[id.hex + a.provider.hex] = claimed
                        if j.status == .matched {
                            txs.append(chain.tx(a.provider, commit(id, a.provider, result: claimed)))
                        } else {
                            txs.append(chain.tx(a.provider, reveal(id, result: claimed, usage: rng.next() % 20_000)))
                        }
                    }
                case 5 where !submitted.isEmpty:
                    // A cancel by whoever (only the consumer of an open job succeeds).
                    let id = submitted[Int(rng.next() % UInt64(submitted.count))]
                    txs.append(chain.tx(who, .jobCancel(job: id)))
                case 6:
                    let ops: [Payload] = [
                        .providerHeartbeat, .providerUnbond, .providerWithdraw,
                        .providerUpdate(
                            ProviderUpdate(
                                devices: [
                                    GPUDevice(
                                        model: "RTX 4090", vramGB: 24, count: UInt32(1 + rng.next() % 3), score: 1)
                                ],
                                pricePerGPUHour: Amount(UInt128(1 + rng.next() % 9)))),
                    ]
                    txs.append(chain.tx(who, ops[Int(rng.next() % 4)]))
                default:
                    let to = people[Int(rng.next() % UInt64(people.count))]
                    txs.append(chain.tx(who, .transfer(to: to, amount: Amount(UInt128(rng.next() % 5_000)))))
                }
            }
            // A heartbeat from some registered provider, a claim from someone (most have nothing to claim).
            if let providers = chain.book?.providers, !providers.isEmpty, income.next() % 2 == 0 {
                txs.append(chain.tx(providers[Int(income.next() % UInt64(providers.count))], .providerHeartbeat))
            }
            if income.next() % 3 == 0 {
                txs.append(chain.tx(people[Int(income.next() % UInt64(people.count))], .rewardClaim))
            }
            // Now and then hours pass: deadlines expire, providers get slashed, jobs are re-matched.
            let receipts = chain.block(txs, after: rng.next() % 5 == 0 ? 20_000 : 1)
            for (tx, r) in zip(txs, receipts) where tx.payload == .rewardClaim && r.status == .success { claims += 1 }
            for r in receipts where r.market == .submitted && r.status == .success { submitted.append(r.output!) }
            // Failed transactions still advance their sender's sequence; discarded ones do not.
            for (tx, r) in zip(txs, receipts) where r.status == .discarded {
                chain.sequences[tx.sender] = min(chain.sequences[tx.sender]!, tx.sequence)
            }
            #expect(chain.supply == genesis, "block \(chain.height): supply \(chain.supply) ≠ \(genesis)")
        }
        #expect(!submitted.isEmpty)
        let statuses = Set(submitted.compactMap { chain.job($0)?.status })
        #expect(statuses.count >= 3, "the random blocks should reach several job states, got \(statuses)")
        let audits = Set(submitted.compactMap { chain.job($0)?.audit?.kind })
        #expect(audits.count == 3, "every kind of audit should run, got \(audits)")
        #expect(reports > 0 && disputes > 0)
        #expect(chain.burned > 0, "some report should have contradicted a provider")
        // Six epochs ended: each minted at least the validators' share; some were claimed.
        #expect(chain.emitted >= 6 * 500, "emitted \(chain.emitted)")
        #expect(claims > 0)
    }

    @Test func updateChangesPriceAndCapacityButNotBelowWhatIsInUse() throws {
        var chain = MarketChain(funded: [consumer, p1, p2])
        chain.block([chain.tx(p1, offer(price: 9, gpus: 2)), chain.tx(p2, offer(price: 8, gpus: 2))])
        // p1 becomes the cheapest: the next job goes to it.
        let device = GPUDevice(model: "RTX 4090", vramGB: 24, count: 2, score: 100)
        var r = chain.block([chain.tx(p1, .providerUpdate(ProviderUpdate(devices: [device], pricePerGPUHour: 5)))])
        #expect(r[0].status == .success)
        r = chain.block([chain.tx(consumer, job(maxPrice: 10, gpus: 2))])
        let id = try #require(r[0].output)
        #expect(chain.job(id)?.assigned.map(\.provider) == [p1])
        // Its two GPUs are in use: it cannot shrink to one.
        var one = device
        one.count = 1
        r = chain.block([chain.tx(p1, .providerUpdate(ProviderUpdate(devices: [one], pricePerGPUHour: 5)))])
        #expect(r[0].error == .market(.capacityInUse))
        r = chain.block([chain.tx(consumer, .providerUpdate(ProviderUpdate(devices: [one], pricePerGPUHour: 5)))])
        #expect(r[0].error == .market(.notProvider))
    }

    @Test func heartbeatsAreRecorded() {
        var chain = MarketChain(funded: [p1])
        chain.block([chain.tx(p1, offer(price: 6))])
        chain.block([chain.tx(p1, .providerHeartbeat)])
        chain.block([chain.tx(p1, .providerHeartbeat)])
        #expect(chain.provider(p1)?.heartbeats == 2 && chain.provider(p1)?.lastHeartbeatHeight == 3)
    }

    @Test func unbondStopsMatchingAndWithdrawWaitsForThePeriodAndForJobs() throws {
        var chain = MarketChain(funded: [consumer, p1, p2])
        chain.block([chain.tx(p1, offer(price: 6)), chain.tx(p2, offer(price: 7))])
        let id = try #require(chain.block([chain.tx(consumer, job(maxPrice: 10))])[0].output)
        #expect(chain.job(id)?.assigned.map(\.provider) == [p1])
        let supply = chain.supply
        // Withdraw before unbonding; unbond; withdraw too early; p2 unbonded takes no new job.
        var r = chain.block([chain.tx(p1, .providerWithdraw)])
        #expect(r[0].error == .market(.notUnbonding))
        r = chain.block([chain.tx(p1, .providerUnbond), chain.tx(p2, .providerUnbond)])
        #expect(r.allSatisfy { $0.status == .success })
        let unbondedAt = chain.height
        r = chain.block([chain.tx(consumer, job(maxPrice: 10))])
        let second = try #require(r[0].output)
        #expect(chain.job(second)?.status == .open)
        r = chain.block([chain.tx(p2, .providerWithdraw)])
        #expect(r[0].error == .market(.unbondingNotOver))
        // After the period: p2 (no jobs) gets its stake back and leaves the book; p1 still works on one.
        let p2Balance = chain.balance(p2)
        r = chain.block(
            [chain.tx(p1, .providerWithdraw), chain.tx(p2, .providerWithdraw)],
            at: unbondedAt + MarketParameters.default.unbondingBlocks)
        #expect(r[0].error == .market(.jobsInProgress))
        #expect(r[1].status == .success)
        #expect(chain.balance(p2) == p2Balance + 5_000 - UInt128(MarketParameters.withdrawGas))
        #expect(chain.provider(p2)?.status == .withdrawn && chain.provider(p2)?.stake == .zero)
        #expect(chain.book?.providers == [p1])
        #expect(chain.supply == supply)
    }

    @Test func recordsAndPayloadsRoundTripThroughTheCodec() throws {
        let update = Payload.providerUpdate(
            ProviderUpdate(devices: [GPUDevice(model: "H100", vramGB: 80, count: 8, score: 9)], pricePerGPUHour: 4))
        let payloads: [Payload] = [
            offer(price: 6), job(), .jobCancel(job: Hash.sha256([3])), commit(Hash.sha256([1]), p1, result: .zero),
            reveal(Hash.sha256([1]), result: .zero, usage: 9), update, .providerHeartbeat, .providerUnbond,
            .providerWithdraw,
            .auditReport(job: Hash.sha256([1]), result: Hash.sha256([2]), usageSeconds: 3, logs: .zero),
            .jobDispute(job: Hash.sha256([1])),
        ]
        for p in payloads {
            let t = Transaction(chainId: 1, sender: consumer, sequence: 4, gasLimit: 100, gasPrice: 1, payload: p)
            #expect(try Transaction(canonicalBytes: t.canonicalBytes) == t)
        }
        var j = JobRecord(
            id: Hash.sha256([1]), consumer: consumer,
            spec: JobSpec(
                runner: .container, bundleHash: .zero, bundleURI: "u", inputsHash: .zero, gpuCount: 2, minVramGB: 40,
                model: "H100", maxDurationSeconds: 60, maxPricePerGPUHour: 9, redundancy: 2, verification: 0), escrow: 5
        )
        j.assigned = [.init(provider: p1, pricePerGPUHour: 3)]
        var audited = j
        audited.settledTimestamp = 77
        audited.audit = JobRecord.Audit(kind: .random)
        audited.audit?.round = 2
        audited.audit?.auditor = p2
        audited.audit?.pricePerGPUHour = 4
        audited.audit?.result = Hash.sha256([5])
        audited.audit?.usageSeconds = 6
        audited.audit?.logs = Hash.sha256([7])
        audited.audit?.paid = 8
        for v in [
            StateValue.job(audited),
            StateValue.job(j), .provider(ProviderRecord(owner: p1, offer: try #require(offer(price: 2).registration))),
            .book(MarketBook(openJobs: [j.id], providers: [p1, p2])),
        ] {
            #expect(try StateValue(canonicalBytes: v.canonicalBytes) == v)
        }
    }

    @Test func escrowRoundsUpAndRefusesOverflow() {
        let spec = { (price: UInt128, seconds: UInt64) in
            JobSpec(
                runner: .process, bundleHash: .zero, bundleURI: "", inputsHash: .zero, gpuCount: 1, minVramGB: 0,
                model: "", maxDurationSeconds: seconds, maxPricePerGPUHour: Amount(price), redundancy: 1,
                verification: 0)
        }
        #expect(spec(10, 3600).escrow == 10)
        #expect(spec(10, 1).escrow == 1)  // 10/3600 rounds up to 1
        #expect(spec(UInt128.max, 2).escrow == nil)
    }
}

func commit(_ job: Hash, _ provider: Address, result: Hash, salt: Hash = Hash.sha256([42])) -> Payload {
    .jobCommit(job: job, commitment: JobCommitment.make(job: job, provider: provider, result: result, salt: salt))
}

func reveal(_ job: Hash, result: Hash, usage: UInt64, salt: Hash = Hash.sha256([42])) -> Payload {
    .jobReveal(job: job, result: result, salt: salt, usageSeconds: usage, logs: .zero)
}

@Suite("The market: commit, reveal, settlement, missed deadlines")
struct MarketSettlementTests {
    /// Two providers (asks 6 and 7), one consumer, a matched k = 2 job (1 GPU, ≤ 10/h, ≤ 3 h: escrow 60).
    private func matched() throws -> (MarketChain, Hash) {
        var chain = MarketChain(funded: [consumer, p1, p2, p3], balance: 1_000_000_000)
        chain.block([chain.tx(p1, offer(price: 6_000_000)), chain.tx(p2, offer(price: 7_000_000))])
        let r = chain.block([chain.tx(consumer, job(maxPrice: 10_000_000, k: 2, hours: 3))])
        let id = try #require(r[0].output)
        let j = try #require(chain.job(id))
        #expect(j.status == .matched && j.escrow == 60_000_000)
        return (chain, id)
    }

    @Test func agreeingRevealsArePaidForTheirUsageAndTheRestIsRefunded() throws {
        var (chain, id) = try matched()
        let result = Hash.sha256(Array("the picture".utf8))
        let before = (chain.balance(consumer), chain.balance(p1), chain.balance(p2), chain.balance(.treasury))
        var r = chain.block([
            chain.tx(p1, commit(id, p1, result: result)), chain.tx(p2, commit(id, p2, result: result)),
        ])
        #expect(r.allSatisfy { $0.status == .success })
        #expect(chain.job(id)?.status == .committed)
        // A reveal before every commitment is in would be refused; now both reveal 2 hours of use.
        r = chain.block([
            chain.tx(p1, reveal(id, result: result, usage: 7200)),
            chain.tx(p2, reveal(id, result: result, usage: 7200)),
        ])
        #expect(r.allSatisfy { $0.status == .success })
        let j = try #require(chain.job(id))
        #expect(j.status == .settled && j.result == result && j.escrow == .zero)
        // p1: 6/h × 2 h = 12 (less 2 %: 11.76), p2: 7/h × 2 h = 14 (13.72); fee 0.52; refund 60 − 26 = 34.
        #expect(chain.balance(p1) == before.1 + 11_760_000 - 2 * UInt128(MarketParameters.commitGas))
        #expect(chain.balance(p2) == before.2 + 13_720_000 - 2 * UInt128(MarketParameters.commitGas))
        #expect(chain.balance(consumer) == before.0 + 34_000_000)
        #expect(chain.balance(.treasury) == before.3 + 520_000 + 4 * UInt128(MarketParameters.commitGas))
        #expect(chain.provider(p1)?.busy == 0 && chain.provider(p1)?.jobsDone == 1)
        #expect(chain.book?.activeJobs == [])
    }

    @Test func usageIsCappedByTheMaximumDuration() throws {
        var (chain, id) = try matched()
        let result = Hash.sha256([5])
        chain.block([chain.tx(p1, commit(id, p1, result: result)), chain.tx(p2, commit(id, p2, result: result))])
        chain.block([
            chain.tx(p1, reveal(id, result: result, usage: 99_999)), chain.tx(p2, reveal(id, result: result, usage: 1)),
        ])
        let j = try #require(chain.job(id))
        #expect(j.assigned.map(\.paid) == [18_000_000, 1_944])  // 6/h × 3 h; 7/h × 1 s rounded down
    }

    @Test func disagreeingRevealsDisputeTheJobAndHoldTheEscrow() throws {
        var (chain, id) = try matched()
        chain.block([
            chain.tx(p1, commit(id, p1, result: Hash.sha256([1]))),
            chain.tx(p2, commit(id, p2, result: Hash.sha256([2]))),
        ])
        chain.block([
            chain.tx(p1, reveal(id, result: Hash.sha256([1]), usage: 60)),
            chain.tx(p2, reveal(id, result: Hash.sha256([2]), usage: 60)),
        ])
        let j = try #require(chain.job(id))
        #expect(j.status == .disputed && j.escrow == 60_000_000)
        #expect(chain.provider(p1)?.busy == 0)
    }

    @Test func commitAndRevealRules() throws {
        var (chain, id) = try matched()
        let result = Hash.sha256([3])
        // Not assigned; reveal before the commit phase ends; double commit; a reveal that does not match.
        var r = chain.block([chain.tx(consumer, commit(id, consumer, result: result))])
        #expect(r[0].error == .market(.notAssigned))
        r = chain.block([chain.tx(p1, commit(id, p1, result: result)), chain.tx(p1, commit(id, p1, result: result))])
        #expect(r[0].status == .success && r[1].error == .market(.alreadyCommitted))
        r = chain.block([chain.tx(p1, reveal(id, result: result, usage: 1))])
        #expect(r[0].error == .market(.notRevealPhase))
        chain.block([chain.tx(p2, commit(id, p2, result: result))])
        r = chain.block([chain.tx(p2, reveal(id, result: Hash.sha256([4]), usage: 1))])
        #expect(r[0].error == .market(.revealMismatch))
        // p2 copies p1's commitment? It would not match p2's own reveal: the commitment binds the provider.
        #expect(
            JobCommitment.make(job: id, provider: p1, result: result, salt: .zero)
                != JobCommitment.make(job: id, provider: p2, result: result, salt: .zero))
    }

    @Test func aProviderThatMissesTheCommitDeadlineIsSlashedAndTheJobRematched() throws {
        var (chain, id) = try matched()
        // A third provider joins; p2 never commits.
        chain.block([chain.tx(p3, offer(price: 8_000_000))])
        let result = Hash.sha256([6])
        chain.block([chain.tx(p1, commit(id, p1, result: result))])
        let consumerBefore = chain.balance(consumer)
        let stakeBefore = try #require(chain.provider(p2)).stake
        chain.block([], after: 3 * 3600 + MarketParameters.default.commitGraceSeconds + 1)
        let p2After = try #require(chain.provider(p2))
        #expect(p2After.stake.value == stakeBefore.value * 9 / 10 && p2After.jobsFailed == 1 && p2After.busy == 0)
        #expect(chain.balance(consumer) == consumerBefore + stakeBefore.value / 10)
        let j = try #require(chain.job(id))
        // Reopened and matched again in the same block: p1 keeps its commitment, p3 takes p2's slot.
        #expect(j.status == .matched)
        #expect(j.assigned.map(\.provider) == [p1, p3])
        #expect(j.assigned[0].commitment != nil && j.assigned[1].commitment == nil)
    }

    @Test func missedRevealsAreSlashedAndTheRevealedResultSettles() throws {
        var (chain, id) = try matched()
        let result = Hash.sha256([7])
        chain.block([chain.tx(p1, commit(id, p1, result: result)), chain.tx(p2, commit(id, p2, result: result))])
        chain.block([chain.tx(p1, reveal(id, result: result, usage: 3600))])
        chain.block([], after: MarketParameters.default.revealWindowSeconds + 1)
        let j = try #require(chain.job(id))
        #expect(j.status == .settled && j.assigned.map(\.provider) == [p1])
        #expect(chain.provider(p2)?.jobsFailed == 1)
    }

    @Test func supplyIsConservedThroughTheWholeLifecycle() throws {
        var (chain, id) = try matched()
        let supply = chain.supply
        let result = Hash.sha256([8])
        chain.block([chain.tx(p1, commit(id, p1, result: result)), chain.tx(p2, commit(id, p2, result: result))])
        #expect(chain.supply == supply)
        chain.block([
            chain.tx(p1, reveal(id, result: result, usage: 5000)),
            chain.tx(p2, reveal(id, result: result, usage: 4000)),
        ])
        #expect(chain.supply == supply)
    }
}

extension Payload {
    fileprivate var registration: ProviderRegistration? {
        if case .providerRegister(let r) = self { return r }
        return nil
    }
}

@Suite("The market: asks per device class")
struct DeviceClassAskTests {
    /// A provider with two classes: an RTX 4090 class at its own ask of 4 and an H100 class at the
    /// provider's price of 9. A job any class fits pays the cheaper class's ask; a job only the H100 fits
    /// pays 9; a rival asking 6 for H100s wins the H100 job over the first provider.
    @Test func eachJobPaysTheAskOfTheCheapestClassThatFits() throws {
        var chain = MarketChain(funded: [consumer, p1, p2])
        let twoClasses = ProviderRegistration(
            devices: [
                GPUDevice(model: "H100", vramGB: 80, count: 2, score: 100),
                GPUDevice(model: "RTX 4090", vramGB: 24, count: 2, score: 50, pricePerGPUHour: 4),
            ], region: "eu", endpoint: "", stake: 5_000, pricePerGPUHour: 9)
        chain.block([chain.tx(p1, .providerRegister(twoClasses))])
        let p = try #require(chain.provider(p1))
        #expect(p.ask(device: 0) == 9 && p.ask(device: 1) == 4 && p.askRange == (4, 9))

        var r = chain.block([chain.tx(consumer, job(maxPrice: 10, vram: 16))])
        let anyClass = try #require(r[0].output)
        #expect(chain.job(anyClass)?.assigned.map(\.pricePerGPUHour) == [4])
        r = chain.block([chain.tx(consumer, job(maxPrice: 10, vram: 40))])
        let bigOnly = try #require(r[0].output)
        #expect(chain.job(bigOnly)?.assigned.map(\.pricePerGPUHour) == [9])
        // A job paying 5 at most, needing 40 GB: the H100 class asks 9, so it waits.
        r = chain.block([chain.tx(consumer, job(maxPrice: 5, vram: 40))])
        let cheapBig = try #require(r[0].output)
        #expect(chain.job(cheapBig)?.status == .open)

        // A rival's H100s at 6: the next 40 GB job goes to it, and the waiting one still waits (6 > 5).
        chain.block([chain.tx(p2, offer(price: 6, vram: 80, model: "H100"))])
        r = chain.block([chain.tx(consumer, job(maxPrice: 10, vram: 40))])
        let rival = try #require(r[0].output)
        #expect(chain.job(rival)?.assigned.map(\.provider) == [p2])
        #expect(chain.job(rival)?.assigned.map(\.pricePerGPUHour) == [6])
        #expect(chain.job(cheapBig)?.status == .open)
        // The record round-trips with its per-class asks.
        #expect(try ProviderRecord(canonicalBytes: p.canonicalBytes) == p)
    }

    /// One H100 and two RTX 4090s: a job on the H100 leaves the provider two free GPUs, but neither is an
    /// H100, so a second H100 job waits while a 4090 job runs; the H100 job's settlement frees its class.
    @Test func aClassesGPUsAreCountedApartFromTheOthers() throws {
        var chain = MarketChain(funded: [consumer, p1])
        let h100 = GPUDevice(model: "H100", vramGB: 80, count: 1, score: 100)
        let rtx = GPUDevice(model: "RTX 4090", vramGB: 24, count: 2, score: 50, pricePerGPUHour: 4)
        chain.block([
            chain.tx(
                p1,
                .providerRegister(
                    ProviderRegistration(
                        devices: [h100, rtx], region: "eu", endpoint: "", stake: 5_000, pricePerGPUHour: 9)))
        ])
        var r = chain.block([chain.tx(consumer, job(maxPrice: 10, vram: 40))])
        let first = try #require(r[0].output)
        #expect(chain.job(first)?.assigned.map(\.device) == [0])
        #expect(chain.provider(p1)?.busyByDevice == [1, 0] && chain.provider(p1)?.free == 2)
        r = chain.block([chain.tx(consumer, job(maxPrice: 10, vram: 40))])
        let second = try #require(r[0].output)
        #expect(chain.job(second)?.status == .open, "the H100 is taken: the 4090s do not fit")
        r = chain.block([chain.tx(consumer, job(maxPrice: 10, vram: 16))])
        let small = try #require(r[0].output)
        #expect(chain.job(small)?.assigned.map(\.device) == [1])
        #expect(chain.job(small)?.assigned.map(\.pricePerGPUHour) == [4])
        #expect(chain.provider(p1)?.busyByDevice == [1, 1])

        // The busy H100 class cannot go or move; adding a class after it can.
        r = chain.block([chain.tx(p1, .providerUpdate(ProviderUpdate(devices: [rtx, h100], pricePerGPUHour: 9)))])
        #expect(r[0].error == .market(.capacityInUse))
        let more = GPUDevice(model: "L4", vramGB: 24, count: 4, score: 20)
        r = chain.block([chain.tx(p1, .providerUpdate(ProviderUpdate(devices: [h100, rtx, more], pricePerGPUHour: 9)))])
        #expect(r[0].status == .success)
        #expect(chain.provider(p1)?.busyByDevice == [1, 1, 0])

        // The first job settles: its H100 is free again, and the waiting H100 job is matched in that block.
        let result = Hash.sha256(Array("class result".utf8))
        chain.block([chain.tx(p1, commit(first, p1, result: result))])
        chain.block([chain.tx(p1, reveal(first, result: result, usage: 60))])
        #expect(chain.job(first)?.status == .settled)
        #expect(chain.job(second)?.assigned.map(\.device) == [0])
        #expect(chain.provider(p1)?.busyByDevice == [1, 1, 0])
        let p = try #require(chain.provider(p1))
        #expect(try ProviderRecord(canonicalBytes: p.canonicalBytes) == p)
        // A record whose busy counts do not match its classes is refused, not padded.
        var skewed = p
        skewed.busyByDevice.removeLast()
        #expect(throws: CoreError.self) { try ProviderRecord(canonicalBytes: skewed.canonicalBytes) }
        let j = try #require(chain.job(second))
        #expect(try JobRecord(canonicalBytes: j.canonicalBytes) == j)
    }
}
