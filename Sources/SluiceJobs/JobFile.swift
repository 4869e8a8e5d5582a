public import Foundation
public import SluiceCore
import TOMLKit

/// A job as a consumer writes it, in `job.toml`: what to run, which folder to upload as its bundle, what to
/// collect, and what the job may cost.
///
/// ```toml
/// name = "render-spheres"
/// runner = "process"                 # or "container" (then `image` is required)
/// command = ["python3", "render.py", "--out", "out/image.ppm"]
/// bundle = "."                       # a folder, relative to this file
/// outputs = ["out/*.ppm"]
/// max_price_per_gpu_hour = 5000      # base units, an integer or a decimal string
/// max_duration = "2m"                # or seconds as an integer
/// redundancy = 2                     # 1 to 8 providers
/// memory = "512MiB"                  # default 1GiB
/// [gpu]
/// count = 1
/// min_vram_gb = 0
/// model = ""
/// [env]
/// SEED = "42"
/// ```
///
/// The file splits in two on submission: the part a provider needs to run the job (`manifest()`) travels inside
/// the bundle and is hashed with it; the part the market matches on (`spec(bundleHash:bundleURI:)`) goes on
/// chain. Both come from this one file so they cannot disagree. TOMLKit does not say where a key was, so an
/// error about a key's value finds the key's line by scanning the text (`KeyLines`).
public struct JobFile: Sendable, Equatable {
    public var name: String
    public var runner: Runner
    /// The container image; only for the container runner.
    public var image: String?
    /// argv, run in the job's directory.
    public var command: [String]
    /// The folder uploaded as the job's bundle, resolved against the job file's folder.
    public var bundle: URL
    /// Globs, relative to the job's directory, of the result files.
    public var outputs: [String]
    public var maxPricePerGPUHour: Amount
    public var maxDurationSeconds: UInt64
    /// k: how many providers run the job independently.
    public var redundancy: UInt8
    public var memoryMB: UInt64
    public var gpuCount: UInt32
    public var minVramGB: UInt32
    /// An exact model the GPUs must be (empty: any).
    public var model: String
    public var environment: [String: String]

    public init(
        name: String, runner: Runner, image: String? = nil, command: [String], bundle: URL, outputs: [String],
        maxPricePerGPUHour: Amount, maxDurationSeconds: UInt64, redundancy: UInt8 = 1,
        memoryMB: UInt64 = JobFile.defaultMemoryMB, gpuCount: UInt32 = 1, minVramGB: UInt32 = 0, model: String = "",
        environment: [String: String] = [:]
    ) {
        self.name = name
        self.runner = runner
        self.image = image
        self.command = command
        self.bundle = bundle
        self.outputs = outputs
        self.maxPricePerGPUHour = maxPricePerGPUHour
        self.maxDurationSeconds = maxDurationSeconds
        self.redundancy = redundancy
        self.memoryMB = memoryMB
        self.gpuCount = gpuCount
        self.minVramGB = minVramGB
        self.model = model
        self.environment = environment
    }

    /// The memory a job gets when the file does not say: 1 GiB.
    public static let defaultMemoryMB: UInt64 = 1024
    /// The providers a job may ask for.
    public static let redundancyRange: ClosedRange<UInt8> = 1...8
    /// The longest job the market accepts (its `MarketParameters.maxDurationSeconds`): 7 days.
    public static let maxDurationLimit: UInt64 = 7 * 24 * 3600

    /// What a provider needs to run the job; packed into the bundle as `sluice-job.json`.
    public func manifest() -> JobManifest {
        JobManifest(
            name: name, runner: runner, command: command, image: image, environment: environment, outputs: outputs,
            memoryMB: memoryMB, maxDurationSeconds: maxDurationSeconds)
    }

    /// The spec submitted on chain; the bundle is the job's only input, so `inputsHash` is the bundle's hash.
    public func spec(bundleHash: Hash, bundleURI: String) -> JobSpec {
        JobSpec(
            runner: runner, bundleHash: bundleHash, bundleURI: bundleURI, inputsHash: bundleHash, gpuCount: gpuCount,
            minVramGB: minVramGB, model: model, maxDurationSeconds: maxDurationSeconds,
            maxPricePerGPUHour: maxPricePerGPUHour, redundancy: redundancy, verification: 0)
    }

    /// Reads a job file; a relative `bundle` is resolved against the file's folder.
    public static func load(path: String) throws(JobFileError) -> JobFile {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw JobFileError(.unreadable, path: path, "cannot read the job file (\(error.localizedDescription))")
        }
        return try parse(text, path: path, folder: URL(fileURLWithPath: path).deletingLastPathComponent())
    }

    /// Parses a job file's text; `path` names it in errors, `folder` is where a relative `bundle` starts.
    public static func parse(_ text: String, path: String, folder: URL) throws(JobFileError) -> JobFile {
        try JobFileReader(text: text, path: path).read(folder: folder)
    }
}

/// What is wrong with a job file, pointing at the file and, where it is known, the line:
/// `job.toml:7: key 'redundancy': 0 is out of range: use 1 to 8`.
public struct JobFileError: Error, CustomStringConvertible, Sendable {
    enum Code: Sendable, Equatable {
        case unreadable, syntax, unknownKey, missingKey, wrongType, invalidValue, bundle
    }

    let code: Code
    public let path: String
    /// The 1-based line of the problem, where it is known.
    public let line: Int?
    public let column: Int?
    /// The key at fault ("redundancy", "gpu.count"), if one is.
    public let key: String?
    public let message: String

    init(_ code: Code, path: String, line: Int? = nil, column: Int? = nil, key: String? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    public var description: String {
        var place = path
        if let line { place += ":\(line)" }
        if let line, let column, line > 0 { place += ":\(column)" }
        if let key, code != .unknownKey, code != .missingKey { return "\(place): key '\(key)': \(message)" }
        return "\(place): \(message)"
    }
}
