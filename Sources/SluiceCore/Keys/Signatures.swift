import Crypto
import Foundation

/// The signature schemes an account can use. The raw value is the scheme byte of address derivation.
public enum SignatureScheme: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case ed25519 = 0
    /// ML-DSA-65 (FIPS 204), the post-quantum option.
    case mlDsa65 = 1

    /// The name used in JSON and on the command line.
    public var name: String {
        switch self {
        case .ed25519: "ed25519"
        case .mlDsa65: "ml-dsa-65"
        }
    }

    public var description: String { name }

    public init(name: String) throws(CoreError) {
        switch name.lowercased() {
        case "ed25519": self = .ed25519
        case "ml-dsa-65", "mldsa65", "ml_dsa_65": self = .mlDsa65
        default: throw CoreError(.badKey, "unknown signature scheme '\(name)': use ed25519 or ml-dsa-65")
        }
    }

    public var publicKeySize: Int {
        switch self {
        case .ed25519: 32
        case .mlDsa65: 1952
        }
    }

    public var signatureSize: Int {
        switch self {
        case .ed25519: 64
        case .mlDsa65: 3309
        }
    }

    /// Checks `signature` over `message` by `publicKey`. Malformed keys are simply invalid.
    public func isValid(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard publicKey.count == publicKeySize, signature.count == signatureSize else { return false }
        switch self {
        case .ed25519:
            guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) else { return false }
            return key.isValidSignature(signature, for: message)
        case .mlDsa65:
            guard let key = try? MLDSA65.PublicKey(rawRepresentation: publicKey) else { return false }
            return key.isValidSignature(signature, for: message)
        }
    }
}

/// A private signing key of either scheme. Its serialized form is the scheme's seed.
public struct SigningKey: Sendable {
    private enum Storage: Sendable {
        case ed25519(Curve25519.Signing.PrivateKey)
        case mlDsa65(MLDSA65.PrivateKey)
    }

    private let storage: Storage
    public let publicKey: [UInt8]

    public var scheme: SignatureScheme {
        switch storage {
        case .ed25519: .ed25519
        case .mlDsa65: .mlDsa65
        }
    }

    /// A fresh random key.
    public init(scheme: SignatureScheme) throws(CoreError) {
        switch scheme {
        case .ed25519:
            let k = Curve25519.Signing.PrivateKey()
            storage = .ed25519(k)
            publicKey = Array(k.publicKey.rawRepresentation)
        case .mlDsa65:
            do {
                let k = try MLDSA65.PrivateKey()
                storage = .mlDsa65(k)
                publicKey = Array(k.publicKey.rawRepresentation)
            } catch {
                throw CoreError(.badKey, "could not generate an ML-DSA-65 key: \(error)")
            }
        }
    }

    /// Restores a key from its 32-byte seed (both schemes use 32-byte seeds).
    public init(scheme: SignatureScheme, seed: [UInt8]) throws(CoreError) {
        guard seed.count == 32 else {
            throw CoreError(.badKey, "a \(scheme) secret key is 32 bytes, got \(seed.count)")
        }
        do {
            switch scheme {
            case .ed25519:
                let k = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
                storage = .ed25519(k)
                publicKey = Array(k.publicKey.rawRepresentation)
            case .mlDsa65:
                let k = try MLDSA65.PrivateKey(seedRepresentation: seed, publicKey: nil)
                storage = .mlDsa65(k)
                publicKey = Array(k.publicKey.rawRepresentation)
            }
        } catch {
            throw CoreError(.badKey, "not a valid \(scheme) secret key: \(error)")
        }
    }

    /// The 32-byte seed that restores this key.
    public var seed: [UInt8] {
        switch storage {
        case .ed25519(let k): Array(k.rawRepresentation)
        case .mlDsa65(let k): Array(k.seedRepresentation)
        }
    }

    public var address: Address { Address(scheme: scheme, publicKey: publicKey) }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        switch storage {
        case .ed25519(let k):
            // Ed25519 signing cannot fail for a well-formed key.
            return Array((try? k.signature(for: message)) ?? Data())
        case .mlDsa65(let k):
            return Array((try? k.signature(for: message)) ?? Data())
        }
    }
}
