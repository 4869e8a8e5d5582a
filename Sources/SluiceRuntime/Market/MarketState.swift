public import SluiceCore

// The market's records in the state map (docs/MARKET.md): one per provider, one per job, and the book
// (open jobs, registered providers), which only the block-end step writes.

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
    /// GPUs offered (all device classes).
    public var capacity: UInt32
    /// GPUs taken by matched jobs and audits, per device class of the offer (same indices and count as
    /// `offer.devices`): a job runs on the class it was matched at, so one class's jobs never take another's
    /// GPUs.
    public var busyByDevice: [UInt32]
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
    /// Proof of GPU, one entry per device class of its offer (empty until the block-end step issues the
    /// first round, and when the chain asks for no proofs).
    public var proofs: [DeviceProof]
    /// Unix seconds of the block that issued its latest round.
    public var proofIssuedTimestamp: UInt64
    /// Bit i: a heartbeat arrived in uptime slot (`lastHeartbeatHeight` / `uptimeSlotBlocks`) − i
    /// (`uptimeBasisPoints`).
    public var heartbeatSlots: UInt64
    /// GPU-seconds of its jobs settled in epoch `workEpoch` (GPUs × seconds used): its weight in that
    /// epoch's emission.
    public var epochGPUSeconds: UInt64
    public var workEpoch: UInt64

    public init(owner: Address, offer: ProviderRegistration) {
        self.owner = owner
        self.offer = offer
        stake = offer.stake
        capacity = offer.devices.reduce(0) { $0 &+ $1.count }
        busyByDevice = Array(repeating: 0, count: offer.devices.count)
        status = .active
        jobsDone = 0
        jobsFailed = 0
        jobsDisputed = 0
        registeredHeight = 0
        lastHeartbeatHeight = 0
        heartbeats = 0
        unbondHeight = 0
        proofs = []
        proofIssuedTimestamp = 0
        heartbeatSlots = 0
        epochGPUSeconds = 0
        workEpoch = 0
    }

    /// GPUs taken, all classes together.
    public var busy: UInt32 { busyByDevice.reduce(0) { $0 &+ $1 } }
    public var free: UInt32 { capacity > busy ? capacity - busy : 0 }

    /// GPUs of device class `i` not taken.
    public func free(device i: Int) -> UInt32 {
        guard busyByDevice.indices.contains(i) else { return 0 }
        return offer.devices[i].count > busyByDevice[i] ? offer.devices[i].count - busyByDevice[i] : 0
    }

    /// Takes `gpus` GPUs of class `i` for a job or an audit.
    mutating func take(_ gpus: UInt32, device i: Int) {
        guard busyByDevice.indices.contains(i) else { return }
        busyByDevice[i] &+= gpus
    }

    /// Gives back `gpus` GPUs of class `i` (never below zero).
    mutating func release(_ gpus: UInt32, device i: Int) {
        guard busyByDevice.indices.contains(i) else { return }
        busyByDevice[i] = busyByDevice[i] >= gpus ? busyByDevice[i] - gpus : 0
    }

    /// Higher is better: done jobs, less twice the failed and three times the disputed.
    public var reputation: Int64 { Int64(jobsDone) - 2 * Int64(jobsFailed) - 3 * Int64(jobsDisputed) }

    /// Whether it has shown signs of life within `timeoutBlocks` blocks of `height`: its last heartbeat, or
    /// its registration when it has sent none (0: always).
    public func isLive(at height: UInt64, timeoutBlocks: UInt64) -> Bool {
        guard timeoutBlocks > 0 else { return true }
        let last = max(lastHeartbeatHeight, registeredHeight)
        return height <= last || height - last <= timeoutBlocks
    }

    /// Whether its devices meet a job's requirements; with `proven`, only devices that passed their latest
    /// decided proof-of-GPU round count.
    public func fits(_ spec: JobSpec, proven: Bool = false) -> Bool {
        offer.devices.indices.contains { fits(spec, device: $0, proven: proven) }
    }

    /// Whether device class `i` meets a job's requirements (and the provider runs the job's runner).
    public func fits(_ spec: JobSpec, device i: Int, proven: Bool) -> Bool {
        let d = offer.devices[i]
        return offer.runners.contains(spec.runner) && d.vramGB >= spec.minVramGB
            && (spec.model.isEmpty || d.model == spec.model) && d.count >= spec.gpuCount
            && (!proven || (i < proofs.count && proofs[i].eligible))
    }

    /// The ask of device class `i`: its own price, or the provider's when it names none.
    public func ask(device i: Int) -> Amount {
        let own = offer.devices[i].pricePerGPUHour
        return own > .zero ? own : offer.pricePerGPUHour
    }

    /// The cheapest ask among the device classes that fit a job, nil when none does.
    /// The device class a job (or an audit) would run on: the cheapest that fits it and has its GPUs free
    /// (lowest index on a tie), with its ask.
    public func cheapestFreeClass(for spec: JobSpec, proven: Bool) -> (device: Int, ask: Amount)? {
        var best: (device: Int, ask: Amount)? = nil
        for i in offer.devices.indices where free(device: i) >= spec.gpuCount && fits(spec, device: i, proven: proven) {
            let a = ask(device: i)
            if best == nil || a < best!.ask { best = (i, a) }
        }
        return best
    }

    /// The lowest and highest ask over its device classes.
    public var askRange: (low: Amount, high: Amount) {
        let asks = offer.devices.indices.map { ask(device: $0) }
        return (asks.min() ?? offer.pricePerGPUHour, asks.max() ?? offer.pricePerGPUHour)
    }
}

/// One device class's proof of GPU (docs/MARKET.md, "Proof of GPU"): the current challenge and the record.
public struct DeviceProof: Hashable, Sendable {
    /// Rounds issued so far; the current challenge's seed and side.
    public var round: UInt32
    public var seed: Hash
    public var size: UInt32
    /// Unix seconds by which the current challenge must be answered.
    public var deadline: UInt64
    /// A challenge is waiting for its answer.
    public var pending: Bool
    /// It passed the latest round that was decided: it may be matched. A new round keeps it eligible while
    /// pending; a missed deadline clears it, the next passed round sets it again.
    public var eligible: Bool
    public var passed: UInt32
    public var failed: UInt32
    /// The block of its latest passed proof (0: none).
    public var verifiedHeight: UInt64

    public init() {
        round = 0
        seed = .zero
        size = 0
        deadline = 0
        pending = false
        eligible = false
        passed = 0
        failed = 0
        verifiedHeight = 0
    }

    public var challenge: GPUChallenge { GPUChallenge(seed: seed, size: Int(size)) }
}

/// A job and where it is in its life.
public struct JobRecord: Hashable, Sendable {
    public typealias Status = JobStatus

    /// One provider assigned to the job, at its own ask, and what it has delivered.
    public struct Assignment: Hashable, Sendable {
        public var provider: Address
        /// The provider's device class it runs on (an index into its offer's devices).
        public var device: UInt32
        public var pricePerGPUHour: Amount
        public var commitment: Hash?
        public var result: Hash?
        public var usageSeconds: UInt64
        /// What it was paid at settlement (before the protocol fee).
        public var paid: Amount
        /// The blob of its run's logs, named in its reveal.
        public var logs: Hash?

        public init(
            provider: Address, device: UInt32 = 0, pricePerGPUHour: Amount, commitment: Hash? = nil,
            result: Hash? = nil, usageSeconds: UInt64 = 0, paid: Amount = .zero, logs: Hash? = nil
        ) {
            self.logs = logs
            self.provider = provider
            self.device = device
            self.pricePerGPUHour = pricePerGPUHour
            self.commitment = commitment
            self.result = result
            self.usageSeconds = usageSeconds
            self.paid = paid
        }
    }

    /// The audit of a job (docs/MARKET.md, "When results disagree", "Random audit"): why it runs, the
    /// rounds drawn so far, the auditor of the current round and what it reported.
    public struct Audit: Hashable, Sendable {
        public enum Kind: UInt8, Sendable, CaseIterable {
            /// The reveals disagreed.
            case disagreement = 0
            /// The reveals agreed and the job was drawn for a random audit: paid only after it.
            case random = 1
            /// The consumer sent `job.dispute` after settlement, with a bond.
            case dispute = 2

            public var name: String {
                switch self {
                case .disagreement: "disagreement"
                case .random: "random"
                case .dispute: "dispute"
                }
            }
        }

        public var kind: Kind
        /// Rounds begun so far (a round that found no eligible provider counts).
        public var round: UInt8
        /// The auditor of the current round (or the last one, once the audit ended), at its own ask.
        public var auditor: Address?
        /// The auditor's device class the audit runs on.
        public var device: UInt32
        public var pricePerGPUHour: Amount
        /// What the auditor reported: its result, the seconds it used, the blob of its logs.
        public var result: Hash?
        public var usageSeconds: UInt64
        public var logs: Hash?
        /// What the auditor was paid for its run (no protocol fee), besides its share of slashes.
        public var paid: Amount

        public init(kind: Kind) {
            self.kind = kind
            round = 0
            auditor = nil
            device = 0
            pricePerGPUHour = .zero
            result = nil
            usageSeconds = 0
            logs = nil
            paid = .zero
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
    /// Unix seconds: when commitments (matched), reveals (committed) or the auditor's report (disputed)
    /// are due; while no auditor could be drawn, when the next round begins.
    public var deadline: UInt64
    /// The agreed result, once settled (the one the audit confirmed, after an audit).
    public var result: Hash?
    /// Providers that missed a deadline of this job (commit, reveal or audit): never assigned to it again.
    public var failedProviders: [Address]
    /// Unix seconds of the block that settled it (`job.dispute` is open for `disputeWindowSeconds` after).
    public var settledTimestamp: UInt64
    /// Its audit, once one began.
    public var audit: Audit?

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
        settledTimestamp = 0
        audit = nil
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

extension ProviderRecord: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(owner)
        w.write(offer)
        w.write(stake)
        w.write(capacity)
        w.writeULEB(UInt64(busyByDevice.count))
        for b in busyByDevice { w.write(b) }
        w.write(status.rawValue)
        w.write(jobsDone)
        w.write(jobsFailed)
        w.write(jobsDisputed)
        w.write(registeredHeight)
        w.write(lastHeartbeatHeight)
        w.write(heartbeats)
        w.write(unbondHeight)
        w.writeArray(proofs)
        w.write(proofIssuedTimestamp)
        w.write(heartbeatSlots)
        w.write(epochGPUSeconds)
        w.write(workEpoch)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        owner = try r.readAddress()
        offer = try r.read(ProviderRegistration.self)
        stake = try r.readAmount()
        capacity = try r.read(UInt32.self)
        // One count per device class of the offer (register and update keep them in step).
        let classes = try r.readLength(max: WireLimits.offerDevices, field: "busy classes")
        guard classes == offer.devices.count else {
            throw CoreError(
                .codec, "a provider record counts busy GPUs for \(classes) classes, not \(offer.devices.count)")
        }
        busyByDevice = []
        for _ in 0..<classes { busyByDevice.append(try r.read(UInt32.self)) }
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
        proofs = try r.readArray(DeviceProof.self, max: WireLimits.offerDevices, field: "proofs")
        proofIssuedTimestamp = try r.read(UInt64.self)
        heartbeatSlots = try r.read(UInt64.self)
        epochGPUSeconds = try r.read(UInt64.self)
        workEpoch = try r.read(UInt64.self)
    }
}

extension JobRecord.Assignment: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(provider)
        w.write(device)
        w.write(pricePerGPUHour)
        w.writeOptional(commitment)
        w.writeOptional(result)
        w.write(usageSeconds)
        w.write(paid)
        w.writeOptional(logs)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        provider = try r.readAddress()
        device = try r.read(UInt32.self)
        pricePerGPUHour = try r.readAmount()
        commitment = try r.readOptional(Hash.self)
        result = try r.readOptional(Hash.self)
        usageSeconds = try r.read(UInt64.self)
        paid = try r.readAmount()
        logs = try r.readOptional(Hash.self)
    }
}

extension JobRecord.Audit: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(kind.rawValue)
        w.write(round)
        w.writeOptional(auditor)
        w.write(device)
        w.write(pricePerGPUHour)
        w.writeOptional(result)
        w.write(usageSeconds)
        w.writeOptional(logs)
        w.write(paid)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        let k = try r.readByte()
        guard let kind = Kind(rawValue: k) else { throw CoreError(.codec, "unknown audit kind \(k)") }
        self.kind = kind
        round = try r.readByte()
        auditor = try r.readOptional(Address.self)
        device = try r.read(UInt32.self)
        pricePerGPUHour = try r.readAmount()
        result = try r.readOptional(Hash.self)
        usageSeconds = try r.read(UInt64.self)
        logs = try r.readOptional(Hash.self)
        paid = try r.readAmount()
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
        w.write(settledTimestamp)
        w.writeOptional(audit)
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
        settledTimestamp = try r.read(UInt64.self)
        audit = try r.readOptional(Audit.self)
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

extension DeviceProof: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(round)
        w.write(seed)
        w.write(size)
        w.write(deadline)
        w.write(pending)
        w.write(eligible)
        w.write(passed)
        w.write(failed)
        w.write(verifiedHeight)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        round = try r.read(UInt32.self)
        seed = try r.readHash()
        size = try r.read(UInt32.self)
        deadline = try r.read(UInt64.self)
        pending = try r.readBool()
        eligible = try r.readBool()
        passed = try r.read(UInt32.self)
        failed = try r.read(UInt32.self)
        verifiedHeight = try r.read(UInt64.self)
    }
}
