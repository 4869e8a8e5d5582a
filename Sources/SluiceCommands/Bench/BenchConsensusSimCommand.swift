import ArgumentParser
import Dispatch
import Foundation
import SluiceConsensus
import SluiceCore

extension BenchCommand {
    struct ConsensusSim: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "consensus-sim",
            abstract: "Many seeded consensus simulations in virtual time: scenarios per second, and any fork.",
            discussion: """
                Each seed draws a scenario (4 to 7 validators; message delay, loss up to 20 %, up to two \
                partitions, up to three crashes with restarts, a twin one time in three; faults in the \
                first 20 virtual seconds, then 40 healed seconds) and runs the real consensus core on a \
                simulated network. A run fails if two instances commit different blocks at one height \
                (a fork) or if an honest instance commits fewer than 3 blocks after the faults heal. The \
                command exits with status 2 if any run fails, and names the seeds to replay.

                Example:
                  sluice bench consensus-sim --seeds 10000
                """)

        @Option(help: "Scenarios to run.")
        var seeds: Int = 1000

        @Option(help: "The first seed.")
        var firstSeed: UInt64 = 0

        @Option(help: "Threads running scenarios side by side (default: all cores).")
        var threads: Int = ProcessInfo.processInfo.activeProcessorCount

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        struct Report: Encodable {
            var seeds: Int
            var threads: Int
            var wallSeconds: Double
            var scenariosPerSecond: Double
            var virtualSecondsSimulated: Double
            var messagesDelivered: Int
            var committedBlocks: UInt64
            var evidence: Int
            var forks: Int
            var stalled: Int
            var failedSeeds: [UInt64]
            var minProgressAfterHeal: UInt64
        }

        func validate() throws {
            guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        }

        func run() throws {
            let start = DispatchTime.now().uptimeNanoseconds
            let list = (0..<seeds).map { firstSeed &+ UInt64($0) }
            let done = Counter()
            let progress = !json && isatty(2) != 0
            let results: [Result<SimulationReport, ConsensusError>] = list.concurrentMap(threads: threads) { seed in
                let result: Result<SimulationReport, ConsensusError>
                do throws(ConsensusError) {
                    result = .success(try ConsensusSimulator(.random(seed: seed)).run())
                } catch { result = .failure(error) }
                let n = done.increment()
                if progress, n % 100 == 0 {
                    FileHandle.standardError.write(Data("\r\(n)/\(list.count) scenarios".utf8))
                }
                return result
            }
            if progress { FileHandle.standardError.write(Data("\r".utf8)) }
            let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            var report = Report(
                seeds: seeds, threads: threads, wallSeconds: wall, scenariosPerSecond: Double(seeds) / wall,
                virtualSecondsSimulated: 0, messagesDelivered: 0, committedBlocks: 0, evidence: 0, forks: 0,
                stalled: 0, failedSeeds: [], minProgressAfterHeal: .max)
            for (seed, result) in zip(list, results) {
                switch result {
                case .failure(let error):
                    throw CommandError("seed \(seed): the simulation could not start: \(error.message)")
                case .success(let r):
                    report.virtualSecondsSimulated += Double(SimulationScenario.random(seed: seed).duration) / 1000
                    report.messagesDelivered += r.messagesDelivered
                    report.committedBlocks += r.finalHeights.max() ?? 0
                    report.evidence += r.evidence
                    report.minProgressAfterHeal = min(report.minProgressAfterHeal, r.progressAfterHeal)
                    let fork = !r.violations.isEmpty
                    let stalled = r.progressAfterHeal < 3
                    if fork { report.forks += 1 }
                    if stalled { report.stalled += 1 }
                    if fork || stalled { report.failedSeeds.append(seed) }
                }
            }
            if json {
                print(String(decoding: try prettyJSON(report), as: UTF8.self), terminator: "")
            } else {
                let rows: [(String, String)] = [
                    ("scenarios", "\(report.seeds) (seeds \(firstSeed)..<\(firstSeed &+ UInt64(seeds)))"),
                    ("threads", "\(report.threads)"),
                    ("wall time", String(format: "%.1f s", report.wallSeconds)),
                    ("scenarios per second", String(format: "%.1f", report.scenariosPerSecond)),
                    ("virtual time simulated", String(format: "%.0f s", report.virtualSecondsSimulated)),
                    ("messages delivered", "\(report.messagesDelivered)"),
                    ("blocks committed", "\(report.committedBlocks)"),
                    ("double-sign evidence found", "\(report.evidence)"),
                    ("forks", "\(report.forks)"),
                    ("stalled after heal", "\(report.stalled)"),
                    ("fewest blocks after heal", "\(report.minProgressAfterHeal)"),
                ]
                let width = rows.map(\.0.count).max() ?? 0
                for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
                if !report.failedSeeds.isEmpty { print("failed seeds: \(report.failedSeeds.prefix(50))") }
            }
            guard report.failedSeeds.isEmpty else { throw ExitCode(2) }
        }
    }
}

/// A thread-safe counter.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
