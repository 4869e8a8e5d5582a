// A bounded-time fuzzer of the canonical codec, and the regression corpus it feeds.
//
// Valid encodings of transactions and blocks (every payload kind) are mutated — bit flips, interesting
// bytes, truncations, insertions, deletions, length fields inflated up to 2^64 − 1, splices of another
// encoding — and decoded as a transaction, a block, a header and a receipt. The decoder must never crash
// or take long, and whatever decodes must re-encode to exactly the input (one encoding per value).
//
// `SLUICE_FUZZ_ITERATIONS` runs more iterations (CI runs the default), `SLUICE_FUZZ_SEED` another seed,
// and `SLUICE_FUZZ_TRACE=<file>` writes each input there before decoding it, so that an input that
// crashes the process is left in the file. Every input that ever crashed, hung or broke canonicality goes
// into `Tests/Fuzz/codec/` as hex (see its README) and is replayed by `corpusIsReplayed` forever.

import Foundation
import Testing

@testable import SluiceCore

private enum Fuzz {
    static let environment = ProcessInfo.processInfo.environment
    static let iterations = environment["SLUICE_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 3_000
    static let seed = environment["SLUICE_FUZZ_SEED"].flatMap { UInt64($0) } ?? 20_261_202
    static let trace = environment["SLUICE_FUZZ_TRACE"]
    /// Decoding is linear in the input; anything slower than this on a few KB is a hang.
    static let slowNanoseconds: UInt64 = 250_000_000

    /// `Tests/Fuzz/codec`, outside the test target so that SwiftPM does not take its files for resources.
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/codec")

    /// Why `bytes` broke the codec, if it did: decoded to a value that re-encodes differently, or took too long.
    static func failure(_ bytes: [UInt8]) -> String? {
        if let trace { _ = FileManager.default.createFile(atPath: trace, contents: Data(bytes)) }
        func check<T: CanonicalCodable>(_: T.Type) -> String? {
            let start = DispatchTime.now().uptimeNanoseconds
            let value = try? T(canonicalBytes: bytes)
            let took = DispatchTime.now().uptimeNanoseconds - start
            if took > slowNanoseconds { return "\(T.self) took \(took / 1_000_000) ms to decode \(bytes.count) bytes" }
            if let value, value.canonicalBytes != bytes { return "\(T.self) decoded but re-encodes differently" }
            return nil
        }
        return check(Transaction.self) ?? check(Block.self) ?? check(BlockHeader.self) ?? check(Receipt.self)
            ?? check(Payload.self) ?? check(Event.self) ?? check(BlockEndReceipt.self)
    }

    /// ULEB128 encodings of the lengths that hurt: just over a bound, 2^31, 2^32, 2^63, 2^64 − 1.
    static let hostileLengths: [UInt64] = [
        129, 513, 1 << 20 + 1, 100_001, 1 << 31, 1 << 32, 1 << 63, .max,
    ]

    static func uleb(_ v: UInt64) -> [UInt8] {
        var w = CanonicalWriter()
        w.writeULEB(v)
        return w.bytes
    }

    /// One to four mutations of `bytes`, splicing from `other`.
    static func mutate(_ bytes: [UInt8], other: [UInt8], rng: inout SplitMix64) -> [UInt8] {
        var m = bytes
        for _ in 0..<rng.int(1...4) {
            let at = m.isEmpty ? 0 : rng.int(0...m.count - 1)
            switch rng.int(0...8) {
            case 0 where !m.isEmpty: m[at] ^= 1 << UInt8(rng.int(0...7))
            case 1 where !m.isEmpty: m[at] = [0x00, 0x01, 0x7f, 0x80, 0xff][rng.int(0...4)]
            case 2: m = Array(m.prefix(at))
            case 3: m.insert(contentsOf: rng.bytes(rng.int(1...8)), at: at)
            case 4 where !m.isEmpty: m.removeSubrange(at..<Swift.min(m.count, at + rng.int(1...8)))
            case 5 where !m.isEmpty:
                // A length field inflated: the byte at `at` replaced by a hostile ULEB128.
                m.replaceSubrange(at...at, with: uleb(hostileLengths[rng.int(0...hostileLengths.count - 1)]))
            case 6 where !other.isEmpty:
                let from = rng.int(0...other.count - 1)
                let chunk = other[from..<Swift.min(other.count, from + rng.int(1...64))]
                if rng.bool() {
                    m.insert(contentsOf: chunk, at: at)
                } else {
                    m.replaceSubrange(at..<Swift.min(m.count, at + chunk.count), with: chunk)
                }
            case 7 where !m.isEmpty:
                let end = Swift.min(m.count, at + rng.int(1...32))
                m.insert(contentsOf: m[at..<end], at: end)  // a duplicated run (nested counts, repeated items)
            default: m.append(contentsOf: rng.bytes(rng.int(1...4)))
            }
        }
        return m
    }

    /// The corpus: each file's hex digits (whitespace and `#` comments ignored), by file name.
    static func corpusEntries() throws -> [(name: String, bytes: [UInt8])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0.hasSuffix(".hex") }
        return try names.sorted().map { name in
            let text = try String(contentsOf: corpus.appendingPathComponent(name), encoding: .utf8)
            let hex = text.split(separator: "\n").map {
                $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            }
            .joined().filter { !$0.isWhitespace }
            return (name, try Hex.decode(String(hex)))
        }
    }
}

@Suite("Fuzzing the canonical codec")
struct CodecFuzzTests {
    @Test func mutatedEncodingsNeverCrashHangOrDecodeNonCanonically() throws {
        var rng = SplitMix64(seed: Fuzz.seed)
        var seeds: [[UInt8]] = (0..<64).map { i in
            i % 2 == 0 ? rng.anyTransaction().canonicalBytes : rng.anyBlock().canonicalBytes
        }
        seeds += try Fuzz.corpusEntries().map(\.bytes)
        var decoded = 0
        var failures: [String] = []
        for i in 0..<Fuzz.iterations {
            let base = seeds[rng.int(0...seeds.count - 1)]
            let input = Fuzz.mutate(base, other: seeds[rng.int(0...seeds.count - 1)], rng: &rng)
            if let why = Fuzz.failure(input) {
                failures.append("iteration \(i): \(why): \(Hex.encode(input))")
                if failures.count >= 5 { break }
            }
            if (try? Transaction(canonicalBytes: input)) != nil || (try? Block(canonicalBytes: input)) != nil {
                decoded += 1
            }
        }
        #expect(
            failures.isEmpty,
            """
            seed \(Fuzz.seed) (replay with SLUICE_FUZZ_SEED=\(Fuzz.seed)): add each input to \
            Tests/Fuzz/codec/ as a .hex file, then fix the decoder:
            \(failures.joined(separator: "\n"))
            """)
        // Some mutants must decode, or canonicality went unchecked.
        #expect(decoded > 0, "seed \(Fuzz.seed): no mutant decoded")
    }

    /// Events and receipts carrying them: every kind reads back as itself, and mutated encodings never crash,
    /// hang or decode non-canonically (as an event, a receipt or a block-end receipt).
    @Test func eventsRoundTripAndMutantsAreSafe() throws {
        var rng = SplitMix64(seed: Fuzz.seed &+ 14)
        var kinds = Set<Event.Kind>()
        var seeds: [[UInt8]] = []
        for i in 0..<400 {
            let events = (0..<rng.int(1...3)).map { _ in rng.anyEvent() }
            for e in events {
                kinds.insert(e.kind)
                #expect(try Event(canonicalBytes: e.canonicalBytes) == e, "\(e)")
            }
            let receipt = Receipt(
                transactionHash: rng.hash(), status: .success, gasUsed: rng.integer(), fee: rng.amount(), events: events
            )
            #expect(try Receipt(canonicalBytes: receipt.canonicalBytes) == receipt)
            let end = BlockEndReceipt(events: events)
            #expect(try BlockEndReceipt(canonicalBytes: end.canonicalBytes) == end)
            seeds.append(i % 2 == 0 ? receipt.canonicalBytes : end.canonicalBytes)
        }
        #expect(kinds.count == Event.Kind.allCases.count)
        var failures: [String] = []
        for i in 0..<Fuzz.iterations {
            let input = Fuzz.mutate(
                seeds[rng.int(0...seeds.count - 1)], other: seeds[rng.int(0...seeds.count - 1)], rng: &rng)
            if let why = Fuzz.failure(input) { failures.append("iteration \(i): \(why): \(Hex.encode(input))") }
            if failures.count >= 5 { break }
        }
        #expect(failures.isEmpty, "seed \(Fuzz.seed): \(failures.joined(separator: "\n"))")
    }

    /// Every valid encoding of every payload kind reads back as itself (the fuzzer's starting points).
    @Test func everyPayloadKindRoundTrips() throws {
        var rng = SplitMix64(seed: 131)
        var kinds = Set<String>()
        for _ in 0..<600 {
            let t = rng.anyTransaction()
            kinds.insert(t.payload.kind.name)
            #expect(throws: Never.self, "\(t)") { try t.checkRoundTrip() }
        }
        #expect(kinds.count == 15)
        for _ in 0..<100 {
            let b = rng.anyBlock()
            #expect(throws: Never.self) { try b.checkRoundTrip() }
        }
    }

    /// The regression corpus: every input that ever crashed, hung or decoded non-canonically, and hand-made
    /// hostile ones. None may crash or hang; what decodes re-encodes to itself; `refused-*` files must not
    /// decode as a transaction or a block at all, `decodes-*` files must decode as one of them.
    @Test func corpusIsReplayed() throws {
        let entries = try Fuzz.corpusEntries()
        #expect(entries.count >= 10, "the corpus at \(Fuzz.corpus.path) is missing")
        for (name, bytes) in entries {
            #expect(Fuzz.failure(bytes) == nil, "\(name)")
            if name.hasPrefix("refused-") {
                #expect((try? Transaction(canonicalBytes: bytes)) == nil, "\(name) decoded as a transaction")
                #expect((try? Block(canonicalBytes: bytes)) == nil, "\(name) decoded as a block")
            }
            if name.hasPrefix("decodes-") {
                let decodes =
                    (try? Transaction(canonicalBytes: bytes)) != nil || (try? Block(canonicalBytes: bytes)) != nil
                #expect(decodes, "\(name) decodes neither as a transaction nor as a block")
            }
        }
    }

    /// The limits are the decoder's: a field one byte over its bound is refused, at its bound accepted.
    @Test(arguments: [("bundleURI", WireLimits.bundleURIBytes), ("model", WireLimits.jobModelBytes)])
    func jobSpecFieldsAreBoundedByWireLimits(field: String, limit: Int) throws {
        func spec(_ n: Int) -> JobSpec {
            let s = String(repeating: "x", count: n)
            return JobSpec(
                runner: .process, bundleHash: .zero, bundleURI: field == "bundleURI" ? s : "",
                inputsHash: .zero, gpuCount: 1, minVramGB: 0, model: field == "model" ? s : "",
                maxDurationSeconds: 1, maxPricePerGPUHour: 1, redundancy: 1, verification: 0)
        }
        #expect(throws: Never.self) { try spec(limit).checkRoundTrip() }
        let error = #expect(throws: CoreError.self) { try spec(limit + 1).checkRoundTrip() }
        #expect(error?.message.hasPrefix("\(field): length \(limit + 1)") == true, "\(String(describing: error))")
    }

    /// A runner is a name the codec knows: any other is refused where it is decoded, naming the known ones.
    @Test func anUnknownRunnerIsRefusedByTheDecoder() throws {
        let spec = JobSpec(
            runner: .process, bundleHash: .zero, bundleURI: "", inputsHash: .zero, gpuCount: 1, minVramGB: 0,
            model: "", maxDurationSeconds: 1, maxPricePerGPUHour: 1, redundancy: 1, verification: 0)
        var bytes = spec.canonicalBytes
        #expect(try JobSpec(canonicalBytes: bytes) == spec)
        let at = try #require(
            bytes.indices.first { Array(bytes[$0..<min($0 + 7, bytes.count)]) == Array("process".utf8) })
        bytes[at + 6] = UInt8(ascii: "x")
        let error = #expect(throws: CoreError.self) { try JobSpec(canonicalBytes: bytes) }
        #expect(error?.message == "field runner: unknown runner 'procesx' (known: process, container)")
        for runner in Runner.allCases { #expect(try Runner(canonicalBytes: runner.canonicalBytes) == runner) }
    }
}
