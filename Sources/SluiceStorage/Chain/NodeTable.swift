import SluiceCore
import SluiceMerkle
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// The current tree's nodes near the top, one slot per position, found by arithmetic instead of hashing.
//
// A root update reads every node along every changed path and the commit writes as many new nodes, each
// replacing the node at its position: at 1M leaves, 160,000 of each per block. In a hash map each costs a
// hash, a probe sequence and separate key and value arrays (three cache misses); the profile put the node
// cache at half of the root update and most of the commit's second core. Down to `depth` 20 a binary tree
// of a million keys holds a node at most positions, so the positions themselves are the index: slot
// 2^d − 1 + (the path's first d bits). One slot is two cache lines (a spin lock, a generation, the
// version, the node), and a lookup touches only it. Deeper positions are sparse and stay in the hash map.
//
// The memory is zeroed on demand by the OS (calloc of a large block): a small chain touches a few pages.
// `removeAll` bumps the generation instead of clearing 2 million slots.
final class NodeTable: @unchecked Sendable {
    /// Positions at depth 0...depth have a slot.
    let depth: Int
    private let slots: UnsafeMutableRawPointer
    private let slotCount: Int
    private let generation = Atomic<UInt32>(1)

    /// lock (UInt32) @0, generation (UInt32) @4, version (UInt64) @8, node @16.
    private static var stride: Int { (16 + MemoryLayout<MerkleNode>.stride + 63) & ~63 }

    init(depth: Int) {
        precondition((0...30).contains(depth))
        self.depth = depth
        slotCount = (1 << (depth + 1)) - 1
        guard let memory = calloc(slotCount, Self.stride) else { fatalError("cannot reserve the node table") }
        slots = memory
    }

    deinit { free(slots) }

    @inline(__always)
    private func slot(_ depth: Int, _ path: Hash) -> UnsafeMutableRawPointer {
        let prefix = depth == 0 ? 0 : Int(truncatingIfNeeded: path.w0.byteSwapped >> UInt64(64 - depth))
        let index = (1 << depth) - 1 + prefix
        return slots + index &* Self.stride
    }

    @inline(__always)
    private func lock(_ slot: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Atomic<UInt32>> {
        let word = slot.assumingMemoryBound(to: Atomic<UInt32>.self)
        while true {
            if word.pointee.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged { return word }
            var spins = 0
            while word.pointee.load(ordering: .relaxed) != 0 {
                spins &+= 1
                if spins > 64 {
                    spins = 0
                    sched_yield()
                }
            }
        }
    }

    /// The node at `key` if the table holds that version of its position.
    func node(_ key: NodeKey) -> MerkleNode? {
        let s = slot(Int(key.depth), key.path)
        let current = generation.load(ordering: .relaxed)
        let word = lock(s)
        defer { word.pointee.store(0, ordering: .releasing) }
        guard s.load(fromByteOffset: 4, as: UInt32.self) == current,
            s.load(fromByteOffset: 8, as: UInt64.self) == key.version
        else { return nil }
        return (s + 16).assumingMemoryBound(to: MerkleNode.self).pointee
    }

    /// Stores a node at its position; with `keepNewer`, not over a newer version of the position.
    func set(_ key: NodeKey, _ node: MerkleNode, keepNewer: Bool) {
        let s = slot(Int(key.depth), key.path)
        let current = generation.load(ordering: .relaxed)
        let word = lock(s)
        defer { word.pointee.store(0, ordering: .releasing) }
        if keepNewer && s.load(fromByteOffset: 4, as: UInt32.self) == current
            && s.load(fromByteOffset: 8, as: UInt64.self) > key.version
        {
            return
        }
        s.storeBytes(of: current, toByteOffset: 4, as: UInt32.self)
        s.storeBytes(of: key.version, toByteOffset: 8, as: UInt64.self)
        (s + 16).assumingMemoryBound(to: MerkleNode.self).initialize(to: node)
    }

    /// Forgets every node (slots of an older generation read as empty).
    func removeAll() { generation.wrappingAdd(1, ordering: .relaxed) }
}
