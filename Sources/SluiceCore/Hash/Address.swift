/// An account address: SHA-256 of (scheme byte ‖ public key), shown as `0x` + 64 lowercase hex.
public struct Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var hash: Hash

    /// The treasury, which receives the block's fees: the all-zero address.
    public static let treasury = Address(Hash.zero)

    @inlinable
    public init(_ hash: Hash) { self.hash = hash }

    public init(hex: String) throws(CoreError) {
        let bytes = try Hex.decode(hex)
        guard bytes.count == 32 else {
            throw CoreError(.badLength, "an address is 32 bytes (64 hex digits), got \(bytes.count) bytes")
        }
        hash = try Hash(bytes: bytes)
    }

    /// Derives the address of a public key under a scheme.
    public init(scheme: SignatureScheme, publicKey: [UInt8]) {
        var bytes = [scheme.rawValue]
        bytes.append(contentsOf: publicKey)
        hash = Hash.sha256(bytes)
    }

    public var bytes: [UInt8] { hash.bytes }
    public var hex: String { hash.hex }
    public var description: String { hash.hex }

    @inlinable
    public static func < (a: Address, b: Address) -> Bool { a.hash < b.hash }
}

extension Address: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        do { self = try Address(hex: text) } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an address: \(error.message)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}
