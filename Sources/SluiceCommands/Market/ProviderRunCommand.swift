import ArgumentParser
import Foundation
import Logging
import SluiceAPI
import SluiceClient
import SluiceCore
import SluiceJobs
import SluiceProvider
import SluiceRuntime
import SluiceState
import Synchronization

extension ProviderCommand {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a provider's agent: offer this machine's GPUs (or CPU), run assigned jobs, get paid.",
            discussion: """
                The agent finds NVIDIA GPUs with nvidia-smi (model, VRAM, driver, UUID) and runs the \
                proof-of-GPU benchmark on each; with none (or --gpus none) it offers CPU capacity. It \
                registers the key as a provider with --stake if it is not one yet, sends heartbeats, follows \
                the node's blocks for the jobs assigned to it, runs each in a sandbox (bubblewrap when \
                installed: no network, only the job's folder writable; else prlimit), commits to the result, \
                uploads it and reveals it. Jobs in progress are kept in --work, so a restart resumes them. \
                When the node is away it reconnects with backoff. Logs go to standard error; a terminal \
                gets a live status line.

                Example:
                  sluice provider run --key .sluice/devnet/keys/dev-1.json --work .sluice/provider-1
                """)

        @Option(
            name: .long,
            help: ArgumentHelp(
                "The node's API (default: $SLUICE_NODE, else \(NodeOptions.defaultNode)).", valueName: "url"))
        var node: String?

        @Option(help: "The provider's key file (`sluice keys new`); it pays the stake and receives the income.")
        var key: String

        @Option(help: "Which key of the file, when it holds several (an address).")
        var from: String?

        @Option(help: "The agent's work dir: its jobs' bundles, results, logs and state.")
        var work: String

        @Option(help: "Which GPUs to offer: auto (all found), none (CPU only) or indices such as 0,1.")
        var gpus = "auto"

        @Option(help: "The most jobs run at once.")
        var maxJobs = 4

        @Option(help: "The price per GPU-hour asked, in base units.")
        var price = "3600000"

        @Option(help: "The stake put up when registering, in base units.")
        var stake = "1000000"

        @Option(help: "The region announced.")
        var region = "local"

        @Option(help: "The most memory one job gets, whatever its manifest asks (e.g. 16GiB, 4096 MiB).")
        var maxJobMemory = "16GiB"

        @Option(help: "The most processes and threads one job may have at once.")
        var maxJobProcesses = 1024

        @Option(help: "The most disk one job's folder may use, outputs included (e.g. 20GiB).")
        var maxJobDisk = "20GiB"

        @Option(help: "The longest one job may run (e.g. 24h, 90m).")
        var maxJobDuration = "24h"

        @Option(help: ArgumentHelp("Stop when the process with this pid is no longer the parent.", visibility: .hidden))
        var parentPid: Int32?

        @Option(help: ArgumentHelp("Seconds to wait for another agent to free the work dir.", visibility: .hidden))
        var lockWait: Int = 0

        @Option(help: "Log level: trace, debug, info, notice, warning, error.")
        var logLevel = "info"

        @Option(help: .hidden)
        var fault: String?

        func run() async throws {
            try await reportingErrors {
                let url = NodeOptions(node: node).nodeURL
                let signingKey = try loadSigningKey(path: key, from: from)
                let selection: GPUSelection
                do { selection = try GPUSelection.parse(gpus) } catch { throw CommandError("--gpus: \(error)") }
                var faults = AgentFaults()
                switch fault {
                case nil: break
                case "wrong-result": faults.wrongResult = true
                case let other?: throw CommandError("--fault: unknown fault '\(other)'")
                }
                guard let level = Logger.Level(rawValue: logLevel) else {
                    throw CommandError(
                        "--log-level: '\(logLevel)' is not one of trace, debug, info, notice, warning, error")
                }
                var configuration = AgentConfiguration(
                    node: url, key: signingKey, workDirectory: URL(fileURLWithPath: work), gpus: selection,
                    maxJobs: max(1, maxJobs), pricePerGPUHour: try parseAmount(price, "--price"),
                    stake: try parseAmount(stake, "--stake"), region: region, ceilings: try ceilings(), faults: faults)
                configuration.lockWait = .seconds(max(0, lockWait))
                var logger = Logger(label: "provider") { label in
                    var handler = StreamLogHandler.standardError(label: label)
                    handler.logLevel = level
                    return handler
                }
                logger.logLevel = level
                let terminal = isatty(STDOUT_FILENO) == 1
                let address = signingKey.address
                let agent = try ProviderAgent(
                    configuration: configuration, logger: logger, sandbox: Sandbox(kind: SandboxKind.detect())
                ) { status in
                    guard terminal else { return }
                    let line =
                        "provider \(address.hex.prefix(12))… \(status.connected ? "height \(status.height)" : "node away") | running \(status.running) | done \(status.done) | earned \(status.earned)"
                    print("\r\u{1B}[2K" + line, terminator: "")
                    fflush(nil)
                }
                print("provider \(address.hex): node \(url), work dir \(work); Ctrl-C stops")
                fflush(nil)
                let task = Task { try await agent.run() }
                // SIGINT and SIGTERM stop the agent; its jobs' state is on disk.
                let signals = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
                    signal(sig, SIG_IGN)
                    let source = DispatchSource.makeSignalSource(signal: sig)
                    source.setEventHandler { task.cancel() }
                    source.resume()
                    return source
                }
                defer { signals.forEach { $0.cancel() } }
                if let parentPid {
                    // Started by a devnet: end with it, even when it was killed and could not stop us (the
                    // SIGTERM it sends itself goes to the handlers above).
                    let logger = logger
                    stopWhenParentIsGone(parentPid) { logger.warning("\($0)") }
                }
                try await task.value
                if terminal { print("") }
                print("provider agent stopped")
            }
        }
    }
}

extension ProviderCommand.Run {
    /// The --max-job-* options.
    func ceilings() throws -> JobCeilings {
        guard let memory = parseMemoryMiB(maxJobMemory), memory >= 16 else {
            throw CommandError("--max-job-memory: '\(maxJobMemory)' is not a size of at least 16 MiB (e.g. 16GiB)")
        }
        guard let disk = parseMemoryMiB(maxJobDisk), disk >= 1 else {
            throw CommandError("--max-job-disk: '\(maxJobDisk)' is not a size (e.g. 20GiB)")
        }
        guard let duration = DurationText.parse(maxJobDuration).flatMap(DurationText.wholeSeconds), duration >= 1
        else {
            throw CommandError("--max-job-duration: '\(maxJobDuration)' is not a duration (e.g. 24h, 90m, 3600)")
        }
        guard maxJobProcesses >= 8 else { throw CommandError("--max-job-processes: at least 8") }
        return JobCeilings(memoryMB: memory, processes: maxJobProcesses, diskMB: disk, durationSeconds: duration)
    }
}

extension ProviderCommand {
    struct GPUs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gpus",
            abstract: "Show what `provider run` would offer: the GPUs nvidia-smi finds and their benchmark, or CPU.",
            discussion: """
                Runs nvidia-smi, then the proof-of-GPU benchmark on each GPU (a fused multiply-add kernel \
                compiled by the CUDA driver, its outputs checked against the same arithmetic on the CPU), \
                and the CPU benchmark. Needs no node.

                Example:
                  sluice provider gpus --gpus 0
                """)

        @Option(help: "Which GPUs: auto, none or indices such as 0,1.")
        var gpus = "auto"

        @Flag(
            help:
                "Also answer a proof-of-GPU challenge per device class, sized as the chain sizes it, and check the answer."
        )
        var challenge = false

        @Option(help: "With --challenge: the time the product should take at the claimed speed, in milliseconds.")
        var targetMilliseconds = MarketParameters.default.proofTargetMilliseconds

        @Flag(help: "Print the report as JSON (for scripts).")
        var json = false

        func run() async throws {
            try reportingErrors {
                let selection: GPUSelection
                do { selection = try GPUSelection.parse(gpus) } catch { throw CommandError("--gpus: \(error)") }
                let offer: DeviceOffer
                do { offer = try DeviceOffer.discover(selection) } catch { throw CommandError("--gpus: \(error)") }
                var report = GPUReport(
                    gpus: offer.gpus.map { gpu, benchmark in
                        GPUReport.GPU(
                            index: gpu.index, model: gpu.model, vramMiB: gpu.vramMiB, driver: gpu.driver,
                            computeCapability: gpu.computeCapability, uuid: gpu.uuid,
                            benchmarkGflops: (try? benchmark.get())?.score,
                            benchmarkError: { if case .failure(let e) = benchmark { "\(e)" } else { nil } }())
                    },
                    noGPUReason: offer.cpuReason, cpuCores: offer.cores, cpuScore: offer.cpuScore,
                    offer: offer.devices.map(ProviderOfferJSON.Device.init), challenges: [])
                if !json { printHeader(offer) }
                if challenge {
                    report.challenges = answerChallenges(offer, print: !json)
                }
                if json { try printAPIJSON(report) }
            }
        }

        func printHeader(_ offer: DeviceOffer) {
            if let reason = offer.cpuReason { print("GPUs: none (\(reason))") }
            for (gpu, benchmark) in offer.gpus {
                print(
                    "GPU \(gpu.index): \(gpu.model), \(gpu.vramMiB) MiB (\(gpu.vramGB) GB), driver \(gpu.driver), compute \(gpu.computeCapability ?? "?"), \(gpu.uuid)"
                )
                switch benchmark {
                case .success(let r): print("  proof-of-GPU benchmark: \(r)")
                case .failure(let e): print("  proof-of-GPU benchmark failed: \(e)")
                }
            }
            print("CPU: \(offer.cores) logical cores, benchmark score \(offer.cpuScore) (single thread)")
            print("would offer: \(offer.summary)")
        }

        /// One challenge per device class, on one of its GPUs (or the CPU), checked as the chain checks it.
        func answerChallenges(_ offer: DeviceOffer, print printing: Bool) -> [GPUReport.Challenge] {
            let logger = Logger(label: "sluice.provider.gpus")
            var results: [GPUReport.Challenge] = []
            for (d, device) in offer.devices.enumerated() {
                let n = GPUChallenge.size(for: device, targetMilliseconds: targetMilliseconds)
                let seed = Hash.sha256(Array("provider gpus \(d) \(Date().timeIntervalSince1970)".utf8))
                let c = GPUChallenge(seed: seed, size: n)
                let gpu = offer.challengeGPU(for: device)
                let solved = ProofSolver.answer(c, device: UInt8(d), gpu: gpu, logger: logger)
                let clock = ContinuousClock()
                let checkStart = clock.now
                let refusal = c.verify(solved.answer)
                let checked = clock.now - checkStart
                let checkMs = Double(checked.components.attoseconds) / 1e15 + Double(checked.components.seconds) * 1000
                let expected = GPUChallenge.expectedMilliseconds(size: n, device: device)
                let gflops = solved.kernelMilliseconds.flatMap { ms in
                    ms > 0 ? 2 * pow(Double(n), 3) / (ms / 1000) / 1e9 : nil
                }
                let result = GPUReport.Challenge(
                    device: d, model: device.model, size: n, answeredOn: solved.how, seconds: solved.seconds,
                    kernelMilliseconds: solved.kernelMilliseconds, kernelGflops: gflops, verified: refusal == nil,
                    refusal: refusal.map { "\($0)" }, checkMilliseconds: checkMs,
                    allowedSecondsBeforeWindow: (2 * expected + 999) / 1000)
                results.append(result)
                guard printing else { continue }
                let verdict =
                    refusal.map { "REFUSED: \($0)" } ?? String(format: "verified as the chain does in %.1f ms", checkMs)
                var line = "challenge \(d) (\(device.model)): \(n)×\(n) product answered on \(solved.how) in "
                line += String(format: "%.2f s", solved.seconds)
                if let gflops { line += String(format: " (%.0f GFLOPS in the kernels)", gflops) }
                line += "; \(verdict); the chain allows \(result.allowedSecondsBeforeWindow) s + the proof window"
                print(line)
            }
            return results
        }
    }
}

/// `sluice provider gpus --json`: what discovery found, what would be offered, and the challenges answered.
struct GPUReport: Codable {
    struct GPU: Codable {
        var index: Int
        var model: String
        var vramMiB: UInt64
        var driver: String
        var computeCapability: String?
        var uuid: String
        /// The proof-of-GPU benchmark's score (FP32 GFLOPS), or why it failed.
        var benchmarkGflops: UInt64?
        var benchmarkError: String?
    }

    struct Challenge: Codable {
        var device: Int
        var model: String
        var size: Int
        var answeredOn: String
        var seconds: Double
        var kernelMilliseconds: Double?
        var kernelGflops: Double?
        var verified: Bool
        var refusal: String?
        var checkMilliseconds: Double
        /// The chain's deadline is the issue time + this + `proofWindowSeconds`.
        var allowedSecondsBeforeWindow: UInt64
    }

    var gpus: [GPU]
    /// Why CPU capacity is offered, when it is.
    var noGPUReason: String?
    var cpuCores: Int
    var cpuScore: UInt64
    var offer: [ProviderOfferJSON.Device]
    var challenges: [Challenge]
}

extension NodeOptions {
    init(node: String?) {
        self.init()
        self.node = node
    }
}
