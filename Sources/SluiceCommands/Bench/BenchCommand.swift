import ArgumentParser
import Dispatch
import Foundation
import SluiceCore
import Synchronization

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Sluice (build with `swift build -c release` first: debug figures mean nothing).",
        subcommands: [Execution.self, Storage.self, Verify.self, E2E.self, Jobs.self, ConsensusSim.self]
    )

    struct Execution: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sequential vs parallel (Block-STM) execution of the same blocks, in one run.",
            discussion: """
                Prints sequential and parallel tx/s, the speedup, µs per transaction, the Block-STM overhead
                (one-thread Block-STM minus sequential, per transaction), re-executions, aborts, which path
                the adaptive executor took and why, and both state roots (the command fails if they differ).
                Signature verification is not included: see `sluice bench verify`.
                """)

        @Option(help: "p2p, hotspot, compute or market (job submissions matched at block end against --providers).")
        var workload: String = "p2p"

        @Option(help: "Number of accounts (the contention level: 2 is maximal contention).")
        var accounts: Int = 1000

        @Option(help: "Transactions per block.")
        var blockSize: Int = 10_000

        @Option(help: "Number of blocks.")
        var blocks: Int = 10

        @Option(help: "Worker threads of the parallel executor.")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        @Option(help: "Providers registered at genesis for the market workload.")
        var providers: Int = 1_000

        @Option(help: "SHA-256 rounds per transaction of the compute workload.")
        var computeRounds: UInt32 = 32

        @Flag(help: "Run Block-STM even where the adaptive choice would run sequentially.")
        var forceParallel = false

        @Option(help: "Seed of the random workload.")
        var seed: UInt64 = 1

        @Option(help: "Scheduler indices a Block-STM worker claims at a time (1: the paper's scheduler).")
        var claimBatch: Int = 4

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func validate() throws {
            guard ExecutionBenchmark.Workload(rawValue: workload) != nil else {
                throw ValidationError("--workload must be p2p, hotspot, compute or market")
            }
            guard accounts >= 1 else { throw ValidationError("--accounts must be at least 1") }
            guard blockSize >= 1, blocks >= 1 else {
                throw ValidationError("--block-size and --blocks must be at least 1")
            }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
            guard claimBatch >= 1 else { throw ValidationError("--claim-batch must be at least 1") }
        }

        func run() throws {
            var bench = ExecutionBenchmark(
                workload: ExecutionBenchmark.Workload(rawValue: workload)!, accounts: accounts, blockSize: blockSize,
                blocks: blocks, threads: threads, computeRounds: computeRounds, forceParallel: forceParallel,
                seed: seed,
                claimBatch: claimBatch
            )
            bench.marketProviders = providers
            let report: ExecutionBenchmark.Report = try reportingErrors {
                return try bench.run { line in
                    if !json { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
                }
            }
            if json {
                print(String(decoding: try prettyJSON(report), as: UTF8.self), terminator: "")
            } else {
                printTable(report)
            }
            guard report.rootsMatch else {
                FileHandle.standardError.write(
                    Data("error: the state roots differ — this is a bug, please report it\n".utf8))
                throw ExitCode(2)
            }
        }

        func printTable(_ r: ExecutionBenchmark.Report) {
            func f(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }
            let rows: [(String, String)] = [
                ("workload", r.workload + (r.computeRounds.map { " (\($0) rounds)" } ?? "")),
                ("accounts / block size / blocks", "\(r.accounts) / \(r.blockSize) / \(r.blocks)"),
                ("threads", "\(r.threads)"),
                ("sequential", "\(f(r.sequentialTxPerSecond, 0)) tx/s  (\(f(r.sequentialMicrosPerTx, 3)) µs/tx)"),
                ("parallel", "\(f(r.parallelTxPerSecond, 0)) tx/s  (\(f(r.parallelMicrosPerTx, 3)) µs/tx)"),
                ("speedup", "\(f(r.speedup))× (median block \(f(r.medianBlockSpeedup))×)"),
                ("path taken", "\(r.parallelPath): \(r.pathReasons.joined(separator: ", "))"),
                ("predicted speedup", f(r.predictedSpeedup)),
                (
                    "Block-STM overhead",
                    "\(f(r.blockSTMOverheadMicrosPerTx, 3)) µs/tx (1-thread Block-STM − sequential)"
                ),
                (
                    "parallel time split",
                    "plan \(f(r.parallelPlanMillis)) ms, execute \(f(r.parallelExecuteMillis)) ms, finalize \(f(r.parallelFinalizeMillis)) ms"
                ),
                (
                    "block-end step share",
                    "\(f(100 * r.parallelFinalizeMillis / Swift.max(1e-9, 1000 * Double(r.blocks * r.blockSize) / r.parallelTxPerSecond), 1)) % of the parallel time (fees; for market: the matching)"
                ),
                (
                    "re-executions / aborts / suspensions",
                    "\(r.reExecutions) / \(r.validationAborts) / \(r.suspensions)"
                ),
                ("state root (sequential)", r.sequentialStateRoot),
                ("state root (parallel)", r.parallelStateRoot),
                ("roots match", r.rootsMatch ? "yes" : "NO"),
            ]
            let width = rows.map(\.0.count).max() ?? 0
            for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Signature verifications per second on all cores: Ed25519 and ML-DSA-65.",
            discussion:
                "This is the ceiling of any end-to-end throughput: every transaction's signature is checked once.")

        @Option(help: "Signed transactions per scheme to verify (ML-DSA-65 uses a tenth).")
        var count: Int = 20_000

        @Option(help: "Threads (default: all cores).")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            var results: [String: Double] = [:]
            for scheme in SignatureScheme.allCases {
                let n = scheme == .mlDsa65 ? Swift.max(count / 10, 10) : count
                let rate = try VerifyBenchmark.verifiesPerSecond(scheme: scheme, count: n, threads: threads)
                results[scheme.name] = rate
                if !json { print("\(scheme.name): \(String(format: "%.0f", rate)) verifies/s on \(threads) threads") }
            }
            if json {
                print(
                    String(
                        decoding: try prettyJSON(["threads": Double(threads)].merging(results) { a, _ in a }),
                        as: UTF8.self), terminator: "")
            }
        }
    }
}

enum VerifyBenchmark {
    /// Verifies `count` distinct signed transactions over `threads` threads; returns verifies per second.
    static func verifiesPerSecond(scheme: SignatureScheme, count: Int, threads: Int) throws -> Double {
        let keys = try (0..<16).map { _ in try SigningKey(scheme: scheme) }
        let txs: [Transaction] = (0..<count).map { i in
            let key = keys[i % keys.count]
            return Transaction(
                chainId: 1, sender: key.address, sequence: UInt64(i), gasLimit: 10, gasPrice: 1,
                payload: .transfer(to: keys[(i + 1) % keys.count].address, amount: 1)
            ).signed(with: key)
        }
        let failures = FailureCount()
        let start = DispatchTime.now().uptimeNanoseconds
        // One dedicated thread per requested thread (Dispatch would use every core whatever we ask).
        let group = DispatchGroup()
        for w in 0..<threads {
            group.enter()
            let thread = Thread {
                var bad = 0
                for i in stride(from: w, to: txs.count, by: threads) where txs[i].verifySignature() != nil { bad += 1 }
                if bad > 0 { failures.add(bad) }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard failures.value == 0 else { throw CommandError("\(failures.value) valid signatures failed to verify") }
        return Double(count) / seconds
    }
}

final class FailureCount: Sendable {
    private let count = Atomic<Int>(0)
    func add(_ n: Int) { count.wrappingAdd(n, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
