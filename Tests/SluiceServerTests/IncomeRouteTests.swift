import Foundation
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceServer
import SluiceState
import Testing

// Income through the API (docs/MARKET.md, "Income"): a provider's job settles, the epoch ends, the
// emission shows in GET /v1/market/rewards/{address} and in the provider's earnings ledger, and
// reward.claim, sent through POST /v1/transactions, moves it to the balance. Every reply is checked
// against the OpenAPI document.

@Suite("Income routes")
struct IncomeRouteTests {
    @Test func anEmissionThroughTheAPIAndAClaim() async throws {
        let (consumer, a) = (TestSender(), TestSender())
        var options = ChainOptions()
        options.market = MarketParameters(
            auditProbabilityBasisPoints: 0, proofIntervalSeconds: 0, emissionPerEpoch: 1_000, epochBlocks: 20,
            // 20 ms blocks: the default 1,200-block timeout is 24 s, less than a busy test machine may take.
            heartbeatTimeoutBlocks: 1_000_000)
        try await withChain([consumer, a], options: options) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                chain.node.start()
                func send(_ txs: [Transaction], expect status: Receipt.Status = .success) async throws
                    -> [TransactionStatusJSON]
                {
                    for tx in txs { try await api.submitAccepted(tx) }
                    var out: [TransactionStatusJSON] = []
                    for tx in txs {
                        let committed = try await api.waitCommitted(tx.hash)
                        #expect(committed.receipt?.status == status, "\(committed)")
                        out.append(committed)
                    }
                    return out
                }
                let nothing: RewardJSON = try await api.get("/v1/market/rewards/\(a.address.hex)")
                #expect(nothing.unclaimed == .zero && nothing.earned == .zero && nothing.epochEndHeight % 20 == 0)
                #expect(nothing.epochEndHeight > nothing.height && nothing.epochEndHeight <= nothing.height + 20)
                let empty: EarningsJSON = try await api.get("/v1/market/providers/\(a.address.hex)/earnings")
                #expect(empty.rows.isEmpty && empty.count == 0 && empty.totals["emission"] == .zero)

                let offer = ProviderRegistration(
                    devices: [GPUDevice(model: "H100", vramGB: 80, count: 1, score: 1)], region: "eu", endpoint: "",
                    stake: 5_000, pricePerGPUHour: 3_600)
                _ = try await send([a.market(0, .providerRegister(offer))])
                let spec = JobSpec(
                    runner: .process, bundleHash: .zero, bundleURI: "", inputsHash: .zero, gpuCount: 1, minVramGB: 0,
                    model: "", maxDurationSeconds: 3600, maxPricePerGPUHour: 3_600, redundancy: 1, verification: 0)
                _ = try await send([consumer.market(0, .jobSubmit(spec))])
                let id = JobRecord.id(consumer: consumer.address, sequence: 0)
                let result = Hash.sha256([1])
                let commitment = JobCommitment.make(job: id, provider: a.address, result: result, salt: .zero)
                _ = try await send([a.market(1, .jobCommit(job: id, commitment: commitment))])
                let revealed = try await send([
                    a.market(2, .jobReveal(job: id, result: result, salt: .zero, usageSeconds: 100, logs: .zero)),
                    a.market(3, .providerHeartbeat),
                ])
                let settledAt = try #require(revealed[0].blockHeight)

                // The epoch of the settlement ends: a, the only provider with work, gets the whole
                // providers' share.
                let credited = try await eventually {
                    let r: RewardJSON = try await api.get("/v1/market/rewards/\(a.address.hex)")
                    return r.unclaimed > .zero
                }
                #expect(credited)
                let rewards: RewardJSON = try await api.get("/v1/market/rewards/\(a.address.hex)")
                #expect(rewards.unclaimed == 500 && rewards.earned == 500 && rewards.claimed == .zero)
                let ledger: EarningsJSON = try await api.get("/v1/market/providers/\(a.address.hex)/earnings")
                #expect(ledger.rows.map(\.kind) == ["job-pay", "emission"])
                #expect(ledger.rows[0].job == id && ledger.rows[0].height == settledAt)
                // 3,600 per GPU-hour for 100 s: 100, less the 2 % fee (2).
                #expect(ledger.rows[0].amount == 98 && ledger.rows[0].fee == 2)
                #expect(ledger.rows[1].amount == 500 && ledger.rows[1].job == nil && ledger.rows[1].height % 20 == 0)
                #expect(ledger.totals["job-pay"] == 98 && ledger.totals["emission"] == 500 && ledger.count == 2)
                let params: MarketParamsJSON = try await api.get("/v1/market/params")
                #expect(params.epochBlocks == 20 && params.emissionPerEpoch == 1_000 && params.emitted.value >= 1_000)
                #expect(params.heartbeatTimeoutBlocks == 1_000_000)
                let provider: ProviderJSON = try await api.get("/v1/market/providers/\(a.address.hex)")
                #expect(provider.heartbeats == 1 && provider.uptimeBasisPoints <= 10_000 && provider.live)

                // The claim moves the 500 to the balance; a second one fails: nothing left.
                let before = try await api.account(a.address)
                let claimed = try await send([a.market(4, .rewardClaim)])
                let after = try await api.account(a.address)
                #expect(
                    after.balance.value == before.balance.value + 500 - UInt128(MarketParameters.claimGas),
                    "\(claimed)")
                let again = try await send([a.market(5, .rewardClaim)], expect: .failed)
                #expect(again[0].receipt?.error?.contains("no unclaimed rewards") == true, "\(again)")
                let done: RewardJSON = try await api.get("/v1/market/rewards/\(a.address.hex)")
                #expect(done.unclaimed == .zero && done.claimed == 500)
                // A malformed address is a 400.
                let bad = try await api.get("/v1/market/rewards/0x12")
                #expect(bad.status == 400)
            }
            let exercised = try expectFitsOpenAPI(log)
            #expect(exercised.contains("GET /v1/market/rewards/{address}"))
            #expect(exercised.contains("GET /v1/market/providers/{address}/earnings"))
        }
    }
}
