// Shared helpers: seeded randomness, a tree in an in-memory store with its history and a model of its contents,
// and a walk that checks every stored node of a tree and returns what the tree holds.

import SluiceCore
import Testing

@testable import SluiceMerkle

extension SplitMix64 {
    /// The generator of one iteration of a property: a failure names the seed and iteration that replay it.
    init(seed: UInt64, iteration: Int) {
        var mixer = SplitMix64(seed: seed ^ (UInt64(iteration) &* 0xD1B5_4A32_D192_ED03))
        self.init(seed: mixer.next())
    }

    mutating func hash() -> Hash { Hash(w0: next(), w1: next(), w2: next(), w3: next()) }
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func bool() -> Bool { next() & 1 == 1 }

    /// `count` distinct random keys, each with a random value.
    mutating func leaves(_ count: Int) -> [Hash: Hash] {
        var out: [Hash: Hash] = [:]
        while out.count < count { out[hash()] = hash() }
        return out
    }

    /// A key equal to `base` in its first `sharedBits` bits and random after them.
    mutating func key(sharing sharedBits: Int, with base: Hash) -> Hash {
        var key = hash()
        for bit in 0..<sharedBits where key.bit(bit) != base.bit(bit) { key = key.flippingBit(bit) }
        return key
    }
}

extension Hash {
    func flippingBit(_ index: Int) -> Hash {
        var bytes = self.bytes
        bytes[index / 8] ^= 0x80 >> UInt8(index % 8)
        return try! Hash(bytes: bytes)
    }
}

/// Runs `body` on `iterations` seeded generators; an error is recorded against the case that threw it.
func forAll(
    seed: UInt64, iterations: Int, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (inout SplitMix64, Comment) throws -> Void
) {
    for i in 0..<iterations {
        let note: Comment = "seed \(seed) iteration \(i): replay with SplitMix64(seed: \(seed), iteration: \(i))"
        var rng = SplitMix64(seed: seed, iteration: i)
        do { try body(&rng, note) } catch { Issue.record(error, note, sourceLocation: sourceLocation) }
    }
}

typealias Changes = [(keyHash: Hash, valueHash: Hash?)]

// Dictionaries iterate in an order that changes from run to run (per-process hash seeds), so everything a test
// draws random numbers over goes through these, in key order, and a seed replays the same case.

/// The keys in order.
func sortedKeys(_ map: [Hash: Hash]) -> [Hash] { map.keys.sorted() }

/// The leaves in key order.
func pairs(_ leaves: [Hash: Hash]) -> [(keyHash: Hash, valueHash: Hash)] {
    leaves.sorted { $0.key < $1.key }.map { (keyHash: $0.key, valueHash: $0.value) }
}

/// Insertions of the leaves, in key order.
func insertions(_ leaves: [Hash: Hash]) -> Changes {
    pairs(leaves).map { (keyHash: $0.keyHash, valueHash: Optional($0.valueHash)) }
}

/// Changes from a map of key to new value (nil deletes), in key order.
func changeList(_ changes: [Hash: Hash?]) -> Changes {
    changes.sorted { $0.key < $1.key }.map { (keyHash: $0.key, valueHash: $0.value) }
}

func referenceRoot(_ leaves: [Hash: Hash]) -> Hash { SparseMerkleTree.rootHash(ofLeaves: pairs(leaves)) }

/// One committed version of a tree.
struct TreeVersion {
    var version: UInt64
    var rootKey: NodeKey?
    var root: Hash
    var contents: [Hash: Hash]
}

/// A tree kept in an `InMemoryNodeStore`, every version's nodes kept, with a dictionary model of its contents.
final class TreeHarness {
    let store = InMemoryNodeStore()
    var rootKey: NodeKey?
    var version: UInt64 = 0
    var contents: [Hash: Hash] = [:]
    var history: [TreeVersion] = []

    var root: Hash { history.last?.root ?? .zero }

    @discardableResult
    func apply(_ changes: Changes, threads: Int = 2) throws -> MerkleUpdate {
        version += 1
        let update = try SparseMerkleTree.update(
            reader: store, rootKey: rootKey, version: version, changes: changes, threads: threads)
        store.apply(update)
        rootKey = update.rootKey
        for change in changes { contents[change.keyHash] = change.valueHash }
        history.append(TreeVersion(version: version, rootKey: rootKey, root: update.root, contents: contents))
        return update
    }
}

struct TreeCheckFailure: Error, CustomStringConvertible {
    var description: String
}

/// What a stored tree holds, found by walking it from the root.
struct WalkedTree {
    var leaves: [Hash: Hash] = [:]
    var keys: Set<NodeKey> = []
}

/// Walks the tree at `rootKey`, checking every node: present, its hash as its parent records it, its kind as
/// recorded, a version no newer than its parent's, canonical shape (an internal node has two leaves or more below
/// it), a leaf on its own key's path, and an encoding that round-trips.
func walkTree(_ store: some MerkleNodeReader, rootKey: NodeKey?) throws -> WalkedTree {
    var out = WalkedTree()
    guard let rootKey else { return out }
    func visit(_ key: NodeKey, recorded: MerkleChild?) throws {
        guard let node = try store.node(key) else { throw TreeCheckFailure(description: "missing node \(key)") }
        guard out.keys.insert(key).inserted else { throw TreeCheckFailure(description: "node \(key) reached twice") }
        guard try MerkleNode(encoded: node.encoded) == node else {
            throw TreeCheckFailure(description: "node \(key) does not round-trip")
        }
        if let recorded {
            guard recorded.hash == node.hash, recorded.version == key.version else {
                throw TreeCheckFailure(description: "node \(key) has a hash or version its parent does not record")
            }
            var isLeaf = false
            if case .leaf = node { isLeaf = true }
            guard recorded.isLeaf == isLeaf else {
                throw TreeCheckFailure(description: "node \(key) is not of the kind its parent records")
            }
        }
        switch node {
        case .leaf(let keyHash, let valueHash):
            guard keyHash.prefix(Int(key.depth)) == key.path else {
                throw TreeCheckFailure(description: "leaf \(keyHash) is off its path at \(key)")
            }
            out.leaves[keyHash] = valueHash
        case .internal(let left, let right):
            let weight = (left.map { $0.isLeaf ? 1 : 2 } ?? 0) + (right.map { $0.isLeaf ? 1 : 2 } ?? 0)
            guard weight >= 2 else { throw TreeCheckFailure(description: "internal node \(key) is not canonical") }
            for (child, isRight) in [(left, false), (right, true)] {
                guard let child else { continue }
                guard child.version <= key.version else {
                    throw TreeCheckFailure(description: "a child of \(key) is newer than it")
                }
                try visit(key.child(child, right: isRight), recorded: child)
            }
        }
    }
    try visit(rootKey, recorded: nil)
    return out
}

/// Checks that the harness's latest tree holds exactly its model and has the reference root.
func expectMatchesModel(_ tree: TreeHarness, _ note: Comment, sourceLocation: SourceLocation = #_sourceLocation)
    throws
{
    let walked = try walkTree(tree.store, rootKey: tree.rootKey)
    #expect(walked.leaves == tree.contents, note, sourceLocation: sourceLocation)
    #expect(tree.root == referenceRoot(tree.contents), note, sourceLocation: sourceLocation)
    #expect((tree.rootKey == nil) == tree.contents.isEmpty, note, sourceLocation: sourceLocation)
}
