// A store that lacks a node, or holds a damaged one, makes every operation throw a MerkleError that says so;
// nothing crashes.

import SluiceCore
import Testing

@testable import SluiceMerkle

@Suite struct FailureTests {
    /// A tree of random leaves, written in two versions.
    static func tree(seed: UInt64) throws -> TreeHarness {
        var rng = SplitMix64(seed: seed)
        let tree = TreeHarness()
        try tree.apply(insertions(rng.leaves(2_000)))
        try tree.apply(insertions(rng.leaves(500)))
        return tree
    }

    @Test(arguments: [1, 2, 5, 9])
    func missingInteriorNodeThrows(depth: Int) throws {
        let tree = try Self.tree(seed: 500)
        var rng = SplitMix64(seed: 501)
        let walked = try walkTree(tree.store, rootKey: tree.rootKey)
        let candidates = walked.keys.filter { key in
            Int(key.depth) == depth && { if case .internal = tree.store.node(key) { true } else { false } }()
        }
        let removed = try #require(candidates.sorted { $0.path < $1.path }.first)
        tree.store.remove([removed])
        // A key under the missing node, and one elsewhere.
        let below = removed.path.settingBit(255)
        var elsewhere = rng.hash()
        while elsewhere.prefix(depth) == removed.path { elsewhere = rng.hash() }

        for threads in [1, 2] {
            let error = #expect(throws: MerkleError.self) {
                try SparseMerkleTree.update(
                    reader: tree.store, rootKey: tree.rootKey, version: 10, changes: [(below, rng.hash())],
                    threads: threads)
            }
            #expect(error?.code == .missingNode)
            #expect(error?.message.contains("version \(removed.version)") == true)
            #expect(error?.message.contains("incomplete or was pruned") == true)
        }
        // A large batch that touches it, so that the failure happens inside a parallel task.
        let many: Changes = (0..<3_000).map { _ in (rng.hash(), rng.hash()) } + [(below, nil)]
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.update(
                reader: tree.store, rootKey: tree.rootKey, version: 10, changes: many, threads: 4)
        }
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: below)
        }
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.get(reader: tree.store, rootKey: tree.rootKey, keyHash: below)
        }
        // Paths that avoid it still work.
        _ = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: elsewhere)
        _ = try SparseMerkleTree.update(
            reader: tree.store, rootKey: tree.rootKey, version: 10, changes: [(elsewhere, rng.hash())], threads: 1)
    }

    @Test func missingRootOrLeafThrows() throws {
        let tree = try Self.tree(seed: 510)
        var rng = SplitMix64(seed: 511)
        let absentRoot = NodeKey.root(version: 99)
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.update(
                reader: tree.store, rootKey: absentRoot, version: 100, changes: [(rng.hash(), nil)], threads: 1)
        }
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.get(reader: tree.store, rootKey: absentRoot, keyHash: rng.hash())
        }
        // A leaf that must move (a key joins it) or change is read; if it is gone, that is an error.
        let key = sortedKeys(tree.contents)[0]
        let proof = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: key)
        let leafKey = NodeKey(version: 0, depth: proof.siblings.count, path: key)
        let live = try walkTree(tree.store, rootKey: tree.rootKey).keys
        let stored = try #require(live.first { $0.depth == leafKey.depth && $0.path == leafKey.path })
        tree.store.remove([stored])
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.update(
                reader: tree.store, rootKey: tree.rootKey, version: 10, changes: [(key, rng.hash())], threads: 1)
        }
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.update(
                reader: tree.store, rootKey: tree.rootKey, version: 10, changes: [(key.flippingBit(255), rng.hash())],
                threads: 1)
        }
    }

    @Test func damagedNodesThrow() throws {
        let tree = try Self.tree(seed: 520)
        var rng = SplitMix64(seed: 521)
        let walked = try walkTree(tree.store, rootKey: tree.rootKey)
        let depth1 = walked.keys.filter { $0.depth == 1 }.sorted { $0.path < $1.path }
        let target = try #require(depth1.first)
        let key = target.path.settingBit(200)
        func expectCorrupt(_ why: Comment) {
            let error = #expect(throws: MerkleError.self, why) {
                try SparseMerkleTree.update(
                    reader: tree.store, rootKey: tree.rootKey, version: 10, changes: [(key, rng.hash())], threads: 1)
            }
            #expect(error?.code == .corruptNode, why)
            #expect(throws: MerkleError.self, why) {
                try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: key)
            }
        }
        let original = try #require(tree.store.node(target))
        // A leaf where the parent records an internal node.
        tree.store.insert(.leaf(keyHash: key, valueHash: rng.hash()), at: target)
        expectCorrupt("leaf in place of an internal node")
        // An internal node whose child claims a newer version than the node.
        guard case .internal(let left, let right) = original else { Issue.record("not internal"); return }
        var newer = try #require(left ?? right)
        newer.version = 1_000
        tree.store.insert(.internal(left: newer, right: newer), at: target)
        expectCorrupt("child newer than its parent")
        tree.store.insert(original, at: target)
        _ = try SparseMerkleTree.proof(reader: tree.store, rootKey: tree.rootKey, keyHash: key)
        // A leaf stored off its own key's path.
        let leafPosition = try #require(
            walked.keys.sorted { ($0.depth, $0.path) < ($1.depth, $1.path) }.first { key in
                key.depth > 2 && { if case .leaf = tree.store.node(key) { true } else { false } }()
            })
        guard case .leaf(let leafKey, let value) = tree.store.node(leafPosition) else { return }
        tree.store.insert(.leaf(keyHash: leafKey.flippingBit(0), valueHash: value), at: leafPosition)
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.get(reader: tree.store, rootKey: tree.rootKey, keyHash: leafKey)
        }
        #expect(throws: MerkleError.self) {
            try SparseMerkleTree.update(
                reader: tree.store, rootKey: tree.rootKey, version: 10, changes: [(leafKey, nil)], threads: 1)
        }
    }

    /// A forged chain of internal nodes 256 deep (every key bit 0) ends in an error, not a crash.
    @Test func chainTooDeepThrows() throws {
        let store = InMemoryNodeStore()
        let leaf = MerkleChild(hash: Hash.sha256([1]), version: 1, isLeaf: true)
        var child = MerkleNode.internal(left: leaf, right: leaf)
        store.insert(child, at: NodeKey(version: 1, depth: 256, path: .zero))
        for depth in (0..<256).reversed() {
            let node = MerkleNode.internal(left: MerkleChild(hash: child.hash, version: 1, isLeaf: false), right: nil)
            store.insert(node, at: NodeKey(version: 1, depth: depth, path: .zero))
            child = node
        }
        let root = NodeKey.root(version: 1)
        for changes: Changes in [[(.zero, Hash.sha256([2]))], [(.zero, nil), (Hash.zero.settingBit(255), nil)]] {
            let error = #expect(throws: MerkleError.self) {
                try SparseMerkleTree.update(reader: store, rootKey: root, version: 2, changes: changes, threads: 1)
            }
            #expect(error?.code == .corruptNode)
        }
        #expect(throws: MerkleError.self) { try SparseMerkleTree.proof(reader: store, rootKey: root, keyHash: .zero) }
        #expect(throws: MerkleError.self) { try SparseMerkleTree.get(reader: store, rootKey: root, keyHash: .zero) }
    }
}
