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

/// Exercises every route of the API once on a running node and checks each answer. Shared by the route
/// test and the OpenAPI test (which then checks every reply in `api.log` against the document).
func walkEveryRoute(_ chain: TestChain, _ api: APIClient, alice: TestSender, bob: TestSender, carol: TestSender)
    async throws
{
    let initial = try await api.status()
    #expect(initial.chainId == testChain)
    #expect(initial.height == 0)
    #expect(initial.version == APIServer.version)
    #expect(initial.mempoolSize == 0)
    // The market routes on a chain without market activity (their full tests: MarketRouteTests).
    try await walkEmptyMarket(api)
    try await walkBlobs(api)

    // Transactions go in while the node is stopped, so they are seen pending first.
    let a0 = alice.tx(0, to: bob.address, amount: 100)
    let b0 = bob.tx(0, to: carol.address, amount: 200, gasPrice: 2)
    let a1 = alice.tx(1, amount: 10)
    let a2 = alice.tx(2, amount: 20, gasPrice: 3)
    let b1 = bob.tx(1, amount: 30)
    let c0 = carol.tx(0, to: alice.address, amount: 40)
    try await api.submitAccepted(a0)
    try await api.submitAccepted(b0, binary: true)

    let batch = try await api.submitBatch([a1, a2])
    #expect(batch.status == 200, "\(batch.text)")
    #expect(
        try batch.decode(BatchResultJSON.self)
            == BatchResultJSON(results: [.init(hash: a1.hash, accepted: true), .init(hash: a2.hash, accepted: true)]))
    let binaryBatch = try await api.submitBatchBinary([b1, c0])
    #expect(binaryBatch.status == 200, "\(binaryBatch.text)")
    let binaryResult = try binaryBatch.decode(BatchResultJSON.self)
    #expect(binaryResult.accepted == 2 && binaryResult.rejected == 0)
    #expect(binaryResult.results.map(\.hash) == [b1.hash, c0.hash])
    #expect(binaryResult.results.allSatisfy { $0.status == "pending" && $0.code == nil && $0.error == nil })

    let all = [a0, b0, a1, a2, b1, c0]
    for tx in all {
        let pending = try await api.transaction(tx.hash)
        #expect(pending.status == 200)
        let status = try pending.decode(TransactionStatusJSON.self)
        #expect(status == TransactionStatusJSON(hash: tx.hash, status: "pending", transaction: TransactionJSON(tx)))
    }
    let alicePending = try await api.account(alice.address)
    #expect(alicePending.pending == 3 && alicePending.nextSequence == 3)
    #expect(alicePending.balance == Amount(initialBalance) && alicePending.sequence == 0 && alicePending.exists)
    #expect(try await api.status().mempoolSize == 6)
    #expect(try await api.status().mempoolSenders == 3)

    // The node cuts blocks; every transaction ends up committed with a receipt.
    chain.node.start()
    var committed: [Hash: TransactionStatusJSON] = [:]
    for tx in all {
        let status = try await api.waitCommitted(tx.hash)
        committed[tx.hash] = status
        #expect(status.hash == tx.hash)
        #expect(status.transaction == TransactionJSON(tx))
        let height = try #require(status.blockHeight)
        #expect(height >= 1)
        let receipt = try #require(status.receipt)
        #expect(receipt.transactionHash == tx.hash)
        #expect(receipt.status == .success, "\(receipt)")
        #expect(receipt.index == Int(try #require(status.index)))
        #expect(receipt.gasUsed == Bank.transferGas)
        #expect(receipt.fee == Amount(UInt128(receipt.gasUsed) * UInt128(tx.gasPrice)))
    }
    func fees(_ txs: [Transaction]) -> UInt128 { txs.reduce(0) { $0 + committed[$1.hash]!.receipt!.fee.value } }

    // Accounts: balances after the transfers and fees, sequences advanced, nothing pending.
    let aliceAfter = try await api.account(alice.address)
    #expect(aliceAfter.exists && aliceAfter.sequence == 3 && aliceAfter.pending == 0 && aliceAfter.nextSequence == 3)
    #expect(aliceAfter.balance.value == initialBalance - 130 + 40 - fees([a0, a1, a2]))
    let bobAfter = try await api.account(bob.address)
    #expect(bobAfter.sequence == 2)
    #expect(bobAfter.balance.value == initialBalance + 100 - 230 - fees([b0, b1]))
    let carolAfter = try await api.account(carol.address)
    #expect(carolAfter.sequence == 1)
    #expect(carolAfter.balance.value == initialBalance + 200 - 40 - fees([c0]))
    let sinkAccount = try await api.account(sink)
    #expect(sinkAccount.exists && sinkAccount.balance == Amount(60) && sinkAccount.sequence == 0)
    let stranger = Address(Hash.sha256(Array("never seen".utf8)))
    let never = try await api.account(stranger)
    #expect(never.address == stranger && never.balance == .zero && never.sequence == 0 && !never.exists)
    #expect(never.pending == 0 && never.nextSequence == 0)

    // Blocks: latest, genesis, by height, by hash, full, beyond the head.
    let latest: BlockJSON = try await api.get("/v1/blocks/latest")
    let a0Height = try #require(committed[a0.hash]?.blockHeight)
    #expect(latest.height >= a0Height)
    #expect(latest.chainId == testChain)
    #expect(latest.transactions == nil && latest.receipts == nil)
    let genesis: BlockJSON = try await api.get("/v1/blocks/0")
    #expect(genesis.height == 0 && genesis.parentHash == .zero && genesis.transactionCount == 0)
    #expect(genesis.transactionHashes.isEmpty)
    let byHeight: BlockJSON = try await api.get("/v1/blocks/\(a0Height)")
    #expect(byHeight.height == a0Height)
    #expect(byHeight.transactionHashes.contains(a0.hash))
    #expect(byHeight.transactionCount == byHeight.transactionHashes.count)
    #expect(byHeight.transactionHashes[Int(committed[a0.hash]!.index!)] == a0.hash)
    let byHash: BlockJSON = try await api.get("/v1/blocks/\(byHeight.hash.hex)")
    #expect(byHash == byHeight)
    let parent: BlockJSON = try await api.get("/v1/blocks/\(a0Height - 1)")
    #expect(byHeight.parentHash == parent.hash)
    #expect(byHeight.parentStateRoot == parent.stateRoot)
    let full: BlockJSON = try await api.get("/v1/blocks/\(a0Height)?full=true")
    #expect(full.hash == byHeight.hash)
    let fullTransactions = try #require(full.transactions)
    let fullReceipts = try #require(full.receipts)
    #expect(fullTransactions.count == full.transactionCount && fullReceipts.count == full.transactionCount)
    let a0Index = Int(committed[a0.hash]!.index!)
    #expect(fullTransactions[a0Index] == TransactionJSON(a0))
    #expect(fullReceipts[a0Index] == committed[a0.hash]!.receipt)
    let beyond = try await api.get("/v1/blocks/\(latest.height + 1_000_000)")
    #expect(beyond.status == 404, "\(beyond.text)")
    #expect((try? beyond.decode(ErrorJSON.self))?.code == "not_found")

    // Receipts carry their events; a receipt is proven against the next header's receipts root.
    guard case .transfer(let a0To, let a0Amount) = a0.payload else { throw TestFailure("a0 is a transfer") }
    #expect(
        committed[a0.hash]!.receipt!.events == [EventJSON(.transfer(from: alice.address, to: a0To, amount: a0Amount))])
    #expect(try await eventually { chain.node.store.head!.height > a0Height })
    let receiptProof: ReceiptProofJSON = try await api.get("/v1/transactions/\(a0.hash.hex)/proof")
    let verified = try receiptProof.verify(transaction: a0.hash)
    #expect(verified.header.height == a0Height + 1 && receiptProof.height == a0Height)
    #expect(verified.receipt?.transactionHash == a0.hash && verified.events.map(\.kind) == [.transfer])
    let next: BlockJSON = try await api.get("/v1/blocks/\(a0Height + 1)")
    #expect(verified.headerHash == next.hash && next.parentReceiptsRoot == verified.header.parentReceiptsRoot)
    #expect(throws: CoreError.self) { try receiptProof.verify(transaction: b0.hash) }
    var tampered = receiptProof
    tampered.path[0] = Hash.sha256(Array("not a sibling".utf8))
    if receiptProof.path.isEmpty { tampered.index = 1 }
    #expect(throws: CoreError.self) { try tampered.verify(transaction: a0.hash) }
    let blockEnd: ReceiptProofJSON = try await api.get(
        "/v1/blocks/\(a0Height)/receipts/\(receiptProof.leafCount - 1)/proof")
    #expect(try blockEnd.verify().receipt == nil)
    #expect(blockEnd.blockEvents?.first?.kind == "fees.collected")
    let noEntry = try await api.get("/v1/blocks/\(a0Height)/receipts/\(receiptProof.leafCount)/proof")
    #expect(noEntry.status == 404, "\(noEntry.text)")
    let notCommitted = try await api.get("/v1/transactions/\(Hash.sha256(Array("never sent".utf8)).hex)/proof")
    #expect(notCommitted.status == 404)

    // State proofs: an inclusion proof for a present account, a non-inclusion proof for an absent one,
    // and a proof against an older root.
    let proof: StateProofJSON = try await api.get("/v1/state/proof/\(alice.address.hex)")
    let aliceProof = try proof.stateProof()
    #expect(aliceProof.verify())
    #expect(aliceProof.key == .account(alice.address))
    #expect(aliceProof.value == .account(AccountState(balance: aliceAfter.balance, sequence: 3)))
    #expect(aliceProof.valueHash != nil)
    let proofBlock: BlockJSON = try await api.get("/v1/blocks/\(proof.height)")
    #expect(aliceProof.verify(against: proofBlock.stateRoot))
    let absent: StateProofJSON = try await api.get("/v1/state/proof/\(stranger.hex)")
    let absentProof = try absent.stateProof()
    #expect(absentProof.value == nil && absentProof.valueHash == nil)
    #expect(absentProof.verify())
    let old: StateProofJSON = try await api.get("/v1/state/proof/\(alice.address.hex)?height=0")
    let oldProof = try old.stateProof()
    #expect(oldProof.height == 0 && oldProof.root == genesis.stateRoot)
    #expect(oldProof.valueHash != nil)
    #expect(oldProof.verify(against: genesis.stateRoot))
    // The proof is not just any proof: another key's value under the same root does not verify.
    var forged = aliceProof
    forged.value = .account(AccountState(balance: Amount(initialBalance * 2), sequence: 3))
    #expect(!forged.verify())

    // Stop the node so the head holds still, then compare status and metrics with the chain.
    await chain.node.stop()
    let head = try #require(chain.store.head)
    var committedCount = 0
    for h in 1...head.height { committedCount += try #require(try chain.store.block(at: h)).transactions.count }
    #expect(committedCount == all.count)
    let status = try await api.status()
    #expect(status.height == head.height)
    #expect(status.headHash == head.blockHash)
    #expect(status.stateRoot == head.state.root)
    #expect(status.mempoolSize == 0 && status.mempoolSenders == 0)
    #expect(status.committedTransactions == UInt64(all.count))
    #expect(status.blockTimeMillis == 20)
    #expect(status.maxBlockSize == chain.node.configuration.maxBlockSize)
    let metrics = try await api.get("/metrics")
    #expect(metrics.status == 200)
    #expect(metrics.contentType?.hasPrefix("text/plain") == true)
    #expect(metric("sluice_block_height", in: metrics.text) == Double(head.height), "\(metrics.text)")
    #expect(metric("sluice_transactions_committed_total", in: metrics.text) == Double(all.count), "\(metrics.text)")
    #expect(metric("sluice_blocks_committed_total", in: metrics.text) == Double(head.height))
    #expect(metric("sluice_mempool_transactions", in: metrics.text) == 0)
    #expect(metric("sluice_mempool_accepted_total", in: metrics.text) == Double(all.count))
    #expect(metric("sluice_mempool_rejected_total", in: metrics.text) == 0)

    let openapi = try await api.get("/openapi.json")
    #expect(openapi.status == 200 && openapi.isJSON)
    let document = try JSONValue.parse(openapi.body)
    #expect(document["openapi"] == .string("3.1.0"))
    #expect(document["info"]?["version"] == .string(APIServer.version))

    let unknown = try await api.transaction(Hash.sha256(Array("no such transaction".utf8)))
    #expect(unknown.status == 404)
    #expect((try? unknown.decode(ErrorJSON.self))?.code == "not_found")
}

@Suite("Every route of the API")
struct RouteTests {
    @Test func everyRouteAnswers() async throws {
        let (alice, bob, carol) = (TestSender(), TestSender(), TestSender())
        try await withChain([alice, bob, carol]) { chain in
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                try await walkEveryRoute(chain, APIClient(client: client), alice: alice, bob: bob, carol: carol)
            }
        }
    }

    /// The state key forms the document names for `/v1/state/proof/{key}`: an account address and an
    /// encoded state key (72 hex digits), both one path segment.
    @Test func stateProofKeyForms() async throws {
        let alice = TestSender()
        try await withChain([alice]) { chain in
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let encodedKey = "0x" + Hex.encode(StateKey.account(alice.address).canonicalBytes)
                for key in [alice.address.hex, encodedKey] {
                    let reply = try await api.get("/v1/state/proof/\(key)")
                    #expect(reply.status == 200, "\(key): \(reply.status) \(reply.text)")
                    guard reply.status == 200 else { continue }
                    let proof = try reply.decode(StateProofJSON.self).stateProof()
                    #expect(proof.key == .account(alice.address) && proof.verify())
                }
            }
        }
    }

    /// The same transaction as JSON without `chainId` (the node's is assumed) and with an explicit one.
    @Test func chainIdMayBeOmittedInJSON() async throws {
        let alice = TestSender()
        try await withChain([alice]) { chain in
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client)
                let tx = alice.tx(0)
                var json = try JSONSerialization.jsonObject(with: Data(APIClient.json(tx))) as! [String: Any]
                json.removeValue(forKey: "chainId")
                let body = Array(try JSONSerialization.data(withJSONObject: json))
                let reply = try await api.send(.post, "/v1/transactions", body: body, contentType: "application/json")
                #expect(reply.status == 202, "\(reply.text)")
                #expect(try reply.decode(SubmitResultJSON.self).hash == tx.hash)
            }
        }
    }
}
