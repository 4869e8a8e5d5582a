public import SluiceCore

// Who signs and who checks. The core never touches a key: it asks a `ConsensusSigner` for signatures and
// a `ConsensusVerifier` to check them, so the node signs with the validator's Ed25519 consensus key while
// the simulator, which checks millions of signatures in virtual time, uses a keyed hash that is as
// binding inside the simulation and a hundred times cheaper. Every signed message starts with a domain
// (what kind of message) and the chain id, so no signature serves two purposes or two chains.

/// What a signed consensus message is.
public enum SigningDomain: UInt8, Sendable {
    case proposal = 1
    case vote = 2
    case timeout = 3
    case orderVote = 4
}

private let signingPrefix = Array("SLUICE-CONSENSUS-1".utf8)

/// The bytes a validator signs: a fixed prefix, the domain, the chain id, then the message's body.
public func consensusSigningBytes(domain: SigningDomain, chainId: UInt64, body: [UInt8]) -> [UInt8] {
    var bytes = signingPrefix
    bytes.reserveCapacity(signingPrefix.count + 9 + body.count)
    bytes.append(domain.rawValue)
    withUnsafeBytes(of: chainId.littleEndian) { bytes.append(contentsOf: $0) }
    bytes.append(contentsOf: body)
    return bytes
}

/// Signs as one validator.
public protocol ConsensusSigner: Sendable {
    func sign(_ message: [UInt8]) -> [UInt8]
}

/// Checks validators' signatures.
public protocol ConsensusVerifier: Sendable {
    func isValid(signature: [UInt8], message: [UInt8], by validator: ConsensusValidator) -> Bool
}

/// Ed25519 consensus keys (the node's).
public struct Ed25519ConsensusSigner: ConsensusSigner {
    let key: SigningKey
    public init(key: SigningKey) throws(ConsensusError) {
        guard key.scheme == .ed25519 else {
            throw ConsensusError(.invalidSet, "a consensus key is Ed25519, not \(key.scheme)")
        }
        self.key = key
    }
    public var publicKey: [UInt8] { key.publicKey }
    public func sign(_ message: [UInt8]) -> [UInt8] { key.sign(message) }
}

/// Checks Ed25519 signatures by the validators' consensus keys.
public struct Ed25519ConsensusVerifier: ConsensusVerifier {
    public init() {}
    public func isValid(signature: [UInt8], message: [UInt8], by validator: ConsensusValidator) -> Bool {
        SignatureScheme.ed25519.isValid(signature: signature, message: message, publicKey: validator.publicKey)
    }
}

/// The simulator's signatures: SHA-256 of the validator's public key and the message. Anyone who knows
/// the public key can forge them, so they are for simulations only, where every process is ours and the
/// question is what the protocol does with what it is given, not whether keys are secret.
public struct SimulatedSigner: ConsensusSigner {
    public let publicKey: [UInt8]
    public init(publicKey: [UInt8]) { self.publicKey = publicKey }
    public func sign(_ message: [UInt8]) -> [UInt8] { SimulatedVerifier.signature(publicKey, message) }
}

/// Checks `SimulatedSigner` signatures.
public struct SimulatedVerifier: ConsensusVerifier {
    public init() {}
    public func isValid(signature: [UInt8], message: [UInt8], by validator: ConsensusValidator) -> Bool {
        signature == Self.signature(validator.publicKey, message)
    }
    static func signature(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] { Hash.sha256(key + message).bytes }
}
