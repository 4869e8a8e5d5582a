public import Foundation
public import SluiceCore

/// How to run a job, carried inside its bundle as `sluice-job.json` at the archive's root. The job's spec on
/// chain holds only the bundle's hash, so the command, the outputs and the limits are content-addressed
/// with the bundle: a provider runs exactly what the consumer paid for, and k providers run the same thing.
public struct JobManifest: Codable, Sendable, Equatable {
    /// The file name inside the bundle.
    public static let fileName = "sluice-job.json"
    /// Manifests larger than this are refused.
    public static let maxBytes = 64 * 1024

    /// The job's name (informational).
    public var name: String
    public var runner: Runner
    /// argv, run in the job's directory (the unpacked bundle).
    public var command: [String]
    /// The container image, for the container runner.
    public var image: String?
    /// Extra environment variables.
    public var environment: [String: String]
    /// Globs, relative to the job's directory, of the files that make the result (e.g. "out/*.ppm", "out/**").
    public var outputs: [String]
    /// The memory the job may use, in MiB.
    public var memoryMB: UInt64
    /// The wall time the job may use, in seconds (the spec's `maxDuration`).
    public var maxDurationSeconds: UInt64

    public init(
        name: String, runner: Runner, command: [String], image: String? = nil, environment: [String: String] = [:],
        outputs: [String], memoryMB: UInt64, maxDurationSeconds: UInt64
    ) {
        self.name = name
        self.runner = runner
        self.command = command
        self.image = image
        self.environment = environment
        self.outputs = outputs
        self.memoryMB = memoryMB
        self.maxDurationSeconds = maxDurationSeconds
    }

    /// The manifest's bytes: sorted keys, so the same manifest always packs to the same bundle hash.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads and checks a manifest; the error says what is wrong with it.
    public static func decode(_ data: Data) throws -> JobManifest {
        guard data.count <= maxBytes else {
            throw ManifestError("\(fileName) is \(data.count) bytes; at most \(maxBytes) are allowed")
        }
        let m: JobManifest
        do { m = try JSONDecoder().decode(JobManifest.self, from: data) } catch {
            throw ManifestError("\(fileName) is not a job manifest: \(error)")
        }
        try m.validate()
        return m
    }

    public func validate() throws {
        guard let first = command.first, !first.isEmpty else { throw ManifestError("command is empty") }
        guard !outputs.isEmpty else { throw ManifestError("outputs is empty: name the files that make the result") }
        for o in outputs where o.isEmpty || o.hasPrefix("/") || o.split(separator: "/").contains("..") {
            throw ManifestError("output '\(o)' must be a relative path inside the job's directory")
        }
        guard memoryMB >= 16 else { throw ManifestError("memory of \(memoryMB) MiB is too small: at least 16") }
        guard maxDurationSeconds >= 1 else { throw ManifestError("max duration must be at least 1 second") }
        if runner == .container && (image ?? "").isEmpty {
            throw ManifestError("the container runner needs an image")
        }
    }
}

public struct ManifestError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ d: String) { description = d }
}
