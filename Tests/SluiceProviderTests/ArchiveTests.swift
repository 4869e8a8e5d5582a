import Foundation
import Testing

@testable import SluiceProvider
@testable import SluiceJobs

#if canImport(Glibc)
    import Glibc
#endif

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let url: URL

    init(_ label: String) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    /// Writes a file (creating its directories) with the given permissions.
    func write(_ relative: String, _ text: String, mode: Int = 0o644) throws {
        let file = path(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file.path)
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOf: path(relative), encoding: .utf8)
    }
}

/// Runs a program, returning its status and its stdout and stderr together.
func runTool(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A ustar header with any name, type and size, for archives that pack would never write.
func rawHeader(
    name: String, type: Character = "0", size: Int = 0, mode: Int = 0o644, linkName: String = "", prefix: String = ""
) -> [UInt8] {
    var header = [UInt8](repeating: 0, count: 512)
    header.replaceSubrange(0..<name.utf8.count, with: Array(name.utf8))
    TarHeader.putOctal(mode, into: &header, at: 100, width: 8)
    TarHeader.putOctal(0, into: &header, at: 108, width: 8)
    TarHeader.putOctal(0, into: &header, at: 116, width: 8)
    TarHeader.putOctal(size, into: &header, at: 124, width: 12)
    TarHeader.putOctal(0, into: &header, at: 136, width: 12)
    header[156] = type.asciiValue!
    header.replaceSubrange(157..<(157 + linkName.utf8.count), with: Array(linkName.utf8))
    header.replaceSubrange(257..<265, with: Array("ustar\u{0}00".utf8))
    header.replaceSubrange(345..<(345 + prefix.utf8.count), with: Array(prefix.utf8))
    TarHeader.putOctal(TarHeader.checksum(header), into: &header, at: 148, width: 7)
    header[155] = 0x20
    return header
}

/// An archive of raw entries: (header fields, content).
func rawArchive(_ entries: [(header: [UInt8], content: String)]) -> [UInt8] {
    var bytes: [UInt8] = []
    for entry in entries {
        bytes += entry.header
        bytes += Array(entry.content.utf8)
        bytes += [UInt8](repeating: 0, count: (512 - entry.content.utf8.count % 512) % 512)
    }
    return bytes + [UInt8](repeating: 0, count: 1024)
}

@Suite struct ArchiveTests {
    /// The same logical tree, written in one of two orders with different times and permissions.
    func makeTree(in scratch: ScratchDirectory, reversed: Bool) throws {
        var files: [(String, String, Int)] = [
            ("b.txt", "bee\n", 0o644),
            ("a/x.bin", "\u{0}\u{1}\u{2}binary", 0o600),
            ("a-c", "dash sorts before slash\n", 0o640),
            ("run.sh", "#!/bin/sh\necho hi\n", 0o755),
            ("dir/sub/deep.txt", String(repeating: "deep ", count: 300), 0o644),
            ("empty", "", 0o644),
            ("é.txt", "unicode name\n", 0o644),
        ]
        if reversed { files.reverse() }
        for (i, (path, content, mode)) in files.enumerated() {
            // Different permission bits except the owner's exec bit, which is all that is kept.
            let variant = reversed ? (mode & 0o100 != 0 ? 0o700 : 0o600) : mode
            try scratch.write(path, content, mode: variant)
            let date = Date(timeIntervalSince1970: reversed ? 1_000_000 + Double(i) : 1_700_000_000 - Double(i) * 77)
            try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: scratch.path(path).path)
        }
        try FileManager.default.createDirectory(at: scratch.path("empty-dir"), withIntermediateDirectories: true)
    }

    @Test func sameTreeGivesSameBytes() throws {
        let one = try ScratchDirectory("tar-one")
        let two = try ScratchDirectory("tar-two")
        try makeTree(in: one, reversed: false)
        try makeTree(in: two, reversed: true)
        let first = try DeterministicTar.pack(directory: one.url)
        #expect(try DeterministicTar.pack(directory: one.url) == first)
        #expect(try DeterministicTar.pack(directory: two.url) == first)

        let listed = try DeterministicTar.list(first)
        let paths = listed.map(\.path)
        #expect(paths == ["a-c", "a/x.bin", "b.txt", "dir/sub/deep.txt", "empty", "run.sh", "é.txt"])
        #expect(paths == paths.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(listed.first { $0.path == "run.sh" }?.mode == 0o755)
        #expect(listed.first { $0.path == "a/x.bin" }?.mode == 0o644)
        #expect(listed.first { $0.path == "dir/sub/deep.txt" }?.size == 1500)
        #expect(first.count % 512 == 0)
        #expect(first.suffix(1024).allSatisfy { $0 == 0 })
    }

    @Test func gnuTarReadsIt() throws {
        let source = try ScratchDirectory("tar-gnu-src")
        try makeTree(in: source, reversed: false)
        let longDirectory = String(repeating: "d", count: 60) + "/" + String(repeating: "e", count: 60)
        try source.write(longDirectory + "/long-name.txt", "long\n")
        let archive = try DeterministicTar.pack(directory: source.url)
        let file = source.path("../\(source.url.lastPathComponent).tar")
        try Data(archive).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let listing = try runTool(["tar", "-tvf", file.path])
        #expect(listing.status == 0, "\(listing.output)")
        #expect(listing.output.contains("0/0"))
        #expect(listing.output.contains("1970-01-01"))
        #expect(listing.output.contains("-rwxr-xr-x 0/0"))
        #expect(listing.output.contains(longDirectory + "/long-name.txt"))
        #expect(listing.output.contains("é.txt") || listing.output.contains("\\303\\251.txt"))

        let target = try ScratchDirectory("tar-gnu-out")
        let extract = try runTool(["tar", "-xf", file.path, "-C", target.url.path])
        #expect(extract.status == 0, "\(extract.output)")
        for path in ["a-c", "a/x.bin", "b.txt", "dir/sub/deep.txt", "empty", "run.sh", "é.txt"] {
            #expect(try Data(contentsOf: target.path(path)) == Data(contentsOf: source.path(path)), "\(path)")
        }
        #expect(try target.read(longDirectory + "/long-name.txt") == "long\n")
        #expect(FileManager.default.isExecutableFile(atPath: target.path("run.sh").path))
        #expect(!FileManager.default.isExecutableFile(atPath: target.path("b.txt").path))
    }

    @Test func roundTrips() throws {
        let source = try ScratchDirectory("tar-rt-src")
        try makeTree(in: source, reversed: false)
        let archive = try DeterministicTar.pack(directory: source.url)
        let target = try ScratchDirectory("tar-rt-out")
        try DeterministicTar.unpack(archive, into: target.path("unpacked"))
        #expect(try DeterministicTar.pack(directory: target.path("unpacked")) == archive)
        #expect(try target.read("unpacked/dir/sub/deep.txt") == source.read("dir/sub/deep.txt"))
        #expect(FileManager.default.isExecutableFile(atPath: target.path("unpacked/run.sh").path))
        let attributes = try FileManager.default.attributesOfItem(atPath: target.path("unpacked/b.txt").path)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
    }

    @Test func readsArchivesOfOtherTars() throws {
        let source = try ScratchDirectory("tar-other-src")
        let longName = String(repeating: "n", count: 120) + ".txt"
        try source.write("deep/" + longName, "gnu long name\n")
        try source.write("plain.txt", "plain\n", mode: 0o755)
        for format in ["gnu", "pax", "ustar"] {
            let file = source.path("../\(source.url.lastPathComponent)-\(format).tar")
            defer { try? FileManager.default.removeItem(at: file) }
            let members = format == "ustar" ? ["plain.txt"] : ["deep", "plain.txt"]
            let made = try runTool(["tar", "--format=\(format)", "-cf", file.path, "-C", source.url.path] + members)
            #expect(made.status == 0, "\(made.output)")
            let bytes = try [UInt8](Data(contentsOf: file))
            let target = try ScratchDirectory("tar-other-\(format)")
            try DeterministicTar.unpack(bytes, into: target.url)
            #expect(try target.read("plain.txt") == "plain\n")
            #expect(FileManager.default.isExecutableFile(atPath: target.path("plain.txt").path))
            if format != "ustar" {
                #expect(try target.read("deep/" + longName) == "gnu long name\n", "\(format)")
                #expect(try DeterministicTar.list(bytes).map(\.path).contains("deep/"))
            }
        }
    }

    @Test(arguments: [
        ("../x", ArchiveError.Code.unsafePath),
        ("a/../../x", .unsafePath),
        ("a/..", .unsafePath),
        ("/etc/x", .unsafePath),
    ])
    func refusesPathsOutside(name: String, code: ArchiveError.Code) throws {
        let scratch = try ScratchDirectory("tar-unsafe")
        let archive = rawArchive([
            (rawHeader(name: "good.txt", size: 4), "good"),
            (rawHeader(name: name, size: 5), "owned"),
        ])
        let error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.unpack(archive, into: scratch.path("inner"))
        }
        #expect(error?.code == code)
        #expect(error?.description.contains(name) == true)
        // The whole archive is checked before anything is written.
        #expect(!FileManager.default.fileExists(atPath: scratch.path("inner/good.txt").path))
        #expect(!FileManager.default.fileExists(atPath: scratch.path("x").path))
        #expect(throws: ArchiveError.self) { try DeterministicTar.list(archive) }
    }

    @Test(arguments: [("2", "a symbolic link"), ("1", "a hard link"), ("3", "a device"), ("6", "a FIFO")])
    func refusesLinksAndSpecialFiles(type: String, what: String) throws {
        let scratch = try ScratchDirectory("tar-special")
        let archive = rawArchive([(rawHeader(name: "link", type: Character(type), linkName: "/etc/passwd"), "")])
        let error = #expect(throws: ArchiveError.self) { try DeterministicTar.unpack(archive, into: scratch.url) }
        #expect(error?.code == .unsupportedEntry)
        #expect(error?.description.contains("'link' is \(what)") == true)
    }

    @Test func refusesBadChecksumsAndTruncation() throws {
        let scratch = try ScratchDirectory("tar-corrupt")
        try scratch.write("src/a.txt", String(repeating: "a", count: 700))
        try scratch.write("src/b.txt", "b")
        let archive = try DeterministicTar.pack(directory: scratch.path("src"))

        var corrupt = archive
        corrupt[5] ^= 0x01  // inside the first name
        var error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.unpack(corrupt, into: scratch.path("o1"))
        }
        #expect(error?.code == .badChecksum)
        #expect(error?.description.contains("checksum") == true)

        corrupt = archive
        corrupt[1536 + 1] ^= 0x01  // inside the second header
        error = #expect(throws: ArchiveError.self) { try DeterministicTar.unpack(corrupt, into: scratch.path("o2")) }
        #expect(error?.code == .badChecksum)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("o2/a.txt").path))

        for cut in [archive.count - 512, archive.count - 1024, 1536 + 100, 700, 300, 0] {
            error = #expect(throws: ArchiveError.self) {
                try DeterministicTar.unpack(Array(archive.prefix(cut)), into: scratch.path("o3"))
            }
            #expect(error?.code == .truncated, "cut at \(cut): \(String(describing: error))")
        }
    }

    @Test func refusesArchivesOverTheLimits() throws {
        let scratch = try ScratchDirectory("tar-limits")
        for i in 0..<5 { try scratch.write("src/f\(i)", String(repeating: "x", count: 1000)) }
        let archive = try DeterministicTar.pack(directory: scratch.path("src"))
        var error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.unpack(archive, into: scratch.path("o1"), maxFiles: 4)
        }
        #expect(error?.code == .overLimit)
        error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.unpack(archive, into: scratch.path("o2"), maxBytes: 4999)
        }
        #expect(error?.code == .overLimit)
        try DeterministicTar.unpack(archive, into: scratch.path("o3"), maxFiles: 5, maxBytes: 5000)

        // pack has the same limits.
        error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.pack(directory: scratch.path("src"), maxFiles: 4)
        }
        #expect(error?.code == .overLimit)
        #expect(error?.description.contains("more than 4 files") == true)
        error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.pack(directory: scratch.path("src"), maxBytes: 4999)
        }
        #expect(error?.code == .overLimit)
        #expect(try DeterministicTar.pack(directory: scratch.path("src"), maxFiles: 5, maxBytes: 5000) == archive)
    }

    @Test func refusesConflictsAndLinksAlreadyInTheTarget() throws {
        let scratch = try ScratchDirectory("tar-conflict")
        let twice = rawArchive([(rawHeader(name: "a", size: 1), "1"), (rawHeader(name: "a", size: 1), "2")])
        #expect(throws: ArchiveError.self) { try DeterministicTar.unpack(twice, into: scratch.path("o1")) }
        let fileThenChild = rawArchive([(rawHeader(name: "a", size: 1), "1"), (rawHeader(name: "a/b", size: 1), "2")])
        let error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.unpack(fileThenChild, into: scratch.path("o2"))
        }
        #expect(error?.code == .conflict)

        // A link planted in the target directory is not followed.
        try FileManager.default.createDirectory(at: scratch.path("outside"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch.path("target"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: scratch.path("target/link"), withDestinationURL: scratch.path("outside"))
        try FileManager.default.createSymbolicLink(
            at: scratch.path("target/file-link"), withDestinationURL: scratch.path("outside/victim"))
        let throughLink = rawArchive([(rawHeader(name: "link/planted", size: 1), "x")])
        #expect(throws: ArchiveError.self) { try DeterministicTar.unpack(throughLink, into: scratch.path("target")) }
        let ontoLink = rawArchive([(rawHeader(name: "file-link", size: 1), "x")])
        #expect(throws: ArchiveError.self) { try DeterministicTar.unpack(ontoLink, into: scratch.path("target")) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path("outside").path).isEmpty)
    }

    @Test func refusesSymlinksWhenPacking() throws {
        let scratch = try ScratchDirectory("tar-pack-link")
        try scratch.write("job/out/a.txt", "a")
        try scratch.write("secret.key", "SECRET")
        try FileManager.default.createSymbolicLink(
            at: scratch.path("job/out/key.txt"), withDestinationURL: scratch.path("secret.key"))
        try FileManager.default.createSymbolicLink(at: scratch.path("job/escape"), withDestinationURL: scratch.url)
        var error = #expect(throws: ArchiveError.self) { try DeterministicTar.pack(directory: scratch.path("job")) }
        #expect(error?.code == .unsupportedEntry)
        #expect(error?.description.contains("escape") == true)
        error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.pack(directory: scratch.path("job"), include: ["out/*.txt"])
        }
        #expect(error?.description.contains("'out/key.txt' is a symbolic link") == true)
        // Links not selected are left alone, and never followed.
        let archive = try DeterministicTar.pack(directory: scratch.path("job"), include: ["out/a.txt", "escape/**"])
        #expect(try DeterministicTar.list(archive).map(\.path) == ["out/a.txt"])
        #expect(!String(decoding: archive, as: UTF8.self).contains("SECRET"))

        // A FIFO is refused too (and opening it must not block).
        #expect(mkfifo(scratch.path("job/out/pipe.txt").path, 0o644) == 0)
        error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.pack(directory: scratch.path("job"), include: ["out/*.txt"])
        }
        #expect(error?.code == .unsupportedEntry)
    }

    @Test func longPaths() throws {
        let scratch = try ScratchDirectory("tar-long")
        let directory = (0..<5).map { String(repeating: Character(UnicodeScalar(UInt8(97 + $0))), count: 29) }
            .joined(separator: "/")  // 149 bytes
        let fits = directory + "/" + String(repeating: "f", count: 95) + ".txt"  // 249 bytes, split into prefix/name
        try scratch.write("ok/" + fits, "fits")
        let archive = try DeterministicTar.pack(directory: scratch.path("ok"))
        #expect(try DeterministicTar.list(archive).map(\.path) == [fits])
        #expect(archive[345] != 0)  // the prefix field is used
        try DeterministicTar.unpack(archive, into: scratch.path("out"))
        #expect(try scratch.read("out/" + fits) == "fits")

        let longName = String(repeating: "n", count: 101)
        try scratch.write("bad1/" + longName, "x")
        var error = #expect(throws: ArchiveError.self) { try DeterministicTar.pack(directory: scratch.path("bad1")) }
        #expect(error?.code == .pathTooLong)
        #expect(error?.description.contains(longName) == true)

        let tooDeep = directory + "/" + String(repeating: "g", count: 20) + "/" + String(repeating: "h", count: 90)
        try scratch.write("bad2/" + tooDeep, "x")
        error = #expect(throws: ArchiveError.self) { try DeterministicTar.pack(directory: scratch.path("bad2")) }
        #expect(error?.code == .pathTooLong)
    }

    @Test(arguments: [
        ("out/a.ppm", "out/*.ppm", true),
        ("out/sub/a.ppm", "out/*.ppm", false),
        ("out/a.ppmx", "out/*.ppm", false),
        ("out/a.ppm", "out/**", true),
        ("out/sub/deep/a.ppm", "out/**", true),
        ("out", "out/**", false),
        ("outer/a", "out/**", false),
        ("a.txt", "**/*.txt", true),
        ("x/y/z/a.txt", "**/*.txt", true),
        ("x/y/z/a.txt2", "**/*.txt", false),
        ("result.json", "result.json", true),
        ("sub/result.json", "result.json", false),
        ("result.json", "./result.json", true),
        ("a/b/c/d", "a/**/d", true),
        ("a/d", "a/**/d", true),
        ("a/b/c/e", "a/**/d", false),
        ("frame_01.png", "frame_??.png", true),
        ("frame_1.png", "frame_??.png", false),
        ("frame_01.png", "*", true),
        ("dir/frame_01.png", "*", false),
        ("anything/at/all", "**", true),
        ("abc", "a*b*c", true),
        ("aXbYc", "a*b*c", true),
        ("acb", "a*b*c", false),
        ("out/a.ppm", "/out/a.ppm", false),
        ("a", "../a", false),
    ])
    func globs(path: String, glob: String, matches: Bool) {
        #expect(DeterministicTar.matches(path, glob: glob) == matches)
    }

    @Test func hostileGlobsStayFast() {
        let path = Array(repeating: "a", count: 200).joined(separator: "/") + "/b"
        let glob = Array(repeating: "**", count: 30).joined(separator: "/") + "/c"
        let start = ContinuousClock.now
        #expect(!DeterministicTar.matches(path, glob: glob))
        #expect(
            !DeterministicTar.matches(
                String(repeating: "a", count: 2000), glob: String(repeating: "*a", count: 50) + "b"))
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func outputGlobsSelectFiles() throws {
        let scratch = try ScratchDirectory("tar-include")
        try scratch.write("out/a.ppm", "a")
        try scratch.write("out/b.ppm", "b")
        try scratch.write("out/notes.txt", "n")
        try scratch.write("out/sub/c.ppm", "c")
        try scratch.write("result.json", "{}")
        try scratch.write("input.bin", "input")

        var archive = try DeterministicTar.pack(directory: scratch.url, include: ["out/*.ppm", "result.json"])
        #expect(try DeterministicTar.list(archive).map(\.path) == ["out/a.ppm", "out/b.ppm", "result.json"])
        archive = try DeterministicTar.pack(directory: scratch.url, include: ["out/**"])
        #expect(
            try DeterministicTar.list(archive).map(\.path) == [
                "out/a.ppm", "out/b.ppm", "out/notes.txt", "out/sub/c.ppm",
            ])

        let error = #expect(throws: ArchiveError.self) {
            try DeterministicTar.pack(directory: scratch.url, include: ["missing/*.ppm", "*.png"])
        }
        #expect(error?.code == .noMatch)
        #expect(error?.description.contains("no file matches outputs 'missing/*.ppm', '*.png'") == true)
        #expect(throws: ArchiveError.self) { try DeterministicTar.pack(directory: scratch.url, include: ["../x"]) }
        #expect(throws: ArchiveError.self) { try DeterministicTar.pack(directory: scratch.url, include: ["/abs"]) }
    }
}
