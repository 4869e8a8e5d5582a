public import SluiceCore

// A single-threaded open-addressing map from state keys to a small value, reused block after block.
//
// The cost model walks every declared key of a block once; a Swift Dictionary costs a SipHash per
// probe there, while the keys already carry a keyed, mixed hash (`StateKey.hashWord`). Slots are
// stamped with a generation, so clearing for the next block is O(1).

@usableFromInline
struct KeyTable<Value> {
    @usableFromInline var keys: UnsafeMutablePointer<StateKey>
    @usableFromInline var values: UnsafeMutablePointer<Value>
    @usableFromInline var stamps: UnsafeMutablePointer<UInt32>
    @usableFromInline var mask = 0
    @usableFromInline var count = 0
    @usableFromInline var generation: UInt32 = 1
    @usableFromInline let empty: Value

    @usableFromInline
    init(empty: Value) {
        self.empty = empty
        keys = .allocate(capacity: 1)
        values = .allocate(capacity: 1)
        stamps = .allocate(capacity: 1)
        stamps.initialize(to: 0)
    }

    @usableFromInline
    func free() {
        keys.deallocate()
        values.deallocate()
        stamps.deallocate()
    }

    /// Empties the table and makes room for `expected` keys.
    @inlinable
    mutating func reset(expected: Int) {
        let want = Swift.max(1024, (expected * 2).nextPowerOfTwo)
        if want > mask + 1 {
            free()
            allocate(want)
        } else {
            generation &+= 1
            if generation == 0 {
                stamps.update(repeating: 0, count: mask + 1)
                generation = 1
            }
        }
        count = 0
    }

    @inlinable
    func slot(_ key: StateKey) -> Int {
        var i = Int(truncatingIfNeeded: key.hashWord) & mask
        while stamps[i] == generation && keys[i] != key { i = (i &+ 1) & mask }
        return i
    }

    @inlinable
    subscript(key: StateKey) -> Value {
        let i = slot(key)
        return stamps[i] == generation ? values[i] : empty
    }

    /// Sets a value; grows when three quarters full.
    @inlinable
    mutating func set(_ key: StateKey, _ value: Value) {
        if (count + 1) * 4 > (mask + 1) * 3 { grow() }
        let i = slot(key)
        if stamps[i] != generation {
            stamps[i] = generation
            (keys + i).initialize(to: key)
            count += 1
        }
        values[i] = value
    }

    /// Fresh, empty storage of `capacity` slots (a power of two); the caller frees the old one.
    @usableFromInline
    mutating func allocate(_ capacity: Int) {
        keys = .allocate(capacity: capacity)
        values = .allocate(capacity: capacity)
        stamps = .allocate(capacity: capacity)
        stamps.initialize(repeating: 0, count: capacity)
        mask = capacity - 1
        generation = 1
    }

    @usableFromInline
    mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        let oldStamps = stamps
        let oldCapacity = mask + 1
        let oldGeneration = generation
        allocate(oldCapacity * 2)
        count = 0
        for i in 0..<oldCapacity where oldStamps[i] == oldGeneration { set(oldKeys[i], oldValues[i]) }
        oldKeys.deallocate()
        oldValues.deallocate()
        oldStamps.deallocate()
    }
}
