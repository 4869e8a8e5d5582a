// The canonical binary codec: the one encoding that is hashed and signed.
//
// Fixed-width little-endian integers, ULEB128 lengths and enum tags, byte strings as length ‖ bytes,
// no maps. Decoding is strict so that every value has exactly one encoding: trailing bytes,
// non-minimal ULEB128, unknown tags and lengths over a bound are errors, never ignored.

/// A type with one canonical binary encoding.
public protocol CanonicalEncodable {
    func encode(to writer: inout CanonicalWriter)
}

/// A type that can be decoded, strictly, from its canonical encoding.
public protocol CanonicalDecodable {
    init(from reader: inout CanonicalReader) throws(CoreError)
}

public typealias CanonicalCodable = CanonicalEncodable & CanonicalDecodable

extension CanonicalEncodable {
    /// The canonical encoding of this value.
    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter()
        encode(to: &w)
        return w.bytes
    }
}

extension CanonicalDecodable {
    /// Decodes a value that must take up all of `bytes`.
    public init(canonicalBytes bytes: [UInt8], limits: CanonicalReader.Limits = .default) throws(CoreError) {
        var r = CanonicalReader(bytes, limits: limits)
        self = try Self(from: &r)
        try r.finish()
    }
}

/// Appends canonical encodings to a byte buffer.
public struct CanonicalWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ v: UInt8) { bytes.append(v) }
    public mutating func write(_ v: Bool) { bytes.append(v ? 1 : 0) }

    public mutating func write<I: FixedWidthInteger & UnsignedInteger>(_ v: I) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// ULEB128, minimal form.
    public mutating func writeULEB(_ value: UInt64) {
        var v = value
        repeat {
            var byte = UInt8(v & 0x7f)
            v >>= 7
            if v != 0 { byte |= 0x80 }
            bytes.append(byte)
        } while v != 0
    }

    /// Inserts, at `start`, the ULEB128 length of everything written since `start`: a length prefix for a
    /// value whose size was not known before encoding it.
    public mutating func insertLength(at start: Int) {
        var length = UInt64(bytes.count - start)
        if length < 0x80 {
            bytes.insert(UInt8(length), at: start)
            return
        }
        var prefix: [UInt8] = []
        repeat {
            var byte = UInt8(length & 0x7f)
            length >>= 7
            if length != 0 { byte |= 0x80 }
            prefix.append(byte)
        } while length != 0
        bytes.insert(contentsOf: prefix, at: start)
    }

    public mutating func write(_ h: Hash) { withUnsafeBytes(of: h) { bytes.append(contentsOf: $0) } }
    public mutating func write(_ a: Address) { write(a.hash) }
    public mutating func write(_ a: Amount) { write(a.value) }

    /// Length-prefixed bytes.
    public mutating func writeBytes(_ b: some Collection<UInt8>) {
        writeULEB(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    public mutating func writeString(_ s: String) { writeBytes(Array(s.utf8)) }

    public mutating func write(_ v: some CanonicalEncodable) { v.encode(to: &self) }

    public mutating func writeArray<T: CanonicalEncodable>(_ items: [T]) {
        writeULEB(UInt64(items.count))
        for item in items { item.encode(to: &self) }
    }

    public mutating func writeOptional<T: CanonicalEncodable>(_ v: T?) {
        if let v {
            write(UInt8(1))
            v.encode(to: &self)
        } else {
            write(UInt8(0))
        }
    }
}

/// Reads canonical encodings strictly from a byte buffer.
public struct CanonicalReader: Sendable {
    /// Bounds that keep hostile input from asking for huge allocations.
    public struct Limits: Sendable {
        /// The longest byte string accepted.
        public var maxBytes: Int
        /// The most elements in one array.
        public var maxElements: Int
        public init(maxBytes: Int, maxElements: Int) {
            self.maxBytes = maxBytes
            self.maxElements = maxElements
        }
        public static let `default` = Limits(maxBytes: 1 << 20, maxElements: 1 << 20)
    }

    private let bytes: [UInt8]
    public private(set) var offset: Int
    public let limits: Limits

    public init(_ bytes: [UInt8], limits: Limits = .default) {
        self.bytes = bytes
        offset = 0
        self.limits = limits
    }

    public var remaining: Int { bytes.count - offset }

    /// Fails unless every byte was consumed.
    public func finish() throws(CoreError) {
        guard offset == bytes.count else {
            throw CoreError(.codec, "\(bytes.count - offset) trailing bytes after the value at offset \(offset)")
        }
    }

    private func need(_ n: Int) throws(CoreError) {
        guard n <= remaining else {
            throw CoreError(.codec, "unexpected end of input at offset \(offset): need \(n) bytes, have \(remaining)")
        }
    }

    public mutating func readByte() throws(CoreError) -> UInt8 {
        try need(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readBool() throws(CoreError) -> Bool {
        let b = try readByte()
        guard b <= 1 else { throw CoreError(.codec, "a bool must be 0 or 1, got \(b) at offset \(offset - 1)") }
        return b == 1
    }

    public mutating func read<I: FixedWidthInteger & UnsignedInteger>(_: I.Type) throws(CoreError) -> I {
        let n = MemoryLayout<I>.size
        try need(n)
        let at = offset
        let v = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: I.self) }
        offset += n
        return I(littleEndian: v)
    }

    public mutating func readULEB() throws(CoreError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = offset
        while true {
            let byte = try readByte()
            let payload = UInt64(byte & 0x7f)
            if shift == 63 && payload > 1 {
                throw CoreError(.codec, "ULEB128 at offset \(start) overflows 64 bits")
            }
            result |= payload << shift
            if byte & 0x80 == 0 {
                if byte == 0 && shift > 0 {
                    throw CoreError(.codec, "non-minimal ULEB128 at offset \(start)")
                }
                return result
            }
            shift += 7
            if shift > 63 { throw CoreError(.codec, "ULEB128 at offset \(start) is longer than 10 bytes") }
        }
    }

    /// A length or count, checked against a bound (`WireLimits`). `field` names it in the error.
    public mutating func readLength(max: Int, field: String? = nil) throws(CoreError) -> Int {
        let at = offset
        let n = try readULEB()
        guard n <= UInt64(Swift.max(max, 0)) else {
            let what = field.map { "\($0): " } ?? ""
            throw CoreError(
                .codec, "\(what)length \(n) at offset \(at) is over the limit \(max): send at most \(max)")
        }
        return Int(n)
    }

    public mutating func readHash() throws(CoreError) -> Hash {
        try need(32)
        let h = bytes.withUnsafeBytes { Hash(unsafeBytes: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + 32])) }
        offset += 32
        return h
    }

    public mutating func readAddress() throws(CoreError) -> Address { Address(try readHash()) }
    public mutating func readAmount() throws(CoreError) -> Amount { Amount(try read(UInt128.self)) }

    public mutating func readBytes(max: Int? = nil, field: String? = nil) throws(CoreError) -> [UInt8] {
        let n = try readLength(max: Swift.min(max ?? limits.maxBytes, limits.maxBytes), field: field)
        try need(n)
        defer { offset += n }
        return Array(bytes[offset..<offset + n])
    }

    public mutating func readString(max: Int? = nil, field: String? = nil) throws(CoreError) -> String {
        let at = offset
        let raw = try readBytes(max: max, field: field)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw CoreError(.codec, "\(field ?? "string") at offset \(at) is not valid UTF-8")
        }
        return s
    }

    public mutating func read<T: CanonicalDecodable>(_: T.Type) throws(CoreError) -> T {
        try T(from: &self)
    }

    public mutating func readArray<T: CanonicalDecodable>(_: T.Type, max: Int? = nil, field: String? = nil)
        throws(CoreError) -> [T]
    {
        let n = try readLength(max: Swift.min(max ?? limits.maxElements, limits.maxElements), field: field)
        var out: [T] = []
        out.reserveCapacity(Swift.min(n, 1024))
        for _ in 0..<n { out.append(try T(from: &self)) }
        return out
    }

    public mutating func readOptional<T: CanonicalDecodable>(_: T.Type) throws(CoreError) -> T? {
        let at = offset
        switch try readByte() {
        case 0: return nil
        case 1: return try T(from: &self)
        case let b: throw CoreError(.codec, "an optional tag must be 0 or 1, got \(b) at offset \(at)")
        }
    }
}

extension Hash: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(self) }
    public init(from reader: inout CanonicalReader) throws(CoreError) { self = try reader.readHash() }
}

extension Address: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(self) }
    public init(from reader: inout CanonicalReader) throws(CoreError) { self = try reader.readAddress() }
}

extension Amount: CanonicalCodable {
    public func encode(to writer: inout CanonicalWriter) { writer.write(self) }
    public init(from reader: inout CanonicalReader) throws(CoreError) { self = try reader.readAmount() }
}
