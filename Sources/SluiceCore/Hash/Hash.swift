import CSHA256
import Foundation

/// A 32-byte SHA-256 digest.
///
/// Stored as four 64-bit words so that equality, ordering and hashing are a few instructions
/// and the type stays trivially copyable: hashes are keys in the executor's hot path.
public struct Hash: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The bytes, as four little-endian-loaded words in byte order (`w0` holds bytes 0..<8).
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let zero = Hash(w0: 0, w1: 0, w2: 0, w3: 0)

    @inlinable
    public init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// Builds a hash from exactly 32 bytes.
    public init(bytes: some Collection<UInt8>) throws(CoreError) {
        guard bytes.count == 32 else { throw CoreError(.badLength, "expected 32 bytes, got \(bytes.count)") }
        self = Hash.zero
        var i = 0
        withUnsafeMutableBytes(of: &self) { raw in
            for b in bytes {
                raw[i] = b
                i += 1
            }
        }
    }

    /// Reads 32 bytes from a raw buffer that holds at least that many.
    @inlinable
    public init(unsafeBytes raw: UnsafeRawBufferPointer) {
        precondition(raw.count >= 32)
        self = Hash.zero
        withUnsafeMutableBytes(of: &self) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<32])) }
    }

    /// Parses `0x` + 64 hex digits (the prefix is optional).
    public init(hex: String) throws(CoreError) {
        let bytes = try Hex.decode(hex)
        try self.init(bytes: bytes)
    }

    public var bytes: [UInt8] { withUnsafeBytes(of: self) { Array($0) } }

    /// `0x` + 64 lowercase hex digits.
    public var hex: String { "0x" + withUnsafeBytes(of: self) { Hex.encode($0) } }

    public var description: String { hex }

    /// SHA-256 of the given bytes, written straight into the result: nothing is allocated. Uses the x86 SHA
    /// extensions when the CPU has them (`CSHA256`), a portable implementation otherwise.
    public static func sha256(_ data: UnsafeRawBufferPointer) -> Hash {
        var out = Hash.zero
        withUnsafeMutableBytes(of: &out) { digest in
            sluice_sha256(data.baseAddress, data.count, digest.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return out
    }

    /// The SHA-256 implementations, for tests that check each against a reference.
    enum SHA256Implementation: CaseIterable {
        case portable
        case accelerated
    }

    /// Whether `sha256` uses the x86 SHA extensions on this CPU.
    static var isSHA256Accelerated: Bool { sluice_sha256_is_accelerated() != 0 }

    /// SHA-256 with one implementation; nil when this CPU cannot run it.
    static func sha256(_ data: UnsafeRawBufferPointer, using implementation: SHA256Implementation) -> Hash? {
        var out = Hash.zero
        let done = withUnsafeMutableBytes(of: &out) { raw in
            let digest = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            switch implementation {
            case .portable:
                sluice_sha256_portable(data.baseAddress, data.count, digest)
                return true
            case .accelerated:
                return sluice_sha256_accelerated(data.baseAddress, data.count, digest) != 0
            }
        }
        return done ? out : nil
    }

    /// SHA-256(tag ‖ a ‖ b): a Merkle node of two hashes under a domain byte, from a stack buffer (nothing
    /// allocated). The state tree and the proof-of-GPU tree both hash their nodes this way.
    @inlinable
    public static func sha256(tag: UInt8, _ a: Hash, _ b: Hash) -> Hash {
        // Nine words: 72 bytes of stack, of which the first 65 are hashed.
        var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
            0, 0, 0, 0, 0, 0, 0, 0, 0
        )
        return withUnsafeMutableBytes(of: &buffer) { raw in
            raw[0] = tag
            raw.storeBytes(of: a, toByteOffset: 1, as: Hash.self)
            raw.storeBytes(of: b, toByteOffset: 33, as: Hash.self)
            return sha256(UnsafeRawBufferPointer(rebasing: raw[0..<65]))
        }
    }

    public static func sha256(_ bytes: [UInt8]) -> Hash {
        bytes.withUnsafeBytes { sha256($0) }
    }

    /// Lexicographic byte order, the order people and proofs see.
    @inlinable
    public static func < (a: Hash, b: Hash) -> Bool {
        let x = (a.w0.byteSwapped, a.w1.byteSwapped, a.w2.byteSwapped, a.w3.byteSwapped)
        let y = (b.w0.byteSwapped, b.w1.byteSwapped, b.w2.byteSwapped, b.w3.byteSwapped)
        return x < y
    }

    /// All four words: a hash may be chosen by a user (an address), so no part of it is trusted to be random.
    @inlinable
    public func hash(into hasher: inout Hasher) {
        hasher.combine(w0)
        hasher.combine(w1)
        hasher.combine(w2)
        hasher.combine(w3)
    }
}

extension Hash: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        do { self = try Hash(hex: text) } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a 32-byte hash: \(error.message)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}
