import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
public import Logging
import NIOCore
import Prometheus
import ServiceLifecycle
import SluiceAPI
import SluiceCore
public import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceStorage

/// The node's HTTP + WebSocket API (Hummingbird 2). Build the application with `application(…)` and run
/// it as a service; tests drive `router()` in process with HummingbirdTesting.
public struct APIServer: Sendable {
    public struct Limits: Sendable {
        /// The largest request body of `POST /v1/transactions`.
        public var transactionBody: Int
        /// The largest request body of `POST /v1/transactions/batch`.
        public var batchBody: Int
        /// The most transactions in one batch.
        public var batchCount: Int
        /// The most blob uploads at once, and the most bytes they may declare between them (an upload
        /// without a Content-Length counts as the largest blob).
        public var concurrentUploads: Int
        public var uploadBytesInFlight: Int64
        /// How often blobs no job needs are looked for and removed.
        public var blobSweepInterval: Duration

        public init(
            transactionBody: Int = 64 * 1024, batchBody: Int = 32 << 20, batchCount: Int = 20_000,
            concurrentUploads: Int = 4, uploadBytesInFlight: Int64 = 512 << 20,
            blobSweepInterval: Duration = .seconds(60)
        ) {
            self.transactionBody = transactionBody
            self.batchBody = batchBody
            self.batchCount = batchCount
            self.concurrentUploads = concurrentUploads
            self.uploadBytesInFlight = uploadBytesInFlight
            self.blobSweepInterval = blobSweepInterval
        }
    }

    public static let version = "0.2.0"

    public let node: Node
    public let limits: Limits
    /// Job bundles and results (`/v1/blobs`); nil: the node serves none.
    public let blobs: BlobStore?
    /// Timeouts and head limits of HTTP connections (ConnectionGuard.swift).
    public let connections: Connections
    let metrics: NodeMetrics
    let uploads: UploadGate
    let events: EventBudget
    let sharedEncodings = SharedEventEncodings()

    public init(
        node: Node, limits: Limits = Limits(), blobs: BlobStore? = nil, connections: Connections = Connections(),
        eventLimits: EventLimits = EventLimits()
    ) {
        self.node = node
        self.limits = limits
        self.blobs = blobs
        self.connections = connections
        uploads = UploadGate(concurrent: limits.concurrentUploads, inFlightBytes: limits.uploadBytesInFlight)
        events = EventBudget(limits: eventLimits)
        let metrics = NodeMetrics()
        metrics.height.set(Double(node.store.head?.height ?? 0))
        self.metrics = metrics
        node.observe { metrics.record($0) }
    }

    /// The application on `host:port` (127.0.0.1 by default: the API is not meant for the open network),
    /// with its connection guards and, when the node keeps blobs, the sweep of those no job needs.
    public func application(
        host: String = "127.0.0.1", port: Int, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = router()
        let webSocketResponder = router.buildResponder()
        let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
            http1: connections.http1(),
            ws: WebSocketServerConfiguration(autoPing: .enabled(timePeriod: .seconds(20))))
        let connections = self.connections
        let server = HTTPServerBuilder { responder in
            GuardedChildChannel(
                inner: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder, configuration: configuration),
                connections: connections)
        }
        var services: [any Service] = []
        if blobs != nil {
            services.append(BlobSweeper(server: self, interval: limits.blobSweepInterval, logger: logger))
        }
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "sluice/\(Self.version)"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Every route of the API.
    public func router() -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: RequestCountMiddleware(metrics: metrics))
        let api = self
        router.post("/v1/transactions") { request, context in try await api.submitOne(request, context) }
        router.post("/v1/transactions/batch") { request, context in try await api.submitBatch(request, context) }
        router.get("/v1/transactions/:hash") { _, context in try api.transaction(context) }
        router.get("/v1/transactions/:hash/proof") { _, context in try api.transactionProof(context) }
        router.get("/v1/blocks/:height/receipts/:index/proof") { _, context in try api.receiptProof(context) }
        router.get("/v1/accounts/:address") { _, context in try api.account(context) }
        router.get("/v1/blocks/:height") { request, context in try api.block(request, context) }
        router.get("/v1/state/proof/:key") { request, context in try api.proof(request, context) }
        router.get("/v1/status") { _, _ in jsonResponse(api.status()) }
        addMarketRoutes(to: router)
        addBlobRoutes(to: router)
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(
                        bytes: api.metrics.render(node: api.node, blobs: api.blobs, events: api.events))))
        }
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.json)))
        }
        router.ws("/v1/events") { request, _ in
            // The same route answers plain HTTP: without an upgrade it would be an empty 200.
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                throw APIError.badRequest(
                    "/v1/events is a WebSocket: connect with a WebSocket client (ws://…/v1/events)")
            }
            // Refuse a bad filter before upgrading, so the client gets a clear HTTP error.
            let parameters = request.uri.queryParameters
            _ = try EventFilter { parameters.get($0) }
            _ = try EventStart(request.uri.queryParameters.get("from"), head: api.node.store.head?.height ?? 0)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let query = context.request.uri.queryParameters
            let filter = try EventFilter { query.get($0) }
            let start = try EventStart(query.get("from"), head: api.node.store.head?.height ?? 0)
            try await api.streamEvents(
                filter: filter, start: start, inbound: inbound, outbound: outbound,
                channel: context.requestContext.channel)
        }
        return router
    }

    // MARK: Transactions

    func submitOne(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let body = try await collect(request, limit: limits.transactionBody)
        let tx: Transaction
        if isBinary(request, APIJSON.transactionMediaType) {
            do { tx = try Transaction(canonicalBytes: body) } catch {
                throw APIError.badRequest("the body is not a canonical transaction: \(error.message)")
            }
        } else {
            let json: TransactionJSON
            do { json = try APIJSON.decoder().decode(TransactionJSON.self, from: Data(body)) } catch {
                throw APIError.badRequest("the body is not a transaction: \(describe(error))")
            }
            do { tx = try json.transaction(defaultChainId: node.store.chainId) } catch {
                throw APIError.badRequest(error.message)
            }
        }
        let result = await node.submit([tx])[0]
        count([result])
        if let rejection = result.rejection {
            throw APIError(Self.status(of: rejection), code: rejection.code, rejection.message)
        }
        return jsonResponse(SubmitResultJSON(hash: result.hash, accepted: true), status: .accepted)
    }

    func submitBatch(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let body = try await collect(request, limit: limits.batchBody)
        var txs: [Transaction]
        if isBinary(request, APIJSON.transactionsMediaType) {
            do { txs = try APIJSON.decodeBatch(body, max: limits.batchCount) } catch {
                throw APIError.badRequest("the body is not a canonical list of transactions: \(error.message)")
            }
        } else {
            let json: [TransactionJSON]
            do { json = try APIJSON.decoder().decode([TransactionJSON].self, from: Data(body)) } catch {
                throw APIError.badRequest(
                    "the body is not a list of transactions: \(describe(error, item: "transaction"))")
            }
            guard json.count <= limits.batchCount else {
                throw APIError.badRequest("\(json.count) transactions in one batch: the limit is \(limits.batchCount)")
            }
            txs = []
            txs.reserveCapacity(json.count)
            for (i, t) in json.enumerated() {
                do { txs.append(try t.transaction(defaultChainId: node.store.chainId)) } catch {
                    throw APIError.badRequest("transaction \(i), \(error.message)")
                }
            }
        }
        guard !txs.isEmpty else { throw APIError.badRequest("the batch is empty") }
        let results = await node.submit(txs)
        count(results)
        return jsonResponse(
            BatchResultJSON(
                results: results.map { r in
                    SubmitResultJSON(
                        hash: r.hash, accepted: r.isAccepted, code: r.rejection?.code, error: r.rejection?.message)
                }))
    }

    private func count(_ results: [AdmissionResult]) {
        let accepted = results.lazy.filter(\.isAccepted).count
        metrics.accepted.increment(by: Int64(accepted))
        metrics.rejected.increment(by: Int64(results.count - accepted))
    }

    /// The HTTP status of a mempool rejection: the client's fault (400), a conflict with what is
    /// already queued (409), or the node's capacity (429, 503).
    static func status(of rejection: MempoolRejection) -> HTTPResponse.Status {
        switch rejection.code {
        case "duplicate", "underpriced": .conflict
        case "sender_limit": .tooManyRequests
        case "mempool_full": .serviceUnavailable
        case "oversized": .contentTooLarge
        default: .badRequest
        }
    }

    func transaction(_ context: APIRequestContext) throws -> Response {
        let hash = try parseHash(context.parameters.get("hash") ?? "", what: "transaction hash")
        if let pending = node.mempool.transaction(hash) {
            return jsonResponse(
                TransactionStatusJSON(hash: hash, status: "pending", transaction: TransactionJSON(pending)))
        }
        let store = node.store
        guard let (height, index) = try store.location(ofTransaction: hash),
            let block = try store.block(at: height), Int(index) < block.transactions.count,
            let receipt = try store.receipt(height: height, index: index)
        else {
            throw APIError.notFound("transaction \(hash.hex) is neither pending nor committed")
        }
        return jsonResponse(
            TransactionStatusJSON(
                hash: hash, status: "committed", transaction: TransactionJSON(block.transactions[Int(index)]),
                blockHeight: height, index: index, receipt: ReceiptJSON(index: Int(index), receipt)))
    }

    /// The receipt of a committed transaction with its path to the receipts root in the next header.
    func transactionProof(_ context: APIRequestContext) throws -> Response {
        let hash = try parseHash(context.parameters.get("hash") ?? "", what: "transaction hash")
        guard let (height, index) = try node.store.location(ofTransaction: hash) else {
            throw APIError.notFound(
                "transaction \(hash.hex) is not committed (GET /v1/transactions/{hash} tells if it is pending)")
        }
        return jsonResponse(try receiptProof(height: height, index: Int(index)))
    }

    /// Entry `index` of block `height`'s receipts (the block-end receipt is the last) with its path.
    func receiptProof(_ context: APIRequestContext) throws -> Response {
        let heightText = context.parameters.get("height") ?? ""
        let indexText = context.parameters.get("index") ?? ""
        guard let height = UInt64(heightText) else {
            throw APIError.badRequest("'\(heightText)' is not a block height")
        }
        guard let index = Int(indexText), index >= 0 else {
            throw APIError.badRequest("'\(indexText)' is not an entry index (0 … the block's transaction count)")
        }
        return jsonResponse(try receiptProof(height: height, index: index))
    }

    func receiptProof(height: UInt64, index: Int) throws -> ReceiptProofJSON {
        let store = node.store
        guard let proof = try store.receiptProof(height: height, index: index) else {
            throw APIError.notFound("block \(height) has no receipt entry \(index)")
        }
        guard let next = try store.block(at: height + 1) else {
            throw APIError.notFound(
                "block \(height)'s receipts root is committed by block \(height + 1)'s header, not there yet: retry after "
                    + "the next block")
        }
        return ReceiptProofJSON(
            height: height, index: index, leafCount: proof.count, entry: proof.entry, path: proof.path,
            header: next.header)
    }

    // MARK: State and blocks

    static let readLogger = Logger(label: "sluice.api.state")

    /// A latest committed value; one that cannot be read (a corrupt record) answers 500, logged.
    func state(_ key: StateKey) throws(APIError) -> StateValue? {
        do { return try node.store.peek(key) } catch {
            Self.readLogger.error("cannot read \(key): \(error.message)")
            throw APIError(
                .internalServerError, code: "internal",
                "the node cannot read \(key) (\(error.message)): its operator should run `sluice db check`")
        }
    }

    func account(_ context: APIRequestContext) throws -> Response {
        let text = context.parameters.get("address") ?? ""
        let address: Address
        do { address = Address(try Hash(hex: text)) } catch {
            throw APIError.badRequest("'\(text)' is not an address: use 0x followed by 64 hex digits")
        }
        // The height names the state the balance was read from: read again if a block committed meanwhile.
        var height = node.store.head?.height ?? 0
        var value = try state(.account(address))
        for _ in 0..<3 {
            let after = node.store.head?.height ?? 0
            if after == height { break }
            height = after
            value = try state(.account(address))
        }
        let queued = node.mempool.transactions(from: address).map(\.sequence).sorted()
        var info = AccountInfoJSON(
            address: address, balance: .zero, sequence: 0, exists: false, height: height, pending: queued.count,
            nextSequence: 0)
        if case .account(let a)? = value {
            info.balance = a.balance
            info.sequence = a.sequence
            info.exists = true
        }
        var next = info.sequence
        for s in queued where s == next { next += 1 }
        info.nextSequence = next
        return jsonResponse(info)
    }

    func block(_ request: Request, _ context: APIRequestContext) throws -> Response {
        let text = context.parameters.get("height") ?? ""
        let store = node.store
        let height: UInt64
        if text == "latest" {
            height = store.head?.height ?? 0
        } else if let h = UInt64(text) {
            height = h
        } else if let hash = try? Hash(hex: text) {
            guard let h = try store.height(ofBlock: hash) else {
                throw APIError.notFound("no block with hash \(hash.hex)")
            }
            height = h
        } else {
            throw APIError.badRequest("'\(text)' is not a block: use a height, latest, or a block hash that exists")
        }
        guard let block = try store.block(at: height), let root = try store.root(at: height) else {
            throw APIError.notFound("no block \(height): the head is \(store.head?.height ?? 0)")
        }
        let full = request.uri.queryParameters.get("full") == "true"
        var receipts: [ReceiptJSON]? = nil
        if full {
            receipts = []
            for i in block.transactions.indices {
                if let r = try store.receipt(height: height, index: UInt32(i)) {
                    receipts!.append(ReceiptJSON(index: i, r))
                }
            }
        }
        return jsonResponse(
            BlockJSON(
                block: block, hash: block.hash, stateRoot: root.root, transactionHashes: block.transactions.map(\.hash),
                transactions: full ? block.transactions.map(TransactionJSON.init) : nil, receipts: receipts))
    }

    func proof(_ request: Request, _ context: APIRequestContext) throws -> Response {
        let text = context.parameters.get("key") ?? ""
        let key: StateKey
        do { key = try parseStateKey(text) } catch { throw APIError.badRequest(describe(error)) }
        var height: UInt64? = nil
        if let h = request.uri.queryParameters.get("height") {
            guard let v = UInt64(h) else { throw APIError.badRequest("height '\(h)' is not a block height") }
            height = v
        }
        do {
            return jsonResponse(StateProofJSON(try node.store.proof(for: key, at: height)))
        } catch {
            if error.code == .notFound || error.code == .invalid { throw APIError.notFound(error.message) }
            throw error
        }
    }

    func status() -> StatusJSON {
        let head = node.store.head
        let (tps, total) = node.throughput()
        let period = node.configuration.blockTime.components
        var status = StatusJSON(
            version: Self.version, chainId: node.store.chainId, height: head?.height ?? 0,
            headHash: head?.blockHash ?? .zero, stateRoot: head?.state.root ?? .zero, headTimestamp: node.headTimestamp,
            mempoolSize: node.mempool.count, mempoolSenders: node.mempool.senders, transactionsPerSecond: tps,
            committedTransactions: total,
            blockTimeMillis: Int(period.seconds * 1000 + period.attoseconds / 1_000_000_000_000_000),
            maxBlockSize: node.configuration.maxBlockSize, uptimeSeconds: node.uptimeSeconds)
        if let c = node.consensus?.currentStatus {
            status.consensus = ConsensusStatusJSON(
                validator: Int(c.me), epoch: c.epoch, round: c.round, committedHeight: c.committedHeight,
                validators: c.validators, connectedPeers: c.connectedPeers.map(Int.init),
                droppedMessages: c.droppedMessages, evidence: c.evidence)
        }
        return status
    }

    // MARK: Helpers

    private func collect(_ request: Request, limit: Int) async throws -> [UInt8] {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "body_too_large", "the request body is over \(limit) bytes")
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw APIError(.contentTooLarge, code: "body_too_large", "the request body is over \(limit) bytes")
        }
        return Array(buffer.readableBytesView)
    }

    private func isBinary(_ request: Request, _ mediaType: String) -> Bool {
        guard let type = request.headers[.contentType] else { return false }
        return type.lowercased().hasPrefix(mediaType)
    }

    private func parseHash(_ text: String, what: String) throws -> Hash {
        do { return try Hash(hex: text) } catch {
            throw APIError.badRequest("'\(text)' is not a \(what): use 0x followed by 64 hex digits")
        }
    }
}
