public import SluiceCore
public import SluiceState

// The JSON shapes of the market's routes (`/v1/market/…`, docs/MARKET.md). Each record of the state
// (`ProviderRecord`, `JobRecord`) maps to JSON in exactly one initializer below, so a field added to a
// record is added here once and reaches every route, the client and the CLI. `OpenAPIDocument` describes
// the same shapes (Provider, Job, ProviderList, JobList); a test keeps the two equal.

/// A registered provider, as `GET /v1/market/providers[/{address}]` shows it.
public struct ProviderJSON: Codable, Sendable, Equatable {
    public var address: Address
    public var status: ProviderRecord.Status
    public var devices: [ProviderOfferJSON.Device]
    public var region: String
    /// The runners it supports: it is matched only to jobs whose runner is among them.
    public var runners: [Runner]
    public var endpoint: String
    /// The stake held now (slashes reduce it).
    public var stake: Amount
    /// The ask, in base units per GPU-hour.
    public var pricePerGpuHour: Amount
    /// GPUs offered, taken by matched jobs, and left to match.
    public var capacity: UInt32
    public var busy: UInt32
    public var free: UInt32
    /// GPUs taken per device class (same order as `devices`).
    public var busyByDevice: [UInt32]
    /// done − 2 × failed − 3 × disputed.
    public var reputation: Int64
    public var jobsDone: UInt32
    public var jobsFailed: UInt32
    public var jobsDisputed: UInt32
    /// The block that registered it.
    public var registeredHeight: UInt64
    /// The block of its last heartbeat (0: none yet) and how many it sent.
    public var lastHeartbeatHeight: UInt64
    public var heartbeats: UInt64
    /// The block of its `provider.unbond`, while unbonding or withdrawn.
    public var unbondHeight: UInt64?
    /// Proof of GPU, one entry per device class (empty when the chain asks for no proofs).
    public var proofs: [DeviceProofJSON]
    /// Uptime at the height read, in basis points: the share of the last 64 uptime slots (since
    /// registration) with a heartbeat (`ProviderRecord.uptimeBasisPoints`).
    public var uptimeBasisPoints: UInt32
    /// Whether matching and audit draws consider it at the height read: false once it has sent no
    /// heartbeat for the market's `heartbeatTimeoutBlocks`.
    public var live: Bool

    /// The one mapping of a provider record to JSON; the uptime and liveness are computed for `height`
    /// with the market's parameters.
    public init(_ p: ProviderRecord, height: UInt64, parameters: MarketParameters) {
        address = p.owner
        status = p.status
        devices = p.offer.devices.map(ProviderOfferJSON.Device.init)
        region = p.offer.region
        runners = p.offer.runners
        endpoint = p.offer.endpoint
        stake = p.stake
        pricePerGpuHour = p.offer.pricePerGPUHour
        capacity = p.capacity
        busy = p.busy
        free = p.free
        busyByDevice = p.busyByDevice
        reputation = p.reputation
        jobsDone = p.jobsDone
        jobsFailed = p.jobsFailed
        jobsDisputed = p.jobsDisputed
        registeredHeight = p.registeredHeight
        lastHeartbeatHeight = p.lastHeartbeatHeight
        heartbeats = p.heartbeats
        unbondHeight = p.status == .active ? nil : p.unbondHeight
        proofs = p.proofs.enumerated().map { DeviceProofJSON(device: $0.offset, $0.element) }
        uptimeBasisPoints = p.uptimeBasisPoints(at: height, slotBlocks: parameters.uptimeSlotBlocks)
        live = p.isLive(at: height, timeoutBlocks: parameters.heartbeatTimeoutBlocks)
    }

    /// "2 × NVIDIA H100 80 GB, 1 × RTX 4090 24 GB".
    public var devicesSummary: String {
        devices.map { d in
            "\(d.count) × \(d.model) \(d.vramGb) GB" + (d.pricePerGpuHour.map { " at \($0)" } ?? "")
        }.joined(separator: ", ")
    }
}

/// A device class's proof of GPU: the current or last challenge and the record.
public struct DeviceProofJSON: Codable, Sendable, Equatable {
    public var device: Int
    /// Where a device class's proof of GPU stands.
    public enum Status: Sendable, Hashable, NamedCases, Codable {
        /// A challenge waits for its answer.
        case pending
        /// Passed the last decided round.
        case verified
        /// Missed its last deadline.
        case failed
        /// No round decided yet.
        case none

        public var name: String {
            switch self {
            case .pending: "pending"
            case .verified: "verified"
            case .failed: "failed"
            case .none: "none"
            }
        }

        public init(from decoder: any Decoder) throws { self = try .decodeName(from: decoder) }
        public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
    }

    public var status: Status
    /// It may be matched now.
    public var eligible: Bool
    public var round: UInt32
    public var seed: Hash
    public var size: UInt32
    public var deadline: UInt64
    public var passed: UInt32
    public var failed: UInt32
    public var verifiedHeight: UInt64

    public init(device: Int, _ p: DeviceProof) {
        self.device = device
        status = p.pending ? .pending : p.eligible ? .verified : p.failed > 0 ? .failed : Status.none
        eligible = p.eligible
        round = p.round
        seed = p.seed
        size = p.size
        deadline = p.deadline
        passed = p.passed
        failed = p.failed
        verifiedHeight = p.verifiedHeight
    }
}

/// A job, as `GET /v1/market/jobs[/{id}]` shows it.
public struct JobJSON: Codable, Sendable, Equatable {
    /// One provider assigned to the job, at its own ask.
    public struct Assignment: Codable, Sendable, Equatable {
        public var provider: Address
        /// The provider's device class it runs on (an index into its devices).
        public var device: UInt32
        public var pricePerGpuHour: Amount
        /// Its commitment, once sent.
        public var commitment: Hash?
        /// Its revealed result and the seconds it reported, once revealed.
        public var result: Hash?
        public var usageSeconds: UInt64?
        /// What it was paid at settlement (before the protocol fee).
        public var paid: Amount?
        /// The blob of its run's logs (stdout and stderr), named in its reveal.
        public var logs: Hash?

        public init(_ a: JobRecord.Assignment) {
            provider = a.provider
            device = a.device
            pricePerGpuHour = a.pricePerGPUHour
            commitment = a.commitment
            result = a.result
            usageSeconds = a.result == nil ? nil : a.usageSeconds
            paid = a.paid == .zero ? nil : a.paid
            logs = a.logs
        }
    }

    public var id: Hash
    public var consumer: Address
    /// open, matched, committed, settled, disputed, unresolved, cancelled, expired.
    public var status: JobStatus
    public var spec: JobSpecJSON
    /// What is still held for the job (0 once refunded).
    public var escrow: Amount
    /// The block that submitted it.
    public var submitHeight: UInt64
    /// The block that matched it; absent while it was never matched.
    public var matchedHeight: UInt64?
    /// The providers matched to it, in the order the auction chose them (empty until matched).
    public var assigned: [Assignment]
    /// Unix seconds: when commitments (matched), reveals (committed) or the auditor's report (disputed)
    /// are due.
    public var deadline: UInt64?
    /// The agreed result, once settled (the one an audit confirmed, after an audit).
    public var result: Hash?
    /// Providers that missed a deadline of this job, auditors included (slashed, never assigned to it
    /// again).
    public var failedProviders: [Address]
    /// Unix seconds of the block that settled it; `job.dispute` is open for the dispute window after.
    public var settledAt: UInt64?
    /// Why the job was audited: disagreement, random or dispute; absent when it never was.
    public var auditKind: JobRecord.Audit.Kind?
    /// Audit rounds begun (each draws an auditor, or finds none eligible).
    public var auditRound: UInt8?
    /// The auditor of the current round (the last one, once the audit ended), at its own ask.
    public var auditor: Address?
    /// The auditor's device class the audit runs on.
    public var auditDevice: UInt32?
    public var auditPricePerGpuHour: Amount?
    /// What the auditor reported: its result, the seconds it used, the blob of its logs.
    public var auditResult: Hash?
    public var auditUsageSeconds: UInt64?
    public var auditLogs: Hash?
    /// What the auditor was paid for its run (its share of slashes aside).
    public var auditPaid: Amount?

    /// The one mapping of a job record to JSON.
    public init(_ j: JobRecord) {
        id = j.id
        consumer = j.consumer
        status = j.status
        spec = JobSpecJSON(j.spec)
        escrow = j.escrow
        submitHeight = j.submitHeight
        matchedHeight = j.matchedHeight == 0 ? nil : j.matchedHeight
        assigned = j.assigned.map(Assignment.init)
        deadline = j.status == .matched || j.status == .committed || j.status == .disputed ? j.deadline : nil
        result = j.result
        failedProviders = j.failedProviders
        settledAt = j.settledTimestamp == 0 ? nil : j.settledTimestamp
        if let audit = j.audit {
            auditKind = audit.kind
            auditRound = audit.round
            auditor = audit.auditor
            auditDevice = audit.auditor == nil ? nil : audit.device
            auditPricePerGpuHour = audit.auditor == nil ? nil : audit.pricePerGPUHour
            auditResult = audit.result
            auditUsageSeconds = audit.result == nil ? nil : audit.usageSeconds
            auditLogs = audit.logs
            auditPaid = audit.paid == .zero ? nil : audit.paid
        }
    }

    /// "2 × 1 GPU (any model, ≥ 24 GB), ≤ 10/GPU-hour, ≤ 3600 s, process".
    public var specSummary: String {
        let s = spec
        var needs = [s.model.isEmpty ? "any model" : s.model]
        if s.minVramGb > 0 { needs.append("≥ \(s.minVramGb) GB") }
        return
            "\(s.redundancy) × \(s.gpuCount) GPU (\(needs.joined(separator: ", "))), ≤ \(s.maxPricePerGpuHour)/GPU-hour, ≤ \(s.maxDurationSeconds) s, \(s.runner)"
    }
}

/// `GET /v1/market/providers`: every registered provider, by address.
public struct ProviderListJSON: Codable, Sendable, Equatable {
    /// The block whose state this is.
    public var height: UInt64
    public var providers: [ProviderJSON]

    public init(height: UInt64, providers: [ProviderJSON]) {
        self.height = height
        self.providers = providers
    }
}

/// `GET /v1/market/jobs`: one page of jobs, by id. `next` is present when more may follow: pass it as
/// `after` for the next page.
public struct JobListJSON: Codable, Sendable, Equatable {
    /// The block whose state this is.
    public var height: UInt64
    public var jobs: [JobJSON]
    public var next: Hash?

    public init(height: UInt64, jobs: [JobJSON], next: Hash?) {
        self.height = height
        self.jobs = jobs
        self.next = next
    }
}

extension ProviderOfferJSON.Device {
    /// The one mapping of a device to JSON and back.
    public init(_ d: GPUDevice) {
        self.init(
            model: d.model, vramGb: d.vramGB, count: d.count, score: d.score,
            pricePerGpuHour: d.pricePerGPUHour > .zero ? d.pricePerGPUHour : nil)
    }

    public var device: GPUDevice {
        GPUDevice(model: model, vramGB: vramGb, count: count, score: score, pricePerGPUHour: pricePerGpuHour ?? .zero)
    }
}

/// `POST /v1/blobs`: what was stored.
public struct BlobJSON: Codable, Sendable, Equatable {
    public var hash: Hash
    public var size: Int

    public init(hash: Hash, size: Int) {
        self.hash = hash
        self.size = size
    }
}

/// `GET /v1/market/params`: the market's parameters (from genesis) and what slashes have burned so far.
public struct MarketParamsJSON: Codable, Sendable, Equatable {
    public var height: UInt64
    public var minimumStake: Amount
    public var openJobBlocks: UInt64
    public var unbondingBlocks: UInt64
    public var commitGraceSeconds: UInt64
    public var revealWindowSeconds: UInt64
    public var feeBasisPoints: UInt32
    public var missedDeadlineSlashBasisPoints: UInt32
    public var auditProbabilityBasisPoints: UInt32
    public var dishonestSlashBasisPoints: UInt32
    public var slashBurnBasisPoints: UInt32
    public var slashAuditorBasisPoints: UInt32
    public var slashConsumerBasisPoints: UInt32
    public var maxAuditRounds: UInt8
    public var auditGraceSeconds: UInt64
    public var disputeBond: Amount
    public var disputeWindowSeconds: UInt64
    public var proofIntervalSeconds: UInt64
    public var proofWindowSeconds: UInt64
    public var proofTargetMilliseconds: UInt64
    /// Burned by dishonest slashes so far.
    public var burned: Amount
    public var emissionPerEpoch: Amount
    public var epochBlocks: UInt64
    public var providerShareBasisPoints: UInt32
    public var uptimeSlotBlocks: UInt64
    public var heartbeatTimeoutBlocks: UInt64
    /// Minted by emissions so far.
    public var emitted: Amount

    public init(height: UInt64, _ p: MarketParameters, burned: Amount, emitted: Amount = .zero) {
        self.height = height
        minimumStake = p.minimumStake
        openJobBlocks = p.openJobBlocks
        unbondingBlocks = p.unbondingBlocks
        commitGraceSeconds = p.commitGraceSeconds
        revealWindowSeconds = p.revealWindowSeconds
        feeBasisPoints = p.feeBasisPoints
        missedDeadlineSlashBasisPoints = p.missedDeadlineSlashBasisPoints
        auditProbabilityBasisPoints = p.auditProbabilityBasisPoints
        dishonestSlashBasisPoints = p.dishonestSlashBasisPoints
        slashBurnBasisPoints = p.slashBurnBasisPoints
        slashAuditorBasisPoints = p.slashAuditorBasisPoints
        slashConsumerBasisPoints = p.slashConsumerBasisPoints
        maxAuditRounds = p.maxAuditRounds
        auditGraceSeconds = p.auditGraceSeconds
        disputeBond = p.disputeBond
        disputeWindowSeconds = p.disputeWindowSeconds
        proofIntervalSeconds = p.proofIntervalSeconds
        proofWindowSeconds = p.proofWindowSeconds
        proofTargetMilliseconds = p.proofTargetMilliseconds
        self.burned = burned
        emissionPerEpoch = p.emissionPerEpoch
        epochBlocks = p.epochBlocks
        providerShareBasisPoints = p.providerShareBasisPoints
        uptimeSlotBlocks = p.uptimeSlotBlocks
        heartbeatTimeoutBlocks = p.heartbeatTimeoutBlocks
        self.emitted = emitted
    }
}

/// `GET /v1/market/rewards/{address}`: an address's emissions (credited at epoch ends, taken with
/// `reward.claim`) and, for a provider, its verified GPU-seconds in the current epoch.
public struct RewardJSON: Codable, Sendable, Equatable {
    public var height: UInt64
    public var address: Address
    /// What `reward.claim` would move to the balance now.
    public var unclaimed: Amount
    /// All emissions ever credited, and all claimed.
    public var earned: Amount
    public var claimed: Amount
    /// The epoch of the block read, and the block whose end mints its emission.
    public var epoch: UInt64
    public var epochEndHeight: UInt64
    /// GPU-seconds of its jobs settled in this epoch so far: its weight in the epoch's emission.
    public var epochGpuSeconds: UInt64

    public init(
        height: UInt64, address: Address, _ r: RewardRecord?, provider: ProviderRecord?, params: MarketParameters
    ) {
        self.height = height
        self.address = address
        unclaimed = r?.unclaimed ?? .zero
        earned = r?.earned ?? .zero
        claimed = r?.claimed ?? .zero
        // The emission step of block `height` has run: the current epoch is that of the next block.
        epoch = params.epoch(of: height + 1)
        epochEndHeight = (epoch + 1) * max(params.epochBlocks, 1)
        epochGpuSeconds = provider?.verifiedGPUSeconds(inEpoch: epoch) ?? 0
    }
}

/// `GET /v1/market/providers/{address}/earnings`: the address's ledger (docs/MARKET.md, "Income"): the
/// last rows (at most `IncomeLedger.capacity`), newest last, and totals over every row ever recorded.
public struct EarningsJSON: Codable, Sendable, Equatable {
    public struct Row: Codable, Sendable, Equatable {
        /// Its number among all the address's rows (from 0).
        public var index: UInt64
        public var height: UInt64
        /// job-pay, audit-pay, slash-share, emission or slash.
        public var kind: String
        public var job: Hash?
        /// Credited (to the balance; for an emission, to the reward record), or taken from the stake for
        /// a slash.
        public var amount: Amount
        /// The protocol fee withheld from a job payment.
        public var fee: Amount
    }

    public var height: UInt64
    public var address: Address
    /// Rows ever recorded; the first `count − rows.count` are no longer kept.
    public var count: UInt64
    /// Per kind, over every row ever recorded.
    public var totals: [String: Amount]
    public var rows: [Row]

    public init(height: UInt64, address: Address, _ ledger: IncomeLedger?) {
        let l = ledger ?? IncomeLedger()
        self.height = height
        self.address = address
        count = l.count
        var totals: [String: Amount] = [:]
        for kind in IncomeLedger.Kind.allCases { totals[kind.name] = l.total(kind) }
        self.totals = totals
        let first = l.count - UInt64(l.entries.count)
        rows = l.entries.enumerated().map { i, e in
            Row(
                index: first + UInt64(i), height: e.height, kind: e.kind.name, job: e.job, amount: e.amount,
                fee: e.fee)
        }
    }
}
