// Versions share untouched subtrees, old roots stay readable while their nodes are kept, and the stale lists
// name exactly the nodes a new version stops referencing, so pruning them keeps the latest tree whole.

import SluiceCore
import Testing

@testable import SluiceMerkle

@Suite struct VersioningTests {
    /// Random changes to a tree: overwrites, deletions of present and absent keys, insertions.
    static func randomChanges(_ tree: TreeHarness, _ rng: inout SplitMix64, maxInsertions: Int) -> Changes {
        var changes: [Hash: Hash?] = [:]
        let rate = rng.int(1...8)
        for key in sortedKeys(tree.contents) where rng.int(0...rate) == 0 {
            changes[key] = rng.bool() ? rng.hash() : nil
        }
        for _ in 0..<rng.int(0...maxInsertions) { changes[rng.hash()] = rng.hash() }
        if rng.int(0...3) == 0 { changes[rng.hash()] = .some(nil) }
        return changeList(changes)
    }

    @Test func oldRootsStayReadable() throws {
        forAll(seed: 200, iterations: 8) { rng, note throws in
            let tree = TreeHarness()
            for _ in 0..<8 { try tree.apply(Self.randomChanges(tree, &rng, maxInsertions: 300)) }
            var probes = Set(tree.history.flatMap { $0.contents.keys })
            for _ in 0..<20 { probes.insert(rng.hash()) }
            for old in tree.history {
                #expect(old.root == referenceRoot(old.contents), note)
                for key in probes {
                    let value = old.contents[key]
                    #expect(try SparseMerkleTree.get(reader: tree.store, rootKey: old.rootKey, keyHash: key) == value)
                    let proof = try SparseMerkleTree.proof(reader: tree.store, rootKey: old.rootKey, keyHash: key)
                    #expect(proof.verify(root: old.root, keyHash: key, valueHash: value), "v\(old.version) \(note)")
                }
            }
        }
    }

    @Test func untouchedSubtreesAreShared() throws {
        var rng = SplitMix64(seed: 210)
        let tree = TreeHarness()
        try tree.apply(insertions(rng.leaves(2_000)))
        let key = sortedKeys(tree.contents)[0]
        let update = try tree.apply([(key, rng.hash())])
        // One changed leaf rewrites its path and nothing else; the path it replaces becomes stale.
        let depth = Int(update.newNodes.map(\.key.depth).max()!)
        #expect(update.newNodes.count == depth + 1)
        #expect(Set(update.newNodes.map(\.key.depth)) == Set((0...depth).map { UInt16($0) }))
        #expect(update.staleNodes.count == depth + 1)
        #expect(update.newNodes.allSatisfy { $0.key.version == 2 })
        #expect(update.staleNodes.allSatisfy { $0.version == 1 })
        let walked = try walkTree(tree.store, rootKey: tree.rootKey)
        #expect(walked.keys.filter { $0.version == 1 }.count == walked.keys.count - depth - 1)
    }

    /// For every update: the stale list is exactly the old tree's nodes that the new tree does not reach.
    @Test func staleListsAreExact() throws {
        forAll(seed: 220, iterations: 12) { rng, note throws in
            let tree = TreeHarness()
            var reachable = Set<NodeKey>()
            let size = [8, 40, 400][rng.int(0...2)]
            for step in 0..<25 {
                let update = try tree.apply(
                    Self.randomChanges(tree, &rng, maxInsertions: size), threads: rng.int(1...4))
                let now = try walkTree(tree.store, rootKey: tree.rootKey).keys
                let stale = Set(update.staleNodes)
                #expect(stale.count == update.staleNodes.count, "stale listed twice at step \(step); \(note)")
                let unlisted = reachable.subtracting(now).subtracting(stale)
                let wronglyListed = stale.subtracting(reachable.subtracting(now))
                #expect(unlisted.isEmpty, "\(unlisted.count) dropped nodes not listed stale at step \(step); \(note)")
                #expect(wronglyListed.isEmpty, "\(wronglyListed.count) listed stale wrongly at step \(step); \(note)")
                let written = Set(update.newNodes.map(\.key))
                let writtenExactly = written == now.subtracting(reachable)
                #expect(writtenExactly, "new nodes differ from the nodes added at step \(step); \(note)")
                reachable = now
            }
        }
    }

    @Test func pruningStaleNodesLeavesTheLatestTree() throws {
        forAll(seed: 230, iterations: 6) { rng, note throws in
            let tree = TreeHarness()
            var stale: [NodeKey] = []
            for _ in 0..<15 {
                let update = try tree.apply(Self.randomChanges(tree, &rng, maxInsertions: 500))
                stale += update.staleNodes
            }
            let all = tree.store.keys
            #expect(Set(stale).isSubset(of: all), note)
            tree.store.remove(stale)
            let walked = try walkTree(tree.store, rootKey: tree.rootKey)
            #expect(tree.store.keys == walked.keys, note)
            #expect(walked.leaves == tree.contents, note)
            // The pruned store still serves updates and proofs on the latest root.
            try tree.apply(Self.randomChanges(tree, &rng, maxInsertions: 50))
            try expectMatchesModel(tree, note)
        }
    }
}
