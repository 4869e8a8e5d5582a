public import SluiceCore
public import SluiceMerkle
public import SluiceState

/// Parses a state key as people write it: an account address (`0x` + 64 hex), `bank/account/0x…`, or
/// the canonical encoding of a key in hex (`0x` + 72 hex digits).
public func parseStateKey(_ text: String) throws -> StateKey {
    let trimmed = text.hasPrefix("bank/account/") ? String(text.dropFirst("bank/account/".count)) : text
    let bytes: [UInt8]
    do { bytes = try Hex.decode(trimmed) } catch {
        throw WireError("'\(text)' is not a state key: use an address (0x + 64 hex digits) or bank/account/0x…")
    }
    switch bytes.count {
    case 32: return .account(Address(try! Hash(bytes: bytes)))
    case 36:
        do { return try StateKey(canonicalBytes: bytes) } catch { throw WireError("'\(text)': \(error.message)") }
    default:
        throw WireError("'\(text)' has \(bytes.count) bytes: an address has 32, an encoded state key 36")
    }
}

/// The JSON form of a state proof, as `sluice state proof` prints it and `sluice state verify` reads it.
public struct StateProofJSON: Codable, Sendable {
    public struct Value: Codable, Sendable {
        public var type: String
        public var balance: Amount?
        public var sequence: UInt64?
        public var hex: String?
    }

    public var key: String
    public var keyBytes: String
    public var height: UInt64
    public var root: Hash
    public var value: Value?
    public var valueHash: Hash?
    public var proof: MerkleProof

    public init(_ p: StateProof) {
        key = p.key.description
        keyBytes = "0x" + Hex.encode(p.key.canonicalBytes)
        height = p.height
        root = p.root
        valueHash = p.valueHash
        proof = p.proof
        switch p.value {
        case .account(let a)?: value = Value(type: "account", balance: a.balance, sequence: a.sequence)
        case .bytes(let b)?: value = Value(type: "bytes", hex: "0x" + Hex.encode(b))
        // Market records travel as their canonical encoding: the value hash is over exactly those bytes.
        case .provider(let r)?: value = Value(type: "provider", hex: "0x" + Hex.encode(r.canonicalBytes))
        case .job(let r)?: value = Value(type: "job", hex: "0x" + Hex.encode(r.canonicalBytes))
        case .book(let r)?: value = Value(type: "book", hex: "0x" + Hex.encode(r.canonicalBytes))
        case .marketParameters(let r)?: value = Value(type: "params", hex: "0x" + Hex.encode(r.canonicalBytes))
        case .burned(let a)?: value = Value(type: "burned", balance: a)
        case .emitted(let a)?: value = Value(type: "emitted", balance: a)
        case .reward(let r)?: value = Value(type: "reward", hex: "0x" + Hex.encode(r.canonicalBytes))
        case .ledger(let r)?: value = Value(type: "ledger", hex: "0x" + Hex.encode(r.canonicalBytes))
        case nil: value = nil
        }
    }

    public func stateProof() throws -> StateProof {
        let keyRaw: [UInt8]
        do { keyRaw = try Hex.decode(keyBytes) } catch { throw WireError("field keyBytes: \(error.message)") }
        let stateKey: StateKey
        do { stateKey = try StateKey(canonicalBytes: keyRaw) } catch {
            throw WireError("field keyBytes: \(error.message)")
        }
        var decoded: StateValue? = nil
        if let value {
            switch value.type {
            case "account":
                guard let balance = value.balance, let sequence = value.sequence else {
                    throw WireError("field value: an account needs balance and sequence")
                }
                decoded = .account(AccountState(balance: balance, sequence: sequence))
            case "bytes":
                do { decoded = .bytes(try Hex.decode(value.hex ?? "")) } catch {
                    throw WireError("field value.hex: \(error.message)")
                }
            case "burned":
                guard let balance = value.balance else { throw WireError("field value: burned needs balance") }
                decoded = .burned(balance)
            case "emitted":
                guard let balance = value.balance else { throw WireError("field value: emitted needs balance") }
                decoded = .emitted(balance)
            case "provider", "job", "book", "params", "reward", "ledger":
                do {
                    let raw = try Hex.decode(value.hex ?? "")
                    switch value.type {
                    case "provider": decoded = .provider(try ProviderRecord(canonicalBytes: raw))
                    case "job": decoded = .job(try JobRecord(canonicalBytes: raw))
                    case "params": decoded = .marketParameters(try MarketParameters(canonicalBytes: raw))
                    case "reward": decoded = .reward(try RewardRecord(canonicalBytes: raw))
                    case "ledger": decoded = .ledger(try IncomeLedger(canonicalBytes: raw))
                    default: decoded = .book(try MarketBook(canonicalBytes: raw))
                    }
                } catch {
                    throw WireError("field value.hex: \(error.message)")
                }
            default:
                throw WireError("field value.type: unknown value type '\(value.type)'")
            }
        }
        return StateProof(key: stateKey, height: height, root: root, value: decoded, valueHash: valueHash, proof: proof)
    }
}
