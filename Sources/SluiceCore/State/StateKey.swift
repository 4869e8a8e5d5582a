/// A key of the state map: a module's key space and a 32-byte identifier within it.
///
/// Keys are fixed-size values so that the executor can read and write them without allocating.
/// Identifiers can be chosen by users (a transfer may name any 32 bytes as its recipient), so the
/// hash mixes every word with a secret drawn once per process: no one can aim keys at one bucket.
public struct StateKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Key spaces of the modules.
    public struct Space: RawRepresentable, Hashable, Sendable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// `bank/account/<address>`: balance and sequence.
        public static let bankAccount = Space(rawValue: 1)
        /// `market/provider/<address>`: a provider's stake, devices, ask and reputation.
        public static let marketProvider = Space(rawValue: 2)
        /// `market/job/<id>`: a job, its escrow and its assignments.
        public static let marketJob = Space(rawValue: 3)
        /// `market/book`: the open jobs and the registered providers (written at block end only).
        public static let marketBook = Space(rawValue: 4)
        /// `market/params`: the market's genesis parameters (absent: the defaults).
        public static let marketParams = Space(rawValue: 5)
        /// `market/burned`: the total burned by slashes (written at block end only).
        public static let marketBurned = Space(rawValue: 6)
        /// `market/reward/<address>`: emissions credited to an address and not yet claimed.
        public static let marketReward = Space(rawValue: 7)
        /// `market/emitted`: the total minted by emissions (written at block end only).
        public static let marketEmitted = Space(rawValue: 8)
        /// `market/ledger/<address>`: the last payments, slashes and emissions of an address, with totals
        /// (written at block end only).
        public static let marketLedger = Space(rawValue: 9)
    }

    public var space: Space
    public var id: Hash

    @inlinable
    public init(space: Space, id: Hash) {
        self.space = space
        self.id = id
    }

    public static func account(_ address: Address) -> StateKey { StateKey(space: .bankAccount, id: address.hash) }
    public static func provider(_ address: Address) -> StateKey { StateKey(space: .marketProvider, id: address.hash) }
    public static func job(_ id: Hash) -> StateKey { StateKey(space: .marketJob, id: id) }
    public static let marketBook = StateKey(space: .marketBook, id: .zero)
    public static let marketParameters = StateKey(space: .marketParams, id: .zero)
    public static let marketBurned = StateKey(space: .marketBurned, id: .zero)
    public static func reward(_ address: Address) -> StateKey { StateKey(space: .marketReward, id: address.hash) }
    public static let marketEmitted = StateKey(space: .marketEmitted, id: .zero)
    public static func ledger(_ address: Address) -> StateKey { StateKey(space: .marketLedger, id: address.hash) }

    /// A keyed, well-mixed 64-bit hash, used for table slots and lock stripes. It differs between
    /// processes, so nothing that must be deterministic may depend on it.
    @inlinable
    public var hashWord: UInt64 {
        let seed = StateKey.hashSeed
        var h = (id.w0 ^ seed.0) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 32) ^ id.w1) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 29) ^ id.w2) &* 0x94D0_49BB_1331_11EB
        h = (h ^ (h >> 32) ^ id.w3 ^ UInt64(space.rawValue)) &* 0x9E37_79B9_7F4A_7C15
        return (h ^ (h >> 31)) &+ seed.1
    }

    /// The per-process secret of `hashWord`.
    public static let hashSeed: (UInt64, UInt64) = {
        var g = SystemRandomNumberGenerator()
        return (g.next(), g.next())
    }()

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(hashWord) }

    @inlinable
    public static func < (a: StateKey, b: StateKey) -> Bool {
        a.space.rawValue != b.space.rawValue ? a.space.rawValue < b.space.rawValue : a.id < b.id
    }

    public var description: String {
        switch space {
        case .bankAccount: "bank/account/\(id.hex)"
        case .marketProvider: "market/provider/\(id.hex)"
        case .marketJob: "market/job/\(id.hex)"
        case .marketBook: "market/book"
        case .marketParams: "market/params"
        case .marketBurned: "market/burned"
        case .marketReward: "market/reward/\(id.hex)"
        case .marketEmitted: "market/emitted"
        case .marketLedger: "market/ledger/\(id.hex)"
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
