public import Foundation
public import SluiceCore
import SluiceRuntime

// The JSON shapes of accounts, transactions and receipts, shared by `sluice t8n`'s files, the HTTP API
// and its client. Amounts are decimal strings; hashes, addresses, keys and signatures are 0x-prefixed
// hex.

public struct AccountJSON: Codable, Sendable, Equatable {
    public var address: Address
    public var balance: Amount
    public var sequence: UInt64

    public init(address: Address, balance: Amount, sequence: UInt64) {
        self.address = address
        self.balance = balance
        self.sequence = sequence
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        address = try c.decode(Address.self, forKey: .address)
        balance = try c.decode(Amount.self, forKey: .balance)
        sequence = try c.decodeUnsigned(UInt64.self, forKey: .sequence)
    }
}

extension KeyedDecodingContainer {
    /// Decodes a non-negative integer with a message that names the field. (Foundation reports a
    /// negative or fractional number for an unsigned field as "not valid JSON", without the field.)
    public func decodeUnsigned<T: FixedWidthInteger & UnsignedInteger & Decodable>(_: T.Type, forKey key: Key) throws
        -> T
    {
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

    public func decodeUnsignedIfPresent<T: FixedWidthInteger & UnsignedInteger & Decodable>(_: T.Type, forKey key: Key)
        throws
        -> T?
    {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeUnsigned(T.self, forKey: key)
    }
}

public struct PayloadJSON: Codable, Sendable, Equatable {
    public var type: String
    public var to: Address
    public var amount: Amount
    /// Only for `compute-transfer`.
    public var rounds: UInt32?

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        to = try c.decode(Address.self, forKey: .to)
        amount = try c.decode(Amount.self, forKey: .amount)
        rounds = try c.decodeUnsignedIfPresent(UInt32.self, forKey: .rounds)
    }

    public init(_ p: Payload) {
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

    public func payload() throws(WireError) -> Payload {
        switch type {
        case "transfer": return .transfer(to: to, amount: amount)
        case "compute-transfer":
            guard let rounds else {
                throw WireError("field payload.rounds: missing (compute-transfer needs rounds)")
            }
            return .computeTransfer(to: to, amount: amount, rounds: rounds)
        default:
            throw WireError("field payload.type: unknown payload type '\(type)' (use transfer or compute-transfer)")
        }
    }
}

/// `{"scheme": "ed25519"|"ml-dsa-65", "publicKey": "0x…", "signature": "0x…"}`
public struct AuthenticatorJSON: Codable, Sendable, Equatable {
    public var scheme: String
    public var publicKey: String
    public var signature: String

    public init(_ a: Authenticator) {
        scheme = a.scheme.name
        publicKey = "0x" + Hex.encode(a.publicKey)
        signature = "0x" + Hex.encode(a.signature)
    }

    public func authenticator() throws(WireError) -> Authenticator {
        do {
            let s = try SignatureScheme(name: scheme)
            let pk: [UInt8]
            let sig: [UInt8]
            do { pk = try Hex.decode(publicKey) } catch {
                throw WireError("field authenticator.publicKey: \(error.message)")
            }
            do { sig = try Hex.decode(signature) } catch {
                throw WireError("field authenticator.signature: \(error.message)")
            }
            return Authenticator(scheme: s, publicKey: pk, signature: sig)
        } catch let e as CoreError {
            throw WireError("field authenticator.scheme: \(e.message)")
        } catch let e as WireError {
            throw e
        } catch {
            throw WireError("field authenticator: \(error)")
        }
    }
}

public struct TransactionJSON: Codable, Sendable, Equatable {
    public var chainId: UInt64?
    public var sender: Address
    public var sequence: UInt64
    public var gasLimit: UInt64
    public var gasPrice: UInt64
    public var expiry: UInt64?
    public var payload: PayloadJSON
    public var authenticator: AuthenticatorJSON?

    public init(from decoder: any Decoder) throws {
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

    public init(_ tx: Transaction) {
        chainId = tx.chainId
        sender = tx.sender
        sequence = tx.sequence
        gasLimit = tx.gasLimit
        gasPrice = tx.gasPrice
        expiry = tx.expiry == Transaction.never ? nil : tx.expiry
        payload = PayloadJSON(tx.payload)
        authenticator = tx.authenticator.map(AuthenticatorJSON.init)
    }

    public func transaction(defaultChainId: UInt64) throws(WireError) -> Transaction {
        Transaction(
            chainId: chainId ?? defaultChainId, sender: sender, sequence: sequence, gasLimit: gasLimit,
            gasPrice: gasPrice, expiry: expiry ?? Transaction.never, payload: try payload.payload(),
            authenticator: try authenticator?.authenticator())
    }
}

public struct ReceiptJSON: Codable, Sendable, Equatable {
    public var index: Int
    public var transactionHash: Hash
    public var status: String
    public var gasUsed: UInt64
    public var fee: Amount
    public var error: String?
    public var output: Hash?

    public init(index: Int, _ r: Receipt) {
        self.index = index
        transactionHash = r.transactionHash
        status = r.status.name
        gasUsed = r.gasUsed
        fee = r.fee
        error = r.error
        output = r.output
    }
}
