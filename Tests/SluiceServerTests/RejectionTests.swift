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

/// The JSON of `tx` with `change` applied to its object form.
func editedJSON(_ tx: Transaction, _ change: (inout [String: Any]) -> Void) -> [UInt8] {
    var object = try! JSONSerialization.jsonObject(with: Data(APIClient.json(tx))) as! [String: Any]
    change(&object)
    return Array(try! JSONSerialization.data(withJSONObject: object))
}

/// Checks every error reply in `log` against the OpenAPI document: documented status, Error schema.
func expectDocumented(_ log: ReplyLog, _ server: APIServer, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let checker = try OpenAPIChecker(OpenAPIDocument.json)
    for reply in log.all {
        let problems = checker.problems(with: reply)
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }
}

@Suite("Every rejection, with its status and code, changes nothing")
struct RejectionTests {
    /// Requests the server refuses before or in the mempool, on a node that is not producing blocks (so
    /// the head holds still and any change would be the rejection's).
    @Test func malformedAndInvalidTransactionsAreRefused() async throws {
        let alice = TestSender()
        let poor = TestSender()
        let stranger = TestSender()
        let impostor = TestSender()
        var options = ChainOptions()
        options.mempool.perSenderLimit = 4
        try await withChain(funded: [(alice, initialBalance), (poor, 100)], options: options) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                let watching = [alice.address, poor.address, stranger.address, impostor.address, sink]
                func post(_ body: [UInt8], type: String = "application/json", to uri: String = "/v1/transactions")
                    async throws -> Reply
                {
                    try await api.send(.post, uri, body: body, contentType: type)
                }

                // Not a transaction at all.
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post(Array(#"{"sender": "0x"#.utf8))
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post([])
                }
                let missing = try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post(editedJSON(alice.tx(0)) { $0.removeValue(forKey: "sender") })
                }
                #expect(missing?.error.contains("sender") == true, "\(missing?.error ?? "")")
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post(editedJSON(alice.tx(0)) { $0["sequence"] = -1 })
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post(
                        editedJSON(alice.tx(0)) { $0["payload"] = ["type": "mint", "to": sink.hex, "amount": "1"] })
                }

                // Signatures: tampered, by another key, none.
                var tampered = alice.tx(0)
                tampered.authenticator!.signature[0] ^= 1
                try await expectRejected(api, watching: watching, status: 400, code: "bad_signature") {
                    try await api.submit(tampered)
                }
                var changedAfterSigning = alice.tx(0, amount: 5)
                changedAfterSigning.payload = .transfer(to: sink, amount: 5_000)
                try await expectRejected(api, watching: watching, status: 400, code: "bad_signature") {
                    try await api.submitBinary(changedAfterSigning)
                }
                let wrongKey = Transaction(
                    chainId: testChain, sender: alice.address, sequence: 0, gasLimit: 10, gasPrice: 1,
                    payload: .transfer(to: sink, amount: 1)
                ).signed(with: impostor.key)
                try await expectRejected(api, watching: watching, status: 400, code: "bad_signature") {
                    try await api.submit(wrongKey)
                }
                let unsigned = Transaction(
                    chainId: testChain, sender: alice.address, sequence: 0, gasLimit: 10, gasPrice: 1,
                    payload: .transfer(to: sink, amount: 1))
                try await expectRejected(api, watching: watching, status: 400, code: "bad_signature") {
                    try await api.submit(unsigned)
                }

                // Stateless rules.
                try await expectRejected(api, watching: watching, status: 400, code: "wrong_chain") {
                    try await api.submit(alice.tx(0, chainId: testChain + 1))
                }
                try await expectRejected(api, watching: watching, status: 400, code: "expired") {
                    try await api.submit(alice.tx(0, expiry: 1))
                }
                try await expectRejected(api, watching: watching, status: 400, code: "gas_limit_too_low") {
                    try await api.submit(alice.tx(0, gasLimit: 9))
                }
                try await expectRejected(api, watching: watching, status: 400, code: "gas_price_too_low") {
                    try await api.submit(alice.tx(0, gasPrice: 0))
                }

                // Rules that read the state.
                try await expectRejected(api, watching: watching, status: 400, code: "unknown_sender") {
                    try await api.submit(stranger.tx(0))
                }
                try await expectRejected(api, watching: watching, status: 400, code: "sequence_too_far_ahead") {
                    try await api.submit(alice.tx(64))
                }
                // gasLimit × gasPrice = 110 > 100.
                try await expectRejected(api, watching: watching, status: 400, code: "fee_unpayable") {
                    try await api.submit(poor.tx(0, gasPrice: 11))
                }
                // Exactly the balance is payable; then nothing more is.
                try await api.submitAccepted(poor.tx(0, gasPrice: 10))
                try await expectRejected(api, watching: watching, status: 400, code: "fee_unpayable") {
                    try await api.submit(poor.tx(1))
                }

                // The edge of the window is inside it (it waits for sequences 0…62).
                try await api.submitAccepted(alice.tx(63))

                // Conflicts with what is queued.
                let a0 = alice.tx(0, gasPrice: 10)
                try await api.submitAccepted(a0)
                try await expectRejected(api, watching: watching, status: 409, code: "duplicate") {
                    try await api.submit(a0)
                }
                try await expectRejected(api, watching: watching, status: 409, code: "duplicate") {
                    try await api.submitBinary(a0)
                }
                try await expectRejected(api, watching: watching, status: 409, code: "underpriced") {
                    try await api.submit(alice.tx(0, amount: 2, gasPrice: 10))
                }
                try await api.submitAccepted(alice.tx(1))
                try await api.submitAccepted(alice.tx(2))
                try await expectRejected(api, watching: watching, status: 429, code: "sender_limit") {
                    try await api.submit(alice.tx(3))
                }

                // Malformed paths.
                for uri in [
                    "/v1/accounts/xyz", "/v1/accounts/0x1234", "/v1/transactions/xyz", "/v1/blocks/xyz",
                    "/v1/blocks/-1", "/v1/state/proof/xyz", "/v1/state/proof/\(alice.address.hex)?height=abc",
                ] {
                    try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                        try await api.get(uri)
                    }
                }
                try await expectRejected(api, watching: watching, status: 404, code: "not_found") {
                    try await api.get("/v1/state/proof/\(alice.address.hex)?height=99")
                }

                // Unknown routes answer JSON too.
                for (method, uri) in [
                    (HTTPRequest.Method.get, "/v1/nothing"), (.get, "/"),
                    (.delete, "/v1/accounts/\(alice.address.hex)"),
                    (.get, "/v1/transactions/batch/extra"),
                ] {
                    let reply = try await api.send(method, uri)
                    #expect([404, 405].contains(reply.status), "\(method) \(uri): \(reply.status) \(reply.text)")
                    #expect(reply.isJSON)
                    let error = try? reply.decode(ErrorJSON.self)
                    #expect(["not_found", "method_not_allowed"].contains(error?.code ?? ""), "\(reply.text)")
                }
                let nothing = try await expectRejected(api, watching: watching, status: 404, code: "not_found") {
                    try await api.get("/v1/nothing")
                }
                #expect(nothing?.error.contains("/openapi.json") == true)

                // Wrong binary encodings.
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post([1, 2, 3], type: APIJSON.transactionMediaType)
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post(alice.tx(3).canonicalBytes + [0], type: APIJSON.transactionMediaType)
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post(Array(alice.tx(3).canonicalBytes.dropLast()), type: APIJSON.transactionMediaType)
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    // JSON sent as binary.
                    try await post(APIClient.json(alice.tx(3)), type: APIJSON.transactionMediaType)
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    // Binary sent as JSON.
                    try await post(alice.tx(3).canonicalBytes, type: "application/json")
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    // A count of 2 and one transaction.
                    var body = APIJSON.encodeBatch([alice.tx(3)])
                    body[0] = 2
                    return try await post(body, type: APIJSON.transactionsMediaType, to: "/v1/transactions/batch")
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post([0xff, 0xff], type: APIJSON.transactionsMediaType, to: "/v1/transactions/batch")
                }

                // Empty and malformed batches.
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post(Array("[]".utf8), to: "/v1/transactions/batch")
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post(
                        APIJSON.encodeBatch([]), type: APIJSON.transactionsMediaType, to: "/v1/transactions/batch")
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await post(APIClient.json(alice.tx(3)), to: "/v1/transactions/batch")  // an object, not a list
                }
                let badItem = try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    var items = [
                        Array(APIClient.json(alice.tx(3))),
                        editedJSON(alice.tx(4)) { $0.removeValue(forKey: "gasLimit") },
                    ]
                    let body =
                        Array("[".utf8) + items.removeFirst() + Array(",".utf8) + items.removeFirst() + Array("]".utf8)
                    return try await post(body, to: "/v1/transactions/batch")
                }
                #expect(
                    badItem?.error.contains("1") == true && badItem?.error.contains("gasLimit") == true,
                    "\(badItem?.error ?? "")")
            }
            try expectDocumented(log, chain.server)
        }
    }

    /// Bodies over the limits are refused with 413 before anything is decoded.
    @Test func oversizedBodiesAreRefused() async throws {
        let alice = TestSender()
        var options = ChainOptions()
        options.limits = APIServer.Limits(transactionBody: 1024, batchBody: 4096, batchCount: 3)
        // Small enough that an ML-DSA-65 transaction (about 5 KB) is over it, large enough for Ed25519.
        options.mempool.maxTransactionBytes = 1000
        let big = TestSender(.mlDsa65)
        try await withChain([alice, big], options: options) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                let watching = [alice.address, big.address]
                let tx = alice.tx(0)
                let padded = APIClient.json(tx) + [UInt8](repeating: UInt8(ascii: " "), count: 2000)
                try await expectRejected(api, watching: watching, status: 413, code: "body_too_large") {
                    try await api.send(.post, "/v1/transactions", body: padded, contentType: "application/json")
                }
                try await expectRejected(api, watching: watching, status: 413, code: "body_too_large") {
                    try await api.submitBinary(big.tx(0))
                }
                try await expectRejected(api, watching: watching, status: 413, code: "body_too_large") {
                    try await api.submitBatch((0..<20).map { alice.tx($0) })
                }
                // Over the count limit but under the byte limit.
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await api.submitBatchBinary((0..<4).map { alice.tx($0) })
                }
                try await expectRejected(api, watching: watching, status: 400, code: "bad_request") {
                    try await api.submitBatch((0..<4).map { alice.tx($0) })
                }
                // The body limit is the server's; the transaction size limit is the mempool's.
                let server = APIServer(node: chain.node)
                let app = Application(router: server.router())
                try await app.test(.router) { client in
                    let unlimited = APIClient(client: client, log: log)
                    try await expectRejected(unlimited, watching: watching, status: 413, code: "oversized") {
                        try await unlimited.submitBinary(big.tx(0))
                    }
                }
                // Just under the limits is fine.
                try await api.submitAccepted(tx)
                let three = try await api.submitBatchBinary((1..<4).map { alice.tx($0) })
                #expect(three.status == 200, "\(three.text)")
                #expect(try three.decode(BatchResultJSON.self).accepted == 3)
            }
            try expectDocumented(log, chain.server)
        }
    }

    /// A transaction replayed after it was committed is too old, and so is any other with its sequence.
    @Test func replayAfterCommitIsRefused() async throws {
        let alice = TestSender()
        try await withChain([alice]) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                let tx = alice.tx(0, amount: 500)
                try await api.submitAccepted(tx)
                try await expectRejected(api, watching: [alice.address, sink], status: 409, code: "duplicate") {
                    try await api.submit(tx)
                }
                chain.node.start()
                _ = try await api.waitCommitted(tx.hash)
                await chain.node.stop()
                let watching = [alice.address, sink]
                let after = try await api.account(alice.address)
                #expect(after.sequence == 1)
                try await expectRejected(api, watching: watching, status: 400, code: "sequence_too_old") {
                    try await api.submit(tx)
                }
                try await expectRejected(api, watching: watching, status: 400, code: "sequence_too_old") {
                    try await api.submitBinary(alice.tx(0, amount: 7, gasPrice: 50))
                }
                // The committed transaction is still reported committed, not pending again.
                #expect(try await api.waitCommitted(tx.hash).receipt?.status == .success)
            }
            try expectDocumented(log, chain.server)
        }
    }

    /// A batch answers per transaction: good ones are queued, bad ones carry their codes and change nothing.
    @Test(arguments: [false, true]) func mixedBatch(binary: Bool) async throws {
        let (good1, good2, forged, other, poor) = (TestSender(), TestSender(), TestSender(), TestSender(), TestSender())
        let stranger = TestSender()
        try await withChain(
            funded: [
                (good1, initialBalance), (good2, initialBalance), (forged, initialBalance), (other, initialBalance),
                (poor, 5),
            ]
        ) { chain in
            let log = ReplyLog()
            let app = Application(router: chain.server.router())
            try await app.test(.router) { client in
                let api = APIClient(client: client, log: log)
                var badSignature = forged.tx(0)
                badSignature.authenticator!.signature[5] ^= 0x80
                let g1 = good1.tx(0)
                let g2 = good2.tx(0, gasPrice: 4)
                let g1next = good1.tx(1)
                let strangerTx = stranger.tx(0)
                let poorTx = poor.tx(0)
                let txs = [
                    g1, badSignature, other.tx(0, chainId: 99), g2, strangerTx, poorTx, other.tx(0, expiry: 2),
                    g1, other.tx(100), g1next,
                ]
                let bad = [forged.address, other.address, stranger.address, poor.address]
                let before = try await api.view(bad)
                let reply = binary ? try await api.submitBatchBinary(txs) : try await api.submitBatch(txs)
                #expect(reply.status == 200, "\(reply.text)")
                let result = try reply.decode(BatchResultJSON.self)
                #expect(result.results.map(\.hash) == txs.map(\.hash))
                #expect(
                    result.results.map(\.accepted) == [
                        true, false, false, true, false, false, false, false, false, true,
                    ])
                #expect(
                    result.results.map { $0.code ?? "-" } == [
                        "-", "bad_signature", "wrong_chain", "-", "unknown_sender", "fee_unpayable", "expired",
                        "duplicate", "sequence_too_far_ahead", "-",
                    ])
                #expect(result.results.allSatisfy { $0.accepted == ($0.error == nil) })
                #expect(result.results.allSatisfy { $0.status == ($0.accepted ? "pending" : "rejected") })
                #expect(result.accepted == 3 && result.rejected == 7)

                // The bad senders are as before; only the good ones have pending transactions.
                let after = try await api.view(bad)
                #expect(after.accounts == before.accounts)
                #expect(after.mempoolSize == before.mempoolSize + 3)
                #expect(try await api.account(good1.address).pending == 2)
                #expect(try await api.account(good2.address).pending == 1)
                for tx in [g1, g2, g1next] {
                    #expect(try await api.transaction(tx.hash).decode(TransactionStatusJSON.self).status == "pending")
                }
                for tx in [badSignature, strangerTx, poorTx] {
                    #expect(try await api.transaction(tx.hash).status == 404)
                }
            }
            try expectDocumented(log, chain.server)
        }
    }
}
