import Foundation
import SluiceAPI
import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState

/// The offline state transition behind `sluice t8n`, callable from tests without files or processes.
enum T8n {
    struct Options {
        var chainId: UInt64 = 1
        var timestamp: UInt64 = 0
        var verify = true
        var threads = 1
        var sequential = false
        var forceParallel = false
    }

    struct Result {
        var post: PostStateJSON
        var statistics: ExecutionStatistics
    }

    /// Parses a pre-state, rejecting duplicates and a total supply over UInt128.
    static func loadPreState(_ data: Data, file: String) throws -> [StateKey: StateValue] {
        let pre: PreStateJSON
        do {
            pre = try JSONDecoder().decode(PreStateJSON.self, from: data)
        } catch {
            throw CommandError("\(file): \(describe(error, item: "account"))")
        }
        var state: [StateKey: StateValue] = [:]
        var firstIndex: [Address: Int] = [:]
        var supply = Amount.zero
        for (i, a) in pre.accounts.enumerated() {
            if let j = firstIndex[a.address] {
                throw CommandError("\(file): account \(i), field address: duplicate of account \(j) (\(a.address.hex))")
            }
            firstIndex[a.address] = i
            guard let s = supply.adding(a.balance) else {
                throw CommandError("\(file): account \(i), field balance: the total supply would exceed 2^128-1")
            }
            supply = s
            state[.account(a.address)] = .account(AccountState(balance: a.balance, sequence: a.sequence))
        }
        return state
    }

    static func loadTransactions(_ data: Data, file: String, chainId: UInt64) throws -> [Transaction] {
        let entries: [TransactionJSON]
        do {
            entries = try JSONDecoder().decode([TransactionJSON].self, from: data)
        } catch {
            throw CommandError("\(file): \(describe(error, item: "transaction"))")
        }
        var txs: [Transaction] = []
        txs.reserveCapacity(entries.count)
        for (i, e) in entries.enumerated() {
            do {
                txs.append(try e.transaction(defaultChainId: chainId))
            } catch {
                throw CommandError("\(file): transaction \(i), \(error.message)")
            }
        }
        return txs
    }

    static func run(pre: [StateKey: StateValue], txs: [Transaction], options: Options) -> Result {
        let prepared = RuntimeTransaction.prepare(
            txs, chainId: options.chainId, timestamp: options.timestamp, verify: options.verify,
            threads: options.threads)
        let base = DictionaryState(pre)
        let execution: BlockExecution<StateValue, RuntimeReceipt, Event>
        if options.sequential {
            execution = SequentialExecutor(vm: RuntimeVM()).execute(prepared, base: base)
        } else {
            let executor = ParallelExecutor(
                vm: RuntimeVM(), threads: options.threads, policy: options.forceParallel ? .forceParallel : .adaptive)
            execution = executor.execute(prepared, base: base)
        }
        var post = base
        post.apply(execution.writes)

        var accounts: [AccountJSON] = []
        for (key, value) in post.values where key.space == .bankAccount {
            if case .account(let a) = value {
                accounts.append(AccountJSON(address: Address(key.id), balance: a.balance, sequence: a.sequence))
            }
        }
        accounts.sort { $0.address < $1.address }
        var fees = Amount.zero
        var receipts: [ReceiptJSON] = []
        receipts.reserveCapacity(prepared.count)
        for (i, o) in execution.outputs.enumerated() {
            fees = Amount(fees.value + o.fee.value)
            receipts.append(
                ReceiptJSON(index: i, o.receipt(for: prepared[i])))
        }
        let json = PostStateJSON(
            stateRoot: StateCommitment.root(of: post.values, threads: options.threads), feesCollected: fees,
            accounts: accounts, receipts: receipts)
        return Result(post: json, statistics: execution.statistics)
    }

    /// Signs every transaction with the key of its sender.
    static func sign(_ txs: [Transaction], keys: [SigningKey], file: String, keysFile: String) throws -> [Transaction] {
        var byAddress: [Address: SigningKey] = [:]
        for k in keys { byAddress[k.address] = k }
        return try txs.enumerated().map { i, tx in
            guard let key = byAddress[tx.sender] else {
                throw CommandError(
                    "\(file): transaction \(i), field sender: no key for \(tx.sender.hex) in \(keysFile); add it with `sluice keys new`"
                )
            }
            return tx.signed(with: key)
        }
    }
}
