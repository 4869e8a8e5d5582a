import Foundation
import SluiceCore
import Testing

@testable import SluiceProvider
@testable import SluiceJobs

#if canImport(Glibc)
    import Glibc
#endif

// The unpacker's one promise, checked over hostile archives: an archive either unpacks strictly inside the
// target folder, or is refused with nothing written anywhere. Names are built from the pieces that have
// broken unpackers (NUL, "..", "..\0", control bytes, slashes, long segments) in every way tar can carry
// a name (ustar name, ustar prefix, GNU long name, pax path), with every entry type; other archives are
// valid ones with random header bytes changed and the checksum fixed up. Every file an entry could create
// is named with this run's marker, so an escape is found wherever it landed (the scratch tree or /tmp).
// SLUICE_FUZZ_ITERATIONS runs it longer; a failure prints the seed and the archive as hex, to be added to
// Corpus/archives/, which is replayed forever.

/// A pax extended header ('x') carrying `records`.
func paxEntry(_ records: [(String, [UInt8])]) -> [UInt8] {
    var data: [UInt8] = []
    for (key, value) in records {
        let body = Array(" \(key)=".utf8) + value + [0x0A]
        var length = body.count + 1
        while String(length).utf8.count + body.count != length { length += 1 }
        data += Array(String(length).utf8) + body
    }
    return rawHeader(name: "PaxHeaders/x", type: "x", size: data.count) + padded(data)
}

/// A GNU long-name entry ('L') naming the next entry.
func gnuLongName(_ name: [UInt8]) -> [UInt8] {
    let data = name + [0]
    return rawHeader(name: "././@LongLink", type: "L", size: data.count) + padded(data)
}

func padded(_ data: [UInt8]) -> [UInt8] {
    data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
}

/// A header whose 100-byte name field holds raw bytes (NUL included) and a checksum fixed up.
func rawBytesHeader(name: [UInt8], type: UInt8, size: Int) -> [UInt8] {
    var header = rawHeader(name: "", size: size)
    header.replaceSubrange(0..<min(100, name.count), with: name.prefix(100))
    header[156] = type
    fixChecksum(&header)
    return header
}

func fixChecksum(_ header: inout [UInt8]) {
    for i in 148..<156 { header[i] = 0 }
    TarHeader.putOctal(TarHeader.checksum(header), into: &header, at: 148, width: 7)
    header[155] = 0x20
}

/// Every path below `root` with its type and content, links not followed.
func treeSnapshot(_ root: String) -> [String: String] {
    var result: [String: String] = [:]
    func visit(_ relative: String) {
        let full = relative.isEmpty ? root : root + "/" + relative
        var info = stat()
        guard lstat(full, &info) == 0 else { return }
        switch info.st_mode & S_IFMT {
        case S_IFDIR:
            result[relative] = "dir"
            for name in (try? FileManager.default.contentsOfDirectory(atPath: full)) ?? [] {
                visit(relative.isEmpty ? name : relative + "/" + name)
            }
        case S_IFREG:
            result[relative] = "file:" + ((try? String(contentsOfFile: full, encoding: .utf8)) ?? "?")
        case S_IFLNK:
            result[relative] = "link:" + ((try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?")
        default:
            result[relative] = "other"
        }
    }
    visit("")
    return result
}

struct ArchiveFuzzer {
    var random: SplitMix64
    let marker: String

    static let pieces: [[UInt8]] = [
        Array("a".utf8), Array("b".utf8), Array("..".utf8), Array(".".utf8), [], Array("..".utf8) + [0],
        [0], Array("a".utf8) + [0] + Array("b".utf8), [0x0A], [0x1B], [0x7F], Array("\\".utf8), Array("é".utf8),
        Array(repeating: UInt8(ascii: "x"), count: 120), Array(repeating: UInt8(ascii: "y"), count: 256),
        Array("tmp".utf8), Array("...".utf8), Array(" ".utf8),
    ]

    mutating func name() -> [UInt8] {
        var bytes: [UInt8] = []
        switch random.below(5) {
        case 0: bytes += Array("/".utf8)
        case 1: bytes += Array("./".utf8)
        default: break
        }
        for i in 0..<random.below(7) {
            if i > 0 { bytes += Array((random.below(6) == 0 ? "//" : "/").utf8) }
            bytes += Self.pieces[random.below(Self.pieces.count)]
        }
        if bytes.isEmpty || random.below(3) != 0 {
            if !bytes.isEmpty { bytes += Array("/".utf8) }
            bytes += Array(marker.utf8)
        }
        if random.below(8) == 0 { bytes += Array("/".utf8) }
        return bytes
    }

    mutating func entry() -> [UInt8] {
        let types: [UInt8] = Array("0055555127 6gKX".utf8) + [0, 0xFF]
        let type = types[random.below(types.count)]
        let content = Array("owned".utf8)
        let size = type == UInt8(ascii: "5") ? 0 : content.count
        let name = name()
        let body = size == 0 ? [] : padded(content)
        switch random.below(4) {
        case 0:
            return rawBytesHeader(name: name, type: type, size: size) + body
        case 1:
            // Split into prefix and name at a slash, as ustar does (the pieces may hold NUL).
            guard let slash = name.firstIndex(of: UInt8(ascii: "/")), slash <= 155, name.count - slash - 1 <= 100
            else { return rawBytesHeader(name: name, type: type, size: size) + body }
            var header = rawBytesHeader(name: Array(name[(slash + 1)...]), type: type, size: size)
            header.replaceSubrange(345..<(345 + slash), with: name[..<slash])
            fixChecksum(&header)
            return header + body
        case 2:
            return gnuLongName(name) + rawBytesHeader(name: Array("short".utf8), type: type, size: size) + body
        default:
            return paxEntry([("path", name)]) + rawBytesHeader(name: Array("short".utf8), type: type, size: size)
                + body
        }
    }

    mutating func archive() -> [UInt8] {
        var bytes: [UInt8] = []
        for _ in 0..<(1 + random.below(4)) { bytes += entry() }
        return bytes + [UInt8](repeating: 0, count: 1024)
    }

    /// A valid archive with some header bytes changed (the checksum fixed up, so the reader looks further).
    mutating func mutated(_ valid: [UInt8]) -> [UInt8] {
        var bytes = valid
        let headers = stride(from: 0, to: bytes.count - 1024, by: 512).filter { offset in
            bytes[(offset + 257)..<(offset + 262)].elementsEqual("ustar".utf8)
        }
        guard let offset = headers.randomElement(using: &random) else { return bytes }
        for _ in 0..<(1 + random.below(4)) {
            let at = random.below(3) == 0 ? 156 : random.below(160)
            bytes[offset + at] = [0, 0x2E, 0x2F, UInt8(ascii: "5"), UInt8(random.below(256))][random.below(5)]
        }
        var header = Array(bytes[offset..<(offset + 512)])
        fixChecksum(&header)
        bytes.replaceSubrange(offset..<(offset + 512), with: header)
        return bytes
    }
}

/// Unpacks `archive` into a fresh target three levels down a scratch tree and checks the promise.
func checkUnpackStaysInside(_ archive: [UInt8], marker: String, label: String) throws {
    let scratch = try ScratchDirectory("tar-fuzz")
    let root = scratch.url.path
    try scratch.write("sentinel.txt", "keep")
    try FileManager.default.createDirectory(at: scratch.path("outside"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: scratch.path("deep/er"), withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
        at: scratch.path("deep/er/link"), withDestinationURL: scratch.path("outside"))
    let target = scratch.path("deep/er/target")
    let before = treeSnapshot(root)
    let escapedBefore = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp"))?.filter { $0.contains(marker) }

    var refused: ArchiveError?
    do { try DeterministicTar.unpack(archive, into: target) } catch { refused = error }

    var after = treeSnapshot(root)
    let inside = after.filter { $0.key == "deep/er/target" || $0.key.hasPrefix("deep/er/target/") }
    for key in inside.keys { after[key] = nil }
    #expect(after == before, "\(label): the unpack changed files outside its target: \(hex(archive))")
    let escaped = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp"))?.filter { $0.contains(marker) }
    #expect(escaped == escapedBefore, "\(label): a file escaped to /tmp: \(hex(archive))")
    if let refused {
        #expect(inside.isEmpty, "\(label): refused (\(refused)) but wrote \(inside.keys.sorted())")
    } else {
        for (path, kind) in inside {
            #expect(kind == "dir" || kind.hasPrefix("file:"), "\(label): '\(path)' is \(kind)")
        }
    }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.count > 4096 ? "(\(bytes.count) bytes)" : bytes.map { String(format: "%02x", $0) }.joined()
}

@Suite struct ArchiveFuzzTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["SLUICE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 400
    }

    static var corpus: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus/archives")
    }

    @Test func nulInAPaxPathDoesNotClimbOut() throws {
        let marker = "escape-\(UUID().uuidString.prefix(8))"
        let name = Array("..".utf8) + [0] + Array("/..".utf8) + [0] + Array("/".utf8) + Array(marker.utf8)
        let archive =
            paxEntry([("path", name)]) + rawHeader(name: "short", size: 5) + padded(Array("owned".utf8))
            + [UInt8](repeating: 0, count: 1024)
        let scratch = try ScratchDirectory("tar-nul")
        let error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.unpack(archive, into: scratch.path("a/b"))
        }
        #expect(error?.code == .unsafePath)
        #expect(error?.description.contains("\\u{0}") == true)
        #expect(!FileManager.default.fileExists(atPath: scratch.path(marker).path))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("a/" + marker).path))
        try checkUnpackStaysInside(archive, marker: marker, label: "pax NUL")
    }

    @Test(arguments: [
        [UInt8]("a\u{1B}b".utf8), [UInt8]("line\nbreak".utf8), [UInt8]("x".utf8) + [0x7F],
        [UInt8](repeating: UInt8(ascii: "z"), count: 256),
    ])
    func refusesNamesTheChecksDoNotModel(name: [UInt8]) throws {
        let archive =
            paxEntry([("path", name)]) + rawHeader(name: "short", size: 0) + [UInt8](repeating: 0, count: 1024)
        let scratch = try ScratchDirectory("tar-names")
        #expect(throws: ArchiveError.self) { try DeterministicTar.unpack(archive, into: scratch.path("t")) }
        #expect(!FileManager.default.fileExists(atPath: scratch.path("t").path))
    }

    @Test func segmentsAreCheckedAtTheSystemCall() {
        for bad in ["", ".", "..", "a/b", "a\u{0}", "\u{0}"] {
            #expect(throws: ArchiveError.self) { try EntryName.withSegment(bad) { _ in 0 } }
        }
        #expect((try? EntryName.withSegment("ok.txt") { strlen($0) }) == 6)
    }

    @Test func hostileArchivesUnpackInsideOrNotAtAll() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["SLUICE_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_7A12)
        var fuzzer = ArchiveFuzzer(random: SplitMix64(seed: seed), marker: "m\(UUID().uuidString.prefix(6))")
        let scratch = try ScratchDirectory("tar-fuzz-src")
        try scratch.write("src/a.txt", "a")
        try scratch.write("src/d/b.txt", "b")
        try scratch.write("src/d/e/\(fuzzer.marker)", "c")
        let valid = try DeterministicTar.pack(directory: scratch.path("src"))
        for i in 0..<Self.iterations {
            let archive = i % 3 == 2 ? fuzzer.mutated(valid) : fuzzer.archive()
            try checkUnpackStaysInside(archive, marker: fuzzer.marker, label: "seed \(seed) iteration \(i)")
        }
    }

    @Test func corpusReplays() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).filter {
            $0.hasSuffix(".tar")
        }
        #expect(!names.isEmpty)
        for name in names.sorted() {
            let bytes = [UInt8](try Data(contentsOf: Self.corpus.appendingPathComponent(name)))
            // Corpus archives name their escapes "escape"; any file of that name outside the target is a failure.
            try checkUnpackStaysInside(bytes, marker: "escape", label: name)
        }
    }
}
