import SluiceCore
import SluiceMerkle
import Testing

@testable import SluiceStorage

/// Tree pages leave out the hashes of children written in the same page; reading a page must give back
/// exactly the nodes that were written, and a page that refers to a child it does not hold is refused.
@Suite struct TreePagesTests {
    private static func keyHash(_ i: Int) -> Hash { Hash.sha256(Array("page-key-\(i)".utf8)) }
    private static func valueHash(_ i: Int, _ round: Int) -> Hash {
        Hash.sha256(Array("page-value-\(i)-\(round)".utf8))
    }

    /// Encodes `nodes` as pages and decodes every page back.
    private static func roundTrip(_ nodes: [(key: NodeKey, node: MerkleNode)]) throws -> [NodeKey: MerkleNode] {
        var out: [NodeKey: MerkleNode] = [:]
        let version = nodes.first!.key.version
        for (_, page) in TreePages.pages(nodes) {
            for (key, node) in try TreePages.decode(page, version: version) {
                #expect(out[key] == nil, "a node is in two pages")
                out[key] = node
            }
        }
        return out
    }

    private static func expectSame(_ nodes: [(key: NodeKey, node: MerkleNode)], _ decoded: [NodeKey: MerkleNode]) {
        #expect(decoded.count == nodes.count)
        for (key, node) in nodes { #expect(decoded[key] == node, "node \(key) changed through its page") }
    }

    @Test(arguments: [1, 2, 300, 5000])
    func aBuildAndAnUpdateReadBackUnchanged(leaves: Int) throws {
        let store = InMemoryNodeStore()
        let built = SparseMerkleTree.build(
            version: 0, leaves: (0..<leaves).map { (Self.keyHash($0), Self.valueHash($0, 0)) }, threads: 2)
        Self.expectSame(built.newNodes, try Self.roundTrip(built.newNodes))
        store.apply(built)
        // Overwrites, deletes and inserts, so that leaves move up and down and old siblings are kept.
        var changes: [(keyHash: Hash, valueHash: Hash?)] = []
        for i in stride(from: 0, to: leaves, by: 3) { changes.append((Self.keyHash(i), Self.valueHash(i, 1))) }
        for i in stride(from: 1, to: leaves, by: 21) { changes.append((Self.keyHash(i), nil)) }
        for i in leaves..<(leaves + leaves / 5 + 1) { changes.append((Self.keyHash(i), Self.valueHash(i, 1))) }
        let updated = try SparseMerkleTree.update(
            reader: store, rootKey: built.rootKey, version: 1, changes: changes, threads: 2)
        guard !updated.newNodes.isEmpty else { return }
        Self.expectSame(updated.newNodes, try Self.roundTrip(updated.newNodes))
    }

    @Test func pagesAreSmallerThanTheNodes() {
        let built = SparseMerkleTree.build(
            version: 7, leaves: (0..<5000).map { (Self.keyHash($0), Self.valueHash($0, 0)) }, threads: 2)
        let full = built.newNodes.reduce(0) { $0 + $1.node.encoded.count }
        let paged = TreePages.pages(built.newNodes).reduce(0) { $0 + $1.value.count }
        // A built tree's internal nodes all lie in pages with their children: only leaves keep 64 bytes.
        #expect(paged * 2 < full, "pages \(paged) bytes, nodes \(full) bytes")
    }

    @Test func aPageMissingAChildItRefersToIsRefused() throws {
        let built = SparseMerkleTree.build(
            version: 3, leaves: (0..<2000).map { (Self.keyHash($0), Self.valueHash($0, 0)) }, threads: 1)
        // Drop one leaf deep in a depth-8 page: its parent recorded it without its hash.
        let dropped = try #require(built.newNodes.firstIndex { $0.key.depth > 9 && !$0.node.isInternal })
        var nodes = built.newNodes
        let key = nodes.remove(at: dropped).key
        let page = try #require(TreePages.pages(nodes).first { $0.key == TreePages.pageKey(key) })
        #expect(throws: StorageError.self) { try TreePages.decode(page.value, version: 3) }
        // Truncated and unknown-kind pages are refused too.
        #expect(throws: StorageError.self) { try TreePages.decode(Array(page.value.dropLast()), version: 3) }
        #expect(throws: StorageError.self) { try TreePages.decode([9, 0, 0, 7], version: 3) }
    }

    @Test func staleRecordsRoundTrip() throws {
        let keys = [
            NodeKey(version: 0, depth: 0, path: .zero), NodeKey(version: 300, depth: 9, path: Self.keyHash(1)),
            NodeKey(version: UInt64.max, depth: 256, path: Self.keyHash(2)),
        ]
        #expect(try staleKeys(staleRecord(keys)) == keys)
        #expect(throws: StorageError.self) { try staleKeys([0, 0x81]) }
    }
}

extension MerkleNode {
    fileprivate var isInternal: Bool {
        if case .internal = self { return true }
        return false
    }
}
