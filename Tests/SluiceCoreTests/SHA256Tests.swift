import Crypto
import Foundation
import Testing

@testable import SluiceCore

/// `Hash.sha256` is our own C (CSHA256): each implementation, the portable one and the one on the x86 SHA
/// extensions, must equal swift-crypto's SHA-256 on every length around the block and padding boundaries, on
/// large inputs and from unaligned addresses.
@Suite struct SHA256Tests {
    static func reference(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    static var implementations: [Hash.SHA256Implementation] { Hash.SHA256Implementation.allCases }

    /// The accelerated path must be the one taken where the CPU offers it, or the speed-up silently goes.
    @Test func acceleratedWhereTheCPUHasSHAExtensions() throws {
        #if arch(x86_64)
            let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
            let hasSHA = cpuinfo.split(separator: "\n").contains {
                $0.hasPrefix("flags") && $0.split(separator: " ").contains("sha_ni")
            }
            #expect(Hash.isSHA256Accelerated == hasSHA || cpuinfo.isEmpty)
            #expect((Hash.sha256([], using: .accelerated) != nil) == Hash.isSHA256Accelerated)
        #else
            #expect(!Hash.isSHA256Accelerated)
            #expect(Hash.sha256([], using: .accelerated) == nil)
        #endif
    }

    @Test(arguments: implementations)
    func everyLengthUpTo300(_ implementation: Hash.SHA256Implementation) throws {
        guard Hash.sha256([], using: implementation) != nil else { return }
        var rng = SplitMix64(seed: 41)
        for length in 0...300 {
            let m = rng.bytes(length)
            let expected = Self.reference(m)
            #expect(Hash.sha256(m, using: implementation)?.bytes == expected, "length \(length)")
            #expect(Hash.sha256(m).bytes == expected, "length \(length)")
        }
    }

    @Test(arguments: implementations)
    func largeAndUnalignedInputs(_ implementation: Hash.SHA256Implementation) throws {
        guard Hash.sha256([], using: implementation) != nil else { return }
        var rng = SplitMix64(seed: 42)
        for length in [511, 512, 1000, 4095, 4096, 65_536, 1_000_003] {
            let m = rng.bytes(length + 7)
            for offset in [0, 1, 3, 7] {
                let slice = Array(m[offset..<(offset + length)])
                let expected = Self.reference(slice)
                let got = m.withUnsafeBytes { raw in
                    let bytes = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + length)])
                    return Hash.sha256(bytes, using: implementation)
                }
                #expect(got?.bytes == expected, "length \(length) at offset \(offset)")
            }
        }
    }

    /// The tree's node hash (0x00 or 0x01 ‖ two hashes, 65 bytes: two blocks once padded).
    @Test(arguments: implementations)
    func sixtyFiveByteNodes(_ implementation: Hash.SHA256Implementation) throws {
        guard Hash.sha256([], using: implementation) != nil else { return }
        forAll(seed: 43, iterations: 2000) { c throws in
            let m = [UInt8(c.rng.int(0...1))] + c.rng.hash().bytes + c.rng.hash().bytes
            #expect(Hash.sha256(m, using: implementation)?.bytes == Self.reference(m), c.note)
        }
    }
}

extension Hash {
    static func sha256(_ bytes: [UInt8], using implementation: SHA256Implementation) -> Hash? {
        bytes.withUnsafeBytes { sha256($0, using: implementation) }
    }
}
