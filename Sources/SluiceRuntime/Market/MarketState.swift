public import SluiceCore

// The market's records in the state map (docs/MARKET.md): one per provider, one per job, and the book
// (open jobs, registered providers), which only the block-end step writes.

/// The market's parameters. Genesis parameters in a later slice; constants for now.
public enum MarketParameters {
    /// The least stake a provider registers with.
    public static let minimumStake: Amount = 1_000
    /// Blocks an unmatched job stays open before it expires with a full refund.
    public static let openJobBlocks: UInt64 = 1_200
    /// Gas of the market's transactions.
    public static let registerGas: UInt64 = 50
    public static let submitGas: UInt64 = 30
    public static let cancelGas: UInt64 = 20
    /// The most providers a job asks for.
    public static let maxRedundancy: UInt8 = 16
    /// The longest job, in seconds.
    public static let maxDurationSeconds: UInt64 = 7 * 24 * 3600
}

/// A registered provider.
public struct ProviderRecord: Hashable, Sendable {
    public enum Status: UInt8, Sendable {
        case active = 0
    }

    public var owner: Address
    public var offer: ProviderRegistration
    /// The stake held now (slashes reduce it).
    public var stake: Amount
    /// GPUs offered, and GPUs taken by matched jobs.
    public var capacity: UInt32
    public var busy: UInt32
    public var status: Status
    public var jobsDone: UInt32
    public var jobsFailed: UInt32
    public var jobsDisputed: UInt32
    /// The height of the block that registered it (set at block end).
    public var registeredHeight: UInt64

    public init(owner: Address, offer: ProviderRegistration) {
        self.owner = owner
        self.offer = offer
        stake = offer.stake
        capacity = offer.devices.reduce(0) { $0 &+ $1.count }
        busy = 0
        status = .active
        jobsDone = 0
        jobsFailed = 0
        jobsDisputed = 0
        registeredHeight = 0
    }

    public var free: UInt32 { capacity > busy ? capacity - busy : 0 }

    /// Higher is better: done jobs, less twice the failed and three times the disputed.
    public var reputation: Int64 { Int64(jobsDone) - 2 * Int64(jobsFailed) - 3 * Int64(jobsDisputed) }

    /// Whether its devices meet a job's requirements.
    public func fits(_ spec: JobSpec) -> Bool {
        offer.devices.contains { d in
            d.vramGB >= spec.minVramGB && (spec.model.isEmpty || d.model == spec.model) && d.count >= spec.gpuCount
        }
    }
}

/// A job and where it is in its life.
public struct JobRecord: Hashable, Sendable {
    public enum Status: UInt8, Sendable, CaseIterable {
        case open = 0
        case matched = 1
        case cancelled = 2
        case expired = 3

        public var name: String {
            switch self {
            case .open: "open"
            case .matched: "matched"
            case .cancelled: "cancelled"
            case .expired: "expired"
            }
        }
    }

    /// One provider assigned to the job, at its own ask.
    public struct Assignment: Hashable, Sendable {
        public var provider: Address
        public var pricePerGPUHour: Amount
        public init(provider: Address, pricePerGPUHour: Amount) {
            self.provider = provider
            self.pricePerGPUHour = pricePerGPUHour
        }
    }

    public var id: Hash
    public var consumer: Address
    public var spec: JobSpec
    /// What is still held for the job.
    public var escrow: Amount
    public var status: Status
    /// The height of the block that submitted it (set at block end).
    public var submitHeight: UInt64
    public var matchedHeight: UInt64
    public var assigned: [Assignment]

    public init(id: Hash, consumer: Address, spec: JobSpec, escrow: Amount) {
        self.id = id
        self.consumer = consumer
        self.spec = spec
        self.escrow = escrow
        status = .open
        submitHeight = 0
        matchedHeight = 0
        assigned = []
    }

    /// A job's id: SHA-256 of a domain tag, the consumer and the sequence of the submitting transaction.
    public static func id(consumer: Address, sequence: UInt64) -> Hash {
        var w = CanonicalWriter(capacity: 64)
        for b in "SLUICE::job".utf8 { w.write(b) }
        w.write(consumer)
        w.write(sequence)
        return Hash.sha256(w.bytes)
    }
}

/// The open jobs (in submission order) and the registered providers (by address). Written only at block
/// end, so transactions never contend on it.
public struct MarketBook: Hashable, Sendable {
    public var openJobs: [Hash]
    public var providers: [Address]

    public init(openJobs: [Hash] = [], providers: [Address] = []) {
        self.openJobs = openJobs
        self.providers = providers
    }
}

extension ProviderRecord: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(owner)
        w.write(offer)
        w.write(stake)
        w.write(capacity)
        w.write(busy)
        w.write(status.rawValue)
        w.write(jobsDone)
        w.write(jobsFailed)
        w.write(jobsDisputed)
        w.write(registeredHeight)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        owner = try r.readAddress()
        offer = try r.read(ProviderRegistration.self)
        stake = try r.readAmount()
        capacity = try r.read(UInt32.self)
        busy = try r.read(UInt32.self)
        let s = try r.readByte()
        guard let status = Status(rawValue: s) else { throw CoreError(.codec, "unknown provider status \(s)") }
        self.status = status
        jobsDone = try r.read(UInt32.self)
        jobsFailed = try r.read(UInt32.self)
        jobsDisputed = try r.read(UInt32.self)
        registeredHeight = try r.read(UInt64.self)
    }
}

extension JobRecord.Assignment: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(provider)
        w.write(pricePerGPUHour)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        provider = try r.readAddress()
        pricePerGPUHour = try r.readAmount()
    }
}

extension JobRecord: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(id)
        w.write(consumer)
        w.write(spec)
        w.write(escrow)
        w.write(status.rawValue)
        w.write(submitHeight)
        w.write(matchedHeight)
        w.writeArray(assigned)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        id = try r.readHash()
        consumer = try r.readAddress()
        spec = try r.read(JobSpec.self)
        escrow = try r.readAmount()
        let s = try r.readByte()
        guard let status = Status(rawValue: s) else { throw CoreError(.codec, "unknown job status \(s)") }
        self.status = status
        submitHeight = try r.read(UInt64.self)
        matchedHeight = try r.read(UInt64.self)
        assigned = try r.readArray(Assignment.self, max: Int(MarketParameters.maxRedundancy))
    }
}

extension MarketBook: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.writeArray(openJobs)
        w.writeArray(providers)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        openJobs = try r.readArray(Hash.self)
        providers = try r.readArray(Address.self)
    }
}
