public import SluiceConsensus
public import SluiceCore

// A consensus block orders transactions; its payload is their canonical encoding, nothing else. The
// executed block (SluiceCore's Block, what the chain store keeps and the API serves) is derived from the
// committed consensus block and the local head, the same way on every node: same height, round,
// timestamp (seconds), proposer and transactions, the head's hash and results as parent claims, and the
// hash of the certificate the block carried. Execution therefore follows ordering (DESIGN §6): a block is
// ordered before anyone has run it, and every node runs it to the same state.

/// The transactions a consensus block orders.
public enum BlockPayload {
    static let limits = CanonicalReader.Limits(
        maxBytes: ConsensusLimits.payloadBytes, maxElements: WireLimits.blockTransactions)

    public static func encode(_ transactions: [Transaction]) -> [UInt8] {
        var w = CanonicalWriter(capacity: transactions.count * 200 + 8)
        w.writeArray(transactions)
        return w.bytes
    }

    /// Decodes a payload strictly (one encoding, at most `WireLimits.blockTransactions` transactions).
    public static func decode(_ bytes: [UInt8]) throws(CoreError) -> [Transaction] {
        var r = CanonicalReader(bytes, limits: limits)
        let txs = try r.readArray(Transaction.self, max: WireLimits.blockTransactions, field: "transactions")
        try r.finish()
        return txs
    }

    /// The hash a block header names as its parent's certificate.
    public static func certificateHash(_ qc: QuorumCertificate) -> Hash { Hash.sha256(qc.canonicalBytes) }
}
