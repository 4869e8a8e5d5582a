import SluiceCore

// Bit addressing of 256-bit keys and the two hashes of the tree.
//
// A `Hash` keeps its bytes in four words loaded little-endian (`w0` holds bytes 0..<8), so byte-swapping a
// word gives its eight bytes most significant first: bit `i` of a key (bit 7 - i%8 of byte i/8) is then bit
// 63 - i%64 of the swapped word. These helpers run a few times per node on the update's hot path.

extension Hash {
    @inline(__always)
    func word(_ index: Int) -> UInt64 {
        switch index {
        case 0: w0
        case 1: w1
        case 2: w2
        default: w3
        }
    }

    @inline(__always)
    mutating func setWord(_ index: Int, _ value: UInt64) {
        switch index {
        case 0: w0 = value
        case 1: w1 = value
        case 2: w2 = value
        default: w3 = value
        }
    }

    /// Bit `index` (0..<256), most significant bit of byte 0 first.
    @inline(__always)
    func bit(_ index: Int) -> Bool {
        (word(index >> 6).byteSwapped >> UInt64(63 - (index & 63))) & 1 == 1
    }

    /// The first `depth` bits (0...256) with the rest zeroed: the path of the subtree at that depth.
    @inline(__always)
    func prefix(_ depth: Int) -> Hash {
        var out = Hash.zero
        var remaining = depth
        var index = 0
        while remaining > 0 {
            let w = word(index)
            if remaining >= 64 {
                out.setWord(index, w)
            } else {
                let mask = (UInt64.max << UInt64(64 - remaining)).byteSwapped
                out.setWord(index, w & mask)
            }
            remaining -= 64
            index += 1
        }
        return out
    }

    /// This hash with bit `index` set.
    @inline(__always)
    func settingBit(_ index: Int) -> Hash {
        var out = self
        let w = index >> 6
        out.setWord(w, word(w) | (UInt64(1) << UInt64(63 - (index & 63))).byteSwapped)
        return out
    }
}

/// The two node hashes, computed from a 65-byte stack buffer so that hashing allocates nothing of ours.
enum NodeHashing {
    static let leafTag: UInt8 = 0x00
    static let internalTag: UInt8 = 0x01

    /// SHA-256(0x00 ‖ keyHash ‖ valueHash).
    @inline(__always)
    static func leaf(keyHash: Hash, valueHash: Hash) -> Hash {
        Hash.sha256(tag: leafTag, keyHash, valueHash)
    }

    /// SHA-256(0x01 ‖ left ‖ right); an empty child is `Hash.zero`.
    @inline(__always)
    static func `internal`(left: Hash, right: Hash) -> Hash {
        Hash.sha256(tag: internalTag, left, right)
    }
}
