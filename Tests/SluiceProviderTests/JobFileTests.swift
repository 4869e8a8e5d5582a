import Foundation
import SluiceCore
import Testing

@testable import SluiceJobs
@testable import SluiceProvider

@Suite struct JobFileTests {
    static let full = """
        name = "render-spheres"
        runner = "container"
        image = "docker.io/library/python:3.12-slim"
        command = ["python3", "render.py", "--out", "out/image.ppm"]
        bundle = "."
        outputs = ["out/*.ppm"]
        max_price_per_gpu_hour = 5000
        max_duration = "2m"
        redundancy = 2
        memory = "512MiB"
        [gpu]
        count = 1
        min_vram_gb = 40
        model = "NVIDIA H100 80GB HBM3"
        [env]
        SEED = "42"
        """

    /// A minimal valid file with `extra` appended (or lines replaced by the caller).
    static let minimal = """
        name = "job"
        runner = "process"
        command = ["./run.sh"]
        bundle = "."
        outputs = ["out/*"]
        max_price_per_gpu_hour = "7"
        max_duration = 90

        """

    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("jobfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func parse(_ text: String) throws(JobFileError) -> JobFile {
        try JobFile.parse(text, path: "job.toml", folder: folder)
    }

    /// The error a text gives; fails the test when it parses.
    func error(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> JobFileError? {
        do {
            let job = try parse(text)
            Issue.record("parsed, expected an error: \(job)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func fullFileParses() throws {
        let job = try parse(Self.full)
        #expect(job.name == "render-spheres")
        #expect(job.runner == .container)
        #expect(job.image == "docker.io/library/python:3.12-slim")
        #expect(job.command == ["python3", "render.py", "--out", "out/image.ppm"])
        #expect(job.bundle.path == folder.standardizedFileURL.path)
        #expect(job.outputs == ["out/*.ppm"])
        #expect(job.maxPricePerGPUHour == Amount(5000))
        #expect(job.maxDurationSeconds == 120)
        #expect(job.redundancy == 2)
        #expect(job.memoryMB == 512)
        #expect(job.gpuCount == 1)
        #expect(job.minVramGB == 40)
        #expect(job.model == "NVIDIA H100 80GB HBM3")
        #expect(job.environment == ["SEED": "42"])

        let manifest = job.manifest()
        #expect(
            manifest
                == JobManifest(
                    name: "render-spheres", runner: .container, command: job.command,
                    image: "docker.io/library/python:3.12-slim", environment: ["SEED": "42"], outputs: ["out/*.ppm"],
                    memoryMB: 512, maxDurationSeconds: 120))
        try manifest.validate()

        let hash = Hash(w0: 1, w1: 2, w2: 3, w3: 4)
        let spec = job.spec(bundleHash: hash, bundleURI: "sluice://bundle")
        #expect(spec.bundleHash == hash && spec.inputsHash == hash)
        #expect(spec.bundleURI == "sluice://bundle")
        #expect(spec.runner == .container && spec.gpuCount == 1 && spec.minVramGB == 40)
        #expect(spec.model == "NVIDIA H100 80GB HBM3" && spec.maxDurationSeconds == 120)
        #expect(spec.maxPricePerGPUHour == Amount(5000) && spec.redundancy == 2 && spec.verification == 0)
    }

    @Test func defaultsApply() throws {
        let job = try parse(Self.minimal)
        #expect(job.image == nil)
        #expect(job.maxPricePerGPUHour == Amount(7))
        #expect(job.maxDurationSeconds == 90)
        #expect(job.redundancy == 1)
        #expect(job.memoryMB == JobFile.defaultMemoryMB)
        #expect(job.gpuCount == 1 && job.minVramGB == 0 && job.model == "")
        #expect(job.environment.isEmpty)
    }

    @Test func relativeBundleResolvesAgainstTheFilesFolder() throws {
        let inputs = folder.appendingPathComponent("inputs")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let text = Self.minimal.replacingOccurrences(of: #"bundle = ".""#, with: #"bundle = "inputs/../inputs""#)
        let file = folder.appendingPathComponent("job.toml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        // Loaded from another working directory, the bundle is still the file's neighbour.
        let job = try JobFile.load(path: file.path)
        #expect(job.bundle.path == inputs.standardizedFileURL.path)
        #expect(job.bundle.hasDirectoryPath)
    }

    @Test func bundleMustBeAnExistingFolder() throws {
        let missing = error(Self.minimal.replacingOccurrences(of: #"bundle = ".""#, with: #"bundle = "nope""#))
        #expect(missing?.line == 4)
        #expect(missing?.description.hasPrefix("job.toml:4: key 'bundle': the folder '") == true)
        #expect(missing?.description.hasSuffix("nope' does not exist") == true)

        try Data("x".utf8).write(to: folder.appendingPathComponent("file.txt"))
        let file = error(Self.minimal.replacingOccurrences(of: #"bundle = ".""#, with: #"bundle = "file.txt""#))
        #expect(file?.description.contains("is a file: bundle names a folder") == true)
    }

    @Test func syntaxErrorsPointAtLineAndColumn() {
        let e = error("name = \"x\"\nrunner = = \"process\"\n")
        #expect(e?.code == .syntax)
        #expect(e?.line == 2)
        #expect(e?.column != nil)
        #expect(e?.description.hasPrefix("job.toml:2:") == true)
    }

    /// A semantic error: `replace` in the minimal file becomes `with`; the error is on `line` and says `message`.
    struct Case: Sendable, CustomTestStringConvertible {
        let replace: String, with: String, line: Int, message: String
        init(_ replace: String, _ with: String, _ line: Int, _ message: String) {
            (self.replace, self.with, self.line, self.message) = (replace, with, line, message)
        }
        var testDescription: String { with }
    }

    @Test(arguments: [
        // Case(replace, with, line, message)
        Case(
            "max_duration = 90", "max_duration = 90\nredundancy = 0", 8,
            "key 'redundancy': 0 is out of range: use 1 to 8"),
        Case(
            "max_duration = 90", "max_duration = 90\nredundancy = 9", 8,
            "key 'redundancy': 9 is out of range: use 1 to 8"),
        Case(
            "max_duration = 90", "max_duration = 90\nredundancy = \"2\"", 8,
            "key 'redundancy': expected an integer, got a string"),
        Case(
            "runner = \"process\"", "runner = \"vm\"", 2,
            "key 'runner': 'vm' is not a runner: use \"process\" or \"container\""),
        Case("runner = \"process\"", "runner = \"container\"", 2, "key 'runner': the container runner needs an image"),
        Case(
            "runner = \"process\"", "runner = \"process\"\nimage = \"x\"", 3,
            "key 'image': only the container runner uses an image"),
        Case("command = [\"./run.sh\"]", "command = \"./run.sh\"", 3, "key 'command': expected an array of strings"),
        Case("command = [\"./run.sh\"]", "command = []", 3, "key 'command': must name a program to run"),
        Case(
            "command = [\"./run.sh\"]", "command = [\"a\", 1]", 3,
            "key 'command': item 2 is an integer: expected a string"),
        Case("outputs = [\"out/*\"]", "outputs = [\"../x\"]", 5, "key 'outputs': '../x' must be a relative path"),
        Case("outputs = [\"out/*\"]", "outputs = []", 5, "key 'outputs': is empty"),
        Case(
            "max_price_per_gpu_hour = \"7\"", "max_price_per_gpu_hour = -1", 6,
            "key 'max_price_per_gpu_hour': -1 is negative"),
        Case(
            "max_price_per_gpu_hour = \"7\"", "max_price_per_gpu_hour = \"7.5\"", 6,
            "key 'max_price_per_gpu_hour': '7.5' is not"),
        Case(
            "max_price_per_gpu_hour = \"7\"", "max_price_per_gpu_hour = 7.5", 6,
            "expected an integer or a decimal string"),
        Case("max_duration = 90", "max_duration = \"2 weeks\"", 7, "key 'max_duration': '2 weeks' is not a duration"),
        Case("max_duration = 90", "max_duration = 0", 7, "key 'max_duration': 0 s is out of range"),
        Case("max_duration = 90", "max_duration = \"8d\"", 7, "is not a duration"),
        Case("max_duration = 90", "max_duration = 700000", 7, "700000 s is out of range: use 1 s to 7 days"),
        Case(
            "max_duration = 90", "max_duration = true", 7,
            "expected seconds as an integer or a string such as \"5m\", got a bool"),
        Case("max_duration = 90", "max_duration = 90\nmemory = \"8\"", 8, "key 'memory': '8' is not a size"),
        Case(
            "max_duration = 90", "max_duration = 90\nmemory = 8", 8, "key 'memory': 8 MiB is too small: at least 16 MiB"
        ),
        Case(
            "max_duration = 90", "max_duration = 90\n[gpu]\ncount = 0", 9,
            "key 'gpu.count': 0 is out of range: use 1 or more"),
        Case(
            "max_duration = 90", "max_duration = 90\n[gpu]\nmin_vram_gb = -4", 9,
            "key 'gpu.min_vram_gb': -4 is out of range"),
        Case(
            "max_duration = 90", "max_duration = 90\n[gpu]\nmodel = 3", 9,
            "key 'gpu.model': expected a string, got an integer"),
        Case(
            "max_duration = 90", "max_duration = 90\ngpu = 1", 8, "key 'gpu': expected a table ([gpu]), got an integer"),
        Case(
            "max_duration = 90", "max_duration = 90\n[env]\nSEED = 42", 9,
            "key 'env.SEED': expected a string, got an integer"),
        Case(
            "max_duration = 90", "max_duration = 90\n[env]\n\"A-B\" = \"1\"", 9,
            "key 'env.A-B': is not an environment variable name"),
        Case("name = \"job\"", "name = \"\"", 1, "key 'name': must not be empty"),
    ])
    func semanticErrorsNameKeyAndLine(_ c: Case) {
        let (line, message) = (c.line, c.message)
        let text = Self.minimal.replacingOccurrences(of: c.replace, with: c.with)
        guard let e = error(text) else { return }
        #expect(e.line == line, "\(e)")
        #expect(e.description.hasPrefix("job.toml:\(line): "), "\(e)")
        #expect(e.description.contains(message), "\(e)")
    }

    @Test func theExampleMessage() {
        let e = error(
            Self.minimal.replacingOccurrences(of: "max_duration = 90", with: "max_duration = 90\nredundancy = 0"))
        #expect(e?.description == "job.toml:8: key 'redundancy': 0 is out of range: use 1 to 8")
    }

    @Test func unknownKeysAreErrorsWithSuggestions() {
        let typo = error(Self.minimal.replacingOccurrences(of: "command =", with: "comand ="))
        #expect(typo?.code == .unknownKey)
        #expect(typo?.description == "job.toml:3: unknown key 'comand' (did you mean 'command'?)")

        let nested = error(Self.minimal + "[gpu]\ncount = 1\nmin_vram = 4\n")
        #expect(nested?.description == "job.toml:10: unknown key 'gpu.min_vram' (did you mean 'gpu.min_vram_gb'?)")

        let unrelated = error(Self.minimal + "colour = \"blue\"\n")
        #expect(unrelated?.line == 8)
        #expect(unrelated?.description.contains("unknown key 'colour' (known: name, runner,") == true)

        // Two unknown keys: the first in the file is reported.
        let two = error("zeta = 1\n" + Self.minimal + "alpha = 2\n")
        #expect(two?.description.hasPrefix("job.toml:1: unknown key 'zeta'") == true)
    }

    @Test(arguments: ["name", "runner", "command", "bundle", "outputs", "max_price_per_gpu_hour", "max_duration"])
    func missingRequiredKeys(key: String) {
        let text = Self.minimal.split(separator: "\n").filter { !$0.hasPrefix(key + " ") }.joined(separator: "\n")
        let e = error(text)
        #expect(e?.code == .missingKey)
        #expect(e?.key == key)
        #expect(
            e?.description.hasPrefix("job.toml: missing key '\(key)': add e.g. ") == true, "\(String(describing: e))")
    }

    @Test func dottedAndInlineTablesFindTheirLine() {
        let dotted = error(Self.minimal + "gpu.count = 0\n")
        #expect(dotted?.description == "job.toml:8: key 'gpu.count': 0 is out of range: use 1 or more")
        let inline = error(Self.minimal + "gpu = { count = 0 }\n")
        #expect(inline?.line == 8)
    }

    @Test func unreadableFile() {
        #expect(throws: JobFileError.self) { try JobFile.load(path: folder.appendingPathComponent("absent.toml").path) }
    }

    @Test(arguments: [("90", 90), ("1h30m", 5400), ("1.5h", 5400)] as [(String, UInt64)])
    func durationsAreWholeSeconds(text: String, seconds: UInt64) throws {
        let file = try parse(
            Self.minimal.replacingOccurrences(of: "max_duration = 90", with: "max_duration = \"\(text)\""))
        #expect(file.maxDurationSeconds == seconds)
    }

    @Test(arguments: ["5ms", "1.5s", "1h1h", "0"])
    func durationsThatAreNotWholePositiveSeconds(text: String) {
        let text = Self.minimal.replacingOccurrences(of: "max_duration = 90", with: "max_duration = \"\(text)\"")
        #expect(error(text)?.description.contains("max_duration") == true)
    }

    @Test func memorySizes() {
        #expect(parseMemoryMiB("512MiB") == 512)
        #expect(parseMemoryMiB("2GiB") == 2048)
        #expect(parseMemoryMiB("2 gib") == 2048)
        #expect(parseMemoryMiB("800MB") == 763)  // 800 000 000 bytes is 762.9 MiB, rounded up
        #expect(parseMemoryMiB("1GB") == 954)
        #expect(parseMemoryMiB("512") == nil)
        #expect(parseMemoryMiB("1.5GiB") == nil)
        #expect(parseMemoryMiB("5TB") == nil)
    }

    @Test func memoryAsIntegerAndGiB() throws {
        #expect(try parse(Self.minimal + "memory = 2048\n").memoryMB == 2048)
        #expect(try parse(Self.minimal + "memory = \"2GiB\"\n").memoryMB == 2048)
        #expect(try parse(Self.minimal + "memory = \"800MB\"\n").memoryMB == 763)
    }
}
