/// A token amount: an unsigned 128-bit integer with checked arithmetic, a decimal string in JSON.
public struct Amount: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var value: UInt128

    public static let zero = Amount(0)
    public static let max = Amount(UInt128.max)

    @inlinable public init(_ value: UInt128) { self.value = value }
    @inlinable public init(integerLiteral value: UInt64) { self.value = UInt128(value) }

    /// Parses a decimal string: digits only, no sign, no leading `+`, at most UInt128.max.
    public init(decimal text: String) throws(CoreError) {
        guard !text.isEmpty else { throw CoreError(.badAmount, "an amount must be a decimal string, got an empty one") }
        var v: UInt128 = 0
        for c in text.utf8 {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else {
                throw CoreError(.badAmount, "'\(text)' is not a non-negative decimal integer")
            }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt128(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw CoreError(.overflow, "'\(text)' is larger than the maximum amount 2^128-1") }
            v = a
        }
        value = v
    }

    public var description: String { String(value) }

    @inlinable public static func < (a: Amount, b: Amount) -> Bool { a.value < b.value }

    /// `a + b`, or nil on overflow.
    @inlinable public func adding(_ other: Amount) -> Amount? {
        let (r, o) = value.addingReportingOverflow(other.value)
        return o ? nil : Amount(r)
    }

    /// `a - b`, or nil when it would go below zero.
    @inlinable public func subtracting(_ other: Amount) -> Amount? {
        let (r, o) = value.subtractingReportingOverflow(other.value)
        return o ? nil : Amount(r)
    }

    /// `a × b`, or nil on overflow.
    @inlinable public func multiplied(by other: Amount) -> Amount? {
        let (r, o) = value.multipliedReportingOverflow(by: other.value)
        return o ? nil : Amount(r)
    }

    /// The full product of two 64-bit numbers; it always fits.
    @inlinable public static func product(_ a: UInt64, _ b: UInt64) -> Amount {
        Amount(UInt128(a) * UInt128(b))
    }
}

extension Amount: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let text = try? c.decode(String.self) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "an amount must be a decimal string such as \"1000\"")
        }
        do {
            self = try Amount(decimal: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
