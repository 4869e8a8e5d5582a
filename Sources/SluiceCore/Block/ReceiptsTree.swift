// The receipts root: a binary Merkle tree over a block's receipts, each transaction's in block order and
// the block-end receipt last, so that one receipt (and the events in it) is proven with log2(n) hashes.
//
// The shape is RFC 6962's (Certificate Transparency): leaf = SHA-256(0x00 ‖ the entry's canonical bytes),
// node = SHA-256(0x01 ‖ left ‖ right), a list of n > 1 entries split at the largest power of two below n.
// The prefixes keep a leaf from passing for a node. Every block has at least one entry (its block-end
// receipt), so there is no empty tree.

public enum ReceiptsTree {
    /// The hash of one entry (a receipt's or the block-end receipt's canonical bytes).
    public static func leaf(_ entry: some Collection<UInt8>) -> Hash {
        var bytes = [UInt8]()
        bytes.reserveCapacity(entry.count + 1)
        bytes.append(0)
        bytes.append(contentsOf: entry)
        return Hash.sha256(bytes)
    }

    static func node(_ left: Hash, _ right: Hash) -> Hash { Hash.sha256(tag: 1, left, right) }

    /// The largest power of two strictly below `n` (n ≥ 2).
    static func split(_ n: Int) -> Int {
        var k = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    /// The root over leaf hashes (at least one).
    public static func root(_ leaves: [Hash]) -> Hash {
        precondition(!leaves.isEmpty, "a block's receipts tree always has its block-end leaf")
        return leaves.withUnsafeBufferPointer { root($0[...]) }
    }

    static func root(_ leaves: Slice<UnsafeBufferPointer<Hash>>) -> Hash {
        if leaves.count == 1 { return leaves[leaves.startIndex] }
        let k = split(leaves.count)
        let mid = leaves.startIndex + k
        return node(root(leaves[leaves.startIndex..<mid]), root(leaves[mid..<leaves.endIndex]))
    }

    /// The sibling hashes from leaf `index` up to the root, lowest first.
    public static func path(_ leaves: [Hash], index: Int) -> [Hash] {
        precondition(leaves.indices.contains(index))
        var path: [Hash] = []
        leaves.withUnsafeBufferPointer { all in
            var range = all[...]
            // Walk down, collecting the other side's root at each split; reversed at the end.
            while range.count > 1 {
                let k = split(range.count)
                let mid = range.startIndex + k
                if index < mid {
                    path.append(root(range[mid..<range.endIndex]))
                    range = range[range.startIndex..<mid]
                } else {
                    path.append(root(range[range.startIndex..<mid]))
                    range = range[mid..<range.endIndex]
                }
            }
        }
        return path.reversed()
    }

    /// The root that `leaf` at `index` of `count` leaves and `path` lead to; nil when the path's length
    /// does not fit the tree's shape.
    public static func root(leaf: Hash, index: Int, count: Int, path: [Hash]) -> Hash? {
        guard count >= 1, index >= 0, index < count else { return nil }
        // The splits from the top, to know at each level whether the leaf is on the left.
        var sides: [Bool] = []  // true: the leaf's subtree is the left one
        var start = 0
        var n = count
        while n > 1 {
            let k = split(n)
            if index - start < k {
                sides.append(true)
                n = k
            } else {
                sides.append(false)
                start += k
                n -= k
            }
        }
        guard sides.count == path.count else { return nil }
        var hash = leaf
        for (sibling, left) in zip(path, sides.reversed()) {
            hash = left ? node(hash, sibling) : node(sibling, hash)
        }
        return hash
    }
}
