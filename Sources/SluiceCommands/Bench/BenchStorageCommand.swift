import ArgumentParser
import Foundation

extension BenchCommand {
    struct Storage: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Genesis, then blocks of p2p transfers: execution, root update and durable commit times.",
            discussion: """
                Creates a chain in a temporary data dir (or --data), writes a genesis of --accounts accounts in
                bulk, then commits --blocks blocks of --block-size transfers, each executed in parallel, its
                state root updated and committed in one synced RocksDB batch. Prints p50/p99 of each stage and
                the bytes on disk per account.
                """)

        @Option(help: "Accounts at genesis.")
        var accounts: Int = 100_000

        @Option(help: "Transfers per block.")
        var blockSize: Int = 10_000

        @Option(help: "Blocks to commit.")
        var blocks: Int = 20

        @Option(help: "Threads for execution and Merkle work.")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        @Option(help: "Keep the data dir here instead of a temporary one (must be new).")
        var data: String?

        @Flag(help: "Print one JSON object.")
        var json = false

        func validate() throws {
            guard accounts >= 2, blockSize >= 1, blocks >= 1, threads >= 1 else {
                throw ValidationError("--accounts ≥ 2, --block-size ≥ 1, --blocks ≥ 1, --threads ≥ 1")
            }
        }

        func run() throws {
            let bench = StorageBenchmark(
                accounts: accounts, blockSize: blockSize, blocks: blocks, threads: threads, data: data)
            let r: StorageBenchmark.Report = try reportingErrors {
                return try bench.run { line in if !json { FileHandle.standardError.write(Data("\(line)\n".utf8)) } }
            }
            if json {
                print(String(decoding: try prettyJSON(r), as: UTF8.self), terminator: "")
                return
            }
            func f(_ s: StorageBenchmark.Stage) -> String {
                String(format: "p50 %.1f ms, p99 %.1f ms, mean %.1f ms", s.p50Millis, s.p99Millis, s.meanMillis)
            }
            let rows: [(String, String)] = [
                (
                    "accounts / block size / blocks / threads",
                    "\(r.accounts) / \(r.blockSize) / \(r.blocks) / \(r.threads)"
                ),
                ("genesis", String(format: "%.2f s", r.genesisSeconds)),
                ("execution (\(r.executionPath))", f(r.execution)),
                ("root update", f(r.rootUpdate)),
                ("durable commit", f(r.commit)),
                ("root update + commit", f(r.rootUpdatePlusCommit)),
                ("changed keys per block", String(format: "%.0f", r.changedKeysPerBlock)),
                (
                    "batch per block",
                    String(
                        format: "%.0f bytes, %.0f records (%.0f tree nodes)", r.batchBytesPerBlock,
                        r.batchRecordsPerBlock, r.treeNodesPerBlock)
                ),
                ("on disk", String(format: "%d bytes (%.0f per account)", r.diskBytes, r.diskBytesPerAccount)),
            ]
            let width = rows.map(\.0.count).max() ?? 0
            for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
        }
    }
}
