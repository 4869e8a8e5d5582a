import ArgumentParser
import Foundation
import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceStorage

struct DbCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Inspect a data dir.",
        subcommands: [Check.self, Stress.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check a data dir: every block links to its parent, and the state root recomputed from the stored values is the head's.",
            discussion: "Exits 0 when everything checks out, 1 on any problem (each is listed).")

        @Option(help: "The data dir.")
        var data: String

        @Flag(help: "Print the report as JSON.")
        var json = false

        func run() throws {
            let report: CheckReport = try reportingErrors {
                let store = try ChainStore(path: data, chainId: nil)
                return try store.check { line in
                    if !json { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
                }
            }
            if json {
                print(String(decoding: try prettyJSON(report), as: UTF8.self), terminator: "")
            } else {
                print(
                    "chain \(report.chainId): blocks \(report.firstHeight)…\(report.headHeight) (\(report.blocks)), "
                        + "\(report.transactions) transactions, \(report.stateEntries) state entries, "
                        + "\(report.accounts) accounts, supply \(report.supply)")
                print("state root \(report.storedRoot.hex) — \(report.ok ? "recomputed and equal" : "MISMATCH")")
                for p in report.problems { print("problem: \(p)") }
                print(report.ok ? "ok" : "FAILED: \(report.problems.count) problem(s)")
            }
            if !report.ok { throw ExitCode(1) }
        }
    }

    /// A test helper: commits blocks of random transfers in a loop, printing each committed height, so
    /// that crash tests can kill it at any moment (`sluice db stress` is not meant for users).
    struct Stress: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Commit blocks of random transfers in a loop (crash-test helper).", shouldDisplay: false)

        @Option var data: String
        @Option var accounts: Int = 200
        @Option var blockSize: Int = 500
        @Option var blocks: Int = Int.max
        @Option var seed: UInt64 = 1
        @Option var chainId: UInt64 = 7

        func run() throws {
            let store = try ChainStore(path: data, chainId: chainId)
            let addresses = (0..<accounts).map { ExecutionBenchmark.address($0) }
            if store.head == nil {
                var genesis: [StateKey: StateValue] = [:]
                for a in addresses { genesis[.account(a)] = .account(AccountState(balance: 1_000_000, sequence: 0)) }
                _ = try store.commitGenesis(state: genesis, timestamp: 0)
            }
            let applier = BlockPipeline(store: store, executor: ParallelExecutor(vm: RuntimeVM(), threads: 2))
            var rng = SplitMix64(seed: seed ^ (store.head!.height &* 0x9E37_79B9))
            var committed = 0
            while committed < blocks {
                var sequences: [Int: UInt64] = [:]
                var txs: [Transaction] = []
                for _ in 0..<blockSize {
                    let s = rng.below(accounts)
                    let sequence: UInt64
                    if let next = sequences[s] {
                        sequence = next
                    } else {
                        sequence = store.read(.account(addresses[s]))?.account?.sequence ?? 0
                    }
                    sequences[s] = sequence + 1
                    let amount = Amount(UInt128(rng.below(3000)))
                    txs.append(
                        Transaction(
                            chainId: chainId, sender: addresses[s], sequence: sequence, gasLimit: 10,
                            gasPrice: UInt64(1 + rng.below(3)),
                            payload: .transfer(to: addresses[rng.below(accounts)], amount: amount)))
                }
                let applied = try applier.apply(txs, timestamp: store.head!.height + 1, verify: false)
                // Unbuffered, so that a kill right after still leaves the line for the crash test to read.
                FileHandle.standardOutput.write(Data("committed \(applied.head.height)\n".utf8))
                committed += 1
            }
        }
    }
}
