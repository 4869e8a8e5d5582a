import Foundation
import Testing

@testable import SluiceCore

@Suite struct AmountTests {
    static let maxText = "340282366920938463463374607431768211455"

    @Test(arguments: [("0", 0), ("1", 1), ("1000", 1000), (maxText, UInt128.max)] as [(String, UInt128)])
    func parsesDecimal(text: String, value: UInt128) throws {
        #expect(try Amount(decimal: text) == Amount(value))
        #expect(Amount(value).description == text)
    }

    @Test(arguments: [
        "", "-1", "+1", "1.5", "1e3", " 1", "1 ", "abc", "0x10", "1_000", "１",
        "340282366920938463463374607431768211456", "3402823669209384634633746074317682114550",
    ])
    func rejects(text: String) {
        #expect(throws: CoreError.self) { try Amount(decimal: text) }
    }

    @Test func decimalRoundTrips() {
        forAll(seed: 10) { c throws in
            let a = c.rng.amount()
            #expect(try Amount(decimal: a.description) == a, c.note)
        }
    }

    @Test func checkedArithmeticFailsOnOverflowAndUnderflow() {
        #expect(Amount.max.adding(1) == nil)
        #expect(Amount.max.adding(0) == .max)
        #expect(Amount.zero.subtracting(1) == nil)
        #expect(Amount(5).subtracting(5) == .zero)
        #expect(Amount.max.multiplied(by: 2) == nil)
        #expect(Amount(UInt128(1) << 64).multiplied(by: Amount(UInt128(1) << 64)) == nil)
        #expect(Amount(UInt128(1) << 64).multiplied(by: Amount(UInt128(1) << 63)) == Amount(UInt128(1) << 127))
        #expect(Amount.product(.max, .max) == Amount(UInt128(UInt64.max) * UInt128(UInt64.max)))
        forAll(seed: 11) { c throws in
            let a = c.rng.amount()
            let b = c.rng.amount()
            let sum = a.adding(b)
            let difference = a.subtracting(b)
            let product = a.multiplied(by: b)
            #expect((sum == nil) == (a.value > UInt128.max - b.value), c.note)
            if let sum { #expect(sum.subtracting(b) == a, c.note) }
            #expect((difference == nil) == (a < b), c.note)
            if let difference { #expect(difference.adding(b) == a, c.note) }
            #expect((product == nil) == (b.value != 0 && a.value > UInt128.max / b.value), c.note)
            if let product, b.value != 0 {
                #expect(product.value / b.value == a.value && product.value % b.value == 0, c.note)
            }
        }
    }

    @Test func jsonIsADecimalString() throws {
        let json = try JSONEncoder().encode([Amount.max, Amount.zero, 42])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(Self.maxText)\",\"0\",\"42\"]")
        #expect(try JSONDecoder().decode([Amount].self, from: json) == [.max, .zero, 42])
        for bad in [
            "[5]", "[5.0]", "[\"-1\"]", "[\"1.5\"]", "[\"340282366920938463463374607431768211456\"]", "[null]",
            "[true]",
        ] {
            #expect(throws: DecodingError.self, "\(bad)") {
                try JSONDecoder().decode([Amount].self, from: Data(bad.utf8))
            }
        }
    }
}
