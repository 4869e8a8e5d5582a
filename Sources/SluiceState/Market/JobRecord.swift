public import SluiceCore

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
        public enum Kind: UInt8, Sendable, NamedCases, Codable {
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

            public init(from decoder: any Decoder) throws { self = try .decodeName(from: decoder) }
            public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
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
