public import SluiceCore

/// The open jobs (in submission order), the jobs under way (matched, committed or disputed: deadlines
/// to watch) and the registered providers (by address). Written only at block end, so transactions never contend
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

    /// When a provider's proof of GPU next needs the block-end step: a deadline of a pending challenge,
    /// or the next round. Sorted by (time, provider).
    public struct ProofDue: Hashable, Sendable, Comparable {
        public var time: UInt64
        public var provider: Address
        public init(time: UInt64, provider: Address) {
            self.time = time
            self.provider = provider
        }
        public static func < (a: ProofDue, b: ProofDue) -> Bool {
            a.time != b.time ? a.time < b.time : a.provider < b.provider
        }
    }

    public var openJobs: [Hash]
    public var providers: [Address]
    public var activeJobs: [ActiveJob]
    public var proofSchedule: [ProofDue]

    public init(
        openJobs: [Hash] = [], providers: [Address] = [], activeJobs: [ActiveJob] = [], proofSchedule: [ProofDue] = []
    ) {
        self.openJobs = openJobs
        self.providers = providers
        self.activeJobs = activeJobs
        self.proofSchedule = proofSchedule
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
        w.writeULEB(UInt64(proofSchedule.count))
        for d in proofSchedule {
            w.write(d.time)
            w.write(d.provider)
        }
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        openJobs = try r.readArray(Hash.self)
        providers = try r.readArray(Address.self)
        let n = try r.readLength(max: r.limits.maxElements)
        activeJobs = []
        activeJobs.reserveCapacity(min(n, 1024))
        for _ in 0..<n { activeJobs.append(ActiveJob(deadline: try r.read(UInt64.self), id: try r.readHash())) }
        let m = try r.readLength(max: r.limits.maxElements)
        proofSchedule = []
        proofSchedule.reserveCapacity(min(m, 1024))
        for _ in 0..<m {
            proofSchedule.append(ProofDue(time: try r.read(UInt64.self), provider: try r.readAddress()))
        }
    }
}
