public import SluiceCore

/// `GET /v1/transactions/{hash}/proof` and `GET /v1/blocks/{height}/receipts/{index}/proof`: one entry of
/// a block's receipts (a transaction's receipt, or the block-end receipt with the block-end step's events)
/// with its path to the block's receipts root, and the header that commits to that root (the next block's,
/// as `parentReceiptsRoot`). `verify` checks it all locally: nothing the node says is taken on trust but
/// the header, whose hash a client compares with one it trusts.
public struct ReceiptProofJSON: Codable, Sendable, Equatable {
    /// The block whose receipts hold the entry.
    public var height: UInt64
    public var index: Int
    /// Entries in that block's tree: its transactions and the block-end receipt (always last).
    public var leafCount: Int
    /// The entry's canonical bytes, hex.
    public var entry: String
    public var path: [Hash]
    /// The entry as JSON, for reading (a client verifies `entry`, not these).
    public var receipt: ReceiptJSON?
    public var blockEvents: [EventJSON]?
    /// The committing header's canonical bytes (block `height + 1`), hex, and its hash.
    public var header: String
    public var headerHash: Hash

    public init(
        height: UInt64, index: Int, leafCount: Int, entry: [UInt8], path: [Hash], header: BlockHeader
    ) {
        self.height = height
        self.index = index
        self.leafCount = leafCount
        self.entry = Hex.encode(entry)
        self.path = path
        self.header = Hex.encode(header.canonicalBytes)
        headerHash = header.hash
        if index == leafCount - 1 {
            blockEvents = (try? BlockEndReceipt(canonicalBytes: entry))?.events.map(EventJSON.init)
        } else if let r = try? Receipt(canonicalBytes: entry) {
            receipt = ReceiptJSON(index: index, r)
        }
    }

    /// What a verified proof shows.
    public struct Verified: Sendable {
        public var header: BlockHeader
        public var headerHash: Hash
        /// The receipt, when the entry is a transaction's.
        public var receipt: Receipt?
        /// The events the entry carries (the receipt's, or the block-end step's).
        public var events: [Event]
    }

    /// Checks the proof: the entry decodes (a receipt for `transaction` when given), its leaf and path lead
    /// to the committing header's `parentReceiptsRoot`, and that header is block `height + 1` with the
    /// hash given. Throws with what failed.
    public func verify(transaction: Hash? = nil) throws(CoreError) -> Verified {
        let entryBytes = try Hex.decode(entry)
        let headerBytes = try Hex.decode(header)
        let header = try BlockHeader(canonicalBytes: headerBytes)
        let hash = Hash.sha256(headerBytes)
        guard hash == headerHash else { throw CoreError(.badProof, "the header does not hash to \(headerHash.hex)") }
        guard header.height == height &+ 1 else {
            throw CoreError(.badProof, "the header is block \(header.height), not block \(height + 1)")
        }
        guard
            let root = ReceiptsTree.root(
                leaf: ReceiptsTree.leaf(entryBytes), index: index, count: leafCount, path: path)
        else { throw CoreError(.badProof, "the path does not fit a tree of \(leafCount) entries at index \(index)") }
        guard root == header.parentReceiptsRoot else {
            throw CoreError(
                .badProof,
                "the entry and its path give the root \(root.hex), block \(header.height)'s header commits to "
                    + header.parentReceiptsRoot.hex)
        }
        if index == leafCount - 1 {
            guard transaction == nil else { throw CoreError(.badProof, "the entry is the block-end receipt") }
            let end = try BlockEndReceipt(canonicalBytes: entryBytes)
            return Verified(header: header, headerHash: hash, receipt: nil, events: end.events)
        }
        let receipt = try Receipt(canonicalBytes: entryBytes)
        if let transaction, receipt.transactionHash != transaction {
            throw CoreError(.badProof, "the receipt is for transaction \(receipt.transactionHash.hex)")
        }
        return Verified(header: header, headerHash: hash, receipt: receipt, events: receipt.events)
    }
}
