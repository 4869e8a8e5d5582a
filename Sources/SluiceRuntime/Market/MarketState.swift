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
    public static let commitGas: UInt64 = 20
    public static let updateGas: UInt64 = 30
    public static let heartbeatGas: UInt64 = 10
    public static let unbondGas: UInt64 = 20
    public static let withdrawGas: UInt64 = 20
    /// Blocks between `provider.unbond` and `provider.withdraw` (10 minutes at 250 ms): the stake stays
    /// slashable for late faults meanwhile.
    public static let unbondingBlocks: UInt64 = 2_400
    public static let revealGas: UInt64 = 20
    /// Commitments are due this long after the job's maximum duration has passed since matching.
    public static let commitGraceSeconds: UInt64 = 600
    /// Reveals are due this long after the last commitment.
    public static let revealWindowSeconds: UInt64 = 300
    /// The protocol's share of each payment, in basis points (2 %), paid to the treasury.
    public static let feeBasisPoints: UInt128 = 200
    /// The share of its stake a provider loses for a missed commitment or reveal (10 %), paid to the
    /// job's consumer for the delay.
    public static let missedDeadlineSlashBasisPoints: UInt128 = 1_000
}

/// A registered provider.
public struct ProviderRecord: Hashable, Sendable {
    public enum Status: UInt8, Sendable, CaseIterable {
        case active = 0
        /// Takes no new jobs; its stake can be withdrawn after the unbonding period.
        case unbonding = 1
        /// Its stake went back; it leaves the book.
        case withdrawn = 2

        public var name: String {
            switch self {
            case .active: "active"
            case .unbonding: "unbonding"
            case .withdrawn: "withdrawn"
            }
        }
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
    /// The block of its last heartbeat, and how many it sent.
    public var lastHeartbeatHeight: UInt64
    public var heartbeats: UInt64
    /// The block of its `provider.unbond`.
    public var unbondHeight: UInt64

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
        lastHeartbeatHeight = 0
        heartbeats = 0
        unbondHeight = 0
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
        /// Every assigned provider committed: reveals are due.
        case committed = 4
        /// Paid and refunded.
        case settled = 5
        /// The reveals disagree: an audit decides (next slice).
        case disputed = 6

        public var name: String {
            switch self {
            case .open: "open"
            case .matched: "matched"
            case .cancelled: "cancelled"
            case .expired: "expired"
            case .committed: "committed"
            case .settled: "settled"
            case .disputed: "disputed"
            }
        }
    }

    /// One provider assigned to the job, at its own ask, and what it has delivered.
    public struct Assignment: Hashable, Sendable {
        public var provider: Address
        public var pricePerGPUHour: Amount
        public var commitment: Hash?
        public var result: Hash?
        public var usageSeconds: UInt64
        /// What it was paid at settlement (before the protocol fee).
        public var paid: Amount
        /// The blob of its run's logs, named in its reveal.
        public var logs: Hash?

        public init(
            provider: Address, pricePerGPUHour: Amount, commitment: Hash? = nil, result: Hash? = nil,
            usageSeconds: UInt64 = 0, paid: Amount = .zero, logs: Hash? = nil
        ) {
            self.logs = logs
            self.provider = provider
            self.pricePerGPUHour = pricePerGPUHour
            self.commitment = commitment
            self.result = result
            self.usageSeconds = usageSeconds
            self.paid = paid
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
    /// Unix seconds: when commitments (matched) or reveals (committed) are due.
    public var deadline: UInt64
    /// The agreed result, once settled.
    public var result: Hash?
    /// Providers that missed a deadline of this job: never assigned to it again.
    public var failedProviders: [Address]

    public init(id: Hash, consumer: Address, spec: JobSpec, escrow: Amount) {
        self.id = id
        self.consumer = consumer
        self.spec = spec
        self.escrow = escrow
        status = .open
        submitHeight = 0
        matchedHeight = 0
        assigned = []
        deadline = 0
        result = nil
        failedProviders = []
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

/// The open jobs (in submission order), the jobs under way (matched or committed: deadlines to watch)
/// and the registered providers (by address). Written only at block end, so transactions never contend
/// on it.
public struct MarketBook: Hashable, Sendable {
    /// A job under way and its next deadline; the book keeps them sorted by (deadline, id), so the
    /// block-end step finds the overdue ones as a prefix instead of reading every job.
    public struct ActiveJob: Hashable, Sendable, Comparable {
        public var deadline: UInt64
        public var id: Hash
        public init(deadline: UInt64, id: Hash) {
            self.deadline = deadline
            self.id = id
        }
        public static func < (a: ActiveJob, b: ActiveJob) -> Bool {
            a.deadline != b.deadline ? a.deadline < b.deadline : a.id < b.id
        }
    }

    public var openJobs: [Hash]
    public var providers: [Address]
    public var activeJobs: [ActiveJob]

    public init(openJobs: [Hash] = [], providers: [Address] = [], activeJobs: [ActiveJob] = []) {
        self.openJobs = openJobs
        self.providers = providers
        self.activeJobs = activeJobs
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
        w.write(lastHeartbeatHeight)
        w.write(heartbeats)
        w.write(unbondHeight)
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
        lastHeartbeatHeight = try r.read(UInt64.self)
        heartbeats = try r.read(UInt64.self)
        unbondHeight = try r.read(UInt64.self)
    }
}

extension JobRecord.Assignment: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(provider)
        w.write(pricePerGPUHour)
        w.writeOptional(commitment)
        w.writeOptional(result)
        w.write(usageSeconds)
        w.write(paid)
        w.writeOptional(logs)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        provider = try r.readAddress()
        pricePerGPUHour = try r.readAmount()
        commitment = try r.readOptional(Hash.self)
        result = try r.readOptional(Hash.self)
        usageSeconds = try r.read(UInt64.self)
        paid = try r.readAmount()
        logs = try r.readOptional(Hash.self)
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
        w.write(deadline)
        w.writeOptional(result)
        w.writeArray(failedProviders)
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
        deadline = try r.read(UInt64.self)
        result = try r.readOptional(Hash.self)
        failedProviders = try r.readArray(Address.self, max: 1024)
    }
}

extension MarketBook: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.writeArray(openJobs)
        w.writeArray(providers)
        w.writeULEB(UInt64(activeJobs.count))
        for a in activeJobs {
            w.write(a.deadline)
            w.write(a.id)
        }
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        openJobs = try r.readArray(Hash.self)
        providers = try r.readArray(Address.self)
        let n = try r.readLength(max: r.limits.maxElements)
        activeJobs = []
        activeJobs.reserveCapacity(min(n, 1024))
        for _ in 0..<n { activeJobs.append(ActiveJob(deadline: try r.read(UInt64.self), id: try r.readHash())) }
    }
}
