import Foundation
import Testing

@testable import SluiceCore

@Suite struct HexTests {
    @Test(
        arguments: [
            ("", []), ("0x", []), ("ff00", [0xff, 0x00]), ("0x000fabff", [0x00, 0x0f, 0xab, 0xff]),
            ("0XABcd", [0xab, 0xcd]), ("DEADbeef", [0xde, 0xad, 0xbe, 0xef]),
        ] as [(String, [UInt8])])
    func decodes(text: String, bytes: [UInt8]) throws {
        #expect(try Hex.decode(text) == bytes)
        #expect(Hex.encode(bytes) == (text.hasPrefix("0") ? String(text.dropFirst(2)) : text).lowercased())
    }

    @Test(arguments: ["1", "0x1", "abc", "0xgg", "zz", " 12", "12 ", "0x0x12", "-1", "é0", "éé", "x012", "1_00"])
    func rejects(text: String) {
        let error = #expect(throws: CoreError.self) { try Hex.decode(text) }
        #expect(error?.code == .badHex)
    }

    @Test func roundTripsRandomBytes() {
        forAll(seed: 1) { c throws in
            let bytes = c.rng.bytes(c.rng.length())
            let hex = Hex.encode(bytes)
            #expect(hex.utf8.allSatisfy { "0123456789abcdef".utf8.contains($0) }, c.note)
            #expect(try Hex.decode(hex) == bytes, c.note)
            #expect(try Hex.decode("0x" + hex) == bytes, c.note)
            #expect(try Hex.decode(hex.uppercased()) == bytes, c.note)
        }
    }
}

@Suite struct HashAddressTests {
    @Test func sha256MatchesFIPSVectorsAndReference() throws {
        // FIPS 180-4 examples; they also check the reference implementation the other tests use.
        let vectors: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",  // two blocks once padded
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
        for (message, digest) in vectors {
            #expect(Hash.sha256(Array(message.utf8)).hex == "0x" + digest)
            #expect(Hex.encode(ReferenceSHA256.digest(Array(message.utf8))) == digest)
        }
        forAll(seed: 2, iterations: 200) { c throws in
            let m = c.rng.bytes(c.rng.int(0...200))
            #expect(Hash.sha256(m).bytes == ReferenceSHA256.digest(m), c.note)
        }
    }

    @Test func hexRoundTrips() throws {
        forAll(seed: 3) { c throws in
            let bytes = c.rng.bytes(32)
            let h = try Hash(bytes: bytes)
            #expect(h.bytes == bytes, c.note)
            #expect(h.hex == "0x" + Hex.encode(bytes), c.note)
            #expect(h.hex.count == 66 && h.hex == h.hex.lowercased(), c.note)
            #expect(try Hash(hex: h.hex) == h, c.note)
            #expect(try Hash(hex: String(h.hex.dropFirst(2)).uppercased()) == h, c.note)
            #expect(try Address(hex: h.hex) == Address(h), c.note)
            #expect(Address(h).hex == h.hex && Address(h).description == h.hex && Address(h).bytes == bytes, c.note)
        }
    }

    @Test(arguments: [0, 1, 31, 33, 64])
    func wrongLengthsRejected(count: Int) {
        let hex = "0x" + String(repeating: "ab", count: count)
        let error = #expect(throws: CoreError.self) { try Address(hex: hex) }
        #expect(error?.code == .badLength)
        #expect(throws: CoreError.self) { try Hash(hex: hex) }
        #expect(throws: CoreError.self) { try Hash(bytes: [UInt8](repeating: 1, count: count)) }
    }

    @Test func orderIsLexicographicByteOrder() throws {
        // Byte 0 outranks byte 31, whatever the words' in-memory layout.
        var high = [UInt8](repeating: 0, count: 32)
        var low = high
        high[0] = 1
        low[31] = 0xff
        #expect(try Hash(bytes: low) < Hash(bytes: high))
        forAll(seed: 4) { c throws in
            let a = c.rng.hash()
            var bytes = a.bytes  // share a random prefix so later words get compared too
            for i in c.rng.int(0...32)..<32 { bytes[i] = c.rng.byte() }
            let b = try Hash(bytes: bytes)
            #expect((a < b) == a.bytes.lexicographicallyPrecedes(b.bytes), c.note)
            #expect((b < a) == b.bytes.lexicographicallyPrecedes(a.bytes), c.note)
            #expect((a == b) == (a.bytes == b.bytes), c.note)
            #expect((Address(a) < Address(b)) == (a < b), c.note)
        }
        var rng = SplitMix64(seed: 5)
        let hashes = (0..<100).map { _ in rng.hash() }
        #expect(hashes.sorted().map(\.bytes) == hashes.map(\.bytes).sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test func addressIsSHA256OfSchemeByteAndPublicKey() {
        forAll(seed: 6) { c throws in
            let scheme = c.rng.scheme()
            let key = c.rng.bytes(c.rng.bool() ? scheme.publicKeySize : c.rng.length())
            let expected = ReferenceSHA256.digest([scheme.rawValue] + key)
            #expect(Address(scheme: scheme, publicKey: key).bytes == expected, c.note)
        }
    }

    @Test
    func userChosenAddressesDoNotCollide() throws {
        // Recipients are any 32 bytes a sender writes, not digests: a block can name 10⁵ of them sharing bytes 0..<8.
        var rng = SplitMix64(seed: 8)
        let ids = try (0..<64).map { _ in try Hash(bytes: [UInt8](repeating: 0, count: 8) + rng.bytes(24)) }
        #expect(Set(ids.map { Address($0).hashValue }).count > 32)
        #expect(Set(ids.map { StateKey.account(Address($0)).hashWord }).count > 32)
    }

    @Test func treasuryIsAllZero() {
        #expect(Address.treasury.bytes == [UInt8](repeating: 0, count: 32))
        #expect(Address.treasury.hex == "0x" + String(repeating: "0", count: 64))
        #expect(Address.treasury == Address(Hash.zero))
    }

    @Test func jsonRoundTrips() throws {
        var rng = SplitMix64(seed: 7)
        let address = rng.address()
        let hash = rng.hash()
        let json = try JSONEncoder().encode([address])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(address.hex)\"]")
        #expect(try JSONDecoder().decode([Address].self, from: json) == [address])
        #expect(try JSONDecoder().decode([Hash].self, from: JSONEncoder().encode([hash])) == [hash])
        for bad in ["[\"0x12\"]", "[\"\(address.hex)00\"]", "[\"0xzz\"]", "[12]"] {
            #expect(throws: (any Error).self, "\(bad)") {
                try JSONDecoder().decode([Address].self, from: Data(bad.utf8))
            }
            #expect(throws: (any Error).self, "\(bad)") { try JSONDecoder().decode([Hash].self, from: Data(bad.utf8)) }
        }
    }
}
