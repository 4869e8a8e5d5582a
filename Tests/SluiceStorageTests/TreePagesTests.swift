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

    /// Pages encoded on several threads (each a slice of the nodes, joined per page) are the same bytes.
    @Test func pagesAreTheSameOnEveryThreadCount() {
        let built = SparseMerkleTree.build(
            version: 4, leaves: (0..<15000).map { (Self.keyHash($0), Self.valueHash($0, 0)) }, threads: 2)
        #expect(built.newNodes.count > 3 * 8192, "too few nodes to split")
        let one = TreePages.pages(built.newNodes, threads: 1)
        for threads in [2, 3] {
            let many = TreePages.pages(built.newNodes, threads: threads)
            #expect(many.map(\.key) == one.map(\.key))
            #expect(many.map(\.value) == one.map(\.value), "pages differ on \(threads) threads")
        }
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

    @Test func staleRecordsCountNodesPerPage() throws {
        let keys = [
            NodeKey(version: 0, depth: 0, path: .zero), NodeKey(version: 300, depth: 9, path: Self.keyHash(1)),
            NodeKey(version: 0, depth: 3, path: Self.keyHash(5)),
            NodeKey(version: 300, depth: 12, path: Self.keyHash(1)),
            NodeKey(version: UInt64.max, depth: 256, path: Self.keyHash(2)),
        ]
        let firstByte = { (i: Int) in Int(Self.keyHash(i).bytes[0]) }
        #expect(
            try stalePageCounts(staleRecord(keys)) == [
                StalePageCount(version: 0, page: 0, count: 2),
                StalePageCount(version: 300, page: 1 + firstByte(1), count: 2),
                StalePageCount(version: UInt64.max, page: 1 + firstByte(2), count: 1),
            ])
        #expect(try stalePageCounts(staleRecord([])) == [])
        #expect(throws: StorageError.self) { try stalePageCounts([0, 0x81]) }
        #expect(throws: StorageError.self) { try stalePageCounts([0, 2, 1]) }
        #expect(throws: StorageError.self) { try stalePageCounts([0, 0, 0]) }
    }

    /// What a pruner relies on: over a run of updates, the counts a page collects never exceed its node
    /// count, and a page whose counts reach it holds no node of the current tree.
    @Test func staleCountsReachAPageOnlyWhenNoneOfItsNodesIsCurrent() throws {
        let store = InMemoryNodeStore()
        var pages: [StalePage: Int] = [:]
        var stale: [StalePage: UInt64] = [:]
        var update = SparseMerkleTree.build(
            version: 0, leaves: (0..<3000).map { (Self.keyHash($0), Self.valueHash($0, 0)) }, threads: 2)
        var rng = SplitMix64(seed: 5)
        for version in 1...12 {
            store.apply(update)
            for (key, _) in update.newNodes {
                pages[StalePage(version: key.version, page: TreePages.pageIndex(key)), default: 0] += 1
            }
            for entry in try stalePageCounts(staleRecord(update.staleNodes)) {
                stale[StalePage(version: entry.version, page: entry.page), default: 0] += entry.count
            }
            let changed = Set((0..<400).map { _ in rng.below(4000) }).sorted()
            let changes = changed.map { i in
                (keyHash: Self.keyHash(i), valueHash: rng.below(4) == 0 ? nil : Self.valueHash(i, version))
            }
            update = try SparseMerkleTree.update(
                reader: store, rootKey: update.rootKey, version: UInt64(version), changes: changes, threads: 2)
        }
        store.apply(update)
        for entry in try stalePageCounts(staleRecord(update.staleNodes)) {
            stale[StalePage(version: entry.version, page: entry.page), default: 0] += entry.count
        }
        var current = Set<StalePage>()
        func walk(_ key: NodeKey) throws {
            current.insert(StalePage(version: key.version, page: TreePages.pageIndex(key)))
            guard case .internal(let left, let right) = try #require(store.node(key)) else { return }
            let depth = Int(key.depth)
            if let left { try walk(NodeKey(version: left.version, depth: depth + 1, path: key.path)) }
            if let right {
                var path = key.path
                withUnsafeMutableBytes(of: &path) { $0[depth >> 3] |= 0x80 >> UInt8(depth & 7) }
                try walk(NodeKey(version: right.version, depth: depth + 1, path: path))
            }
        }
        try walk(try #require(update.rootKey))
        #expect(!stale.isEmpty)
        for (page, count) in stale {
            let nodes = try #require(pages[page])
            #expect(count <= UInt64(nodes), "page \(page) has \(nodes) nodes but \(count) stale")
            if count == UInt64(nodes) { #expect(!current.contains(page), "page \(page) is all stale but current") }
        }
    }

    @Test func receiptsRecordsReadOneReceiptInPlace() throws {
        var rng = SplitMix64(seed: 8)
        for count in [1, 2, 17, 1000] {
            let receipts = (0..<count).map { i in
                Receipt(
                    transactionHash: Self.keyHash(i), status: i % 3 == 0 ? .failed : .success, gasUsed: UInt64(i),
                    fee: Amount(UInt128(rng.below(1000))), error: i % 3 == 0 ? "error \(i)" : nil,
                    output: i % 5 == 0 ? Self.valueHash(i, 1) : nil)
            }
            let end = BlockEndReceipt(events: [.feesCollected(amount: Amount(UInt128(count)))])
            let (record, root) = ReceiptsRecord.encode(receipts, blockEnd: end)
            for i in 0...count { #expect(try Self.receipt(at: i, in: record) == (i < count ? receipts[i] : nil)) }
            // The root is the tree's over every entry, the block-end receipt last.
            let leaves = receipts.map { ReceiptsTree.leaf($0.canonicalBytes) } + [ReceiptsTree.leaf(end.canonicalBytes)]
            #expect(root == ReceiptsTree.root(leaves))
            #expect(
                try Self.inPlace(record) { raw throws(StorageError) in try ReceiptsRecord.blockEnd(in: raw, height: 1) }
                    == end)
            #expect(
                try Self.inPlace(record) { raw throws(StorageError) in try ReceiptsRecord.leaves(in: raw, height: 1) }
                    == leaves)
            // Cut short: the last entry (the block-end receipt) is past the record's end.
            let cut = Array(record.dropLast())
            #expect(throws: StorageError.self) {
                try Self.inPlace(cut) { raw throws(StorageError) in try ReceiptsRecord.blockEnd(in: raw, height: 1) }
            }
        }
        #expect(throws: StorageError.self) { try Self.receipt(at: 0, in: [0, 0]) }
        #expect(throws: StorageError.self) { try Self.receipt(at: 0, in: [0, 0, 0, 9]) }
    }
}

extension TreePagesTests {
    fileprivate static func inPlace<T>(
        _ record: [UInt8], _ read: (UnsafeRawBufferPointer) throws(StorageError) -> T
    ) throws -> T {
        var result: Result<T, StorageError>?
        record.withUnsafeBytes { raw in
            do throws(StorageError) { result = .success(try read(raw)) } catch { result = .failure(error) }
        }
        return try result!.get()
    }

    fileprivate static func receipt(at index: Int, in record: [UInt8]) throws -> Receipt? {
        var result: Result<Receipt?, StorageError> = .success(nil)
        record.withUnsafeBytes { raw in
            do throws(StorageError) {
                result = .success(try ReceiptsRecord.receipt(at: index, in: raw))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }
}

private struct StalePage: Hashable, CustomStringConvertible {
    var version: UInt64
    var page: Int
    var description: String { "\(version)/\(page)" }
}

extension MerkleNode {
    fileprivate var isInternal: Bool {
        if case .internal = self { return true }
        return false
    }
}
