import SluiceCore
import SluiceMerkle
import SluiceRuntime
import SluiceStorage

/// Parses a state key as people write it: an account address (`0x` + 64 hex), `bank/account/0x…`, or
/// the canonical encoding of a key in hex (`0x` + 72 hex digits).
func parseStateKey(_ text: String) throws -> StateKey {
    let trimmed = text.hasPrefix("bank/account/") ? String(text.dropFirst("bank/account/".count)) : text
    let bytes: [UInt8]
    do { bytes = try Hex.decode(trimmed) } catch {
        throw CommandError("'\(text)' is not a state key: use an address (0x + 64 hex digits) or bank/account/0x…")
    }
    switch bytes.count {
    case 32: return .account(Address(try! Hash(bytes: bytes)))
    case 36:
        do { return try StateKey(canonicalBytes: bytes) } catch { throw CommandError("'\(text)': \(error.message)") }
    default:
        throw CommandError("'\(text)' has \(bytes.count) bytes: an address has 32, an encoded state key 36")
    }
}

/// The JSON form of a state proof, as `sluice state proof` prints it and `sluice state verify` reads it.
struct StateProofJSON: Codable {
    struct Value: Codable {
        var type: String
        var balance: Amount?
        var sequence: UInt64?
        var hex: String?
    }

    var key: String
    var keyBytes: String
    var height: UInt64
    var root: Hash
    var value: Value?
    var valueHash: Hash?
    var proof: MerkleProof

    init(_ p: StateProof) {
        key = p.key.description
        keyBytes = "0x" + Hex.encode(p.key.canonicalBytes)
        height = p.height
        root = p.root
        valueHash = p.valueHash
        proof = p.proof
        switch p.value {
        case .account(let a)?: value = Value(type: "account", balance: a.balance, sequence: a.sequence)
        case .bytes(let b)?: value = Value(type: "bytes", hex: "0x" + Hex.encode(b))
        case nil: value = nil
        }
    }

    func stateProof() throws -> StateProof {
        let keyRaw: [UInt8]
        do { keyRaw = try Hex.decode(keyBytes) } catch { throw CommandError("field keyBytes: \(error.message)") }
        let stateKey: StateKey
        do { stateKey = try StateKey(canonicalBytes: keyRaw) } catch {
            throw CommandError("field keyBytes: \(error.message)")
        }
        var decoded: StateValue? = nil
        if let value {
            switch value.type {
            case "account":
                guard let balance = value.balance, let sequence = value.sequence else {
                    throw CommandError("field value: an account needs balance and sequence")
                }
                decoded = .account(AccountState(balance: balance, sequence: sequence))
            case "bytes":
                do { decoded = .bytes(try Hex.decode(value.hex ?? "")) } catch {
                    throw CommandError("field value.hex: \(error.message)")
                }
            default:
                throw CommandError("field value.type: unknown value type '\(value.type)'")
            }
        }
        return StateProof(key: stateKey, height: height, root: root, value: decoded, valueHash: valueHash, proof: proof)
    }
}
