public import SluiceCore

// The income records (docs/MARKET.md, "Income"): what emissions credited to an address, and its ledger.

/// Emissions credited to an address: what it can still claim, and all it was ever credited and claimed.
public struct RewardRecord: Hashable, Sendable {
    public var unclaimed: Amount
    public var earned: Amount
    public var claimed: Amount

    public init(unclaimed: Amount = .zero, earned: Amount = .zero, claimed: Amount = .zero) {
        self.unclaimed = unclaimed
        self.earned = earned
        self.claimed = claimed
    }
}

/// What the market's block-end step paid to or took from an address, newest last.
public struct IncomeLedger: Hashable, Sendable {
    public typealias Kind = IncomeKind

    public struct Entry: Hashable, Sendable {
        public var height: UInt64
        public var kind: Kind
        /// The job it concerns; nil for an emission.
        public var job: Hash?
        /// What was credited (or, for a slash, taken from the stake).
        public var amount: Amount
        /// The protocol fee withheld from a job payment.
        public var fee: Amount

        public init(height: UInt64, kind: Kind, job: Hash?, amount: Amount, fee: Amount = .zero) {
            self.height = height
            self.kind = kind
            self.job = job
            self.amount = amount
            self.fee = fee
        }
    }

    /// Rows kept per address: the oldest go first (about 9 KB a record at most).
    public static let capacity = 128

    /// Rows ever recorded; `count − entries.count` were dropped, the first kept one is row
    /// `count − entries.count` (from 0).
    public var count: UInt64
    /// Totals per kind (index: `Kind.rawValue`) over every row ever recorded, dropped ones included.
    public var totals: [Amount]
    public var entries: [Entry]

    public init() {
        count = 0
        totals = Array(repeating: .zero, count: Kind.allCases.count)
        entries = []
    }

    public func total(_ kind: Kind) -> Amount { totals[Int(kind.rawValue)] }

    package mutating func append(_ entry: Entry) {
        count += 1
        let i = Int(entry.kind.rawValue)
        // Totals are bounded by the supply (plus emissions), which fits UInt128.
        totals[i] = Amount(totals[i].value &+ entry.amount.value)
        entries.append(entry)
        if entries.count > Self.capacity { entries.removeFirst(entries.count - Self.capacity) }
    }
}

extension RewardRecord: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(unclaimed)
        w.write(earned)
        w.write(claimed)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        unclaimed = try r.readAmount()
        earned = try r.readAmount()
        claimed = try r.readAmount()
    }
}

extension IncomeLedger.Entry: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(height)
        w.write(kind.rawValue)
        w.writeOptional(job)
        w.write(amount)
        w.write(fee)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        height = try r.read(UInt64.self)
        let k = try r.readByte()
        guard let kind = IncomeLedger.Kind(rawValue: k) else { throw CoreError(.codec, "unknown ledger kind \(k)") }
        self.kind = kind
        job = try r.readOptional(Hash.self)
        amount = try r.readAmount()
        fee = try r.readAmount()
    }
}

extension IncomeLedger: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(count)
        w.writeArray(totals)
        w.writeArray(entries)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        count = try r.read(UInt64.self)
        totals = try r.readArray(Amount.self, max: Kind.allCases.count)
        guard totals.count == Kind.allCases.count else {
            throw CoreError(.codec, "a ledger has \(Kind.allCases.count) totals, not \(totals.count)")
        }
        entries = try r.readArray(Entry.self, max: Self.capacity)
    }
}
