/// The header of a block: what it extends, when, by whom, and commitments to its content.
///
/// Version 2. Ordering and execution are decoupled: a block commits to its own transactions and to the
/// results of its parent (the state root and the receipts root after the parent), so a block can be
/// proposed and ordered before its parent's execution is known to everyone, and every node that executes
/// the parent checks the next header's claims. `round` and `parentCertificate` are for BFT ordering: the
/// round that proposed it, and the hash of the quorum certificate that certified the parent (zero on a
/// single validator, which certifies nothing).
public struct BlockHeader: Hashable, Sendable {
    /// The layout of the header on the wire; the first byte of its encoding.
    public static let currentVersion: UInt8 = 2

    public var version: UInt8
    public var chainId: UInt64
    public var height: UInt64
    /// The consensus round that proposed it (0 on a single validator).
    public var round: UInt64
    public var parentHash: Hash
    /// Unix seconds.
    public var timestamp: UInt64
    public var proposer: Address
    /// Commitment to the ordered transactions (`Block.transactionsRoot`).
    public var transactionsRoot: Hash
    /// The state root after the parent.
    public var parentStateRoot: Hash
    /// The receipts root of the parent (`ReceiptsTree`): its transactions' receipts and block-end events.
    public var parentReceiptsRoot: Hash
    /// The hash of the quorum certificate on the parent; zero when nothing certifies blocks.
    public var parentCertificate: Hash

    public init(
        chainId: UInt64, height: UInt64, round: UInt64 = 0, parentHash: Hash, timestamp: UInt64, proposer: Address,
        transactionsRoot: Hash, parentStateRoot: Hash, parentReceiptsRoot: Hash, parentCertificate: Hash = .zero
    ) {
        version = Self.currentVersion
        self.chainId = chainId
        self.height = height
        self.round = round
        self.parentHash = parentHash
        self.timestamp = timestamp
        self.proposer = proposer
        self.transactionsRoot = transactionsRoot
        self.parentStateRoot = parentStateRoot
        self.parentReceiptsRoot = parentReceiptsRoot
        self.parentCertificate = parentCertificate
    }

    public var hash: Hash { Hash.sha256(canonicalBytes) }
}

/// An ordered list of transactions and its header.
public struct Block: Hashable, Sendable {
    public var header: BlockHeader
    public var transactions: [Transaction]

    public init(header: BlockHeader, transactions: [Transaction]) {
        self.header = header
        self.transactions = transactions
    }

    public var hash: Hash { header.hash }

    /// SHA-256 over the concatenated transaction hashes, in block order.
    public static func transactionsRoot(_ transactions: [Transaction]) -> Hash {
        transactionsRoot(hashes: transactions.map(\.hash))
    }

    /// The same, from hashes already computed.
    public static func transactionsRoot(hashes: some Sequence<Hash>) -> Hash {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hashes.underestimatedCount * 32)
        for h in hashes { withUnsafeBytes(of: h) { bytes.append(contentsOf: $0) } }
        return Hash.sha256(bytes)
    }
}

extension BlockHeader: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(version)
        w.write(chainId)
        w.write(height)
        w.write(round)
        w.write(parentHash)
        w.write(timestamp)
        w.write(proposer)
        w.write(transactionsRoot)
        w.write(parentStateRoot)
        w.write(parentReceiptsRoot)
        w.write(parentCertificate)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        version = try r.readByte()
        guard version == Self.currentVersion else {
            throw CoreError(
                .codec,
                "block header version \(version): this build reads version \(Self.currentVersion) (a data dir or "
                    + "peer of another release)")
        }
        chainId = try r.read(UInt64.self)
        height = try r.read(UInt64.self)
        round = try r.read(UInt64.self)
        parentHash = try r.readHash()
        timestamp = try r.read(UInt64.self)
        proposer = try r.readAddress()
        transactionsRoot = try r.readHash()
        parentStateRoot = try r.readHash()
        parentReceiptsRoot = try r.readHash()
        parentCertificate = try r.readHash()
    }
}

extension Block: CanonicalCodable {
    public func encode(to w: inout CanonicalWriter) {
        w.write(header)
        w.writeArray(transactions)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        header = try r.read(BlockHeader.self)
        transactions = try r.readArray(Transaction.self, max: WireLimits.blockTransactions, field: "transactions")
    }
}
