// Inclusion and non-inclusion proofs verify, every tampered proof is rejected, and proofs round-trip through
// their canonical bytes and JSON.

import Foundation
import SluiceCore
import Testing

@testable import SluiceMerkle

@Suite struct ProofTests {
    @Test(arguments: [0, 1, 2, 3, 100, 1_000])
    func proofsVerify(count: Int) throws {
        var emptyEnds = 0
        var otherLeafEnds = 0
        forAll(seed: 300 &+ UInt64(count), iterations: 5) { rng, note throws in
            let tree = TreeHarness()
            try tree.apply(insertions(rng.leaves(count)))
            for (key, value) in tree.contents {
                let proof = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: key)
                #expect(proof.leaf == MerkleProof.Leaf(keyHash: key, valueHash: value), note)
                #expect(proof.verify(root: tree.root, keyHash: key, valueHash: value), note)
                #expect(!proof.verify(root: tree.root, keyHash: key, valueHash: nil), note)
            }
            for _ in 0..<200 {
                let key = rng.hash()
                let proof = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: key)
                if proof.leaf == nil { emptyEnds += 1 } else { otherLeafEnds += 1 }
                #expect(proof.verify(root: tree.root, keyHash: key, valueHash: nil), note)
                #expect(!proof.verify(root: tree.root, keyHash: key, valueHash: rng.hash()), note)
                if let leaf = proof.leaf {
                    #expect(!proof.verify(root: tree.root, keyHash: key, valueHash: leaf.valueHash), note)
                }
            }
        }
        if count == 0 { #expect(otherLeafEnds == 0) }
        if count >= 1 { #expect(otherLeafEnds > 0, "some absent keys must end at another key's leaf") }
        if count >= 2 { #expect(emptyEnds > 0, "some absent keys must end in an empty subtree") }
    }

    /// Every way of altering a valid proof or its claim is rejected.
    @Test func tamperedProofsAreRejected() throws {
        forAll(seed: 310, iterations: 10) { rng, note throws in
            let tree = TreeHarness()
            try tree.apply(insertions(rng.leaves(rng.int(2...300))))
            let root = tree.root
            let key = sortedKeys(tree.contents)[rng.below(tree.contents.count)]
            let value = tree.contents[key]!
            let proof = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: key)
            #expect(proof.verify(root: root, keyHash: key, valueHash: value), note)
            #expect(!proof.siblings.isEmpty, note)

            #expect(!proof.verify(root: root, keyHash: key, valueHash: rng.hash()), "wrong value; \(note)")
            #expect(!proof.verify(root: root, keyHash: key, valueHash: nil), "absence of a present key; \(note)")
            #expect(!proof.verify(root: rng.hash(), keyHash: key, valueHash: value), "other root; \(note)")
            #expect(!proof.verify(root: root, keyHash: rng.hash(), valueHash: value), "other key; \(note)")
            for i in proof.siblings.indices {
                var flipped = proof
                flipped.siblings[i] = flipped.siblings[i].flippingBit(rng.int(0...255))
                #expect(!flipped.verify(root: root, keyHash: key, valueHash: value), "sibling \(i) flipped; \(note)")
            }
            var truncated = proof
            truncated.siblings.removeLast()
            #expect(!truncated.verify(root: root, keyHash: key, valueHash: value), "truncated; \(note)")
            var dropFirst = proof
            dropFirst.siblings.removeFirst()
            #expect(!dropFirst.verify(root: root, keyHash: key, valueHash: value), "first sibling dropped; \(note)")
            for extra in [Hash.zero, rng.hash()] {
                var extended = proof
                extended.siblings.append(extra)
                #expect(!extended.verify(root: root, keyHash: key, valueHash: value), "extended; \(note)")
                var prefixed = proof
                prefixed.siblings.insert(extra, at: 0)
                #expect(!prefixed.verify(root: root, keyHash: key, valueHash: value), "prefixed; \(note)")
            }
            var tooLong = proof
            tooLong.siblings = Array(repeating: .zero, count: 257)
            #expect(!tooLong.verify(root: root, keyHash: key, valueHash: value), note)
            var noLeaf = proof
            noLeaf.leaf = nil
            #expect(!noLeaf.verify(root: root, keyHash: key, valueHash: value), "leaf removed; \(note)")
            #expect(!noLeaf.verify(root: root, keyHash: key, valueHash: nil), "leaf removed; \(note)")

            // An absent key: its proof cannot be turned into presence, and a leaf off its path proves nothing.
            var absent = rng.hash()
            while tree.contents[absent] != nil { absent = rng.hash() }
            let exclusion = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: absent)
            #expect(exclusion.verify(root: root, keyHash: absent, valueHash: nil), note)
            #expect(!exclusion.verify(root: root, keyHash: absent, valueHash: rng.hash()), "presence claimed; \(note)")
            var claimed = exclusion
            claimed.leaf = MerkleProof.Leaf(keyHash: absent, valueHash: rng.hash())
            #expect(!claimed.verify(root: root, keyHash: absent, valueHash: claimed.leaf!.valueHash), note)
            if let leaf = exclusion.leaf {
                #expect(!exclusion.verify(root: root, keyHash: absent, valueHash: leaf.valueHash), note)
            }
            // The inclusion proof of `key`, offered as absence proof for a key that branches off above its leaf.
            let offPath = key.flippingBit(rng.int(0...proof.siblings.count - 1))
            #expect(!proof.verify(root: root, keyHash: offPath, valueHash: nil), "leaf off the path; \(note)")
        }
    }

    /// The path check on its own: a non-inclusion proof whose leaf would hash right but does not share the path.
    @Test func nonInclusionLeafMustShareThePath() throws {
        var rng = SplitMix64(seed: 320)
        let a = rng.hash()
        let value = rng.hash()
        let tree = TreeHarness()
        try tree.apply([(a, value)])
        // One leaf at the root: any other key's path ends there, with no siblings.
        let proof = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: rng.hash())
        #expect(proof.siblings.isEmpty)
        #expect(proof.leaf == MerkleProof.Leaf(keyHash: a, valueHash: value))
        #expect(proof.verify(root: tree.root, keyHash: rng.hash(), valueHash: nil))
        // With one sibling, the leaf must agree with the key in bit 0.
        let leafHash = Hash.sha256([0] + a.bytes + value.bytes)
        let sibling = rng.hash()
        let forged = MerkleProof(leaf: MerkleProof.Leaf(keyHash: a, valueHash: value), siblings: [sibling])
        func root(along key: Hash) -> Hash {
            key.bit(0)
                ? Hash.sha256([1] + sibling.bytes + leafHash.bytes) : Hash.sha256([1] + leafHash.bytes + sibling.bytes)
        }
        let sameSide = a.flippingBit(200)
        #expect(forged.verify(root: root(along: sameSide), keyHash: sameSide, valueHash: nil))
        // The root this key's path would give matches, but the leaf branches off at bit 0: rejected.
        let otherSide = a.flippingBit(0)
        #expect(!forged.verify(root: root(along: otherSide), keyHash: otherSide, valueHash: nil))
    }

    @Test func proofsRoundTripThroughBytesAndJSON() throws {
        forAll(seed: 330, iterations: 10) { rng, note throws in
            let tree = TreeHarness()
            try tree.apply(insertions(rng.leaves(rng.int(0...500))))
            let keys = Array(sortedKeys(tree.contents).prefix(5)) + (0..<5).map { _ in rng.hash() }
            for key in keys {
                let proof = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: key)
                let bytes = proof.encoded
                #expect(try MerkleProof(encoded: bytes) == proof, note)
                #expect(bytes.count == 1 + (proof.leaf == nil ? 0 : 64) + 1 + 32 * proof.siblings.count, note)
                #expect(throws: CoreError.self) { try MerkleProof(encoded: bytes + [0]) }
                #expect(throws: CoreError.self) { try MerkleProof(encoded: Array(bytes.dropLast())) }
                let json = try JSONEncoder().encode(proof)
                #expect(try JSONDecoder().decode(MerkleProof.self, from: json) == proof, note)
                let text = String(decoding: json, as: UTF8.self)
                #expect(text.contains("\"siblings\""), note)
                if let sibling = proof.siblings.first { #expect(text.contains(sibling.hex), note) }
            }
        }
    }

    @Test func decodingRejectsMalformedProofs() throws {
        let sibling = [UInt8](repeating: 7, count: 32)
        let max = [0] + [0x80, 0x02] + Array([[UInt8]](repeating: sibling, count: 256).joined())
        #expect(try MerkleProof(encoded: max).siblings.count == 256)
        let over = [0] + [0x81, 0x02] + Array([[UInt8]](repeating: sibling, count: 257).joined())
        #expect(throws: CoreError.self) { try MerkleProof(encoded: over) }
        #expect(throws: CoreError.self) { try MerkleProof(encoded: []) }
        #expect(throws: CoreError.self) { try MerkleProof(encoded: [2, 0]) }
        #expect(throws: CoreError.self) { try MerkleProof(encoded: [0, 0x80, 0x00]) }
        #expect(throws: CoreError.self) { try MerkleProof(encoded: [1] + sibling + [0]) }

        let siblings = (0..<257).map { _ in "\"0x" + String(repeating: "ab", count: 32) + "\"" }
        let tooMany = "{\"leaf\":null,\"siblings\":[\(siblings.joined(separator: ","))]}"
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MerkleProof.self, from: Data(tooMany.utf8)) }
        let badHash = "{\"leaf\":null,\"siblings\":[\"0x12\"]}"
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MerkleProof.self, from: Data(badHash.utf8)) }
        let ok = "{\"siblings\":[]}"
        #expect(try JSONDecoder().decode(MerkleProof.self, from: Data(ok.utf8)) == MerkleProof(leaf: nil, siblings: []))
    }
}
