// Node keys and nodes round-trip through their encodings, hash as defined, and strict decoding rejects
// anything else.

import SluiceCore
import Testing

@testable import SluiceMerkle

@Suite struct EncodingTests {
    @Test func nodeKeysRoundTrip() throws {
        forAll(seed: 400, iterations: 500) { rng, note throws in
            let depth = [0, 1, 255, 256, rng.int(0...256)][rng.int(0...4)]
            let version = [0, 1, UInt64.max, rng.next()][rng.int(0...3)]
            let key = NodeKey(version: version, depth: depth, path: rng.hash())
            #expect(key.path == key.path.prefix(depth), note)
            let bytes = key.encoded
            #expect(bytes.count == 42, note)
            #expect(try NodeKey(encoded: bytes) == key, note)
            #expect(Array(bytes[0..<8]) == withUnsafeBytes(of: version.bigEndian) { Array($0) }, note)
            #expect(bytes[8] == UInt8(depth >> 8) && bytes[9] == UInt8(depth & 0xff), note)
            #expect(Array(bytes[10...]) == key.path.bytes, note)
        }
        // Byte order groups keys by version.
        let a = NodeKey(version: 255, depth: 256, path: Hash(w0: .max, w1: .max, w2: .max, w3: .max))
        let b = NodeKey(version: 256, depth: 0, path: .zero)
        #expect(a.encoded.lexicographicallyPrecedes(b.encoded))
        #expect(
            NodeKey(version: 9, depth: 3, path: Hash(w0: .max, w1: 1, w2: 2, w3: 3)).path
                == Hash(w0: 0xE0, w1: 0, w2: 0, w3: 0))
    }

    @Test func nodeKeyDecodingIsStrict() throws {
        var rng = SplitMix64(seed: 401)
        let valid = NodeKey(version: 5, depth: 9, path: rng.hash()).encoded
        #expect(throws: CoreError.self) { try NodeKey(encoded: []) }
        #expect(throws: CoreError.self) { try NodeKey(encoded: valid.dropLast()) }
        #expect(throws: CoreError.self) { try NodeKey(encoded: valid + [0]) }
        var deep = valid
        deep[8] = 1
        deep[9] = 1  // 257
        #expect(throws: CoreError.self) { try NodeKey(encoded: deep) }
        var stray = valid
        stray[41] |= 1  // a path bit past depth 9
        #expect(throws: CoreError.self) { try NodeKey(encoded: stray) }
        var straySameByte = valid
        straySameByte[11] |= 0x40  // bit 9 is in the second path byte, right after the kept bit 8
        #expect(throws: CoreError.self) { try NodeKey(encoded: straySameByte) }
        var full = valid
        full[8] = 1
        full[9] = 0  // 256: every bit may be set
        full.replaceSubrange(10..<42, with: [UInt8](repeating: 0xff, count: 32))
        #expect(try NodeKey(encoded: full).depth == 256)
    }

    static func randomChild(_ rng: inout SplitMix64, leaf: Bool? = nil) -> MerkleChild {
        MerkleChild(hash: rng.hash(), version: rng.next() >> UInt64(rng.int(0...63)), isLeaf: leaf ?? rng.bool())
    }

    @Test func nodesRoundTripAndHashAsDefined() throws {
        forAll(seed: 410, iterations: 300) { rng, note throws in
            let node: MerkleNode
            switch rng.int(0...3) {
            case 0: node = .leaf(keyHash: rng.hash(), valueHash: rng.hash())
            case 1: node = .internal(left: Self.randomChild(&rng), right: Self.randomChild(&rng))
            case 2: node = .internal(left: Self.randomChild(&rng, leaf: false), right: nil)
            default: node = .internal(left: nil, right: Self.randomChild(&rng, leaf: false))
            }
            let bytes = node.encoded
            #expect(try MerkleNode(encoded: bytes) == node, note)
            #expect(throws: CoreError.self, "trailing byte accepted; \(note)") { try MerkleNode(encoded: bytes + [0]) }
            switch node {
            case .leaf(let k, let v):
                #expect(bytes == [0] + k.bytes + v.bytes, note)
                #expect(node.hash == Hash.sha256([0] + k.bytes + v.bytes), note)
            case .internal(let l, let r):
                #expect(node.hash == Hash.sha256([1] + (l?.hash ?? .zero).bytes + (r?.hash ?? .zero).bytes), note)
                #expect(bytes.count == 1 + (l == nil ? 1 : 41) + (r == nil ? 1 : 41), note)
            }
            for cut in [0, 1, bytes.count / 2, bytes.count - 1] {
                #expect(throws: CoreError.self, note) { try MerkleNode(encoded: Array(bytes.prefix(cut))) }
            }
        }
    }

    @Test func nodeDecodingIsStrict() throws {
        var rng = SplitMix64(seed: 420)
        let leafChild = Self.randomChild(&rng, leaf: true)
        let innerChild = Self.randomChild(&rng, leaf: false)
        let valid = MerkleNode.internal(left: leafChild, right: innerChild).encoded
        #expect(throws: CoreError.self) { try MerkleNode(encoded: valid + [0]) }
        #expect(throws: CoreError.self) { try MerkleNode(encoded: [2] + Array(valid.dropFirst())) }
        var badChildTag = valid
        badChildTag[1] = 3
        #expect(throws: CoreError.self) { try MerkleNode(encoded: badChildTag) }
        // Shapes a canonical tree never has: no child, or one leaf child alone.
        #expect(throws: CoreError.self) { try MerkleNode(encoded: [1, 0, 0]) }
        for shape in [MerkleNode.internal(left: leafChild, right: nil), .internal(left: nil, right: leafChild)] {
            #expect(throws: CoreError.self) { try MerkleNode(encoded: shape.encoded) }
        }
        // A present child with the empty hash would hash like an absent one.
        let emptyHash = MerkleNode.internal(left: MerkleChild(hash: .zero, version: 1, isLeaf: false), right: nil)
        #expect(throws: CoreError.self) { try MerkleNode(encoded: emptyHash.encoded) }
        #expect(throws: CoreError.self) { try MerkleNode(encoded: [0] + [UInt8](repeating: 1, count: 63)) }
        #expect(throws: CoreError.self) { try MerkleNode(encoded: [0] + [UInt8](repeating: 1, count: 65)) }
        for _ in 0..<2_000 {
            // Random bytes decode to a node only if they re-encode to themselves.
            let bytes = (0..<rng.int(0...100)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 4) }
            if let node = try? MerkleNode(encoded: bytes) { #expect(node.encoded == bytes) }
        }
    }

    @Test func keyBitsFollowTheByteOrder() throws {
        var rng = SplitMix64(seed: 430)
        for _ in 0..<200 {
            let h = rng.hash()
            let bytes = h.bytes
            for i in 0..<256 {
                #expect(h.bit(i) == ((bytes[i / 8] >> (7 - UInt8(i % 8))) & 1 == 1))
                #expect(h.settingBit(i).bit(i))
            }
            let depth = rng.int(0...256)
            let prefix = h.prefix(depth).bytes
            for i in 0..<256 {
                let bit = (prefix[i / 8] >> (7 - UInt8(i % 8))) & 1 == 1
                #expect(bit == (i < depth && h.bit(i)))
            }
        }
    }
}
