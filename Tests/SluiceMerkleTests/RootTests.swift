// The root depends only on the set of (key, value) pairs: it matches the reference definition whatever the
// order, batching, thread count or path (update or build) that produced the tree.

import SluiceCore
import Testing

@testable import SluiceMerkle

@Suite struct RootTests {
    @Test(arguments: [0, 1, 2, 3, 100, 5_000])
    func rootMatchesReference(count: Int) throws {
        forAll(seed: 100 &+ UInt64(count), iterations: count > 1_000 ? 2 : 10) { rng, note throws in
            let leaves = rng.leaves(count)
            let expected = referenceRoot(leaves)
            let tree = TreeHarness()
            try tree.apply(insertions(leaves))
            #expect(tree.root == expected, note)
            try expectMatchesModel(tree, note)
            let built = SparseMerkleTree.build(version: 1, leaves: pairs(leaves), threads: 2)
            #expect(built.root == expected, note)
            if count == 0 { #expect(expected == .zero, note) }
            if count == 1, let leaf = leaves.first {
                #expect(expected == Hash.sha256([0] + leaf.key.bytes + leaf.value.bytes), note)
            }
        }
    }

    @Test func referenceFollowsTheDefinition() throws {
        // Two keys that differ in bit 0 sit right under the root, bit 0 = 0 on the left.
        let a = try Hash(hex: "0x" + String(repeating: "11", count: 32))
        let b = try Hash(hex: "0x" + String(repeating: "91", count: 32))
        let va = Hash.sha256([1]), vb = Hash.sha256([2])
        let leafA = Hash.sha256([0] + a.bytes + va.bytes), leafB = Hash.sha256([0] + b.bytes + vb.bytes)
        let root = SparseMerkleTree.rootHash(ofLeaves: [(b, vb), (a, va)])
        #expect(root == Hash.sha256([1] + leafA.bytes + leafB.bytes))
        // Keys that share bits 0 and 1 (0b00…) and differ in bit 2 hang two levels below a chain node.
        let c = try Hash(hex: "0x" + String(repeating: "01", count: 32))
        let d = try Hash(hex: "0x" + "21" + String(repeating: "01", count: 31))
        let leafC = Hash.sha256([0] + c.bytes + va.bytes), leafD = Hash.sha256([0] + d.bytes + vb.bytes)
        let level2 = Hash.sha256([1] + leafC.bytes + leafD.bytes)
        let level1 = Hash.sha256([1] + level2.bytes + Hash.zero.bytes)
        let expected = Hash.sha256([1] + level1.bytes + Hash.zero.bytes)
        #expect(SparseMerkleTree.rootHash(ofLeaves: [(c, va), (d, vb)]) == expected)
        let tree = TreeHarness()
        try tree.apply([(c, va), (d, vb)])
        #expect(tree.root == expected)
    }

    @Test func keysSharingLongPrefixes() throws {
        forAll(seed: 110, iterations: 20) { rng, note throws in
            let base = rng.hash()
            var leaves: [Hash: Hash] = [:]
            // Equal in the first 250 bits, so only the last 6 bits tell them apart.
            for _ in 0..<rng.int(2...40) { leaves[rng.key(sharing: 250, with: base)] = rng.hash() }
            // Keys that differ only in the last bit, and a few sharing 128 or 255 bits.
            let twin = rng.key(sharing: 255, with: base)
            leaves[twin] = rng.hash()
            leaves[twin.flippingBit(255)] = rng.hash()
            for _ in 0..<rng.int(0...5) { leaves[rng.key(sharing: 128, with: base)] = rng.hash() }
            for _ in 0..<rng.int(0...20) { leaves[rng.hash()] = rng.hash() }

            let tree = TreeHarness()
            try tree.apply(insertions(leaves))
            try expectMatchesModel(tree, note)
            #expect(SparseMerkleTree.build(version: 1, leaves: pairs(leaves), threads: 4).root == tree.root, note)
            for (key, value) in leaves {
                let proof = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: key)
                #expect(proof.verify(root: tree.root, keyHash: key, valueHash: value), note)
            }
            // Delete all but one of the twins: the other rises all the way up its chain.
            let deleted = sortedKeys(leaves).filter { $0 != twin }.shuffled(using: &rng)
            let half = deleted.count / 2
            try tree.apply(deleted[..<half].map { ($0, nil) })
            try expectMatchesModel(tree, note)
            try tree.apply(deleted[half...].map { ($0, nil) })
            try expectMatchesModel(tree, note)
            #expect(tree.root == Hash.sha256([0] + twin.bytes + leaves[twin]!.bytes), note)
        }
    }

    @Test func orderAndBatchingDoNotMatter() throws {
        forAll(seed: 120, iterations: 30) { rng, note throws in
            let leaves = rng.leaves(rng.int(0...600))
            let expected = referenceRoot(leaves)

            let atOnce = TreeHarness()
            try atOnce.apply(insertions(leaves).shuffled(using: &rng), threads: 1)
            #expect(atOnce.root == expected, note)

            let batched = TreeHarness()
            var remaining = insertions(leaves).shuffled(using: &rng)
            while !remaining.isEmpty {
                let size = rng.int(1...max(1, remaining.count))
                try batched.apply(Array(remaining.suffix(size)), threads: rng.int(1...4))
                remaining.removeLast(size)
            }
            #expect(batched.root == expected, note)
            try expectMatchesModel(batched, note)

            let built = SparseMerkleTree.build(version: 7, leaves: pairs(leaves).shuffled(using: &rng), threads: 3)
            #expect(built.root == expected, note)
            #expect(built.staleNodes.isEmpty, note)
            let store = InMemoryNodeStore()
            store.apply(built)
            #expect(try walkTree(store, rootKey: built.rootKey).leaves == leaves, note)
        }
    }

    @Test func deletionsAndReinsertions() throws {
        forAll(seed: 130, iterations: 20) { rng, note throws in
            let tree = TreeHarness()
            let leaves = rng.leaves(rng.int(1...400))
            try tree.apply(insertions(leaves))
            try expectMatchesModel(tree, note)
            for _ in 0..<6 {
                // Delete some present keys and some absent ones, re-insert some deleted ones, overwrite others.
                var changes: [Hash: Hash?] = [:]
                for key in sortedKeys(tree.contents) where rng.int(0...3) == 0 { changes[key] = .some(nil) }
                for key in sortedKeys(leaves) where tree.contents[key] == nil && rng.bool() {
                    changes[key] = rng.hash()
                }
                for key in sortedKeys(tree.contents) where changes[key] == nil && rng.int(0...5) == 0 {
                    changes[key] = rng.hash()
                }
                for _ in 0..<rng.int(0...10) { changes[rng.hash()] = .some(nil) }
                try tree.apply(changeList(changes))
                try expectMatchesModel(tree, note)
            }
            let update = try tree.apply(tree.contents.keys.map { ($0, nil) })
            #expect(update.root == .zero, note)
            #expect(update.rootKey == nil, note)
            #expect(update.newNodes.isEmpty, note)
            try expectMatchesModel(tree, note)
            // And back from empty.
            try tree.apply(insertions(leaves))
            #expect(tree.root == referenceRoot(leaves), note)
        }
    }

    @Test func rewritingValuesAlreadyPresentWritesNothing() throws {
        forAll(seed: 140, iterations: 20) { rng, note throws in
            let tree = TreeHarness()
            let leaves = rng.leaves(rng.int(1...300))
            try tree.apply(insertions(leaves))
            let before = tree.root
            let rootKey = tree.rootKey
            let same: Changes =
                pairs(leaves).filter { _ in rng.bool() }.map { ($0.keyHash, $0.valueHash) }
                + (0..<rng.int(0...5)).map { _ in
                    (rng.hash(), nil)
                }
            let update = try tree.apply(same)
            #expect(update.root == before, note)
            #expect(update.rootKey == rootKey, note)
            #expect(update.newNodes.isEmpty, note)
            #expect(update.staleNodes.isEmpty, note)
            let empty = try tree.apply([])
            #expect(empty.root == before && empty.rootKey == rootKey && empty.newNodes.isEmpty, note)
            // Mixed with real changes, the unchanged keys cost nothing extra and the root is right.
            var mixed = insertions(leaves)
            for i in mixed.indices where rng.int(0...9) == 0 { mixed[i].valueHash = rng.hash() }
            try tree.apply(mixed)
            try expectMatchesModel(tree, note)
        }
    }

    @Test func everyThreadCountGivesTheSameUpdate() throws {
        forAll(seed: 150, iterations: 6) { rng, note throws in
            let store = InMemoryNodeStore()
            let leaves = rng.leaves(rng.int(0...6_000))
            let base = SparseMerkleTree.build(version: 1, leaves: pairs(leaves), threads: 2)
            store.apply(base)
            var changes: Changes = []
            for key in sortedKeys(leaves) where rng.int(0...2) == 0 {
                changes.append((key, rng.bool() ? rng.hash() : nil))
            }
            for _ in 0..<rng.int(0...3_000) { changes.append((rng.hash(), rng.hash())) }
            changes.shuffle(using: &rng)

            let updates = try [1, 2, 3, 4, 8].map { threads in
                try SparseMerkleTree.update(
                    reader: store, rootKey: base.rootKey, version: 2, changes: changes, threads: threads)
            }
            var contents = leaves
            for change in changes { contents[change.keyHash] = change.valueHash }
            #expect(updates[0].root == referenceRoot(contents), note)
            for update in updates.dropFirst() {
                #expect(update.root == updates[0].root, note)
                #expect(update.rootKey == updates[0].rootKey, note)
                #expect(nodeMap(update) == nodeMap(updates[0]), note)
                #expect(Set(update.staleNodes) == Set(updates[0].staleNodes), note)
                // Deterministic down to the order.
                #expect(update.newNodes.map(\.key) == updates[0].newNodes.map(\.key), note)
                #expect(update.staleNodes == updates[0].staleNodes, note)
            }
            #expect(nodeMap(updates[0]).count == updates[0].newNodes.count, "a node written twice; \(note)")

            let builds = [1, 2, 4].map { SparseMerkleTree.build(version: 1, leaves: pairs(leaves), threads: $0) }
            for build in builds.dropFirst() {
                #expect(build.root == builds[0].root, note)
                #expect(nodeMap(build) == nodeMap(builds[0]), note)
            }
        }
    }

    /// Batches large enough for the concurrent sort (32,768 changes) and the concurrent copy of the output.
    @Test func largeBatchesTakeTheParallelPaths() throws {
        var rng = SplitMix64(seed: 155)
        var leaves = pairs(rng.leaves(40_000))
        // A few repeated keys with other values, the last of which must win in `build`.
        for i in 0..<50 { leaves.append((leaves[i * 7].keyHash, rng.hash())) }
        let builds = [1, 2, 3].map { SparseMerkleTree.build(version: 1, leaves: leaves, threads: $0) }
        #expect(builds[0].root == SparseMerkleTree.rootHash(ofLeaves: leaves))
        for build in builds.dropFirst() {
            #expect(build.root == builds[0].root)
            #expect(build.newNodes.map(\.key) == builds[0].newNodes.map(\.key))
            #expect(nodeMap(build) == nodeMap(builds[0]))
        }
        let store = InMemoryNodeStore()
        store.apply(builds[0])
        var changes: Changes = leaves.prefix(20_000).map { ($0.keyHash, rng.bool() ? rng.hash() : nil) }
        changes += (0..<20_000).map { _ in (rng.hash(), rng.hash()) }
        let updates = try [1, 2].map {
            try SparseMerkleTree.update(
                reader: store, rootKey: builds[0].rootKey, version: 2, changes: changes.shuffled(using: &rng),
                threads: $0)
        }
        #expect(updates[0].root == updates[1].root)
        #expect(updates[0].newNodes.map(\.key) == updates[1].newNodes.map(\.key))
        #expect(updates[0].staleNodes == updates[1].staleNodes)
        var contents: [Hash: Hash] = [:]
        for leaf in leaves { contents[leaf.keyHash] = leaf.valueHash }
        for change in changes { contents[change.keyHash] = change.valueHash }
        store.apply(updates[1])
        #expect(try walkTree(store, rootKey: updates[1].rootKey).leaves == contents)
    }

    @Test func buildKeepsTheLastOfRepeatedKeys() {
        var rng = SplitMix64(seed: 160)
        let key = rng.hash()
        let first = rng.hash(), last = rng.hash()
        let other = (rng.hash(), rng.hash())
        let built = SparseMerkleTree.build(version: 1, leaves: [(key, first), other, (key, last)], threads: 2)
        #expect(built.root == SparseMerkleTree.rootHash(ofLeaves: [(key, last), other]))
        #expect(SparseMerkleTree.rootHash(ofLeaves: [(key, first), other, (key, last)]) == built.root)
    }

    @Test func rejectsInvalidRequests() throws {
        var rng = SplitMix64(seed: 170)
        let tree = TreeHarness()
        try tree.apply(insertions(rng.leaves(10)))
        let key = rng.hash()
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.update(
                reader: tree.store, rootKey: tree.rootKey, version: 2, changes: [(key, rng.hash()), (key, nil)],
                threads: 1)
        }
        for version: UInt64 in [0, 1] {
            let error = #expect(throws: MerkleError.self) {
                try SparseMerkleTree.update(
                    reader: tree.store, rootKey: tree.rootKey, version: version, changes: [(key, rng.hash())],
                    threads: 1)
            }
            #expect(error?.code == .invalidRequest)
        }
    }
}

func nodeMap(_ update: MerkleUpdate) -> [NodeKey: MerkleNode] {
    Dictionary(update.newNodes.map { ($0.key, $0.node) }, uniquingKeysWith: { a, _ in a })
}
