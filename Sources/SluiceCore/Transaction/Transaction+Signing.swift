/// Why a transaction's authenticator is not acceptable.
public enum SignatureFailure: String, Error, Sendable {
    case missing = "the transaction has no authenticator"
    case wrongKey = "the public key does not derive the sender's address under this scheme"
    case invalid = "the signature does not verify"
}

extension Transaction {
    /// Prefixed to every signed transaction so a signature cannot be replayed as another kind of message.
    public static let signingDomain: [UInt8] = Array("SLUICE::Transaction::v1".utf8)

    /// The bytes that are signed: domain tag ‖ canonical encoding without the authenticator.
    public var signingMessage: [UInt8] {
        var w = CanonicalWriter(capacity: 160)
        for b in Transaction.signingDomain { w.write(b) }
        encodeUnsigned(to: &w)
        return w.bytes
    }

    /// The transaction's identity: SHA-256 of its full canonical encoding, authenticator included.
    public var hash: Hash { Hash.sha256(canonicalBytes) }

    /// Signs with `key`, which must be the sender's.
    public mutating func sign(with key: SigningKey) {
        authenticator = Authenticator(scheme: key.scheme, publicKey: key.publicKey, signature: key.sign(signingMessage))
    }

    public func signed(with key: SigningKey) -> Transaction {
        var t = self
        t.sign(with: key)
        return t
    }

    /// Checks the authenticator: present, its key derives the sender, its signature verifies.
    public func verifySignature() -> SignatureFailure? {
        guard let auth = authenticator else { return .missing }
        guard Address(scheme: auth.scheme, publicKey: auth.publicKey) == sender else { return .wrongKey }
        guard auth.scheme.isValid(signature: auth.signature, message: signingMessage, publicKey: auth.publicKey)
        else { return .invalid }
        return nil
    }
}
