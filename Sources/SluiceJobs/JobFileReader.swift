import Foundation
import SluiceCore
import TOMLKit

/// One pass over a parsed file; every check throws a `JobFileError` naming the key and its line.
struct JobFileReader {
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
