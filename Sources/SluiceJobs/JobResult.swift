public import Foundation

/// `sluice-result.json`, at the root of every result archive: how the job ended, in terms every honest
/// provider agrees on. Timings and peak memory are not in it (they differ between machines); a job that
/// failed carries no output files, since what a killed job left behind is not reproducible.
public struct JobResultSummary: Codable, Sendable, Equatable {
    public static let fileName = "sluice-result.json"

    /// How a job ended. Everything but `ok` is a job failure: the providers agree on it like on any result
    /// and are paid for the time used; none of them is at fault.
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Exited 0 and left outputs.
        case ok
        /// A non-zero exit code.
        case exit
        case signal
        case timeout
        case memory
        /// Wrote more to its folder than the provider's disk ceiling.
        case disk
        /// Exited 0 and left no file matching its outputs.
        case noOutputs = "no-outputs"
        /// Its outputs cannot make a result: a link or special file among them, more files or bytes than a
        /// result may hold, a name a result cannot carry (`reason` says which).
        case badOutputs = "bad-outputs"
        /// No manifest, a bad one, or an archive that cannot be unpacked.
        case badBundle = "bad-bundle"
        case failedToStart = "failed-to-start"
    }

    public var status: Status
    public var exitCode: Int32?
    public var signal: Int32?
    /// The result's files besides this one, sorted.
    public var files: [String]
    /// Why the outputs could not be packed (`bad-outputs`): the same words on every provider.
    public var reason: String?

    public init(
        status: Status, exitCode: Int32? = nil, signal: Int32? = nil, files: [String] = [], reason: String? = nil
    ) {
        self.status = status
        self.exitCode = exitCode
        self.signal = signal
        self.files = files
        self.reason = reason
    }

    public var succeeded: Bool { status == .ok }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// Packing a job's result the same way on every provider, and reading one back.
///
/// The summary is made in memory and added to the archive; nothing is written into the job's folder,
/// where the job could have left a link, a directory or a FIFO under any name. Outputs are read through
/// directory descriptors without following links. What the job's outputs can break (a link among them,
/// too many files or bytes, a name ustar cannot hold) ends as a `bad-outputs` summary, which every honest
/// provider computes alike, never as an error that would leave the provider without a result to commit.
public enum JobResultArchive {
    /// The most output files a result holds. Known before the job runs, the same on every provider.
    public static let maxFiles = 10_000
    /// The most bytes of output a result holds: a node's largest blob (256 MiB) less room for 10,001
    /// headers with their padding (10 MiB) and a summary naming 10,000 paths of at most 256 bytes (3 MiB).
    public static let maxContentBytes = (256 << 20) - (16 << 20)

    /// The result of a job that ran in `directory`: on success the files matching the manifest's outputs
    /// and the summary; otherwise the summary alone.
    /// - Throws: `ArchiveError` only for the provider's own failures (reading its disk), never for what
    ///   the job left.
    public static func pack(directory: URL, manifest: JobManifest, outcome: RunOutcome) throws -> (
        bytes: [UInt8], summary: JobResultSummary
    ) {
        var summary: JobResultSummary
        switch outcome.ending {
        case .exited(0): summary = JobResultSummary(status: .ok, exitCode: 0)
        case .exited(let code): summary = JobResultSummary(status: .exit, exitCode: code)
        case .signalled(let s): summary = JobResultSummary(status: .signal, signal: s)
        case .timedOut: summary = JobResultSummary(status: .timeout)
        case .memoryExceeded: summary = JobResultSummary(status: .memory)
        case .diskExceeded: summary = JobResultSummary(status: .disk)
        case .failedToStart: summary = JobResultSummary(status: .failedToStart)
        }
        var files: [ArchiveFile] = []
        if summary.succeeded {
            do {
                files = try DeterministicTar.files(
                    in: directory, include: manifest.outputs, maxFiles: maxFiles, maxBytes: maxContentBytes,
                    skipping: [JobResultSummary.fileName])
                if files.isEmpty {
                    summary = JobResultSummary(status: .noOutputs, exitCode: 0)
                } else {
                    summary.files = files.map(\.path)
                }
            } catch {
                // Reading the provider's own disk failed: no result can be made here.
                if error.code == .io { throw error }
                files = []
                summary = JobResultSummary(status: .badOutputs, exitCode: 0, reason: error.description)
            }
        }
        return (try archive(files, summary), summary)
    }

    /// The result of a job whose bundle could not be used (no manifest, a bad one): the same for every
    /// provider, so the consumer pays for no work and sees why.
    public static func badBundle() throws -> (bytes: [UInt8], summary: JobResultSummary) {
        let summary = JobResultSummary(status: .badBundle)
        return (try archive([], summary), summary)
    }

    static func archive(_ files: [ArchiveFile], _ summary: JobResultSummary) throws -> [UInt8] {
        let file = ArchiveFile(path: JobResultSummary.fileName, bytes: [UInt8](try summary.encoded()))
        return try DeterministicTar.archive(files + [file])
    }

    /// Unpacks a result archive into `directory` and returns its summary.
    public static func unpack(_ bytes: [UInt8], into directory: URL) throws -> JobResultSummary {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try DeterministicTar.unpack(
            bytes, into: directory, maxFiles: maxFiles + 1, maxBytes: maxContentBytes + (4 << 20))
        let data = try SafeFile.read(JobResultSummary.fileName, in: directory, maxBytes: 4 << 20)
        return try JSONDecoder().decode(JobResultSummary.self, from: Data(data))
    }
}

/// Packing a job's bundle: the folder's files and the manifest, at the archive's root.
public enum JobBundle {
    public static func pack(folder: URL, manifest: JobManifest) throws -> [UInt8] {
        let staging = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sluice-bundle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: staging) }
        try FileManager.default.copyItem(at: folder, to: staging)
        // Results of earlier local runs are not part of the job.
        try? FileManager.default.removeItem(at: staging.appendingPathComponent("results"))
        try manifest.encoded().write(to: staging.appendingPathComponent(JobManifest.fileName))
        return try DeterministicTar.pack(directory: staging, include: nil)
    }
}
