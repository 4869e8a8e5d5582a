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
            guard let rounds else { throw CommandError("field payload.rounds: missing (compute-transfer needs rounds)") }
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
            do { pk = try Hex.decode(publicKey) } catch { throw CommandError("field authenticator.publicKey: \(error.message)") }
            do { sig = try Hex.decode(signature) } catch { throw CommandError("field authenticator.signature: \(error.message)") }
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
