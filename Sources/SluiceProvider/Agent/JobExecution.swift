import Foundation
import Logging
import SluiceAPI
import SluiceClient
public import SluiceCore
public import SluiceJobs

/// One run of a job: fetch and check the bundle, unpack it, run it in the sandbox, pack the result.
public struct JobExecution: Sendable {
    public var resultHash: Hash
    /// The blob of stdout and stderr, when the job ran.
    public var logsHash: Hash?
    public var summary: JobResultSummary
    public var usageSeconds: UInt64
    public var wallSeconds: Double

    static func run(
        spec: JobSpecJSON, folder: URL, gpus: [String], client: SluiceClient, sandbox: Sandbox, wrongResult: Bool,
        ceilings: JobCeilings = JobCeilings(), logger: Logger
    ) async throws -> JobExecution {
        guard let bundle = try await client.blob(spec.bundleHash) else {
            throw AgentError("the node has no bundle \(spec.bundleHash.hex)")
        }
        let jobDirectory = folder.appendingPathComponent("job")
        SafeFile.removeTree(jobDirectory)
        let packed: (bytes: [UInt8], summary: JobResultSummary)
        var wall = 0.0
        do {
            let manifest: JobManifest
            do {
                try DeterministicTar.unpack(bundle, into: jobDirectory)
                manifest = try JobManifest.decode(
                    Data(SafeFile.read(JobManifest.fileName, in: jobDirectory, maxBytes: JobManifest.maxBytes)))
            } catch let error as ArchiveError where error.code != .io {
                throw ManifestError(error.description)
            }
            guard manifest.runner == .process else {
                throw ManifestError("runner '\(manifest.runner.name)' is not supported by this provider")
            }
            var environment = manifest.environment
            environment["SLUICE_JOB"] = "1"
            let memoryMB = min(manifest.memoryMB, ceilings.memoryMB)
            if memoryMB < manifest.memoryMB {
                logger.warning(
                    "the job asks for \(manifest.memoryMB) MiB; it runs with this provider's \(memoryMB) MiB")
            }
            let request = RunRequest(
                jobDirectory: jobDirectory, command: manifest.command, environment: environment, gpuDevices: gpus,
                limits: SandboxLimits(
                    wallSeconds: Double(
                        min(spec.maxDurationSeconds, manifest.maxDurationSeconds, ceilings.durationSeconds)),
                    memoryBytes: memoryMB << 20, maxProcesses: ceilings.processes, diskBytes: ceilings.diskMB << 20),
                stdout: folder.appendingPathComponent("stdout.txt"),
                stderr: folder.appendingPathComponent("stderr.txt"))
            let outcome = try await sandbox.run(request)
            wall = outcome.wallSeconds
            logger.info("job ran: \(outcome)")
            packed = try JobResultArchive.pack(directory: jobDirectory, manifest: manifest, outcome: outcome)
        } catch let error as ManifestError {
            logger.warning("bad bundle: \(error)")
            packed = try JobResultArchive.badBundle()
        }
        var bytes = packed.bytes
        if wrongResult { bytes += [UInt8](repeating: 0, count: 512) }
        try Data(bytes).write(to: folder.appendingPathComponent("result.tar"))
        var logsHash: Hash? = nil
        if let logs = try? DeterministicTar.pack(directory: folder, include: ["stdout.txt", "stderr.txt"]) {
            try Data(logs).write(to: folder.appendingPathComponent("logs.tar"))
            logsHash = Hash.sha256(logs)
        }
        // The job's folder is not needed once its result is packed: its files go now, not at settlement.
        SafeFile.removeTree(jobDirectory)
        return JobExecution(
            resultHash: Hash.sha256(bytes), logsHash: logsHash, summary: packed.summary,
            usageSeconds: max(1, UInt64(wall.rounded(.up))), wallSeconds: wall)
    }
}
