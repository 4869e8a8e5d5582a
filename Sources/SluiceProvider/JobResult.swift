public import Foundation

/// `sluice-result.json`, at the root of every result archive: how the job ended, in terms every honest
/// provider agrees on. Timings and peak memory are not in it (they differ between machines); a job that
/// failed carries no output files, since what a killed job left behind is not reproducible.
public struct JobResultSummary: Codable, Sendable, Equatable {
    public static let fileName = "sluice-result.json"

    /// "ok", "exit" (non-zero exit code), "signal", "timeout", "memory", "no-outputs", "bad-bundle".
    public var status: String
    public var exitCode: Int32?
    public var signal: Int32?
    /// The result's files besides this one, sorted.
    public var files: [String]

    public init(status: String, exitCode: Int32? = nil, signal: Int32? = nil, files: [String] = []) {
        self.status = status
        self.exitCode = exitCode
        self.signal = signal
        self.files = files
    }

    public var succeeded: Bool { status == "ok" }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// Packing a job's result the same way on every provider, and reading one back.
public enum JobResultArchive {
    /// The result of a job that ran in `directory`: on success the files matching the manifest's outputs
    /// and the summary; otherwise the summary alone.
    public static func pack(directory: URL, manifest: JobManifest, outcome: RunOutcome) throws -> (
        bytes: [UInt8], summary: JobResultSummary
    ) {
        var summary: JobResultSummary
        switch outcome.ending {
        case .exited(0): summary = JobResultSummary(status: "ok", exitCode: 0)
        case .exited(let code): summary = JobResultSummary(status: "exit", exitCode: code)
        case .signalled(let s): summary = JobResultSummary(status: "signal", signal: s)
        case .timedOut: summary = JobResultSummary(status: "timeout")
        case .memoryExceeded: summary = JobResultSummary(status: "memory")
        case .failedToStart: summary = JobResultSummary(status: "failed-to-start")
        }
        var include = [JobResultSummary.fileName]
        if summary.succeeded {
            let outputs = try matchingFiles(directory: directory, globs: manifest.outputs)
            if outputs.isEmpty {
                summary = JobResultSummary(status: "no-outputs", exitCode: 0)
            } else {
                summary.files = outputs
                include = [JobResultSummary.fileName] + outputs
            }
        }
        try write(summary, into: directory)
        return (try DeterministicTar.pack(directory: directory, include: include), summary)
    }

    /// The result of a job whose bundle could not be used (no manifest, a bad one): the same for every
    /// provider, so the consumer pays for no work and sees why.
    public static func badBundle(directory: URL) throws -> (bytes: [UInt8], summary: JobResultSummary) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let summary = JobResultSummary(status: "bad-bundle")
        try write(summary, into: directory)
        return (try DeterministicTar.pack(directory: directory, include: [JobResultSummary.fileName]), summary)
    }

    static func write(_ summary: JobResultSummary, into directory: URL) throws {
        try summary.encoded().write(to: directory.appendingPathComponent(JobResultSummary.fileName))
    }

    /// The regular files under `directory` matching any glob, relative and sorted.
    static func matchingFiles(directory: URL, globs: [String]) throws -> [String] {
        let base = directory.standardizedFileURL.path
        var found: [String] = []
        let items = FileManager.default.enumerator(atPath: base)
        while let relative = items?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = base + "/" + relative
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                relative != JobResultSummary.fileName
            else { continue }
            if globs.contains(where: { DeterministicTar.matches(relative, glob: $0) }) { found.append(relative) }
        }
        return found.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// Unpacks a result archive into `directory` and returns its summary.
    public static func unpack(_ bytes: [UInt8], into directory: URL) throws -> JobResultSummary {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try DeterministicTar.unpack(bytes, into: directory)
        let data = try Data(contentsOf: directory.appendingPathComponent(JobResultSummary.fileName))
        return try JSONDecoder().decode(JobResultSummary.self, from: data)
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
