import Foundation
import SluiceCore
import Testing

@testable import SluiceJobs
@testable import SluiceProvider

// Job files and manifests are parsed from what users and strangers write: the TOML of `sluice job submit`
// and the JSON manifest inside a bundle a provider runs. Mutations of the examples (bytes changed, cut,
// repeated, brackets and quotes spliced in) must parse or fail with the parser's error, never crash or
// hang. SLUICE_FUZZ_ITERATIONS runs longer, SLUICE_FUZZ_SAVE=FILE keeps the input being parsed (a crash leaves
// it there); a failing input goes to Corpus/jobfiles/, replayed forever. Two crashes of toml++ were found so.

@Suite struct JobFileFuzzTests {
    static var corpus: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus/jobfiles")
    }

    static func seeds() throws -> [[UInt8]] {
        let examples = repositoryRoot.appendingPathComponent("examples")
        var seeds: [[UInt8]] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted() {
            let file = examples.appendingPathComponent(name).appendingPathComponent("job.toml")
            if let data = FileManager.default.contents(atPath: file.path) { seeds.append([UInt8](data)) }
        }
        return seeds
    }

    static let splices: [[UInt8]] = [
        Array("[".utf8), Array("]".utf8), Array("\"".utf8), Array("'''".utf8), Array("\n[gpu]\n".utf8),
        Array("= ".utf8), Array("{".utf8), Array("}".utf8), Array("\\u0000".utf8), [0], [0xFF],
        Array("99999999999999999999".utf8), Array("-1".utf8), Array("\n[[gpu]]\n".utf8), Array("inf".utf8),
        Array("nan".utf8), Array("1979-05-27T07:32:00Z".utf8), Array(String(repeating: "[", count: 300).utf8),
    ]

    static func parse(_ bytes: [UInt8]) {
        // A crash leaves its input here, to be added to the corpus.
        if let save = ProcessInfo.processInfo.environment["SLUICE_FUZZ_SAVE"] {
            FileManager.default.createFile(atPath: save, contents: Data(bytes))
        }
        // Only the parser's own error may come out; a crash or a hang fails the run.
        _ = try? JobFile.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.toml", folder: repositoryRoot)
    }

    @Test func mutatedJobFilesParseOrFail() throws {
        let iterations = ProcessInfo.processInfo.environment["SLUICE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1_500
        var random = SplitMix64(seed: 0x70B_F11E)
        let seeds = try Self.seeds()
        #expect(seeds.count >= 3)
        for seed in seeds {
            #expect(
                (try? JobFile.parse(String(decoding: seed, as: UTF8.self), path: "s", folder: repositoryRoot)) != nil)
        }
        for _ in 0..<iterations {
            var bytes = seeds[random.below(seeds.count)]
            for _ in 0..<(1 + random.below(4)) {
                let at = bytes.isEmpty ? 0 : random.below(bytes.count)
                switch random.below(4) {
                case 0: if !bytes.isEmpty { bytes[at] = UInt8(random.below(256)) }
                case 1: bytes = Array(bytes.prefix(at))
                case 2: bytes.insert(contentsOf: Self.splices[random.below(Self.splices.count)], at: at)
                default: bytes.insert(contentsOf: bytes[at...].prefix(40), at: at)
                }
            }
            Self.parse(bytes)
        }
    }

    @Test func mutatedManifestsDecodeOrFail() throws {
        let manifest = JobManifest(
            name: "m", runner: .process, command: ["python3", "x.py"], environment: ["A": "1"],
            outputs: ["out/**"], memoryMB: 64, maxDurationSeconds: 10)
        let valid = [UInt8](try manifest.encoded())
        var random = SplitMix64(seed: 0x3A_41F3)
        for _ in 0..<1_000 {
            var bytes = valid
            for _ in 0..<(1 + random.below(3)) {
                let at = random.below(bytes.count)
                if random.below(2) == 0 {
                    bytes[at] = Array("{}[]\",:0-e\\".utf8)[random.below(11)]
                } else {
                    bytes.insert(contentsOf: Self.splices[random.below(Self.splices.count)], at: at)
                }
            }
            if let decoded = try? JobManifest.decode(Data(bytes)) {
                #expect(throws: Never.self) { try decoded.validate() }
            }
        }
        // Nesting past any sane depth is refused, not a stack overflow.
        let deep = Data((String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000)).utf8)
        #expect(throws: ManifestError.self) { try JobManifest.decode(deep) }
    }

    @Test func corpusReplays() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(!names.isEmpty)
        for name in names {
            Self.parse([UInt8](try Data(contentsOf: Self.corpus.appendingPathComponent(name))))
        }
    }
}

/// The repository's root (examples/ live there).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
