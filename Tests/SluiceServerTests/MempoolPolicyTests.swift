import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceServer
import SluiceStorage
import Testing

@Suite("Mempool ordering and eviction through the API")
struct MempoolPolicyTests {
    /// A full mempool evicts the sender tail with the lowest gas price for a newcomer paying strictly
    /// more, and refuses one that does not with 503 mempool_full, changing nothing.
    @Test func fullMempoolEvictsTheCheapest() async throws {
        let (a, b, c, d, e, f) = (TestSender(), TestSender(), TestSender(), TestSender(), TestSender(), TestSender())
        var options = ChainOptions()
        options.mempool = Mempool.Configuration(chainId: testChain, capacity: 3)
        try await withChain([a, b, c, d, e, f], options: options) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                let everyone = [a, b, c, d, e, f].map(\.address)
                let a0 = a.tx(0, gasPrice: 5)
                let b0 = b.tx(0, gasPrice: 2)
                let c0 = c.tx(0, gasPrice: 8)
                for tx in [a0, b0, c0] { try await api.submitAccepted(tx) }
                #expect(try await api.status().mempoolSize == 3)

                // Cheaper than the cheapest, or only as cheap: refused.
                let cheap = try await expectRejected(api, watching: everyone, status: 503, code: "mempool_full") {
                    try await api.submit(d.tx(0, gasPrice: 1))
                }
                #expect(cheap?.error.contains("2") == true, "says the price to beat: \(cheap?.error ?? "")")
                try await expectRejected(api, watching: everyone, status: 503, code: "mempool_full") {
                    try await api.submit(d.tx(0, gasPrice: 2))
                }
                // In a batch the same rule holds per transaction.
                let before = try await api.view(everyone)
                let refused = try await api.submitBatch([d.tx(0, gasPrice: 1)])
                #expect(refused.status == 200)
                #expect(try refused.decode(BatchResultJSON.self).results.map(\.code) == ["mempool_full"])
                #expect(try await api.view(everyone) == before)

                // Paying more than the cheapest evicts it.
                let e0 = e.tx(0, gasPrice: 3)
                try await api.submitAccepted(e0)
                #expect(try await api.transaction(b0.hash).status == 404)
                #expect(try await api.account(b.address).pending == 0)
                let status = try await api.status()
                #expect(status.mempoolSize == 3 && status.mempoolSenders == 3)
                for tx in [a0, c0, e0] { #expect(try await api.transaction(tx.hash).status == 200) }

                // Replacing a queued transaction (10% more per gas) needs no room, and evicts nothing.
                let a0b = a.tx(0, amount: 2, gasPrice: 6)
                try await api.submitAccepted(a0b)
                #expect(try await api.transaction(a0.hash).status == 404)
                #expect(try await api.status().mempoolSize == 3)
                for tx in [a0b, c0, e0] { #expect(try await api.transaction(tx.hash).status == 200) }

                // The next cheapest goes next.
                let f0 = f.tx(0, gasPrice: 4)
                try await api.submitAccepted(f0)
                #expect(try await api.transaction(e0.hash).status == 404)
                for tx in [a0b, c0, f0] { #expect(try await api.transaction(tx.hash).status == 200) }

                // A sender's own lower sequence is never evicted for its higher one: that would strand it.
                try await expectRejected(api, watching: everyone, status: 503, code: "mempool_full") {
                    try await api.submit(f.tx(1, gasPrice: 100))
                }

                // Once a block makes room, the refused transaction gets in.
                chain.node.start()
                for tx in [a0b, c0, f0] { _ = try await api.waitCommitted(tx.hash) }
                try await api.submitAccepted(d.tx(0, gasPrice: 1))
            }
            try expectDocumented(log, chain.server)
        }
    }

    /// With room for two transactions per block, the best-paying go first; a sender's sequences stay in
    /// order even when the later one pays more.
    @Test func higherGasPriceIsIncludedFirst() async throws {
        let (p1, p4, p2, p3) = (TestSender(), TestSender(), TestSender(), TestSender())
        var options = ChainOptions()
        options.maxBlockSize = 2
        try await withChain([p1, p4, p2, p3], options: options) { chain in
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let t1 = p1.tx(0, gasPrice: 1)
                let t4 = p4.tx(0, gasPrice: 4)
                let t2 = p2.tx(0, gasPrice: 2)
                let t3 = p3.tx(0, gasPrice: 3)
                let batch = try await api.submitBatchBinary([t1, t4, t2, t3])
                #expect(try batch.decode(BatchResultJSON.self).accepted == 4)
                chain.node.start()
                var where_: [Hash: (UInt64, UInt32)] = [:]
                for tx in [t1, t4, t2, t3] {
                    let s = try await api.waitCommitted(tx.hash)
                    where_[tx.hash] = (try #require(s.blockHeight), try #require(s.index))
                }
                let h4 = try #require(where_[t4.hash]), h3 = try #require(where_[t3.hash])
                let h2 = try #require(where_[t2.hash]), h1 = try #require(where_[t1.hash])
                #expect(h4.0 == h3.0 && h4.1 == 0 && h3.1 == 1, "4 and 3 first: \(h4) \(h3)")
                #expect(h2.0 == h1.0 && h2.1 == 0 && h1.1 == 1, "then 2 and 1: \(h2) \(h1)")
                #expect(h4.0 < h2.0)
                let first: BlockJSON = try await api.get("/v1/blocks/\(h4.0)")
                #expect(first.transactionHashes == [t4.hash, t3.hash])
                let second: BlockJSON = try await api.get("/v1/blocks/\(h2.0)")
                #expect(second.transactionHashes == [t2.hash, t1.hash])
            }
        }
    }

    @Test func sequencesStayInOrderWhateverTheyPay() async throws {
        let (s, t) = (TestSender(), TestSender())
        var options = ChainOptions()
        options.maxBlockSize = 2
        try await withChain([s, t], options: options) { chain in
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let s0 = s.tx(0, gasPrice: 1)
                let s1 = s.tx(1, gasPrice: 10)
                let t0 = t.tx(0, gasPrice: 5)
                let batch = try await api.submitBatch([s1, s0, t0])
                #expect(try batch.decode(BatchResultJSON.self).accepted == 3)
                chain.node.start()
                let st0 = try await api.waitCommitted(t0.hash)
                let ss0 = try await api.waitCommitted(s0.hash)
                let ss1 = try await api.waitCommitted(s1.hash)
                // Block one: t0 (5) then s0 (1): s1 (10) may not go before s0.
                #expect(st0.blockHeight == ss0.blockHeight && st0.index == 0 && ss0.index == 1)
                #expect(try #require(ss1.blockHeight) > (try #require(ss0.blockHeight)))
            }
        }
    }
}
