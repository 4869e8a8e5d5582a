public import SluiceCore

/// An account: its balance and the sequence number its next transaction must carry.
public struct AccountState: Hashable, Sendable {
    public var balance: Amount
    public var sequence: UInt64

    @inlinable public init(balance: Amount, sequence: UInt64) {
        self.balance = balance
        self.sequence = sequence
    }
}

/// A value of the state map. Modules add cases for their own records.
public enum StateValue: Hashable, Sendable {
    case account(AccountState)
    /// An opaque record, canonically encoded by its module.
    case bytes([UInt8])
    // Market records are boxed (`indirect`): a state value stays as small as an account, so the
    // executor's hot path copies 33 bytes per value, not the size of the largest record.
    /// `market/provider/<address>`.
    indirect case provider(ProviderRecord)
    /// `market/job/<id>`.
    indirect case job(JobRecord)
    /// `market/book`.
    indirect case book(MarketBook)
    /// `market/params`, written at genesis only.
    indirect case marketParameters(MarketParameters)
    /// `market/burned`: everything slashes burned so far.
    case burned(Amount)
    /// `market/reward/<address>`: emissions credited and not yet claimed.
    indirect case reward(RewardRecord)
    /// `market/emitted`: everything emissions minted so far.
    case emitted(Amount)
    /// `market/ledger/<address>`.
    indirect case ledger(IncomeLedger)

    @inlinable public var account: AccountState? {
        if case .account(let a) = self { return a }
        return nil
    }
}

extension AccountState: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(balance)
        w.write(sequence)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        balance = try r.readAmount()
        sequence = try r.read(UInt64.self)
    }
}

extension StateValue: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        switch self {
        case .account(let a):
            w.writeULEB(0)
            w.write(a)
        case .bytes(let b):
            w.writeULEB(1)
            w.writeBytes(b)
        case .provider(let p):
            w.writeULEB(2)
            w.write(p)
        case .job(let j):
            w.writeULEB(3)
            w.write(j)
        case .book(let b):
            w.writeULEB(4)
            w.write(b)
        case .marketParameters(let p):
            w.writeULEB(5)
            w.write(p)
        case .burned(let a):
            w.writeULEB(6)
            w.write(a)
        case .reward(let r):
            w.writeULEB(7)
            w.write(r)
        case .emitted(let a):
            w.writeULEB(8)
            w.write(a)
        case .ledger(let l):
            w.writeULEB(9)
            w.write(l)
        }
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        let at = r.offset
        switch try r.readULEB() {
        case 0: self = .account(try r.read(AccountState.self))
        case 1: self = .bytes(try r.readBytes())
        case 2: self = .provider(try r.read(ProviderRecord.self))
        case 3: self = .job(try r.read(JobRecord.self))
        case 4: self = .book(try r.read(MarketBook.self))
        case 5: self = .marketParameters(try r.read(MarketParameters.self))
        case 6: self = .burned(try r.readAmount())
        case 7: self = .reward(try r.read(RewardRecord.self))
        case 8: self = .emitted(try r.readAmount())
        case 9: self = .ledger(try r.read(IncomeLedger.self))
        case let tag: throw CoreError(.codec, "unknown state value type \(tag) at offset \(at)")
        }
    }
}
