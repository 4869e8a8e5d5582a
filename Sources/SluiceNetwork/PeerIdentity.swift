import Crypto
import Foundation
public import NIOSSL
public import SluiceCore
import SwiftASN1
import X509

// A validator's TLS identity is its consensus key. Each node makes a self-signed certificate from its
// Ed25519 key at start; a peer is accepted when the public key in its leaf certificate is the key the
// validator set names for it. The certificate's own signature, names and dates carry no trust: TLS 1.3's
// CertificateVerify proves that the peer holds the private key of the certified public key, and that key
// is pinned to the set. Nothing else (no CA, no host name) is consulted.

/// A node's TLS certificate and private key, derived from its consensus key.
public struct PeerIdentity: Sendable {
    public let certificate: NIOSSLCertificate
    public let privateKey: NIOSSLPrivateKey
    public let publicKey: [UInt8]

    /// - Throws: `.identity` when the key is not Ed25519 (TLS has no ML-DSA yet).
    public init(key: SigningKey) throws(NetworkError) {
        guard key.scheme == .ed25519 else {
            throw NetworkError(
                .identity, "a validator's network key must be Ed25519, this one is \(key.scheme.name)")
        }
        do {
            let ed = try Curve25519.Signing.PrivateKey(rawRepresentation: key.seed)
            let signer = Certificate.PrivateKey(ed)
            let name = try DistinguishedName { CommonName("sluice-validator-" + Hash.sha256(key.publicKey).hex) }
            let now = Date()
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: signer.publicKey,
                notValidBefore: now.addingTimeInterval(-86_400),
                notValidAfter: now.addingTimeInterval(100 * 365 * 86_400),
                issuer: name, subject: name, signatureAlgorithm: .ed25519, extensions: Certificate.Extensions(),
                issuerPrivateKey: signer)
            var serializer = DER.Serializer()
            try serializer.serialize(certificate)
            self.certificate = try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
            privateKey = try NIOSSLPrivateKey(bytes: Array(try signer.serializeAsPEM().pemString.utf8), format: .pem)
            publicKey = key.publicKey
        } catch let e as NetworkError {
            throw e
        } catch {
            throw NetworkError(.identity, "cannot make a TLS certificate from the key: \(error)")
        }
    }

    /// The DER SubjectPublicKeyInfo of an Ed25519 public key (RFC 8410): what a peer's certificate must carry.
    public static func subjectPublicKeyInfo(ed25519 key: [UInt8]) -> [UInt8] {
        [0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00] + key
    }

    /// The Ed25519 public key in a peer's leaf certificate, or nil when it holds another kind of key.
    static func ed25519Key(of certificate: NIOSSLCertificate) -> [UInt8]? {
        guard let spki = try? certificate.extractPublicKey().toSPKIBytes(), spki.count == 44,
            Array(spki.prefix(12)) == subjectPublicKeyInfo(ed25519: [])
        else { return nil }
        return Array(spki.suffix(32))
    }
}
