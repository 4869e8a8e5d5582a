import ArgumentParser
import Foundation
import SluiceCore

extension BenchCommand {
    struct E2E: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "e2e",
            abstract:
                "Transfers through a whole node over HTTP: committed tx/s and latency, against the signature ceiling.",
            discussion: """
                Measures, in one run: the Ed25519 verification ceiling on all cores, then N pre-signed transfers
                from S senders submitted as binary batches over HTTP to a devnet started in a temporary dir (or to
                --node URL, whose senders are funded from --funder), with every commit observed through the API.
                Reports committed tx/s, p50/p99 submit→commit latency, and the ratio to the ceiling.
                Build with `swift build -c release` first.
                """)

        @Option(help: "Transfers to send.")
        var txs: Int = 50_000

        @Option(help: "Distinct senders (each sends txs ÷ senders, at most 64: the mempool's sequence window).")
        var senders: Int = 1_000

        @Option(help: "Transactions per HTTP request.")
        var batch: Int = 1_000

        @Option(help: "Concurrent HTTP connections.")
        var connections: Int = 4

        @Option(help: "Block time of the in-process devnet.")
        var blockTime: String = "250ms"

        @Option(help: "Most transactions per block of the in-process devnet.")
        var maxBlockSize: Int = 10_000

        @Option(help: "Use a running node instead of an in-process devnet.")
        var node: String?

        @Option(help: "With --node: a funded key file that funds the senders.")
        var funder: String?

        @Option(help: "Threads for the ceiling measurement and signing (default: all cores).")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        @Flag(help: "Print JSON.")
        var json = false

        func validate() throws {
            guard txs >= 1, senders >= 1, batch >= 1, connections >= 1, threads >= 1, maxBlockSize >= 1 else {
                throw ValidationError(
                    "--txs, --senders, --batch, --connections, --threads and --max-block-size must be positive")
            }
            guard (txs + senders - 1) / senders <= 64 else {
                throw ValidationError(
                    "\(txs) transfers from \(senders) senders is more than 64 per sender (the mempool's sequence window): use --senders \((txs + 63) / 64) or more"
                )
            }
            if node != nil && funder == nil {
                throw ValidationError("--node needs --funder FILE: a funded key that pays the senders")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let options = E2EBenchmark.Options(
                    transactions: txs, senders: senders, batch: batch, connections: connections,
                    blockTime: try parseBlockTime(blockTime), maxBlockSize: maxBlockSize, node: node,
                    funder: try funder.map { try KeyFile.load(path: $0)[0] }, threads: threads)
                let quiet = json
                let report = try await E2EBenchmark(options: options) { line in
                    if !quiet { print(line) }
                }.run()
                if json {
                    print(String(decoding: try prettyJSON(report), as: UTF8.self), terminator: "")
                    return
                }
                func f(_ v: Double, _ d: Int = 0) -> String { String(format: "%.\(d)f", v) }
                print("")
                print("end to end (\(report.node), \(report.cores) cores):")
                print(
                    "  committed:        \(f(report.committedPerSecond)) tx/s  (\(report.transactions) transfers in \(f(report.totalSeconds, 2)) s; submitting took \(f(report.submitSeconds, 2)) s)"
                )
                print(
                    "  latency:          p50 \(f(report.latencyP50Millis)) ms, p99 \(f(report.latencyP99Millis)) ms, max \(f(report.latencyMaxMillis)) ms (submit → commit seen)"
                )
                print("  Ed25519 ceiling:  \(f(report.ed25519CeilingPerSecond)) verifications/s on all cores")
                print("  ratio:            \(f(report.ratioToCeiling * 100, 1)) % of the ceiling")
                if let blocks = report.blocks, let exec = report.nodeExecuteSeconds,
                    let commit = report.nodeCommitSeconds
                {
                    print(
                        "  node:             \(blocks) blocks of \(f(report.averageBlockSize ?? 0)) tx on average; execute \(f(exec, 2)) s, commit \(f(commit, 2)) s"
                    )
                }
                if report.rejected > 0 { print("  rejected:         \(report.rejected)") }
            }
        }
    }
}
