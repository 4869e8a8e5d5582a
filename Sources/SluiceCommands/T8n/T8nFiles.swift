import Foundation
import SluiceCore
import SluiceRuntime

// The JSON files of `sluice t8n`, as in Ethereum's t8n tools: a pre-state, a list of transactions,
// and the post-state with receipts. Amounts are decimal strings; hashes, addresses, keys and
// signatures are 0x-prefixed hex.

struct AccountJSON: Codable {
    var address: Address
    var balance: Amount
    var sequence: UInt64

    init(address: Address, balance: Amount, sequence: UInt64) {
        self.address = address
        self.balance = balance
        self.sequence = sequence
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        address = try c.decode(Address.self, forKey: .address)
        balance = try c.decode(Amount.self, forKey: .balance)
        sequence = try c.decodeUnsigned(UInt64.self, forKey: .sequence)
    }
}

extension KeyedDecodingContainer {
    /// Decodes a non-negative integer with a message that names the field. (Foundation reports a
    /// negative or fractional number for an unsigned field as "not valid JSON", without the field.)
    func decodeUnsigned<T: FixedWidthInteger & UnsignedInteger & Decodable>(_: T.Type, forKey key: Key) throws -> T {
        if let v = try? decode(T.self, forKey: key) { return v }
        if let v = try? decode(Int64.self, forKey: key), v < 0 {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "must not be negative, got \(v)")
        }
        if let v = try? decode(Double.self, forKey: key) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "expected an integer from 0 to \(T.max), got \(v)")
        }
        _ = try decode(T.self, forKey: key)  // missing, null or not a number: Foundation's own message
        throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "expected an unsigned integer")
    }

    func decodeUnsignedIfPresent<T: FixedWidthInteger & UnsignedInteger & Decodable>(_: T.Type, forKey key: Key) throws
        -> T?
    {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeUnsigned(T.self, forKey: key)
    }
}

struct PreStateJSON: Codable {
    var accounts: [AccountJSON]
}

struct PayloadJSON: Codable {
    var type: String
    var to: Address
    var amount: Amount
    /// Only for `compute-transfer`.
    var rounds: UInt32?

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        to = try c.decode(Address.self, forKey: .to)
        amount = try c.decode(Amount.self, forKey: .amount)
        rounds = try c.decodeUnsignedIfPresent(UInt32.self, forKey: .rounds)
    }

    init(_ p: Payload) {
        type = p.typeName
        switch p {
        case let .transfer(to, amount):
            self.to = to
            self.amount = amount
        case let .computeTransfer(to, amount, rounds):
            self.to = to
            self.amount = amount
            self.rounds = rounds
        }
    }

    func payload() throws(CommandError) -> Payload {
        switch type {
        case "transfer": return .transfer(to: to, amount: amount)
        case "compute-transfer":
            guard let rounds else {
                throw CommandError("field payload.rounds: missing (compute-transfer needs rounds)")
            }
            return .computeTransfer(to: to, amount: amount, rounds: rounds)
        default:
            throw CommandError("field payload.type: unknown payload type '\(type)' (use transfer or compute-transfer)")
        }
    }
}

/// `{"scheme": "ed25519"|"ml-dsa-65", "publicKey": "0x…", "signature": "0x…"}`
struct AuthenticatorJSON: Codable {
    var scheme: String
    var publicKey: String
    var signature: String

    init(_ a: Authenticator) {
        scheme = a.scheme.name
        publicKey = "0x" + Hex.encode(a.publicKey)
        signature = "0x" + Hex.encode(a.signature)
    }

    func authenticator() throws(CommandError) -> Authenticator {
        do {
            let s = try SignatureScheme(name: scheme)
            let pk: [UInt8]
            let sig: [UInt8]
            do { pk = try Hex.decode(publicKey) } catch {
                throw CommandError("field authenticator.publicKey: \(error.message)")
            }
            do { sig = try Hex.decode(signature) } catch {
                throw CommandError("field authenticator.signature: \(error.message)")
            }
            return Authenticator(scheme: s, publicKey: pk, signature: sig)
        } catch let e as CoreError {
            throw CommandError("field authenticator.scheme: \(e.message)")
        } catch let e as CommandError {
            throw e
        } catch {
            throw CommandError("field authenticator: \(error)")
        }
    }
}

struct TransactionJSON: Codable {
    var chainId: UInt64?
    var sender: Address
    var sequence: UInt64
    var gasLimit: UInt64
    var gasPrice: UInt64
    var expiry: UInt64?
    var payload: PayloadJSON
    var authenticator: AuthenticatorJSON?

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        chainId = try c.decodeUnsignedIfPresent(UInt64.self, forKey: .chainId)
        sender = try c.decode(Address.self, forKey: .sender)
        sequence = try c.decodeUnsigned(UInt64.self, forKey: .sequence)
        gasLimit = try c.decodeUnsigned(UInt64.self, forKey: .gasLimit)
        gasPrice = try c.decodeUnsigned(UInt64.self, forKey: .gasPrice)
        expiry = try c.decodeUnsignedIfPresent(UInt64.self, forKey: .expiry)
        payload = try c.decode(PayloadJSON.self, forKey: .payload)
        authenticator = try c.decodeIfPresent(AuthenticatorJSON.self, forKey: .authenticator)
    }

    init(_ tx: Transaction) {
        chainId = tx.chainId
        sender = tx.sender
        sequence = tx.sequence
        gasLimit = tx.gasLimit
        gasPrice = tx.gasPrice
        expiry = tx.expiry == Transaction.never ? nil : tx.expiry
        payload = PayloadJSON(tx.payload)
        authenticator = tx.authenticator.map(AuthenticatorJSON.init)
    }

    func transaction(defaultChainId: UInt64) throws(CommandError) -> Transaction {
        Transaction(
            chainId: chainId ?? defaultChainId, sender: sender, sequence: sequence, gasLimit: gasLimit,
            gasPrice: gasPrice, expiry: expiry ?? Transaction.never, payload: try payload.payload(),
            authenticator: try authenticator?.authenticator())
    }
}

struct ReceiptJSON: Codable {
    var index: Int
    var transactionHash: Hash
    var status: String
    var gasUsed: UInt64
    var fee: Amount
    var error: String?
    var output: Hash?
}

struct PostStateJSON: Codable {
    var stateRoot: Hash
    var feesCollected: Amount
    var accounts: [AccountJSON]
    var receipts: [ReceiptJSON]
}
