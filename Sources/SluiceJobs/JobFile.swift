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
    /// "process" or "container".
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

// MARK: - Reading

/// One pass over a parsed file; every check throws a `JobFileError` naming the key and its line.
private struct JobFileReader {
    let text: String
    let path: String
    let lines: KeyLines

    static let rootKeys = [
        "name", "runner", "image", "command", "bundle", "outputs", "max_price_per_gpu_hour", "max_duration",
        "redundancy", "memory", "gpu", "env",
    ]
    static let gpuKeys = ["count", "min_vram_gb", "model"]
    static let examples: [String: String] = [
        "name": #"name = "render-spheres""#,
        "runner": #"runner = "process" (or "container")"#,
        "command": #"command = ["python3", "run.py"]"#,
        "bundle": #"bundle = "." (the folder to upload)"#,
        "outputs": #"outputs = ["out/*"]"#,
        "max_price_per_gpu_hour": "max_price_per_gpu_hour = 5000",
        "max_duration": #"max_duration = "10m""#,
    ]

    init(text: String, path: String) {
        self.text = text
        self.path = path
        self.lines = KeyLines(text)
    }

    func fail(_ key: String, _ code: JobFileError.Code, _ message: String) -> JobFileError {
        JobFileError(code, path: path, line: lines.line(of: key), key: key, message)
    }

    func fail(_ key: String, _ message: String) -> JobFileError { fail(key, .invalidValue, message) }

    func wrongType(_ key: String, expected: String, got value: any TOMLValueConvertible) -> JobFileError {
        fail(key, .wrongType, "expected \(expected), got \(article(value.type))")
    }

    func read(folder: URL) throws(JobFileError) -> JobFile {
        let root: TOMLTable
        do { root = try TOMLText.parse(text) } catch {
            throw JobFileError(.syntax, path: path, line: error.line, column: error.column, error.message)
        }
        try checkKeys(root.keys, known: Self.rootKeys, prefix: "")
        for key in Self.rootKeys where Self.examples[key] != nil && root[key] == nil {
            throw JobFileError(
                .missingKey, path: path, key: key, "missing key '\(key)': add e.g. \(Self.examples[key]!)")
        }

        let name = try string(root, "name")
        guard !name.isEmpty else { throw fail("name", "must not be empty") }
        let runnerName = try string(root, "runner")
        guard let runner = Runner(name: runnerName) else {
            throw fail("runner", "'\(runnerName)' is not a runner: use \"process\" or \"container\"")
        }
        let image = try root["image"] == nil ? nil : string(root, "image")
        if runner == .container && (image ?? "").isEmpty {
            throw fail(image == nil ? "runner" : "image", "the container runner needs an image (image = \"…\")")
        }
        if runner == .process && image != nil {
            throw fail("image", "only the container runner uses an image: remove it or set runner = \"container\"")
        }
        let command = try strings(root, "command", example: Self.examples["command"]!)
        guard let program = command.first, !program.isEmpty else {
            throw fail("command", "must name a program to run, e.g. \(Self.examples["command"]!)")
        }
        let bundle = try bundleFolder(try string(root, "bundle"), folder: folder)
        let outputs = try strings(root, "outputs", example: Self.examples["outputs"]!)
        guard !outputs.isEmpty else { throw fail("outputs", "is empty: name the files that make the result") }
        for o in outputs where o.isEmpty || o.hasPrefix("/") || o.split(separator: "/").contains("..") {
            throw fail("outputs", "'\(o)' must be a relative path inside the job's directory")
        }
        let price = try amount(root, "max_price_per_gpu_hour")
        let duration = try duration(root, "max_duration")
        let redundancy = UInt8(
            try integer(
                root, "redundancy",
                in: Int(JobFile.redundancyRange.lowerBound)...Int(JobFile.redundancyRange.upperBound), default: 1))
        let memory = try memory(root, "memory")

        var gpuCount: UInt32 = 1
        var minVram: UInt32 = 0
        var model = ""
        if let value = root["gpu"] {
            guard let gpu = value.table else { throw wrongType("gpu", expected: "a table ([gpu])", got: value) }
            try checkKeys(gpu.keys, known: Self.gpuKeys, prefix: "gpu.")
            gpuCount = UInt32(try integer(gpu, "count", full: "gpu.count", in: 1...Int(UInt32.max), default: 1))
            minVram = UInt32(try integer(gpu, "min_vram_gb", full: "gpu.min_vram_gb", in: 0...Int(UInt32.max)))
            if gpu["model"] != nil { model = try string(gpu, "model", full: "gpu.model") }
        }
        var environment: [String: String] = [:]
        if let value = root["env"] {
            guard let env = value.table else { throw wrongType("env", expected: "a table ([env])", got: value) }
            for key in env.keys.sorted() {
                let full = "env.\(key)"
                guard Self.isEnvironmentName(key) else {
                    throw fail(full, "is not an environment variable name: use letters, digits and _")
                }
                environment[key] = try string(env, key, full: full)
            }
        }

        let job = JobFile(
            name: name, runner: runner, image: image, command: command, bundle: bundle, outputs: outputs,
            maxPricePerGPUHour: price, maxDurationSeconds: duration, redundancy: redundancy, memoryMB: memory,
            gpuCount: gpuCount, minVramGB: minVram, model: model, environment: environment)
        // The checks above name keys and lines; the manifest's own check is the one a provider applies, so a
        // job file that passes here can never be refused there.
        do { try job.manifest().validate() } catch {
            throw JobFileError(.invalidValue, path: path, "\(error)")
        }
        return job
    }

    // MARK: Keys

    /// Unknown keys are errors (a misspelt optional key would otherwise be silently ignored); the first one in
    /// the file is reported, with the nearest known key as a suggestion.
    func checkKeys(_ keys: [String], known: [String], prefix: String) throws(JobFileError) {
        let unknown = keys.filter { !known.contains($0) }
            .map { (key: $0, line: lines.line(of: prefix + $0) ?? Int.max) }
            .min { ($0.line, $0.key) < ($1.line, $1.key) }
        guard let unknown else { return }
        let full = prefix + unknown.key
        var message = "unknown key '\(full)'"
        if let near = Self.suggestion(for: unknown.key, among: known) {
            message += " (did you mean '\(prefix + near)'?)"
        } else {
            message += " (known: \(known.map { prefix + $0 }.joined(separator: ", ")))"
        }
        throw JobFileError(
            .unknownKey, path: path, line: unknown.line == Int.max ? nil : unknown.line, key: full, message)
    }

    /// The known key nearest to `key` by edit distance, when it is near enough to be a slip.
    static func suggestion(for key: String, among known: [String]) -> String? {
        let scored = known.map { (key: $0, distance: editDistance(key.lowercased(), $0)) }
        guard let best = scored.min(by: { ($0.distance, $0.key) < ($1.distance, $1.key) }) else { return nil }
        return best.distance <= max(1, min(3, best.key.count / 3)) ? best.key : nil
    }

    static func isEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0)
        }
    }

    // MARK: Values

    func string(_ table: TOMLTable, _ key: String, full: String? = nil) throws(JobFileError) -> String {
        let value = table[key]!
        guard let s = value.string else { throw wrongType(full ?? key, expected: "a string", got: value) }
        return s
    }

    func strings(_ table: TOMLTable, _ key: String, example: String) throws(JobFileError) -> [String] {
        let value = table[key]!
        guard let array = value.array else {
            throw wrongType(key, expected: "an array of strings, e.g. \(example),", got: value)
        }
        var out: [String] = []
        for (i, item) in array.enumerated() {
            guard let s = item.string else {
                throw fail(key, .wrongType, "item \(i + 1) is \(article(item.type)): expected a string")
            }
            out.append(s)
        }
        return out
    }

    func integer(
        _ table: TOMLTable, _ key: String, full: String? = nil, in range: ClosedRange<Int>, default fallback: Int = 0
    ) throws(JobFileError) -> Int {
        let name = full ?? key
        guard let value = table[key] else { return fallback }
        guard let i = value.int else { throw wrongType(name, expected: "an integer", got: value) }
        guard range.contains(i) else {
            let upper = range.upperBound >= Int(UInt32.max) ? "" : " to \(range.upperBound)"
            throw fail(name, "\(i) is out of range: use \(range.lowerBound)\(upper.isEmpty ? " or more" : upper)")
        }
        return i
    }

    func amount(_ table: TOMLTable, _ key: String) throws(JobFileError) -> Amount {
        let value = table[key]!
        if let i = value.int {
            guard i >= 0 else { throw fail(key, "\(i) is negative: a price is 0 or more base units") }
            return Amount(UInt128(i))
        }
        guard let s = value.string else {
            throw wrongType(key, expected: "an integer or a decimal string such as \"5000\"", got: value)
        }
        do { return try Amount(decimal: s) } catch { throw fail(key, error.message) }
    }

    func duration(_ table: TOMLTable, _ key: String) throws(JobFileError) -> UInt64 {
        let value = table[key]!
        let seconds: UInt64
        if let i = value.int {
            guard i >= 0 else { throw fail(key, "\(i) is negative") }
            seconds = UInt64(i)
        } else if let s = value.string {
            guard let parsed = DurationText.parse(s) else {
                throw fail(key, "'\(s)' is not a duration: write seconds (90) or e.g. \"90s\", \"5m\", \"1h30m\"")
            }
            guard let whole = DurationText.wholeSeconds(parsed) else {
                throw fail(key, "'\(s)' is not a whole number of seconds")
            }
            seconds = whole
        } else {
            throw wrongType(key, expected: "seconds as an integer or a string such as \"5m\"", got: value)
        }
        guard seconds >= 1, seconds <= JobFile.maxDurationLimit else {
            throw fail(key, "\(seconds) s is out of range: use 1 s to 7 days (\(JobFile.maxDurationLimit) s)")
        }
        return seconds
    }

    func memory(_ table: TOMLTable, _ key: String) throws(JobFileError) -> UInt64 {
        guard let value = table[key] else { return JobFile.defaultMemoryMB }
        let mib: UInt64
        if let i = value.int {
            guard i >= 0 else { throw fail(key, "\(i) is negative") }
            mib = UInt64(i)
        } else if let s = value.string {
            guard let parsed = parseMemoryMiB(s) else {
                throw fail(
                    key, "'\(s)' is not a size: write MiB as an integer (512) or e.g. \"512MiB\", \"2GiB\", \"800MB\"")
            }
            mib = parsed
        } else {
            throw wrongType(key, expected: "MiB as an integer or a string such as \"512MiB\"", got: value)
        }
        guard mib >= 16 else { throw fail(key, "\(mib) MiB is too small: at least 16 MiB") }
        return mib
    }

    func bundleFolder(_ text: String, folder: URL) throws(JobFileError) -> URL {
        guard !text.isEmpty else { throw fail("bundle", "must name a folder (\".\" is the job file's own)") }
        let url = text.hasPrefix("/") ? URL(fileURLWithPath: text) : folder.appendingPathComponent(text)
        let resolved = url.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory) else {
            throw fail("bundle", "the folder '\(resolved)' does not exist")
        }
        guard isDirectory.boolValue else { throw fail("bundle", "'\(resolved)' is a file: bundle names a folder") }
        return URL(fileURLWithPath: resolved, isDirectory: true)
    }
}

/// "a string", "an integer", …: the type a value had, for error messages.
private func article(_ type: TOMLType) -> String {
    let name = type.description
    return (name.first.map { "aeiou".contains($0) } ?? false ? "an " : "a ") + name
}

/// Levenshtein distance, for "did you mean" suggestions (keys are short).
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// Parses a memory size to MiB: "512MiB", "2GiB", "800MB", "1GB" (units in any case, a space allowed). Decimal
/// megabytes are rounded up to whole MiB, so a job never gets less than it asked for.
public func parseMemoryMiB(_ text: String) -> UInt64? {
    let t = text.trimmingCharacters(in: .whitespaces)
    let digits = t.prefix { $0.isASCII && $0.isNumber }
    guard let n = UInt64(digits) else { return nil }
    let unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
    let bytesPerUnit: UInt64
    switch unit {
    case "mib": return n
    case "gib":
        let (mib, overflow) = n.multipliedReportingOverflow(by: 1024)
        return overflow ? nil : mib
    case "mb": bytesPerUnit = 1_000_000
    case "gb": bytesPerUnit = 1_000_000_000
    default: return nil
    }
    let (bytes, overflow) = n.multipliedReportingOverflow(by: bytesPerUnit)
    guard !overflow else { return nil }
    return (bytes + (1 << 20) - 1) >> 20
}

/// Where each key is set in a TOML text, by its full dotted name ("redundancy", "gpu.count", "env.SEED"): the
/// line of `key = …` under its `[table]` header, or of a dotted `gpu.count = …` at the root. A plain scan, good
/// for pointing at a line; the TOML parser has already checked the syntax.
struct KeyLines {
    private var lines: [String: Int] = [:]

    init(_ text: String) {
        var table = ""
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") {
                // A header: [gpu] or [[array]]; anything after the closing bracket is a comment.
                let inner = line.drop { $0 == "[" }.prefix { $0 != "]" }
                table = Self.normalize(inner)
                if lines[table] == nil, !table.isEmpty { lines[table] = number }
                continue
            }
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = Self.normalize(line[..<equals])
            guard !key.isEmpty, !key.contains(" ") else { continue }
            let full = table.isEmpty ? key : table + "." + key
            if lines[full] == nil { lines[full] = number }
        }
    }

    /// The line where `key` (full dotted name) is set, or its table's header for a key of an inline table.
    func line(of key: String) -> Int? {
        if let n = lines[key] { return n }
        var parts = key.split(separator: ".")
        while parts.count > 1 {
            parts.removeLast()
            if let n = lines[parts.joined(separator: ".")] { return n }
        }
        return nil
    }

    /// `gpu . "count"` → `gpu.count`: dotted parts trimmed and unquoted.
    private static func normalize(_ key: some StringProtocol) -> String {
        key.split(separator: ".", omittingEmptySubsequences: false)
            .map { part -> String in
                let p = part.trimmingCharacters(in: .whitespaces)
                if p.count >= 2, let q = p.first, q == "\"" || q == "'", p.last == q {
                    return String(p.dropFirst().dropLast())
                }
                return p
            }
            .joined(separator: ".")
    }
}
