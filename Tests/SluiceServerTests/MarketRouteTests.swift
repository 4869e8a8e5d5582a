import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceServer
import SluiceState
import SluiceStorage
import Testing

// The market's routes on a running node: providers register and consumers submit jobs through
// POST /v1/transactions (JSON payloads), the node cuts blocks and runs the block-end auction, and the
// routes must show what the auction did. Every reply is checked against the OpenAPI document.

/// The market routes on a chain without market activity: two empty lists and two 404s. Only 200 and 404
/// answers, and no transaction: `walkEveryRoute` can call it anywhere to exercise the market operations.
func walkEmptyMarket(_ api: APIClient) async throws {
    let providers: ProviderListJSON = try await api.get("/v1/market/providers")
    #expect(providers.providers.isEmpty)
    let jobs: JobListJSON = try await api.get("/v1/market/jobs")
    #expect(jobs.jobs.isEmpty && jobs.next == nil)
    let nobody = Address(Hash.sha256(Array("market: no such provider".utf8)))
    let provider = try await api.get("/v1/market/providers/\(nobody.hex)")
    #expect(provider.status == 404 && (try? provider.decode(ErrorJSON.self))?.code == "not_found", "\(provider.text)")
    let params: MarketParamsJSON = try await api.get("/v1/market/params")
    #expect(params.feeBasisPoints == MarketParameters.default.feeBasisPoints && params.burned == .zero)
    #expect(params.epochBlocks == MarketParameters.default.epochBlocks)
    let nobodysJobs: JobListJSON = try await api.get("/v1/market/providers/\(nobody.hex)/jobs")
    #expect(nobodysJobs.jobs.isEmpty)
    let rewards: RewardJSON = try await api.get("/v1/market/rewards/\(nobody.hex)")
    #expect(rewards.unclaimed == .zero && rewards.earned == .zero && rewards.epochGpuSeconds == 0)
    let earnings: EarningsJSON = try await api.get("/v1/market/providers/\(nobody.hex)/earnings")
    #expect(earnings.rows.isEmpty && earnings.count == 0)
    let job = try await api.get("/v1/market/jobs/\(Hash.sha256(Array("market: no such job".utf8)).hex)")
    #expect(job.status == 404 && (try? job.decode(ErrorJSON.self))?.code == "not_found", "\(job.text)")
}

extension TestSender {
    /// A signed market transaction from this sender (gas limit 100, as the CLI signs them, or what the
    /// payload needs when more).
    func market(_ sequence: UInt64, _ payload: Payload) -> Transaction {
        Transaction(
            chainId: testChain, sender: address, sequence: sequence,
            gasLimit: max(100, RuntimeVM.intrinsicGas(of: payload)),
            gasPrice: 1,
            expiry: Transaction.never, payload: payload
        ).signed(with: key)
    }
}

/// A job spec with placeholder bundle fields (as `sluice job submit-raw` sends).
private func spec(
    k: UInt8 = 1, gpus: UInt32 = 1, maxPrice: UInt128, hours: UInt64 = 1, minVram: UInt32 = 0, model: String = ""
)
    -> JobSpec
{
    JobSpec(
        runner: .process, bundleHash: .zero, bundleURI: "", inputsHash: .zero, gpuCount: gpus, minVramGB: minVram,
        model: model, maxDurationSeconds: hours * 3600, maxPricePerGPUHour: Amount(maxPrice), redundancy: k,
        verification: 0)
}

/// Checks every logged reply against the OpenAPI document; returns the operations they exercised.
@discardableResult
func expectFitsOpenAPI(_ log: ReplyLog, sourceLocation: SourceLocation = #_sourceLocation) throws -> Set<String> {
    let checker = try OpenAPIChecker(OpenAPIDocument.json)
    var exercised: Set<String> = []
    for reply in log.all {
        let template = try #require(checker.template(of: reply.path), "\(reply.uri) is not a documented path")
        exercised.insert("\(reply.method) \(template)")
        let problems = checker.problems(with: reply)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }
    return exercised
}

private let marketOperations: Set<String> = [
    "GET /v1/market/providers", "GET /v1/market/providers/{address}", "GET /v1/market/jobs",
    "GET /v1/market/jobs/{id}",
]

@Suite("Market routes")
struct MarketRouteTests {
    /// Two providers register and one consumer submits five jobs in one block; the auction matches three,
    /// leaves one open, and the consumer cancels the last. The routes show the providers' free capacity,
    /// each job's state and assignments at the providers' asks, filter by state and page by id.
    @Test func marketThroughTheAPI() async throws {
        let (consumer, cheap, dear) = (TestSender(), TestSender(), TestSender())
        // Proofs of GPU have their own test below; here every device is eligible at once.
        try await withChain([consumer, cheap, dear], options: ChainOptions(market: noProofs)) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                try await walkEmptyMarket(api)

                // cheap: 2 × H100 80 GB at 6 per GPU-hour; dear: 4 × RTX 4090 24 GB at 7.
                let cheapOffer = ProviderRegistration(
                    devices: [GPUDevice(model: "H100", vramGB: 80, count: 2, score: 1000)], region: "eu-west",
                    endpoint: "https://cheap.example", stake: Amount(5_000), pricePerGPUHour: Amount(6))
                let dearOffer = ProviderRegistration(
                    devices: [GPUDevice(model: "RTX 4090", vramGB: 24, count: 4, score: 500)], region: "us-east",
                    endpoint: "", stake: Amount(2_000), pricePerGPUHour: Amount(7))
                // Matched in order of max price: j0 (10) takes cheap and dear, j2 (9) needs 2 GPUs of
                // ≥ 40 GB and finds cheap with 1 free (stays open), j3 (8) takes cheap's last GPU, j4 (7)
                // wants an RTX 4090 and takes dear, j1 (5) is below every ask (open, cancelled later).
                let specs = [
                    spec(k: 2, maxPrice: 10, hours: 3), spec(maxPrice: 5), spec(gpus: 2, maxPrice: 9, minVram: 40),
                    spec(maxPrice: 8), spec(maxPrice: 7, model: "RTX 4090"),
                ]
                let submissions = specs.enumerated().map { consumer.market(UInt64($0.offset), .jobSubmit($0.element)) }
                let ids = (0..<specs.count).map { JobRecord.id(consumer: consumer.address, sequence: UInt64($0)) }
                let registrations = [
                    cheap.market(0, .providerRegister(cheapOffer)), dear.market(0, .providerRegister(dearOffer)),
                ]
                for tx in registrations + submissions { try await api.submitAccepted(tx) }

                // Pending transactions are not in the market yet.
                try await walkEmptyMarket(api)

                chain.node.start()
                var receipts: [Hash: TransactionStatusJSON] = [:]
                for tx in registrations + submissions {
                    let status = try await api.waitCommitted(tx.hash)
                    #expect(status.receipt?.status == .success, "\(status)")
                    receipts[tx.hash] = status
                }
                for (tx, id) in zip(submissions, ids) { #expect(receipts[tx.hash]?.receipt?.output == id) }
                let registeredAt = try #require(receipts[registrations[0].hash]?.blockHeight)
                #expect(receipts[registrations[1].hash]?.blockHeight == registeredAt)
                let submittedAt = try #require(receipts[submissions[0].hash]?.blockHeight)
                #expect(submissions.allSatisfy { receipts[$0.hash]?.blockHeight == submittedAt })

                // The auction ran at the end of that block: j1 is open, so the consumer can cancel it.
                let cancel = consumer.market(UInt64(specs.count), .jobCancel(job: ids[1]))
                try await api.submitAccepted(cancel)
                let cancelled = try await api.waitCommitted(cancel.hash)
                #expect(cancelled.receipt?.status == .success, "\(cancelled)")
                #expect(cancelled.receipt?.output == ids[1])
                await chain.node.stop()
                let head = try #require(chain.store.head).height

                // Providers: by address, free capacity after matching, the registration block.
                let list: ProviderListJSON = try await api.get("/v1/market/providers")
                #expect(list.height == head)
                #expect(list.providers.map(\.address) == [cheap.address, dear.address].sorted())
                let byAddress = Dictionary(uniqueKeysWithValues: list.providers.map { ($0.address, $0) })
                let c = try #require(byAddress[cheap.address])
                #expect(c.status == .active && c.pricePerGpuHour == Amount(6) && c.stake == Amount(5_000))
                #expect(c.capacity == 2 && c.busy == 2 && c.free == 0)
                #expect(
                    c.devices == [ProviderOfferJSON.Device(GPUDevice(model: "H100", vramGB: 80, count: 2, score: 1000))]
                )
                #expect(c.region == "eu-west" && c.endpoint == "https://cheap.example")
                #expect(c.reputation == 0 && c.jobsDone == 0 && c.jobsFailed == 0 && c.jobsDisputed == 0)
                #expect(c.registeredHeight == registeredAt)
                let d = try #require(byAddress[dear.address])
                #expect(d.pricePerGpuHour == Amount(7) && d.stake == Amount(2_000))
                #expect(d.capacity == 4 && d.busy == 2 && d.free == 2)
                #expect(d.registeredHeight == registeredAt)
                let one: ProviderJSON = try await api.get("/v1/market/providers/\(cheap.address.hex)")
                #expect(one == c)
                let notProvider = try await api.get("/v1/market/providers/\(consumer.address.hex)")
                #expect(notProvider.status == 404, "\(notProvider.text)")

                // Jobs, one by one: state, escrow, assignments at each provider's own ask.
                var jobs: [JobJSON] = []
                for id in ids { jobs.append(try await api.get("/v1/market/jobs/\(id.hex)")) }
                for (j, (id, s)) in zip(jobs, zip(ids, specs)) {
                    #expect(j.id == id && j.consumer == consumer.address && j.spec == JobSpecJSON(s))
                    #expect(j.submitHeight == submittedAt)
                }
                let cheapAt6 = JobJSON.Assignment(JobRecord.Assignment(provider: cheap.address, pricePerGPUHour: 6))
                let dearAt7 = JobJSON.Assignment(JobRecord.Assignment(provider: dear.address, pricePerGPUHour: 7))
                #expect(jobs[0].status == .matched && jobs[0].assigned == [cheapAt6, dearAt7])
                #expect(jobs[0].escrow == Amount(60) && jobs[0].matchedHeight == submittedAt)
                #expect(jobs[1].status == .cancelled && jobs[1].assigned.isEmpty && jobs[1].escrow == .zero)
                #expect(jobs[1].matchedHeight == nil)
                #expect(jobs[2].status == .open && jobs[2].assigned.isEmpty && jobs[2].escrow == Amount(18))
                #expect(jobs[2].matchedHeight == nil)
                #expect(jobs[3].status == .matched && jobs[3].assigned == [cheapAt6] && jobs[3].escrow == Amount(8))
                #expect(jobs[4].status == .matched && jobs[4].assigned == [dearAt7] && jobs[4].escrow == Amount(7))

                // The consumer paid the fees and the escrows still held; the cancelled one came back.
                let fees = (submissions + [cancel]).reduce(UInt128(0)) {
                    $0 + (receipts[$1.hash] ?? cancelled).receipt!.fee.value
                }
                let account = try await api.account(consumer.address)
                #expect(account.balance.value == initialBalance - fees - (60 + 18 + 8 + 7))

                // The whole list: by id, every state; filtered by state.
                let byId = jobs.sorted { $0.id < $1.id }
                let all: JobListJSON = try await api.get("/v1/market/jobs")
                #expect(all.height == head && all.jobs == byId && all.next == nil)
                for (status, expected) in [
                    ("open", [ids[2]]), ("matched", [ids[0], ids[3], ids[4]]), ("cancelled", [ids[1]]), ("expired", []),
                ] {
                    let page: JobListJSON = try await api.get("/v1/market/jobs?status=\(status)")
                    #expect(page.jobs.map(\.id) == expected.sorted(), "\(status)")
                    #expect(page.jobs.allSatisfy { $0.status.name == status } && page.next == nil)
                }

                // Pages: following `next` with `after` visits every job once, in order, and the last page
                // has no `next`; the same with a filter.
                for (query, expected) in [
                    ("", byId.map(\.id)), ("&status=matched", [ids[0], ids[3], ids[4]].sorted()),
                ] {
                    for limit in 1...3 {
                        var seen: [Hash] = []
                        var after: Hash? = nil
                        var pages = 0
                        repeat {
                            let uri =
                                "/v1/market/jobs?limit=\(limit)\(query)" + (after.map { "&after=\($0.hex)" } ?? "")
                            let page: JobListJSON = try await api.get(uri)
                            #expect(page.jobs.count <= limit)
                            #expect(page.next == nil || page.next == page.jobs.last?.id)
                            seen += page.jobs.map(\.id)
                            after = page.next
                            pages += 1
                        } while after != nil && pages <= expected.count
                        #expect(seen == expected, "limit \(limit)\(query)")
                        // The server reads one job past the limit, so the last page never has a `next`.
                        #expect(pages == (expected.count + limit - 1) / limit, "limit \(limit)\(query)")
                    }
                }
                // `after` need not be a job: the page starts at the next id.
                let fromZero: JobListJSON = try await api.get("/v1/market/jobs?after=\(Hash.zero.hex)")
                #expect(fromZero.jobs == byId)
                let pastLast: JobListJSON = try await api.get("/v1/market/jobs?after=\(byId.last!.id.hex)")
                #expect(pastLast.jobs.isEmpty && pastLast.next == nil)
                let limitMax: JobListJSON = try await api.get("/v1/market/jobs?limit=1000")
                #expect(limitMax.jobs == byId)
            }
            let exercised = try expectFitsOpenAPI(log)
            #expect(
                exercised.isSuperset(of: marketOperations), "not exercised: \(marketOperations.subtracting(exercised))")
        }
    }

    /// Three providers register; a k = 2 job goes to the two cheapest, whose reveals disagree. The third
    /// is drawn to audit: its job list shows the job, and its `audit.report` settles it, confirming one
    /// side. The job's audit fields and the slashed provider are checked against the OpenAPI document.
    @Test func anAuditThroughTheAPI() async throws {
        let (consumer, a, b, c) = (TestSender(), TestSender(), TestSender(), TestSender())
        try await withChain([consumer, a, b, c], options: ChainOptions(market: noProofs)) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                chain.node.start()
                func send(_ txs: [Transaction]) async throws {
                    for tx in txs { try await api.submitAccepted(tx) }
                    for tx in txs {
                        let status = try await api.waitCommitted(tx.hash)
                        #expect(status.receipt?.status == .success, "\(status)")
                    }
                }
                func offer(_ price: UInt128) -> Payload {
                    .providerRegister(
                        ProviderRegistration(
                            devices: [GPUDevice(model: "H100", vramGB: 80, count: 1, score: 1)], region: "eu",
                            endpoint: "", stake: 5_000, pricePerGPUHour: Amount(price)))
                }
                try await send([a.market(0, offer(6_000)), b.market(0, offer(7_000)), c.market(0, offer(8_000))])
                try await send([consumer.market(0, .jobSubmit(spec(k: 2, maxPrice: 10_000, hours: 1)))])
                let id = JobRecord.id(consumer: consumer.address, sequence: 0)
                let (ra, rb) = (Hash.sha256([1]), Hash.sha256([2]))
                try await send([
                    a.market(
                        1,
                        .jobCommit(
                            job: id,
                            commitment: JobCommitment.make(job: id, provider: a.address, result: ra, salt: .zero))),
                    b.market(
                        1,
                        .jobCommit(
                            job: id,
                            commitment: JobCommitment.make(job: id, provider: b.address, result: rb, salt: .zero))),
                ])
                try await send([
                    a.market(2, .jobReveal(job: id, result: ra, salt: .zero, usageSeconds: 60, logs: .zero)),
                    b.market(2, .jobReveal(job: id, result: rb, salt: .zero, usageSeconds: 60, logs: .zero)),
                ])
                // The reveals disagree: c, the only other provider, is drawn and sees the job in its list.
                let disputed: JobJSON = try await api.get("/v1/market/jobs/\(id.hex)")
                #expect(disputed.status == .disputed && disputed.auditKind == .disagreement)
                #expect(disputed.auditor == c.address && disputed.auditRound == 1 && disputed.deadline != nil)
                #expect(disputed.auditPricePerGpuHour == Amount(8_000) && disputed.escrow == Amount(20_000))
                let toAudit: JobListJSON = try await api.get("/v1/market/providers/\(c.address.hex)/jobs")
                #expect(toAudit.jobs.map(\.id) == [id])
                try await send([
                    c.market(1, .auditReport(job: id, result: ra, usageSeconds: 90, logs: Hash.sha256([3])))
                ])
                await chain.node.stop()
                let settled: JobJSON = try await api.get("/v1/market/jobs/\(id.hex)")
                #expect(settled.status == .settled && settled.result == ra && settled.escrow == .zero)
                #expect(settled.auditResult == ra && settled.auditUsageSeconds == 90)
                #expect(settled.auditLogs == Hash.sha256([3]) && settled.auditPaid == Amount(200))
                #expect(settled.settledAt != nil && settled.deadline == nil)
                #expect(settled.assigned.map(\.paid) == [Amount(100), nil])
                let done: JobListJSON = try await api.get("/v1/market/providers/\(c.address.hex)/jobs")
                #expect(done.jobs.isEmpty)
                let liar: ProviderJSON = try await api.get("/v1/market/providers/\(b.address.hex)")
                #expect(liar.stake == Amount(2_500) && liar.jobsDisputed == 1)
            }
            let exercised = try expectFitsOpenAPI(log)
            #expect(exercised.contains("GET /v1/market/providers/{address}/jobs"))
        }
    }

    /// Malformed addresses, ids and query values are 400 bad_request with a message; unknown ones 404.
    @Test func badQueriesAndUnknownRecords() async throws {
        try await withChain([TestSender()]) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                try await walkEmptyMarket(api)
                for uri in [
                    "/v1/market/providers/nope", "/v1/market/providers/0x1234", "/v1/market/jobs/xyz",
                    "/v1/market/jobs/0x\(String(repeating: "0", count: 63))",
                    "/v1/market/jobs?status=running", "/v1/market/jobs?status=", "/v1/market/jobs?status=OPEN",
                    "/v1/market/jobs?limit=0", "/v1/market/jobs?limit=1001", "/v1/market/jobs?limit=-1",
                    "/v1/market/jobs?limit=ten", "/v1/market/jobs?limit=1.5", "/v1/market/jobs?after=0x12",
                    "/v1/market/jobs?after=last",
                ] {
                    try await expectRejected(api, watching: [], status: 400, code: "bad_request") {
                        try await api.get(uri)
                    }
                }
                let statusError = try await api.get("/v1/market/jobs?status=running").decode(ErrorJSON.self)
                let names = JobRecord.Status.allCases.map(\.name).joined(separator: ", ")
                #expect(statusError.error.contains(names), "\(statusError.error)")
            }
            let exercised = try expectFitsOpenAPI(log)
            #expect(exercised.isSuperset(of: marketOperations))
        }
    }
}

/// No proofs, and no heartbeat timeout: these providers send no heartbeats, and at 20 ms blocks the default
/// 1,200-block timeout (24 s) can pass on a busy machine before their jobs are matched.
private let noProofs = MarketParameters(proofIntervalSeconds: 0, heartbeatTimeoutBlocks: 0)

@Suite("Proof of GPU through the API")
struct ProofRouteTests {
    /// A provider registers on a chain that asks for proofs: its record shows the pending challenge, a job
    /// that fits waits; its `provider.prove` (through the mempool, larger than other transactions) makes
    /// the device eligible and the job is matched. Replies are checked against the OpenAPI document.
    @Test func aProviderProvesItsDeviceThroughTheAPI() async throws {
        let (consumer, provider) = (TestSender(), TestSender())
        let params = MarketParameters(proofWindowSeconds: 60, proofTargetMilliseconds: 100, heartbeatTimeoutBlocks: 0)
        try await withChain([consumer, provider], options: ChainOptions(market: params)) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                chain.node.start()
                let offer = ProviderRegistration(
                    devices: [GPUDevice(model: "cpu", vramGB: 0, count: 1, score: 100)], region: "eu", endpoint: "",
                    stake: 5_000, pricePerGPUHour: 10)
                try await api.submitAccepted(provider.market(0, .providerRegister(offer)))
                _ = try await api.waitCommitted(provider.market(0, .providerRegister(offer)).hash)
                let registered: ProviderJSON = try await api.get("/v1/market/providers/\(provider.address.hex)")
                let proof = try #require(registered.proofs.first)
                #expect(registered.proofs.count == 1 && proof.status == .pending && !proof.eligible)
                #expect(proof.round == 1 && proof.size == 192, "∛(1e8 × 0.1 s) ≈ 215, down to a multiple of 64")

                let submit = consumer.market(0, .jobSubmit(spec(maxPrice: 20, minVram: 0, model: "cpu")))
                try await api.submitAccepted(submit)
                _ = try await api.waitCommitted(submit.hash)
                let waiting: JobJSON = try await api.get(
                    "/v1/market/jobs/\(JobRecord.id(consumer: consumer.address, sequence: 0).hex)")
                #expect(waiting.status == .open)

                let challenge = GPUChallenge(seed: proof.seed, size: Int(proof.size))
                let prove = provider.market(1, .providerProve(challenge.answerOnCPU(device: 0, threads: 2)))
                #expect(prove.canonicalBytes.count > Mempool.Configuration(chainId: testChain).maxTransactionBytes / 4)
                try await api.submitAccepted(prove)
                let status = try await api.waitCommitted(prove.hash)
                #expect(status.receipt?.status == .success, "\(status)")
                let proven: ProviderJSON = try await api.get("/v1/market/providers/\(provider.address.hex)")
                #expect(
                    proven.proofs[0].status == .verified && proven.proofs[0].eligible && proven.proofs[0].passed == 1)
                #expect(
                    try await eventually {
                        let job: JobJSON = try await api.get("/v1/market/jobs/\(waiting.id.hex)")
                        return job.status == .matched
                    })
                // The transaction's JSON names the payload and its answer.
                let tx: TransactionStatusJSON = try await api.get("/v1/transactions/\(prove.hash.hex)")
                #expect(tx.transaction?.payload.type == .providerProve)
                #expect(tx.transaction?.payload.answer?.openings.count == GPUChallenge.samples)
            }
            _ = try expectFitsOpenAPI(log)
        }
    }
}
