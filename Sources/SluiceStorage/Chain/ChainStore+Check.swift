public import SluiceCore
import SluiceMerkle
import SluiceRuntime
import SluiceState

/// What `sluice db check` found.
public struct CheckReport: Codable, Sendable {
    public var chainId: UInt64
    public var firstHeight: UInt64
    public var headHeight: UInt64
    public var blocks: Int
    public var transactions: Int
    public var stateEntries: Int
    public var accounts: Int
    /// The sum of all account balances.
    public var supply: Amount
    public var storedRoot: Hash
    public var recomputedRoot: Hash
    public var problems: [String]
    public var ok: Bool { problems.isEmpty }
}

extension ChainStore {
    /// Walks the chain from its first stored block: every block decodes, has the right height and chain,
    /// links to its parent's hash, parent state root and parent receipts root (recomputed from the parent's
    /// stored receipts), and has its receipts, block-end receipt and transaction index;
    /// then recomputes the state root from every stored value and compares it with the head's.
    /// - Complexity: O(blocks + transactions + state entries).
    public func check(progress: (String) -> Void = { _ in }) throws(StorageError) -> CheckReport {
        guard let head else { throw StorageError(.notFound, "\(database.path) has no committed block") }
        var problems: [String] = []
        func problem(_ text: String) { if problems.count < 100 { problems.append(text) } }

        var first: UInt64 = 0
        do {
            try database.scan(Family.blocks) { key, _ in
                first = readBigEndian64(key) ?? 0
                return false
            }
        } catch { throw StorageError(.database, "cannot scan blocks: \(error)") }

        var transactions = 0
        var previous: Block? = nil
        var previousRoot: CommittedRoot? = nil
        var previousReceiptsRoot: Hash? = nil
        progress("checking blocks \(first)…\(head.height)")
        for height in first...head.height {
            guard let block = try block(at: height) else {
                problem("block \(height) is missing")
                previous = nil
                continue
            }
            if block.header.height != height { problem("block stored at \(height) says height \(block.header.height)") }
            if block.header.chainId != chainId { problem("block \(height) is for chain \(block.header.chainId)") }
            if let previous, block.header.parentHash != previous.hash {
                problem("block \(height) does not link to block \(height - 1)")
            }
            if height == 0 && block.header.parentHash != .zero { problem("the genesis block has a parent") }
            if let previousRoot, block.header.parentStateRoot != previousRoot.root {
                problem("block \(height) carries another parent state root than the root stored for \(height - 1)")
            }
            if try self.height(ofBlock: block.hash) != height {
                problem("block \(height) is missing from the hash index")
            }
            let root = try root(at: height)
            if root == nil { problem("the state root after block \(height) is missing") }
            for i in 0..<block.transactions.count {
                guard let receipt = try receipt(height: height, index: UInt32(i)) else {
                    problem("receipt \(i) of block \(height) is missing")
                    continue
                }
                if receipt.transactionHash != block.transactions[i].hash {
                    problem("receipt \(i) of block \(height) is for another transaction")
                }
                guard let at = try location(ofTransaction: receipt.transactionHash), at == (height, UInt32(i)) else {
                    problem("transaction \(i) of block \(height) is missing from the transaction index")
                    continue
                }
            }
            if try receipt(height: height, index: UInt32(block.transactions.count)) != nil {
                problem("block \(height) has more receipts than transactions")
            }
            if let previousReceiptsRoot, block.header.parentReceiptsRoot != previousReceiptsRoot {
                problem("block \(height) carries another parent receipts root than block \(height - 1)'s receipts give")
            }
            let receiptsRoot: Hash?
            do {
                _ = try blockEnd(height: height)
                receiptsRoot = try receiptProof(height: height, index: 0)?.root
            } catch {
                problem("the receipts of block \(height) do not decode: \(error.message)")
                receiptsRoot = nil
            }
            if receiptsRoot == nil { problem("the receipts record of block \(height) is missing") }
            if height == head.height, let receiptsRoot, receiptsRoot != head.receiptsRoot {
                problem("the head's receipts root is not the one its receipts give")
            }
            transactions += block.transactions.count
            previous = block
            previousRoot = root
            previousReceiptsRoot = receiptsRoot
        }
        if try block(at: head.height + 1) != nil { problem("a block above the head (\(head.height + 1)) is stored") }

        progress("recomputing the state root from the stored values…")
        var entries: [(key: StateKey, value: StateValue)] = []
        var accounts = 0
        var supply = Amount.zero
        do {
            for family in Family.stateFamilies {
                try database.scan(family) { rawKey, rawValue in
                    do {
                        let key = try StateKey(canonicalBytes: Array(rawKey))
                        if Family.state(for: key.space) != family {
                            problem("\(key) is stored in the \(family) family, where reads never look")
                        }
                        let value = try StateValue(canonicalBytes: Array(rawValue))
                        if case .account(let a) = value {
                            accounts += 1
                            if let s = supply.adding(a.balance) {
                                supply = s
                            } else {
                                problem("the supply overflows 2^128")
                            }
                        }
                        entries.append((key, value))
                    } catch {
                        problem("a state entry does not decode: \(error)")
                    }
                    return true
                }
            }
        } catch { throw StorageError(.database, "cannot scan the state: \(error)") }
        let recomputed = SparseMerkleTree.build(
            version: 0, leaves: StateCommitment.leaves(entries, threads: threads), threads: threads
        ).root
        if recomputed != head.state.root {
            problem(
                "the state root recomputed from the stored values (\(recomputed.hex)) is not the head's root "
                    + "(\(head.state.root.hex)): a stored value was changed or lost")
        }
        return CheckReport(
            chainId: chainId, firstHeight: first, headHeight: head.height, blocks: Int(head.height - first + 1),
            transactions: transactions, stateEntries: entries.count, accounts: accounts, supply: supply,
            storedRoot: head.state.root, recomputedRoot: recomputed, problems: problems)
    }
}
