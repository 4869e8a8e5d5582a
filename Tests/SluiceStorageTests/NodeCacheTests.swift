import Dispatch
import SluiceCore
import SluiceMerkle
import Testing

@testable import SluiceStorage

/// The node cache: a table by position down to its depth, a hash map below; a hit needs the exact version.
@Suite struct NodeCacheTests {
    private static func leaf(_ i: UInt64) -> MerkleNode {
        .leaf(keyHash: Hash(w0: i, w1: i, w2: i, w3: i), valueHash: Hash(w0: ~i, w1: i, w2: ~i, w3: i))
    }

    @Test(arguments: [0, 1, 7, 8, 19, 20, 21, 40, 256])
    func versionsReplaceAndMiss(depth: Int) {
        let cache = NodeCache(capacity: 10_000)
        let path = Hash.sha256(Array("node-cache-\(depth)".utf8))
        let v3 = NodeKey(version: 3, depth: depth, path: path)
        let v5 = NodeKey(version: 5, depth: depth, path: path)
        #expect(cache.node(v3) == nil)
        cache.setCurrent(v3, Self.leaf(3))
        #expect(cache.node(v3) == Self.leaf(3))
        #expect(cache.node(v5) == nil)
        cache.setCurrent(v5, Self.leaf(5))
        #expect(cache.node(v5) == Self.leaf(5))
        #expect(cache.node(v3) == nil)
        // A read of an older version does not push the current node out; one of a newer version does.
        cache.setRead(v3, Self.leaf(3))
        #expect(cache.node(v5) == Self.leaf(5))
        cache.setRead(NodeKey(version: 6, depth: depth, path: path), Self.leaf(6))
        #expect(cache.node(NodeKey(version: 6, depth: depth, path: path)) == Self.leaf(6))
        // Another position is another slot.
        if depth > 0 {
            let sibling = NodeKey(version: 6, depth: depth, path: path.flippingBit(depth - 1))
            #expect(cache.node(sibling) == nil)
        }
        cache.removeAll()
        #expect(cache.node(NodeKey(version: 6, depth: depth, path: path)) == nil)
        cache.setCurrent(v5, Self.leaf(5))
        #expect(cache.node(v5) == Self.leaf(5))
    }

    /// Writers replace nodes while readers read them: a reader sees a node whole, the one of its version.
    @Test func concurrentReadersSeeWholeNodes() {
        let cache = NodeCache(capacity: 10_000)
        let paths = (0..<64).map { Hash.sha256([UInt8($0)]) }
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            for round in 0..<20_000 {
                let path = paths[(round &* 7 &+ worker) % paths.count]
                let depth = 12 + (round % 16)
                let version = UInt64(round % 50)
                let key = NodeKey(version: version, depth: depth, path: path)
                if worker % 2 == 0 {
                    cache.setCurrent(key, Self.leaf(version))
                } else if let node = cache.node(key) {
                    #expect(node == Self.leaf(version))
                }
            }
        }
    }
}

extension Hash {
    fileprivate func flippingBit(_ index: Int) -> Hash {
        var out = self
        withUnsafeMutableBytes(of: &out) { $0[index >> 3] ^= 0x80 >> UInt8(index & 7) }
        return out
    }
}
