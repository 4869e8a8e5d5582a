import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import SluiceAPI
public import SluiceCore

// A typed client of a node's HTTP API (`/v1/…`, described by `openapi.json`). Transactions travel in
// their canonical binary encoding, the form the node hashes and checks signatures over, so what the
// node admits is byte for byte what was signed. Answers are the API's JSON shapes from `SluiceAPI`.
//
// A CLI talks to one node a few times and exits, so a node that is not running must be reported at
// once: the HTTP client does not retry refused connections (AsyncHTTPClient's shared client retries
// them until its 90-second connect timeout), and every request has a deadline.

/// A client of one node's HTTP API.
public struct SluiceClient: Sendable {
    /// The node's base URL, `http://host:port`.
    public let baseURL: String
    let node: NodeURL
    let http: HTTPClient
    /// How long one request may take, connecting and reading the answer included.
    public var requestTimeout: Duration = .seconds(30)
    /// The largest response body read; a larger one is an error.
    public var maxResponseBytes = 64 << 20

    /// A client of the node at `baseURL`, which must be `http://host:port` (a trailing `/` is allowed).
    public init(baseURL: String) throws(ClientError) {
        node = try NodeURL(baseURL)
        self.baseURL = node.http
        http = nodeHTTPClient
    }

    // MARK: Reads

    /// `GET /v1/status`: the chain id, the head and the mempool.
    public func status() async throws(ClientError) -> StatusJSON {
        try await get("/v1/status", as: StatusJSON.self)
    }

    /// `GET /v1/accounts/{address}`: balance, sequence and queued transactions of an account (zero for
    /// an address never seen).
    public func account(_ address: Address) async throws(ClientError) -> AccountInfoJSON {
        try await get("/v1/accounts/\(address.hex)", as: AccountInfoJSON.self)
    }

    /// `GET /v1/transactions/{hash}`: pending or committed (with its receipt), or nil when the node knows
    /// nothing of it.
    public func transaction(_ hash: Hash) async throws(ClientError) -> TransactionStatusJSON? {
        try await get("/v1/transactions/\(hash.hex)", as: TransactionStatusJSON.self, nilOnNotFound: true)
    }

    /// `GET /v1/transactions/{hash}/proof`: the committed transaction's receipt and its path to the receipts
    /// root in the next block's header, or nil while that header does not exist (or the transaction is not
    /// committed). Not verified here: call `verify(transaction:)` on the result.
    public func receiptProof(transaction hash: Hash) async throws(ClientError) -> ReceiptProofJSON? {
        try await get("/v1/transactions/\(hash.hex)/proof", as: ReceiptProofJSON.self, nilOnNotFound: true)
    }

    /// `GET /v1/blocks/{height|latest}`: a block (`height` nil: the head), or nil when there is none at
    /// that height. `full` adds the transactions and receipts.
    public func block(height: UInt64?, full: Bool = false) async throws(ClientError) -> BlockJSON? {
        let path = "/v1/blocks/\(height.map(String.init) ?? "latest")" + (full ? "?full=true" : "")
        return try await get(path, as: BlockJSON.self, nilOnNotFound: true)
    }

    /// `GET /v1/state/proof/{key}`: a value of the state with its Merkle proof against the state root of
    /// block `height` (nil: the head). `key` is an address, `bank/account/0x…`, or an encoded state key
    /// in hex; it is checked here and sent in a form that fits one path segment.
    ///
    /// The proof is not verified here: call `stateProof().verify()` on the result.
    public func proof(key: String, height: UInt64? = nil) async throws(ClientError) -> StateProofJSON {
        let stateKey: StateKey
        do { stateKey = try parseStateKey(key) } catch { throw ClientError(describe(error)) }
        let segment =
            stateKey.space == .bankAccount ? stateKey.id.hex : "0x" + Hex.encode(stateKey.canonicalBytes)
        let path = "/v1/state/proof/\(segment)" + (height.map { "?height=\($0)" } ?? "")
        return try await get(path, as: StateProofJSON.self)
    }

    // MARK: Submission

    /// `POST /v1/transactions` (binary body): the transaction is in the mempool when this returns. A
    /// rejection throws the mempool's code (`sequence_too_old`, `fee_unpayable`, …) and its advice.
    public func submit(_ tx: Transaction) async throws(ClientError) -> SubmitResultJSON {
        let result = try await post(
            "/v1/transactions", body: tx.canonicalBytes, contentType: APIJSON.transactionMediaType,
            as: SubmitResultJSON.self)
        if !result.accepted {
            throw ClientError(
                result.error ?? "the node rejected transaction \(result.hash.hex)", code: result.code ?? "rejected")
        }
        return result
    }

    /// `POST /v1/transactions/batch` (binary body): one result per transaction, in order; rejections are
    /// in the results, not thrown.
    public func submitBatch(_ txs: [Transaction]) async throws(ClientError) -> BatchResultJSON {
        try await post(
            "/v1/transactions/batch", body: APIJSON.encodeBatch(txs), contentType: APIJSON.transactionsMediaType,
            as: BatchResultJSON.self)
    }

    /// Polls the transaction about every 100 ms until it is committed, and returns it with its receipt.
    /// Throws when `timeout` passes first, saying whether it was still pending or unknown to the node.
    public func waitForCommit(_ hash: Hash, timeout: Duration = .seconds(30)) async throws(ClientError)
        -> TransactionStatusJSON
    {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var last: TransactionStatusJSON? = nil
        while true {
            last = try await transaction(hash)
            if let last, last.status == "committed" { return last }
            guard clock.now < deadline else { break }
            do { try await Task.sleep(for: .milliseconds(100)) } catch {
                throw ClientError("stopped waiting for transaction \(hash.hex): the task was cancelled")
            }
        }
        let state: String
        if let last, last.status == "pending" {
            let sender = last.transaction.map { " (`sluice account show \($0.sender.hex)`)" } ?? ""
            state =
                "still pending in the mempool: is an earlier sequence of its sender missing\(sender), or is the node not producing blocks (`sluice status`)?"
        } else {
            state = "unknown to the node: never admitted, or dropped from the mempool (`sluice tx show \(hash.hex)`)"
        }
        throw ClientError("transaction \(hash.hex) was not committed within \(timeout): it is \(state)")
    }

    // MARK: Requests

    /// `GET path` decoded as `T`; nil on 404 when `nilOnNotFound`, else a 404 throws the node's error.
    func get<T: Decodable>(_ path: String, as type: T.Type, nilOnNotFound: Bool) async throws(ClientError) -> T? {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        let (status, body) = try await execute(request, path: path)
        if status == 404 && nilOnNotFound { return nil }
        return try decode(type, status: status, body: body, path: path)
    }

    /// `GET path` decoded as `T`; any error answer throws.
    func get<T: Decodable>(_ path: String, as type: T.Type) async throws(ClientError) -> T {
        guard let value = try await get(path, as: type, nilOnNotFound: false) else {
            throw ClientError("GET \(path): no answer")  // unreachable: a 404 throws when not `nilOnNotFound`
        }
        return value
    }

    func post<T: Decodable>(_ path: String, body: [UInt8], contentType: String, as type: T.Type)
        async throws(ClientError) -> T
    {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: contentType)
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let (status, data) = try await execute(request, path: path)
        return try decode(type, status: status, body: data, path: path)
    }

    /// Sends a request and reads the whole answer, turning transport failures into advice.
    func execute(_ request: HTTPClientRequest, path: String, limit: Int? = nil) async throws(ClientError) -> (
        Int, Data
    ) {
        let maxResponseBytes = limit ?? self.maxResponseBytes
        let timeout = TimeAmount.nanoseconds(
            requestTimeout.components.seconds * 1_000_000_000 + requestTimeout.components.attoseconds / 1_000_000_000)
        do {
            let response = try await http.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: maxResponseBytes)
            return (Int(response.status.code), Data(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            throw ClientError(
                "\(request.method) \(path): the node's answer is over \(maxResponseBytes) bytes; ask for less")
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            throw ClientError(
                "\(request.method) \(path): the node at \(baseURL) did not answer within \(requestTimeout): is it overloaded or stuck?"
            )
        } catch is CancellationError {
            throw ClientError("\(request.method) \(path): cancelled")
        } catch let error as HTTPClientError where error == .cancelled {
            throw ClientError("\(request.method) \(path): cancelled")
        } catch {
            throw ClientError(
                "cannot reach the node at \(baseURL): is `sluice devnet` running? (\(transportReason(error)))")
        }
    }

    /// Decodes a 2xx answer as `T`; any other answer becomes the node's error (`ErrorJSON`), or a
    /// description of what came back.
    func decode<T: Decodable>(_ type: T.Type, status: Int, body: Data, path: String) throws(ClientError)
        -> T
    {
        let decoder = APIJSON.decoder()
        guard (200..<300).contains(status) else {
            if let error = try? decoder.decode(ErrorJSON.self, from: body) {
                throw ClientError(error.error, code: error.code, status: status)
            }
            if let result = try? decoder.decode(SubmitResultJSON.self, from: body), let message = result.error {
                throw ClientError(message, code: result.code, status: status)
            }
            let text = String(decoding: body.prefix(300), as: UTF8.self)
            throw ClientError(
                "\(path): the node answered HTTP \(status)\(text.isEmpty ? "" : ": \(text)")", status: status)
        }
        do {
            return try decoder.decode(type, from: body)
        } catch {
            throw ClientError(
                "\(path): the node's answer is not a valid \(T.self) (\(describe(error))); is the node the same version as this client?",
                status: status)
        }
    }
}

/// A short reason for a transport failure: the system's words for a refused connection rather than
/// NIO's list of every address tried.
func transportReason(_ error: any Error) -> String {
    if let error = error as? HTTPClientError, error == .connectTimeout {
        return "connecting timed out"
    }
    if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
    let text = "\(error)"
    if text.contains("Connection refused") || text.contains("ECONNREFUSED") { return "connection refused" }
    return text
}

/// The HTTP client of every `SluiceClient`: no retries of refused connections, a short connect timeout.
/// It lives as long as the process, like `HTTPClient.shared`, and is never shut down.
let nodeHTTPClient: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.redirectConfiguration = .disallow
    configuration.decompression = .disabled
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()
