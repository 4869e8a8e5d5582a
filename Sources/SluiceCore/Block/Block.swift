/// The header of a block: what it extends, when, by whom, and commitments to its content.
public struct BlockHeader: Hashable, Sendable {
    public var chainId: UInt64
    public var height: UInt64
    public var parentHash: Hash
    /// Unix seconds.
    public var timestamp: UInt64
    public var proposer: Address
    /// Commitment to the ordered transactions (`Block.transactionsRoot`).
    public var transactionsRoot: Hash
    /// Ordering and execution are decoupled: a block carries the state root after its parent.
    public var parentStateRoot: Hash

    public init(
        chainId: UInt64, height: UInt64, parentHash: Hash, timestamp: UInt64, proposer: Address,
        transactionsRoot: Hash, parentStateRoot: Hash
    ) {
        self.chainId = chainId
        self.height = height
        self.parentHash = parentHash
        self.timestamp = timestamp
        self.proposer = proposer
        self.transactionsRoot = transactionsRoot
        self.parentStateRoot = parentStateRoot
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
        w.write(chainId)
        w.write(height)
        w.write(parentHash)
        w.write(timestamp)
        w.write(proposer)
        w.write(transactionsRoot)
        w.write(parentStateRoot)
    }

    public init(from r: inout CanonicalReader) throws(CoreError) {
        chainId = try r.read(UInt64.self)
        height = try r.read(UInt64.self)
        parentHash = try r.readHash()
        timestamp = try r.read(UInt64.self)
        proposer = try r.readAddress()
        transactionsRoot = try r.readHash()
        parentStateRoot = try r.readHash()
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
