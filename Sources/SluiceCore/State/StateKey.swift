/// A key of the state map: a module's key space and a 32-byte identifier within it.
///
/// Keys are fixed-size values so that the executor can read and write them without allocating.
/// The identifier is a digest (an address, a job id, a hash of a contract slot), so its first word
/// is already uniformly distributed and serves as the hash.
public struct StateKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Key spaces of the modules.
    public struct Space: RawRepresentable, Hashable, Sendable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// `bank/account/<address>`: balance and sequence.
        public static let bankAccount = Space(rawValue: 1)
    }

    public var space: Space
    public var id: Hash

    @inlinable
    public init(space: Space, id: Hash) {
        self.space = space
        self.id = id
    }

    public static func account(_ address: Address) -> StateKey { StateKey(space: .bankAccount, id: address.hash) }

    /// A well-mixed 64-bit hash, used for table slots and lock stripes.
    @inlinable
    public var hashWord: UInt64 { id.w0 ^ (UInt64(space.rawValue) &* 0x9E37_79B9_7F4A_7C15) }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(hashWord) }

    @inlinable
    public static func < (a: StateKey, b: StateKey) -> Bool {
        a.space.rawValue != b.space.rawValue ? a.space.rawValue < b.space.rawValue : a.id < b.id
    }

    public var description: String {
        switch space {
        case .bankAccount: "bank/account/\(id.hex)"
        default: "\(space.rawValue)/\(id.hex)"
        }
    }
}

extension StateKey: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(space.rawValue)
        w.write(id)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        space = Space(rawValue: try r.read(UInt32.self))
        id = try r.readHash()
    }
}
