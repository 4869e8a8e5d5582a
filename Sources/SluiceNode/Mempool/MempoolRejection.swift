public import SluiceCore
public import SluiceRuntime
import SluiceState

/// The mempool's answer to one submitted transaction.
public enum AdmissionResult: Hashable, Sendable {
    /// Queued; it waits for a block.
    case accepted(Hash)
    /// Not queued, and nothing in the mempool changed because of it.
    case rejected(Hash, MempoolRejection)

    /// The transaction's hash (SHA-256 of its canonical encoding).
    public var hash: Hash {
        switch self {
        case .accepted(let h), .rejected(let h, _): h
        }
    }

    public var rejection: MempoolRejection? {
        if case .rejected(_, let r) = self { return r }
        return nil
    }

    public var isAccepted: Bool { rejection == nil }
}

/// Whether the mempool holds a transaction.
public enum MempoolStatus: String, Hashable, Sendable {
    case pending
    case unknown
}

/// A transaction the mempool let go after a block, and why.
public struct DroppedTransaction: Hashable, Sendable {
    public var hash: Hash
    public var reason: MempoolRejection

    public init(hash: Hash, reason: MempoolRejection) {
        self.hash = hash
        self.reason = reason
    }
}

/// Why the mempool refused (or, after a block, dropped) a transaction. `code` is stable and meant for
/// programs (API error codes, metrics labels); `message` is for people and says what to do.
public enum MempoolRejection: Error, Hashable, Sendable, CustomStringConvertible {
    /// The canonical encoding is larger than the node accepts.
    case oversized(size: Int, limit: Int)
    /// The transaction does not read back from its own canonical encoding: a field is over its limit
    /// (`WireLimits`). A block holding it could never be read, so no block may hold it.
    case undecodable(reason: String)
    /// The payload breaks a rule of the market that needs no state (`MarketRules`): execution would only
    /// fail it, with this error.
    case invalidPayload(MarketError)
    case wrongChain(expected: UInt64, got: UInt64)
    /// `expiry` is before `now`.
    case expired(expiry: UInt64, now: UInt64)
    case badSignature(SignatureFailure)
    case gasLimitTooLow(limit: UInt64, required: UInt64)
    case gasPriceTooLow(price: UInt64, minimum: UInt64)
    case unknownSender(Address)
    case sequenceTooOld(sequence: UInt64, next: UInt64)
    case sequenceTooFarAhead(sequence: UInt64, next: UInt64, window: UInt64)
    /// The sender's queued max fees plus this one's (`required`) exceed its balance.
    case feeUnpayable(required: Amount, balance: Amount)
    case duplicate
    /// Another transaction with the same sender and sequence is queued and this one does not pay
    /// enough more to replace it.
    case underpriced(sequence: UInt64, price: UInt64, minimum: UInt64)
    case senderLimit(limit: Int)
    /// Full, and no queued transaction may be evicted for this one. `lowestPrice` is the gas price of
    /// the transaction that would be evicted next, if any.
    case mempoolFull(capacity: Int, lowestPrice: UInt64?)

    /// A stable, machine-readable code.
    public var code: String {
        switch self {
        case .oversized: "oversized"
        case .undecodable: "undecodable"
        case .invalidPayload: "invalid_payload"
        case .wrongChain: "wrong_chain"
        case .expired: "expired"
        case .badSignature: "bad_signature"
        case .gasLimitTooLow: "gas_limit_too_low"
        case .gasPriceTooLow: "gas_price_too_low"
        case .unknownSender: "unknown_sender"
        case .sequenceTooOld: "sequence_too_old"
        case .sequenceTooFarAhead: "sequence_too_far_ahead"
        case .feeUnpayable: "fee_unpayable"
        case .duplicate: "duplicate"
        case .underpriced: "underpriced"
        case .senderLimit: "sender_limit"
        case .mempoolFull: "mempool_full"
        }
    }

    /// What went wrong and what to do about it.
    public var message: String {
        switch self {
        case let .oversized(size, limit):
            "the transaction is \(size) bytes encoded, over this node's limit of \(limit): send a smaller one"
        case let .wrongChain(expected, got):
            "the transaction is for chain id \(got) but this node runs chain id \(expected): "
                + "sign it again with chain id \(expected)"
        case let .expired(expiry, now):
            "the transaction expired at \(expiry) and it is now \(now): sign it again with a later expiry"
        case .undecodable(let reason):
            "the transaction cannot be read back from its canonical encoding (\(reason)): "
                + "fix that field and sign it again"
        case .invalidPayload(let error):
            "the \(error.message): fix the payload and sign it again"
        case .badSignature(let failure):
            "\(failure.rawValue): sign the transaction with the sender's key"
        case let .gasLimitTooLow(limit, required):
            "the gas limit \(limit) is below the \(required) gas this payload needs: "
                + "set a gas limit of at least \(required)"
        case let .gasPriceTooLow(price, minimum):
            "the gas price \(price) is below this node's minimum of \(minimum): pay at least \(minimum) per gas"
        case .unknownSender(let address):
            "the sender \(address) has no account: fund it with a transfer first"
        case let .sequenceTooOld(sequence, next):
            "sequence \(sequence) is behind the account's next sequence \(next): use sequence \(next)"
        case let .sequenceTooFarAhead(sequence, next, window):
            "sequence \(sequence) is too far ahead of the account's next sequence \(next) "
                + "(at most \(window) sequences from \(next) may wait here): send sequence \(next) first"
        case let .feeUnpayable(required, balance):
            "the sender's balance \(balance) cannot pay \(required), the max fees (gas limit × gas price) of "
                + "this transaction and of those it has queued: lower the gas limit or price, or fund the account"
        case .duplicate:
            "this transaction is already in the mempool: wait for it to be included"
        case let .underpriced(sequence, price, minimum):
            "a transaction with sequence \(sequence) from this sender is already queued: a replacement must pay "
                + "at least \(minimum) per gas (10% more), not \(price)"
        case .senderLimit(let limit):
            "the sender already has \(limit) transactions queued, the most one sender may have: "
                + "wait for some to be included"
        case let .mempoolFull(capacity, lowestPrice?):
            "the mempool is full (\(capacity) transactions) and none can make room for this one: "
                + "pay more than \(lowestPrice) per gas, or retry after the next block"
        case let .mempoolFull(capacity, nil):
            "the mempool is full (\(capacity) transactions): retry after the next block"
        }
    }

    public var description: String { "\(code): \(message)" }
}
