import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SluiceAPI
import SluiceCore
import SluiceServer
import Synchronization
import Testing

/// One HTTP exchange as the tests saw it.
struct Reply: Sendable {
    var method: HTTPRequest.Method
    /// The request path, without the query.
    var path: String
    var uri: String
    var status: Int
    var contentType: String?
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }

    var isJSON: Bool { contentType?.hasPrefix("application/json") == true }

    func decode<T: Decodable>(_: T.Type = T.self) throws -> T {
        do { return try APIJSON.decoder().decode(T.self, from: Data(body)) } catch {
            throw TestFailure("\(method) \(uri) → \(status): cannot decode \(T.self) from \(text): \(error)")
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Every exchange of a test, for checking them against the OpenAPI document afterwards.
final class ReplyLog: Sendable {
    private let replies = Mutex<[Reply]>([])
    func append(_ reply: Reply) { replies.withLock { $0.append(reply) } }
    var all: [Reply] { replies.withLock { $0 } }
}

/// The API as a client uses it, over any HummingbirdTesting client.
struct APIClient: Sendable {
    let client: any TestClientProtocol
    var log: ReplyLog? = nil

    func send(
        _ method: HTTPRequest.Method, _ uri: String, body: [UInt8]? = nil, contentType: String? = nil
    ) async throws -> Reply {
        var headers = HTTPFields()
        if let contentType { headers[.contentType] = contentType }
        let response = try await client.execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) })
        let reply = Reply(
            method: method, path: String(uri.prefix { $0 != "?" }), uri: uri, status: response.status.code,
            contentType: response.headers[.contentType], body: Array(response.body.readableBytesView))
        log?.append(reply)
        return reply
    }

    func get(_ uri: String) async throws -> Reply { try await send(.get, uri) }

    /// GETs `uri`, expects 200 and decodes the body.
    func get<T: Decodable>(_ uri: String, as _: T.Type = T.self, sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> T
    {
        let reply = try await get(uri)
        guard reply.status == 200 else {
            throw TestFailure("GET \(uri) → \(reply.status) \(reply.text), expected 200")
        }
        return try reply.decode(T.self)
    }

    // MARK: Transactions

    static func json(_ tx: Transaction) -> [UInt8] { Array(try! APIJSON.encoder().encode(TransactionJSON(tx))) }
    static func json(_ txs: [Transaction]) -> [UInt8] {
        Array(try! APIJSON.encoder().encode(txs.map(TransactionJSON.init)))
    }

    /// POST /v1/transactions with a JSON body.
    func submit(_ tx: Transaction) async throws -> Reply {
        try await send(.post, "/v1/transactions", body: Self.json(tx), contentType: "application/json")
    }

    /// POST /v1/transactions with the canonical binary body.
    func submitBinary(_ tx: Transaction) async throws -> Reply {
        try await send(.post, "/v1/transactions", body: tx.canonicalBytes, contentType: APIJSON.transactionMediaType)
    }

    /// POST /v1/transactions/batch with a JSON array.
    func submitBatch(_ txs: [Transaction]) async throws -> Reply {
        try await send(.post, "/v1/transactions/batch", body: Self.json(txs), contentType: "application/json")
    }

    /// POST /v1/transactions/batch with the canonical binary list.
    func submitBatchBinary(_ txs: [Transaction]) async throws -> Reply {
        try await send(
            .post, "/v1/transactions/batch", body: APIJSON.encodeBatch(txs), contentType: APIJSON.transactionsMediaType)
    }

    /// Submits and expects 202 pending.
    func submitAccepted(_ tx: Transaction, binary: Bool = false, sourceLocation: SourceLocation = #_sourceLocation)
        async throws
    {
        let reply = binary ? try await submitBinary(tx) : try await submit(tx)
        #expect(reply.status == 202, "\(reply.text)", sourceLocation: sourceLocation)
        let result = try reply.decode(SubmitResultJSON.self)
        #expect(result == SubmitResultJSON(hash: tx.hash, accepted: true), sourceLocation: sourceLocation)
    }

    func transaction(_ hash: Hash) async throws -> Reply { try await get("/v1/transactions/\(hash.hex)") }

    /// Polls GET /v1/transactions/{hash} until it says committed.
    func waitCommitted(_ hash: Hash, timeout: Duration = .seconds(15)) async throws -> TransactionStatusJSON {
        var last: Reply?
        let committed = try await eventually(timeout: timeout) {
            let reply = try await transaction(hash)
            last = reply
            return try reply.status == 200 && reply.decode(TransactionStatusJSON.self).status == "committed"
        }
        guard committed, let last else {
            throw TestFailure(
                "\(hash) not committed in \(timeout); last answer \(last?.status ?? 0) \(last?.text ?? "")")
        }
        return try last.decode()
    }

    // MARK: State

    func account(_ address: Address) async throws -> AccountInfoJSON {
        try await get("/v1/accounts/\(address.hex)")
    }

    func status() async throws -> StatusJSON { try await get("/v1/status") }

    /// Everything a rejection must leave alone, as the API shows it.
    func view(_ addresses: [Address]) async throws -> ChainView {
        var accounts: [AccountInfoJSON] = []
        for a in addresses { accounts.append(try await account(a)) }
        let status = try await status()
        return ChainView(
            accounts: accounts, mempoolSize: status.mempoolSize, mempoolSenders: status.mempoolSenders,
            height: status.height, headHash: status.headHash, stateRoot: status.stateRoot)
    }
}

/// Accounts (balance, sequence, pending count), mempool size and head, read through the API.
struct ChainView: Equatable, Sendable {
    var accounts: [AccountInfoJSON]
    var mempoolSize: Int
    var mempoolSenders: Int
    var height: UInt64
    var headHash: Hash
    var stateRoot: Hash
}

/// Sends a request that must be refused with `status` and `code`, and checks that the accounts in
/// `watching`, the mempool and the head are exactly as before. Returns the error body.
@discardableResult
func expectRejected(
    _ api: APIClient, watching: [Address], status: Int, code: String,
    sourceLocation: SourceLocation = #_sourceLocation, _ send: () async throws -> Reply
) async throws -> ErrorJSON? {
    let before = try await api.view(watching)
    let reply = try await send()
    let after = try await api.view(watching)
    #expect(reply.status == status, "\(reply.method) \(reply.uri): \(reply.text)", sourceLocation: sourceLocation)
    #expect(reply.isJSON, "content type \(reply.contentType ?? "none")", sourceLocation: sourceLocation)
    let error = try? reply.decode(ErrorJSON.self)
    #expect(error?.code == code, "\(reply.text)", sourceLocation: sourceLocation)
    #expect(error?.error.isEmpty == false, "an error says what went wrong", sourceLocation: sourceLocation)
    #expect(after == before, "a rejection changed the state", sourceLocation: sourceLocation)
    return error
}

/// The value of an unlabelled Prometheus sample, e.g. `sluice_block_height 12.0`.
func metric(_ name: String, in text: String) -> Double? {
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        let parts = line.split(separator: " ")
        if parts.count == 2, parts[0] == name { return Double(parts[1]) }
    }
    return nil
}
