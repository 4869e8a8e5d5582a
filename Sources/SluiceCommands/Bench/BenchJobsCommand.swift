import ArgumentParser
import Foundation
import SluiceAPI
import SluiceClient
import SluiceCore
import SluiceJobs
import SluiceProvider
import SluiceRuntime
import SluiceState

extension BenchCommand {
    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "jobs",
            abstract: "The market's own overhead: submit → settled for a trivial job, minus the job's runtime.",
            discussion: """
                Against a running devnet with providers (`sluice devnet`), submits N trivial jobs one after \
                another (`sh -c 'echo ok > out.txt'`, k providers each) and measures, for each, the time from \
                the upload of its bundle to the block that settles it as the consumer sees it (polling every \
                20 ms). The job's own runtime is measured by running the same bundle in this machine's \
                sandbox N times, and its median is subtracted from the median round trip: what is left is the \
                market's overhead (upload, inclusion, matching, download, commit, reveal, settlement).

                Example:
                  sluice bench jobs --key .sluice/devnet/keys/dev-0.json --count 20
                """)

        @OptionGroup var options: NodeOptions

        @Option(help: "The consumer's key file.")
        var key: String

        @Option(help: "Jobs to run.")
        var count = 20

        @Option(help: "Providers per job (k).")
        var k: UInt8 = 1

        func run() async throws {
            try await reportingErrors {
                let signingKey = try loadSigningKey(path: key, from: nil)
                let client = try options.client()
                let chainId = try await client.status().chainId
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "sluice-bench-jobs-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: folder) }
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let manifest = JobManifest(
                    name: "trivial", runner: .process, command: ["sh", "-c", "echo ok > out.txt"],
                    outputs: ["out.txt"],
                    memoryMB: 64, maxDurationSeconds: 10)
                let bundle = try JobBundle.pack(folder: folder, manifest: manifest)

                // The job's runtime in this machine's sandbox.
                let sandbox = Sandbox(kind: SandboxKind.detect())
                var runtimes: [Double] = []
                for i in 0..<count {
                    let dir = folder.appendingPathComponent("run-\(i)")
                    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    try DeterministicTar.unpack(bundle, into: dir)
                    let outcome = try await sandbox.run(
                        RunRequest(
                            jobDirectory: dir, command: manifest.command,
                            limits: SandboxLimits(wallSeconds: 10, memoryBytes: 64 << 20),
                            stdout: folder.appendingPathComponent("stdout-\(i)"),
                            stderr: folder.appendingPathComponent("stderr-\(i)")))
                    runtimes.append(outcome.wallSeconds)
                }

                var sequence = try await client.account(signingKey.address).nextSequence
                var rounds: [Double] = []
                let clock = ContinuousClock()
                for i in 0..<count {
                    // A distinct bundle per job (its name), so every upload is a new blob.
                    var m = manifest
                    m.name = "trivial-\(i)-\(UUID().uuidString)"
                    let bytes = try JobBundle.pack(folder: folder.appendingPathComponent("run-0"), manifest: m)
                    let start = clock.now
                    let hash = try await client.putBlob(bytes)
                    let spec = JobSpec(
                        runner: .process, bundleHash: hash, bundleURI: "sluice:blob/\(hash.hex)", inputsHash: hash,
                        gpuCount: 1, minVramGB: 0, model: "", maxDurationSeconds: 10,
                        maxPricePerGPUHour: 36_000_000, redundancy: k, verification: 0)
                    let tx = Transaction(
                        chainId: chainId, sender: signingKey.address, sequence: sequence, gasLimit: 100, gasPrice: 1,
                        expiry: Transaction.never, payload: .jobSubmit(spec)
                    ).signed(with: signingKey)
                    _ = try await client.submit(tx)
                    let id = JobRecord.id(consumer: signingKey.address, sequence: sequence)
                    sequence += 1
                    while true {
                        if let job = try await client.job(id),
                            [.settled, .expired, .unresolved].contains(job.status)
                        {
                            guard job.status == .settled else {
                                throw CommandError("job \(id.hex) ended \(job.status.name): are providers running?")
                            }
                            break
                        }
                        guard clock.now - start < .seconds(60) else {
                            throw CommandError("job \(id.hex) did not settle within 60 s: are providers running?")
                        }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    let elapsed = clock.now - start
                    rounds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                    if !options.json { print("job \(i + 1)/\(count): \(String(format: "%.3f", rounds.last!)) s") }
                }
                let round50 = median(rounds)
                let run50 = median(runtimes)
                let result = JobsBenchResult(
                    jobs: count, k: Int(k), roundTripP50: round50, roundTripP90: percentile(rounds, 0.9),
                    roundTripMax: rounds.max() ?? 0, runtimeP50: run50, overheadP50: round50 - run50,
                    sandbox: sandbox.kind.description)
                if options.json { return try printAPIJSON(result) }
                print(
                    """
                    \(count) trivial jobs, k = \(k), sandbox: \(result.sandbox)
                      submit → settled   p50 \(String(format: "%.3f", round50)) s   p90 \(String(format: "%.3f", result.roundTripP90)) s   max \(String(format: "%.3f", result.roundTripMax)) s
                      job runtime        p50 \(String(format: "%.3f", run50)) s (the same bundle in this machine's sandbox)
                      overhead           p50 \(String(format: "%.3f", result.overheadP50)) s (target < 2 s)
                    """)
            }
        }
    }
}

struct JobsBenchResult: Codable {
    var jobs: Int
    var k: Int
    var roundTripP50: Double
    var roundTripP90: Double
    var roundTripMax: Double
    var runtimeP50: Double
    var overheadP50: Double
    var sandbox: String
}

private func median(_ xs: [Double]) -> Double { percentile(xs, 0.5) }

private func percentile(_ xs: [Double], _ p: Double) -> Double {
    guard !xs.isEmpty else { return 0 }
    let sorted = xs.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}
