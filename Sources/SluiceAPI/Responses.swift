public import Foundation
public import SluiceCore

// The bodies of the node's HTTP API (`/v1/…`). Every shape here is also described in `openapi.json`
// (`OpenAPIDocument`), and a test keeps the two equal.

/// Every error: `{"error": "what went wrong and what to do", "code": "stable_code"}`.
public struct ErrorJSON: Codable, Sendable, Equatable {
    public var error: String
    public var code: String
    public init(error: String, code: String) {
        self.error = error
        self.code = code
    }
}

/// `GET /v1/accounts/{address}`. An address never seen has balance 0, sequence 0 and `exists: false`.
public struct AccountInfoJSON: Codable, Sendable, Equatable {
    public var address: Address
    public var balance: Amount
    public var sequence: UInt64
    public var exists: Bool
    /// The block whose state this is.
    public var height: UInt64
    /// Transactions of this sender waiting in the mempool.
    public var pending: Int
    /// The sequence a new transaction of this sender should carry: the account's sequence plus the
    /// unbroken run of its pending sequences (a gap in the mempool is not skipped).
    public var nextSequence: UInt64

    public init(
        address: Address, balance: Amount, sequence: UInt64, exists: Bool, height: UInt64, pending: Int,
        nextSequence: UInt64
    ) {
        self.address = address
        self.balance = balance
        self.sequence = sequence
        self.exists = exists
        self.height = height
        self.pending = pending
        self.nextSequence = nextSequence
    }
}

/// The answer to one submitted transaction: accepted into the mempool (`status: "pending"`), or
/// rejected with the mempool's stable `code` and a message that says what to do.
public struct SubmitResultJSON: Codable, Sendable, Equatable {
    public var hash: Hash
    public var accepted: Bool
    /// "pending" when accepted, else "rejected".
    public var status: String
    public var code: String?
    public var error: String?

    public init(hash: Hash, accepted: Bool, code: String? = nil, error: String? = nil) {
        self.hash = hash
        self.accepted = accepted
        self.status = accepted ? "pending" : "rejected"
        self.code = code
        self.error = error
    }
}

/// `POST /v1/transactions/batch`: one result per transaction, in order.
public struct BatchResultJSON: Codable, Sendable, Equatable {
    public var accepted: Int
    public var rejected: Int
    public var results: [SubmitResultJSON]

    public init(results: [SubmitResultJSON]) {
        self.results = results
        accepted = results.lazy.filter(\.accepted).count
        rejected = results.count - accepted
    }
}

/// `GET /v1/transactions/{hash}`: `pending` (in the mempool) or `committed` (with its block, index and
/// receipt); a hash the node does not know is a 404 `not_found`.
public struct TransactionStatusJSON: Codable, Sendable, Equatable {
    public var hash: Hash
    public var status: String
    public var transaction: TransactionJSON?
    public var blockHeight: UInt64?
    public var index: UInt32?
    public var receipt: ReceiptJSON?

    public init(
        hash: Hash, status: String, transaction: TransactionJSON? = nil, blockHeight: UInt64? = nil,
        index: UInt32? = nil, receipt: ReceiptJSON? = nil
    ) {
        self.hash = hash
        self.status = status
        self.transaction = transaction
        self.blockHeight = blockHeight
        self.index = index
        self.receipt = receipt
    }
}

/// `GET /v1/blocks/{height|latest}`: the header, the state root after the block, and the
/// transactions' hashes in order (with `?full=true`, the transactions and receipts too).
public struct BlockJSON: Codable, Sendable, Equatable {
    public var height: UInt64
    public var hash: Hash
    public var chainId: UInt64
    public var parentHash: Hash
    public var timestamp: UInt64
    public var proposer: Address
    public var transactionsRoot: Hash
    public var parentStateRoot: Hash
    /// The header's version (2), the consensus round that proposed it, the parent's receipts root and the
    /// hash of the parent's certificate (zero on a single validator).
    public var version: UInt8
    public var round: UInt64
    public var parentReceiptsRoot: Hash
    public var parentCertificate: Hash
    /// The state root after this block (committed with it).
    public var stateRoot: Hash
    public var transactionCount: Int
    public var transactionHashes: [Hash]
    public var transactions: [TransactionJSON]?
    public var receipts: [ReceiptJSON]?

    public init(
        block: Block, hash: Hash, stateRoot: Hash, transactionHashes: [Hash], transactions: [TransactionJSON]? = nil,
        receipts: [ReceiptJSON]? = nil
    ) {
        height = block.header.height
        self.hash = hash
        chainId = block.header.chainId
        parentHash = block.header.parentHash
        timestamp = block.header.timestamp
        proposer = block.header.proposer
        transactionsRoot = block.header.transactionsRoot
        parentStateRoot = block.header.parentStateRoot
        version = block.header.version
        round = block.header.round
        parentReceiptsRoot = block.header.parentReceiptsRoot
        parentCertificate = block.header.parentCertificate
        self.stateRoot = stateRoot
        transactionCount = block.transactions.count
        self.transactionHashes = transactionHashes
        self.transactions = transactions
        self.receipts = receipts
    }
}

/// `GET /v1/status`.
public struct StatusJSON: Codable, Sendable, Equatable {
    public var version: String
    public var chainId: UInt64
    public var height: UInt64
    public var headHash: Hash
    public var stateRoot: Hash
    /// Timestamp of the head block (Unix seconds).
    public var headTimestamp: UInt64
    public var mempoolSize: Int
    public var mempoolSenders: Int
    /// Committed transactions per second over the last few seconds.
    public var transactionsPerSecond: Double
    public var committedTransactions: UInt64
    /// Milliseconds.
    public var blockTimeMillis: Int
    public var maxBlockSize: Int
    public var uptimeSeconds: Double
    /// Where this validator stands in consensus; absent on a node that orders blocks alone.
    public var consensus: ConsensusStatusJSON?

    public init(
        version: String, chainId: UInt64, height: UInt64, headHash: Hash, stateRoot: Hash, headTimestamp: UInt64,
        mempoolSize: Int, mempoolSenders: Int, transactionsPerSecond: Double, committedTransactions: UInt64,
        blockTimeMillis: Int, maxBlockSize: Int, uptimeSeconds: Double
    ) {
        self.version = version
        self.chainId = chainId
        self.height = height
        self.headHash = headHash
        self.stateRoot = stateRoot
        self.headTimestamp = headTimestamp
        self.mempoolSize = mempoolSize
        self.mempoolSenders = mempoolSenders
        self.transactionsPerSecond = transactionsPerSecond
        self.committedTransactions = committedTransactions
        self.blockTimeMillis = blockTimeMillis
        self.maxBlockSize = maxBlockSize
        self.uptimeSeconds = uptimeSeconds
    }
}

/// A validator's view of consensus (`/v1/status`, `sluice status`).
public struct ConsensusStatusJSON: Codable, Sendable, Equatable {
    /// This validator's index in the set.
    public var validator: Int
    public var epoch: UInt64
    /// The round it is in now.
    public var round: UInt64
    /// The height of the last block consensus committed (execution may be behind: see `height`).
    public var committedHeight: UInt64
    public var validators: Int
    /// Indexes of the validators it has a live connection to.
    public var connectedPeers: [Int]
    /// Messages from peers dropped (undecodable, invalid, over a queue's bound), since the start.
    public var droppedMessages: Int
    /// Double signatures seen (kept as evidence).
    public var evidence: Int

    public init(
        validator: Int, epoch: UInt64, round: UInt64, committedHeight: UInt64, validators: Int,
        connectedPeers: [Int], droppedMessages: Int, evidence: Int
    ) {
        self.validator = validator
        self.epoch = epoch
        self.round = round
        self.committedHeight = committedHeight
        self.validators = validators
        self.connectedPeers = connectedPeers
        self.droppedMessages = droppedMessages
        self.evidence = evidence
    }
}

/// One message of the `GET /v1/events` WebSocket stream: a committed block with the receipts of its
/// transactions and the events of its block-end step (when the stream is filtered, only the receipts
/// with a matching event, or from or to the account, and only the matching block-end events;
/// `transactionCount` still counts the whole block).
public struct BlockEventJSON: Codable, Sendable, Equatable {
    public var type: String
    public var height: UInt64
    public var hash: Hash
    public var timestamp: UInt64
    public var stateRoot: Hash
    /// The root of this block's receipts, which the next block's header carries (`tx proof`).
    public var receiptsRoot: Hash
    public var transactionCount: Int
    public var receipts: [EventReceiptJSON]
    /// The block-end step's events: matches, settlements with payouts and refunds, slashes, proofs,
    /// emissions, fees.
    public var blockEvents: [EventJSON]

    public init(
        height: UInt64, hash: Hash, timestamp: UInt64, stateRoot: Hash, receiptsRoot: Hash, transactionCount: Int,
        receipts: [EventReceiptJSON], blockEvents: [EventJSON]
    ) {
        self.receiptsRoot = receiptsRoot
        self.blockEvents = blockEvents
        type = "block"
        self.height = height
        self.hash = hash
        self.timestamp = timestamp
        self.stateRoot = stateRoot
        self.transactionCount = transactionCount
        self.receipts = receipts
    }
}

/// A receipt in an event, with who it concerns.
public struct EventReceiptJSON: Codable, Sendable, Equatable {
    public var index: Int
    public var transactionHash: Hash
    public var sender: Address
    public var to: Address?
    public var status: Receipt.Status
    public var fee: Amount
    public var error: String?
    public var events: [EventJSON]

    public init(index: Int, transaction: Transaction, receipt: Receipt) {
        events = receipt.events.map(EventJSON.init)
        self.index = index
        transactionHash = receipt.transactionHash
        sender = transaction.sender
        to = transaction.payload.recipient
        status = receipt.status
        fee = receipt.fee
        error = receipt.error
    }
}

/// The JSON coders the API uses on both ends: sorted keys, no escaped slashes.
public enum APIJSON {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func decoder() -> JSONDecoder { JSONDecoder() }

    /// Canonical binary bodies: `application/vnd.sluice.tx` is one transaction's canonical encoding,
    /// `application/vnd.sluice.txs` a ULEB128 count followed by that many encodings.
    public static let transactionMediaType = "application/vnd.sluice.tx"
    public static let transactionsMediaType = "application/vnd.sluice.txs"

    /// Encodes transactions as one `application/vnd.sluice.txs` body.
    public static func encodeBatch(_ txs: [Transaction]) -> [UInt8] {
        var w = CanonicalWriter(capacity: txs.count * 200 + 8)
        w.writeArray(txs)
        return w.bytes
    }

    /// Decodes an `application/vnd.sluice.txs` body; at most `max` transactions.
    public static func decodeBatch(_ bytes: [UInt8], max: Int) throws(CoreError) -> [Transaction] {
        var r = CanonicalReader(bytes, limits: .init(maxBytes: bytes.count, maxElements: max))
        let txs = try r.readArray(Transaction.self, max: max)
        try r.finish()
        return txs
    }
}
