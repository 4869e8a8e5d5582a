// The canonical encoding of events: the kind's byte, then the fields in declaration order. An income row
// is encoded as its own tag (`income`) and kind, so the five income kinds share one layout.

extension Payout: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(provider)
        w.write(amount)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        provider = try r.readAddress()
        amount = try r.readAmount()
    }
}

extension Event: CanonicalCodable {
    /// The tag of an income row on the wire (the kinds it reports as have no tag of their own).
    static let incomeTag: UInt8 = 100

    public func encode(to w: inout CanonicalWriter) {
        switch self {
        case .income(let account, let kind, let amount, let fee, let job):
            w.write(Self.incomeTag)
            w.write(account)
            w.write(kind.rawValue)
            w.write(amount)
            w.write(fee)
            w.writeOptional(job)
            return
        default: w.write(kind.rawValue)
        }
        switch self {
        case .transfer(let from, let to, let amount):
            w.write(from)
            w.write(to)
            w.write(amount)
        case .providerRegistered(let p, let stake):
            w.write(p)
            w.write(stake)
        case .providerUpdated(let p), .providerHeartbeat(let p), .providerUnbonding(let p):
            w.write(p)
        case .providerWithdrawn(let p, let amount):
            w.write(p)
            w.write(amount)
        case .jobSubmitted(let job, let consumer, let escrow):
            w.write(job)
            w.write(consumer)
            w.write(escrow)
        case .jobCancelled(let job, let consumer, let amount), .jobRefunded(let job, let consumer, let amount):
            w.write(job)
            w.write(consumer)
            w.write(amount)
        case .resultCommitted(let job, let p), .auditReported(let job, let p), .jobDisputed(let job, let p),
            .auditAssigned(let job, let p):
            w.write(job)
            w.write(p)
        case .resultRevealed(let job, let p, let result):
            w.write(job)
            w.write(p)
            w.write(result)
        case .rewardClaimed(let a, let amount):
            w.write(a)
            w.write(amount)
        case .feesCollected(let amount):
            w.write(amount)
        case .jobStatus(let job, let status, let providers):
            w.write(job)
            w.write(status.rawValue)
            w.writeULEB(UInt64(providers.count))
            for p in providers { w.write(p) }
        case .jobSettled(let job, let consumer, let payouts, let refund):
            w.write(job)
            w.write(consumer)
            w.writeArray(payouts)
            w.write(refund)
        case .proofIssued(let p, let round):
            w.write(p)
            w.write(round)
        case .proofPassed(let p, let device), .proofFailed(let p, let device):
            w.write(p)
            w.write(device)
        case .income: break
        }
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        let at = r.offset
        let tag = try r.readByte()
        if tag == Self.incomeTag {
            let account = try r.readAddress()
            let kindAt = r.offset
            let raw = try r.readByte()
            guard let kind = IncomeKind(rawValue: raw) else {
                throw CoreError(.codec, "unknown income kind \(raw) at offset \(kindAt)")
            }
            self = .income(
                account: account, kind: kind, amount: try r.readAmount(), fee: try r.readAmount(),
                job: try r.readOptional(Hash.self))
            return
        }
        guard let kind = Kind(rawValue: tag), Self.taggedKinds.contains(kind) else {
            throw CoreError(.codec, "unknown event kind \(tag) at offset \(at)")
        }
        switch kind {
        case .transfer:
            self = .transfer(from: try r.readAddress(), to: try r.readAddress(), amount: try r.readAmount())
        case .providerRegistered: self = .providerRegistered(provider: try r.readAddress(), stake: try r.readAmount())
        case .providerUpdated: self = .providerUpdated(provider: try r.readAddress())
        case .providerHeartbeat: self = .providerHeartbeat(provider: try r.readAddress())
        case .providerUnbonding: self = .providerUnbonding(provider: try r.readAddress())
        case .proofPassed: self = .proofPassed(provider: try r.readAddress(), device: try r.read(UInt32.self))
        case .providerWithdrawn: self = .providerWithdrawn(provider: try r.readAddress(), amount: try r.readAmount())
        case .jobSubmitted:
            self = .jobSubmitted(job: try r.readHash(), consumer: try r.readAddress(), escrow: try r.readAmount())
        case .jobCancelled:
            self = .jobCancelled(job: try r.readHash(), consumer: try r.readAddress(), refund: try r.readAmount())
        case .jobRefunded:
            self = .jobRefunded(job: try r.readHash(), consumer: try r.readAddress(), amount: try r.readAmount())
        case .resultCommitted: self = .resultCommitted(job: try r.readHash(), provider: try r.readAddress())
        case .auditReported: self = .auditReported(job: try r.readHash(), auditor: try r.readAddress())
        case .jobDisputed: self = .jobDisputed(job: try r.readHash(), consumer: try r.readAddress())
        case .auditAssigned: self = .auditAssigned(job: try r.readHash(), auditor: try r.readAddress())
        case .resultRevealed:
            self = .resultRevealed(job: try r.readHash(), provider: try r.readAddress(), result: try r.readHash())
        case .rewardClaimed: self = .rewardClaimed(account: try r.readAddress(), amount: try r.readAmount())
        case .feesCollected: self = .feesCollected(amount: try r.readAmount())
        case .jobStatus:
            let job = try r.readHash()
            let statusAt = r.offset
            let raw = try r.readByte()
            guard let status = JobStatus(rawValue: raw) else {
                throw CoreError(.codec, "unknown job status \(raw) at offset \(statusAt)")
            }
            let count = try r.readLength(max: WireLimits.eventAddresses, field: "providers")
            var providers: [Address] = []
            providers.reserveCapacity(count)
            for _ in 0..<count { providers.append(try r.readAddress()) }
            self = .jobStatus(job: job, status: status, providers: providers)
        case .jobSettled:
            self = .jobSettled(
                job: try r.readHash(), consumer: try r.readAddress(),
                payouts: try r.readArray(Payout.self, max: WireLimits.eventAddresses, field: "payouts"),
                refund: try r.readAmount())
        case .proofIssued: self = .proofIssued(provider: try r.readAddress(), round: try r.read(UInt64.self))
        case .proofFailed: self = .proofFailed(provider: try r.readAddress(), device: try r.read(UInt32.self))
        case .jobPaid, .auditPaid, .slashShared, .rewardCredited, .providerSlashed:
            throw CoreError(.codec, "unknown event kind \(tag) at offset \(at)")  // unreachable: not tagged
        }
    }

    /// The kinds encoded under their own byte (the income kinds travel as `income` rows).
    static let taggedKinds: Set<Kind> = Set(Kind.allCases).subtracting([
        .jobPaid, .auditPaid, .slashShared, .rewardCredited, .providerSlashed,
    ])
}

/// The events of a block's end step, as one entry of the block's receipts (the last leaf of its
/// receipts tree).
public struct BlockEndReceipt: Hashable, Sendable {
    public var events: [Event]
    public init(events: [Event] = []) { self.events = events }
}

extension BlockEndReceipt: CanonicalCodable {
    /// Set apart from a transaction's receipt (which starts with a transaction hash) by its length and
    /// its place (always the last leaf), and by this tag.
    static let tag: UInt8 = 0xE0

    public func encode(to w: inout CanonicalWriter) {
        w.write(Self.tag)
        w.writeArray(events)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        let tag = try r.readByte()
        guard tag == Self.tag else {
            throw CoreError(.codec, "a block-end receipt starts with \(tag), not \(Self.tag)")
        }
        events = try r.readArray(Event.self, max: WireLimits.blockEndEvents, field: "events")
    }
}
