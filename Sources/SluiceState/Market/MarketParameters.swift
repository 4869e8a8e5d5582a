public import SluiceCore

// The market's genesis parameters (docs/MARKET.md, "Parameters"). They are a value stored once, at
// genesis, under `market/params`; a chain whose genesis predates them has no such key and runs on
// `MarketParameters.default`. Nothing writes the key after genesis, so transactions may read it without
// contending: the block-end step reads it once per block, a transaction that needs it reads it once.
//
// Gas costs and the protocol's hard limits (largest k, longest job) stay constants: they shape what a
// transaction or a record may be, not the economics.

/// The market's parameters: deadlines, stakes, fees, slashes and audits. All fractions are basis points.
public struct MarketParameters: Hashable, Sendable {
    /// The least stake a provider registers with.
    public var minimumStake: Amount
    /// Blocks an unmatched job stays open before it expires with a full refund.
    public var openJobBlocks: UInt64
    /// Blocks between `provider.unbond` and `provider.withdraw`: the stake stays slashable meanwhile.
    public var unbondingBlocks: UInt64
    /// Commitments are due this long after the job's maximum duration has passed since matching.
    public var commitGraceSeconds: UInt64
    /// Reveals are due this long after the last commitment.
    public var revealWindowSeconds: UInt64
    /// The protocol's share of each job payment, paid to the treasury.
    public var feeBasisPoints: UInt32
    /// The share of its stake a provider loses for a missed commitment, reveal or audit, paid to the
    /// job's consumer for the delay.
    public var missedDeadlineSlashBasisPoints: UInt32
    /// The chance that a job whose reveals agree is audited before it is paid.
    public var auditProbabilityBasisPoints: UInt32
    /// The share of its stake a provider loses when an audit contradicts its result.
    public var dishonestSlashBasisPoints: UInt32
    /// How a dishonest slash is split: burned, paid to the auditor, paid to the consumer (sum 10,000).
    public var slashBurnBasisPoints: UInt32
    public var slashAuditorBasisPoints: UInt32
    public var slashConsumerBasisPoints: UInt32
    /// Auditors drawn for one job before the audit gives up.
    public var maxAuditRounds: UInt8
    /// An auditor's report is due the job's maximum duration plus this after it was drawn (the audit
    /// window); a round that found no eligible auditor waits this long before the next.
    public var auditGraceSeconds: UInt64
    /// The least bond of a `job.dispute` (the bond is at least what an audit of the job can cost).
    public var disputeBond: Amount
    /// Seconds after settlement during which the consumer may send `job.dispute`.
    public var disputeWindowSeconds: UInt64
    /// Seconds between two proof-of-GPU rounds of a provider (0: no proofs, every device is eligible).
    public var proofIntervalSeconds: UInt64
    /// Seconds a device has to answer its challenge, on top of the expected time at its claimed speed.
    public var proofWindowSeconds: UInt64
    /// The time a challenge's product should take at the device's claimed speed (sizes the matrices).
    public var proofTargetMilliseconds: UInt64
    /// Base units minted at the end of each epoch (docs/MARKET.md, "Income"); 0 mints nothing.
    public var emissionPerEpoch: Amount
    /// Blocks per epoch: the emission of an epoch is minted in the block-end step of the block whose
    /// height is a multiple of this.
    public var epochBlocks: UInt64
    /// The providers' share of an epoch's emission (split by verified GPU-seconds); the rest goes to the
    /// validators.
    public var providerShareBasisPoints: UInt32
    /// The uptime figure expects one `provider.heartbeat` per slot of this many blocks (the agent sends
    /// one every 40 blocks, so a slot of 60 leaves room for inclusion delays).
    public var uptimeSlotBlocks: UInt64
    /// A provider whose last heartbeat (or registration) is more than this many blocks old is skipped by
    /// matching and audit draws until it sends one (0: never skipped). The agent sends one every 40 blocks.
    public var heartbeatTimeoutBlocks: UInt64

    public init(
        minimumStake: Amount = 1_000, openJobBlocks: UInt64 = 1_200, unbondingBlocks: UInt64 = 2_400,
        commitGraceSeconds: UInt64 = 600, revealWindowSeconds: UInt64 = 300, feeBasisPoints: UInt32 = 200,
        missedDeadlineSlashBasisPoints: UInt32 = 1_000, auditProbabilityBasisPoints: UInt32 = 200,
        dishonestSlashBasisPoints: UInt32 = 5_000, slashBurnBasisPoints: UInt32 = 5_000,
        slashAuditorBasisPoints: UInt32 = 2_500, slashConsumerBasisPoints: UInt32 = 2_500, maxAuditRounds: UInt8 = 3,
        auditGraceSeconds: UInt64 = 600, disputeBond: Amount = 1_000, disputeWindowSeconds: UInt64 = 60,
        proofIntervalSeconds: UInt64 = 3_600, proofWindowSeconds: UInt64 = 30, proofTargetMilliseconds: UInt64 = 2_000,
        emissionPerEpoch: Amount = 1_000, epochBlocks: UInt64 = 14_400, providerShareBasisPoints: UInt32 = 5_000,
        uptimeSlotBlocks: UInt64 = 60, heartbeatTimeoutBlocks: UInt64 = 1_200
    ) {
        self.minimumStake = minimumStake
        self.openJobBlocks = openJobBlocks
        self.unbondingBlocks = unbondingBlocks
        self.commitGraceSeconds = commitGraceSeconds
        self.revealWindowSeconds = revealWindowSeconds
        self.feeBasisPoints = feeBasisPoints
        self.missedDeadlineSlashBasisPoints = missedDeadlineSlashBasisPoints
        self.auditProbabilityBasisPoints = auditProbabilityBasisPoints
        self.dishonestSlashBasisPoints = dishonestSlashBasisPoints
        self.slashBurnBasisPoints = slashBurnBasisPoints
        self.slashAuditorBasisPoints = slashAuditorBasisPoints
        self.slashConsumerBasisPoints = slashConsumerBasisPoints
        self.maxAuditRounds = maxAuditRounds
        self.auditGraceSeconds = auditGraceSeconds
        self.disputeBond = disputeBond
        self.disputeWindowSeconds = disputeWindowSeconds
        self.proofIntervalSeconds = proofIntervalSeconds
        self.proofWindowSeconds = proofWindowSeconds
        self.proofTargetMilliseconds = proofTargetMilliseconds
        self.emissionPerEpoch = emissionPerEpoch
        self.epochBlocks = epochBlocks
        self.providerShareBasisPoints = providerShareBasisPoints
        self.uptimeSlotBlocks = uptimeSlotBlocks
        self.heartbeatTimeoutBlocks = heartbeatTimeoutBlocks
    }

    /// Whether devices must pass proof-of-GPU challenges to be matched.
    public var proofsRequired: Bool { proofIntervalSeconds > 0 }

    /// The values of docs/MARKET.md's table: 10 minutes of commit grace, 2 % fee, 10 % for a missed
    /// deadline, 2 % of agreeing jobs audited, 50 % of the stake for a contradicted result (half burned,
    /// a quarter each to the auditor and the consumer), 3 audit rounds, a 60 s dispute window; 1,000
    /// base units minted per epoch of 14,400 blocks, half to providers; one heartbeat expected per 60 blocks,
    /// and a provider silent for 1,200 blocks (5 minutes at 250 ms) skipped.
    public static let `default` = MarketParameters()

    // Constants: gas of the market's transactions and the protocol's limits.
    public static let registerGas: UInt64 = 50
    public static let submitGas: UInt64 = 30
    public static let cancelGas: UInt64 = 20
    public static let commitGas: UInt64 = 20
    public static let revealGas: UInt64 = 20
    public static let updateGas: UInt64 = 30
    public static let heartbeatGas: UInt64 = 10
    public static let unbondGas: UInt64 = 20
    public static let withdrawGas: UInt64 = 20
    public static let reportGas: UInt64 = 20
    public static let disputeGas: UInt64 = 20
    /// A proof's check recomputes 64 entries of the product, O(n) each.
    public static let proveGas: UInt64 = 200
    public static let claimGas: UInt64 = 20
    /// The most providers a job asks for.
    public static let maxRedundancy: UInt8 = 16
    /// The longest job, in seconds.
    public static let maxDurationSeconds: UInt64 = 7 * 24 * 3600

    /// Checks that the fractions are fractions, the slash split is whole and every window is open.
    public func validate() throws(MarketParametersError) {
        let fractions: [(String, UInt32)] = [
            ("feeBasisPoints", feeBasisPoints), ("missedDeadlineSlashBasisPoints", missedDeadlineSlashBasisPoints),
            ("auditProbabilityBasisPoints", auditProbabilityBasisPoints),
            ("dishonestSlashBasisPoints", dishonestSlashBasisPoints), ("slashBurnBasisPoints", slashBurnBasisPoints),
            ("slashAuditorBasisPoints", slashAuditorBasisPoints),
            ("slashConsumerBasisPoints", slashConsumerBasisPoints),
            ("providerShareBasisPoints", providerShareBasisPoints),
        ]
        for (name, value) in fractions where value > 10_000 {
            throw MarketParametersError(.notAFraction, "\(name) is \(value): basis points go from 0 to 10000")
        }
        let split = UInt64(slashBurnBasisPoints) + UInt64(slashAuditorBasisPoints) + UInt64(slashConsumerBasisPoints)
        guard split == 10_000 else {
            throw MarketParametersError(
                .splitNotWhole,
                "slashBurnBasisPoints + slashAuditorBasisPoints + slashConsumerBasisPoints is \(split): "
                    + "the three shares of a slash must add up to 10000")
        }
        let windows: [(String, UInt64)] = [
            ("openJobBlocks", openJobBlocks), ("unbondingBlocks", unbondingBlocks),
            ("commitGraceSeconds", commitGraceSeconds), ("revealWindowSeconds", revealWindowSeconds),
            ("auditGraceSeconds", auditGraceSeconds), ("disputeWindowSeconds", disputeWindowSeconds),
            ("maxAuditRounds", UInt64(maxAuditRounds)), ("epochBlocks", epochBlocks),
            ("uptimeSlotBlocks", uptimeSlotBlocks),
            ("proofWindowSeconds", proofWindowSeconds), ("proofTargetMilliseconds", proofTargetMilliseconds),
        ]
        for (name, value) in windows where value == 0 {
            throw MarketParametersError(.zeroWindow, "\(name) is 0: it must be at least 1")
        }
        guard minimumStake > .zero else {
            throw MarketParametersError(.zeroStake, "minimumStake is 0: providers must stake at least 1")
        }
    }

    /// The genesis state entry that sets these parameters, after `validate()`.
    public func genesisEntry() throws(MarketParametersError) -> (key: StateKey, value: StateValue) {
        try validate()
        return (.marketParameters, .marketParameters(self))
    }

    /// The parameters a state holds: those of its genesis, or the defaults when its genesis set none.
    package static func stored(_ value: StateValue?) -> MarketParameters {
        if case .marketParameters(let p)? = value { return p }
        return .default
    }
}

/// Market parameters that cannot run a market, with what is wrong.
public struct MarketParametersError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// A basis-point value above 10,000.
        case notAFraction
        /// The slash split does not add up to 10,000.
        case splitNotWhole
        /// A window, period or count of 0.
        case zeroWindow
        /// A minimum stake of 0.
        case zeroStake
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "market parameters: \(message)" }
}

extension MarketParameters: CanonicalCodable {
    /// The encoding's version: a later one may append parameters. 2 appended the emission and uptime
    /// parameters, 3 the heartbeat timeout; an older value (an older genesis) reads them as their defaults.
    static let encodingVersion: UInt8 = 3

    public func encode(to w: inout CanonicalWriter) {
        w.write(Self.encodingVersion)
        w.write(minimumStake)
        w.write(openJobBlocks)
        w.write(unbondingBlocks)
        w.write(commitGraceSeconds)
        w.write(revealWindowSeconds)
        w.write(feeBasisPoints)
        w.write(missedDeadlineSlashBasisPoints)
        w.write(auditProbabilityBasisPoints)
        w.write(dishonestSlashBasisPoints)
        w.write(slashBurnBasisPoints)
        w.write(slashAuditorBasisPoints)
        w.write(slashConsumerBasisPoints)
        w.write(maxAuditRounds)
        w.write(auditGraceSeconds)
        w.write(disputeBond)
        w.write(disputeWindowSeconds)
        w.write(emissionPerEpoch)
        w.write(epochBlocks)
        w.write(providerShareBasisPoints)
        w.write(uptimeSlotBlocks)
        w.write(proofIntervalSeconds)
        w.write(proofWindowSeconds)
        w.write(proofTargetMilliseconds)
        w.write(heartbeatTimeoutBlocks)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        let at = r.offset
        let version = try r.readByte()
        guard (1...Self.encodingVersion).contains(version) else {
            throw CoreError(.codec, "unknown market parameters version \(version) at offset \(at)")
        }
        minimumStake = try r.readAmount()
        openJobBlocks = try r.read(UInt64.self)
        unbondingBlocks = try r.read(UInt64.self)
        commitGraceSeconds = try r.read(UInt64.self)
        revealWindowSeconds = try r.read(UInt64.self)
        feeBasisPoints = try r.read(UInt32.self)
        missedDeadlineSlashBasisPoints = try r.read(UInt32.self)
        auditProbabilityBasisPoints = try r.read(UInt32.self)
        dishonestSlashBasisPoints = try r.read(UInt32.self)
        slashBurnBasisPoints = try r.read(UInt32.self)
        slashAuditorBasisPoints = try r.read(UInt32.self)
        slashConsumerBasisPoints = try r.read(UInt32.self)
        maxAuditRounds = try r.readByte()
        auditGraceSeconds = try r.read(UInt64.self)
        disputeBond = try r.readAmount()
        disputeWindowSeconds = try r.read(UInt64.self)
        guard version >= 2 else {
            let d = MarketParameters.default
            emissionPerEpoch = d.emissionPerEpoch
            epochBlocks = d.epochBlocks
            providerShareBasisPoints = d.providerShareBasisPoints
            uptimeSlotBlocks = d.uptimeSlotBlocks
            proofIntervalSeconds = d.proofIntervalSeconds
            proofWindowSeconds = d.proofWindowSeconds
            proofTargetMilliseconds = d.proofTargetMilliseconds
            heartbeatTimeoutBlocks = d.heartbeatTimeoutBlocks
            return
        }
        emissionPerEpoch = try r.readAmount()
        epochBlocks = try r.read(UInt64.self)
        providerShareBasisPoints = try r.read(UInt32.self)
        uptimeSlotBlocks = try r.read(UInt64.self)
        proofIntervalSeconds = try r.read(UInt64.self)
        proofWindowSeconds = try r.read(UInt64.self)
        proofTargetMilliseconds = try r.read(UInt64.self)
        heartbeatTimeoutBlocks =
            version >= 3 ? try r.read(UInt64.self) : MarketParameters.default.heartbeatTimeoutBlocks
    }
}
extension MarketParameters {
    /// The epoch a block belongs to: heights 1 … `epochBlocks` are epoch 0, and so on (genesis is in
    /// epoch 0 too). Epoch e's emission is minted at the end of block (e + 1) × `epochBlocks`.
    public func epoch(of height: UInt64) -> UInt64 { height == 0 ? 0 : (height - 1) / max(epochBlocks, 1) }
}
