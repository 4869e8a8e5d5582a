/// What happened to one transaction of a block.
public struct Receipt: Hashable, Sendable {
    public enum Status: UInt8, Sendable, NamedCases, Codable {
        /// Executed and applied.
        case success = 0
        /// Executed, charged its fee and sequence, but its effect was not applied.
        case failed = 1
        /// Not executed at all: no state change, no fee.
        case discarded = 2

        public var name: String {
            switch self {
            case .success: "success"
            case .failed: "failed"
            case .discarded: "discarded"
            }
        }

        public init(from decoder: any Decoder) throws { self = try .decodeName(from: decoder) }
        public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
    }

    public var transactionHash: Hash
    public var status: Status
    public var gasUsed: UInt64
    public var fee: Amount
    /// Why it failed or was discarded.
    public var error: String?
    /// A digest the transaction produced (the compute workload's last digest), if any.
    public var output: Hash?
    /// What it did (none when it failed or was discarded).
    public var events: [Event]

    public init(
        transactionHash: Hash, status: Status, gasUsed: UInt64, fee: Amount, error: String? = nil, output: Hash? = nil,
        events: [Event] = []
    ) {
        self.events = events
        self.transactionHash = transactionHash
        self.status = status
        self.gasUsed = gasUsed
        self.fee = fee
        self.error = error
        self.output = output
    }
}

extension Receipt: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(transactionHash)
        w.write(status.rawValue)
        w.write(gasUsed)
        w.write(fee)
        if let error {
            w.write(UInt8(1))
            w.writeString(error)
        } else {
            w.write(UInt8(0))
        }
        w.writeOptional(output)
        w.writeArray(events)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        transactionHash = try r.readHash()
        let at = r.offset
        let s = try r.readByte()
        guard let st = Status(rawValue: s) else {
            throw CoreError(.codec, "unknown receipt status \(s) at offset \(at)")
        }
        status = st
        gasUsed = try r.read(UInt64.self)
        fee = try r.readAmount()
        error = try r.readBool() ? try r.readString(max: WireLimits.receiptErrorBytes, field: "error") : nil
        output = try r.readOptional(Hash.self)
        events = try r.readArray(Event.self, max: WireLimits.receiptEvents, field: "events")
    }
}
