public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Archives to unpack come from strangers (a consumer's bundle, another provider's result), so the whole
// archive is read and checked before the first byte is written: checksums, truncation, the entry types,
// the paths (no absolute path, no `..`), conflicts between entries and the limits. Writing then goes through
// directory file descriptors with O_NOFOLLOW, so even a symbolic link already inside the target directory
// cannot redirect a write outside it. ustar, GNU long names ('L') and pax path/size records ('x') are read,
// since consumers may build bundles with any tar; everything that is not a regular file or a directory
// is refused.

/// One regular file or directory of a checked archive.
struct TarEntry: Sendable, Equatable {
    enum Kind: Sendable, Equatable { case file, directory }

    /// Normalised: no leading "./", no trailing "/", no empty or "." segments.
    var path: String
    var kind: Kind
    /// The permission bits of the header.
    var mode: Int
    var size: Int
    /// Where the content starts in the archive.
    var dataOffset: Int
}

extension DeterministicTar {
    /// The archive's entries, directories with a trailing "/", after the same checks as `unpack`.
    public static func list(_ bytes: [UInt8]) throws(ArchiveError) -> [(path: String, size: Int, mode: Int)] {
        try entries(of: bytes, maxFiles: .max, maxBytes: .max).map {
            (path: $0.kind == .directory ? $0.path + "/" : $0.path, size: $0.size, mode: $0.mode)
        }
    }

    /// The archive's regular files in memory, by path, after the same checks as `unpack`: nothing touches
    /// the disk (logs are read this way).
    public static func contents(
        _ bytes: [UInt8], maxFiles: Int = defaultMaxFiles, maxBytes: Int = defaultMaxBytes
    ) throws(ArchiveError) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for entry in try entries(of: bytes, maxFiles: maxFiles, maxBytes: maxBytes) where entry.kind == .file {
            files[entry.path] = Array(bytes[entry.dataOffset..<(entry.dataOffset + entry.size)])
        }
        return files
    }

    /// Extracts `bytes` into `directory` (created if missing), after checking the whole archive.
    ///
    /// Refuses absolute paths, `..` segments, links and special files, bad checksums, truncated archives,
    /// conflicting entries and totals over the limits; nothing is written outside `directory`. Files get mode
    /// 0755 when the header's owner exec bit is set, else 0644.
    /// - Complexity: O(b) for b archive bytes.
    public static func unpack(
        _ bytes: [UInt8], into directory: URL, maxFiles: Int = defaultMaxFiles, maxBytes: Int = defaultMaxBytes
    ) throws(ArchiveError) {
        let entries = try entries(of: bytes, maxFiles: maxFiles, maxBytes: maxBytes)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw ArchiveError(.io, "cannot create \(directory.path): \(error.localizedDescription)")
        }
        let root = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { throw ArchiveError(.io, "cannot open \(directory.path): \(errnoText())") }
        defer { close(root) }
        for entry in entries {
            let components = entry.path.split(separator: "/").map(String.init)
            switch entry.kind {
            case .directory:
                close(try openDirectory(root, components, for: entry.path))
            case .file:
                let parent = try openDirectory(root, Array(components.dropLast()), for: entry.path)
                defer { close(parent) }
                try write(entry, of: bytes, in: parent, name: components.last!)
            }
        }
    }

    /// Opens (creating as needed) the directory `components` below `root`, never following a link.
    private static func openDirectory(_ root: Int32, _ components: [String], for entry: String) throws(ArchiveError)
        -> Int32
    {
        var fd = dup(root)
        guard fd >= 0 else { throw ArchiveError(.io, "cannot extract '\(entry)': \(errnoText())") }
        for (i, component) in components.enumerated() {
            let made: Int32
            do { made = try EntryName.withSegment(component) { mkdirat(fd, $0, 0o755) } } catch {
                close(fd)
                throw error
            }
            if made != 0 && errno != EEXIST {
                let code = errno
                close(fd)
                throw ArchiveError(
                    .io, "cannot create directory '\(components[...i].joined(separator: "/"))': \(errnoText(code))")
            }
            // The segment was checked by mkdirat's call above.
            let next =
                (try? EntryName.withSegment(component) {
                    openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                }) ?? -1
            let code = errno
            close(fd)
            guard next >= 0 else {
                throw ArchiveError(
                    .conflict,
                    "cannot extract '\(entry)': '\(components[...i].joined(separator: "/"))' exists and is not a "
                        + "directory (\(errnoText(code)))")
            }
            fd = next
        }
        return fd
    }

    private static func write(_ entry: TarEntry, of bytes: [UInt8], in parent: Int32, name: String) throws(ArchiveError)
    {
        let mode: mode_t = entry.mode & 0o100 != 0 ? 0o755 : 0o644
        let fd = try EntryName.withSegment(name) {
            openat(parent, $0, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode)
        }
        guard fd >= 0 else { throw ArchiveError(.conflict, "cannot create '\(entry.path)': \(errnoText())") }
        defer { close(fd) }
        guard fchmod(fd, mode) == 0 else { throw ArchiveError(.io, "cannot chmod '\(entry.path)': \(errnoText())") }
        var written = 0
        while written < entry.size {
            let n = bytes.withUnsafeBytes {
                Glibc.write(fd, $0.baseAddress! + entry.dataOffset + written, entry.size - written)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw ArchiveError(.io, "cannot write '\(entry.path)': \(errnoText())")
            }
            written += n
        }
    }

    /// Reads and checks every header; the entries come back in archive order.
    static func entries(of bytes: [UInt8], maxFiles: Int, maxBytes: Int) throws(ArchiveError) -> [TarEntry] {
        var reader = TarReader(bytes: bytes, maxFiles: maxFiles, maxBytes: maxBytes)
        return try reader.read()
    }
}

private struct TarReader {
    let bytes: [UInt8]
    let maxFiles: Int
    let maxBytes: Int
    var entries: [TarEntry] = []
    var contentBytes = 0
    var files: Set<String> = []
    var directories: Set<String> = []

    static let maxMetadataBytes = 1 << 20

    init(bytes: [UInt8], maxFiles: Int, maxBytes: Int) {
        self.bytes = bytes
        self.maxFiles = maxFiles
        self.maxBytes = maxBytes
    }

    mutating func read() throws(ArchiveError) -> [TarEntry] {
        let block = TarHeader.blockSize
        var offset = 0
        var longName: String?
        var pax: [String: String] = [:]
        while true {
            guard offset + block <= bytes.count else {
                throw ArchiveError(
                    .truncated,
                    offset == bytes.count
                        ? "the archive is truncated: it ends at byte \(offset) without the end-of-archive blocks"
                        : "the archive is truncated: it ends inside a header at byte \(offset)")
            }
            let start = offset
            let header = bytes[start..<(start + block)]
            func field(_ from: Int, _ to: Int) -> ArraySlice<UInt8> { bytes[(start + from)..<(start + to)] }
            if header.allSatisfy({ $0 == 0 }) {
                guard offset + 2 * block <= bytes.count else {
                    throw ArchiveError(
                        .truncated, "the archive is truncated: one end-of-archive block at byte \(offset), two expected"
                    )
                }
                guard bytes[(offset + block)..<(offset + 2 * block)].allSatisfy({ $0 == 0 }) else {
                    throw ArchiveError(
                        .malformed, "a zero block at byte \(offset) is followed by data; the archive is corrupt")
                }
                return entries
            }
            let rawName = String(decoding: TarHeader.string(field(0, 100)), as: UTF8.self)
            guard let stored = TarHeader.number(field(148, 156)),
                stored == TarHeader.checksum(header) || stored == TarHeader.signedChecksum(header)
            else {
                throw ArchiveError(
                    .badChecksum, "bad header checksum for entry '\(rawName)' at byte \(offset); the archive is corrupt"
                )
            }
            let magic = Array(field(257, 263))
            let posix = magic == Array("ustar\0".utf8)
            guard posix || magic == Array("ustar ".utf8) else {
                throw ArchiveError(
                    .malformed, "entry '\(rawName)' at byte \(offset) has no ustar magic; write a POSIX tar")
            }
            let type = bytes[start + 156]
            guard var size = TarHeader.number(field(124, 136)) else {
                throw ArchiveError(.malformed, "entry '\(rawName)' has an unreadable size field")
            }
            if let paxSize = pax["size"] {
                guard let value = Int(paxSize), value >= 0 else {
                    throw ArchiveError(.malformed, "entry '\(rawName)' has a bad pax size '\(paxSize)'")
                }
                size = value
            }
            let dataOffset = offset + block
            guard size <= bytes.count - dataOffset else {
                throw ArchiveError(
                    .truncated,
                    "the archive is truncated: entry '\(rawName)' needs \(size) bytes, \(bytes.count - dataOffset) remain"
                )
            }
            let padded = size.isMultiple(of: block) ? size : size + block - size % block
            offset = dataOffset + min(padded, bytes.count - dataOffset)
            let data = bytes[dataOffset..<(dataOffset + size)]

            switch type {
            case UInt8(ascii: "L"):  // GNU long name of the next entry
                guard size <= Self.maxMetadataBytes else {
                    throw ArchiveError(.overLimit, "a GNU long name of \(size) bytes is too large")
                }
                longName = try utf8(TarHeader.string(data), at: dataOffset)
                continue
            case UInt8(ascii: "K"):  // GNU long link name: links are refused below anyway
                continue
            case UInt8(ascii: "x"):
                guard size <= Self.maxMetadataBytes else {
                    throw ArchiveError(.overLimit, "a pax header of \(size) bytes is too large")
                }
                pax = try paxRecords(data, at: dataOffset)
                continue
            case UInt8(ascii: "g"):  // global pax header: nothing in it matters here
                continue
            default:
                break
            }

            let name: String
            if let path = pax["path"] {
                name = path
            } else if let longName {
                name = longName
            } else {
                let short = try utf8(TarHeader.string(field(0, 100)), at: start)
                let prefix = posix ? try utf8(TarHeader.string(field(345, 500)), at: start) : ""
                name = prefix.isEmpty ? short : prefix + "/" + short
            }
            longName = nil
            pax = [:]
            let mode = TarHeader.number(field(100, 108)) ?? 0

            let kind: TarEntry.Kind
            switch type {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "1"): throw unsupported(name, "a hard link")
            case UInt8(ascii: "2"): throw unsupported(name, "a symbolic link")
            case UInt8(ascii: "3"), UInt8(ascii: "4"): throw unsupported(name, "a device")
            case UInt8(ascii: "6"): throw unsupported(name, "a FIFO")
            default: throw unsupported(name, "of tar type '\(Character(Unicode.Scalar(type)))'")
            }
            try add(name: name, kind: kind, mode: mode & 0o7777, size: kind == .file ? size : 0, dataOffset: dataOffset)
        }
    }

    private func unsupported(_ name: String, _ what: String) -> ArchiveError {
        ArchiveError(
            .unsupportedEntry,
            "entry '\(EntryName.printable(name))' is \(what); only regular files and directories are allowed")
    }

    private func utf8(_ bytes: ArraySlice<UInt8>, at offset: Int) throws(ArchiveError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ArchiveError(.malformed, "the entry name at byte \(offset) is not UTF-8")
        }
        return text
    }

    /// pax records: "<length> <key>=<value>\n", the length counting the whole record.
    private func paxRecords(_ data: ArraySlice<UInt8>, at offset: Int) throws(ArchiveError) -> [String: String] {
        var records: [String: String] = [:]
        var i = data.startIndex
        while i < data.endIndex {
            if data[i] == 0 { break }
            guard let space = data[i...].firstIndex(of: 0x20),
                let length = Int(String(decoding: data[i..<space], as: UTF8.self)), length > space - i + 1,
                i + length <= data.endIndex, data[i + length - 1] == 0x0A,
                let equals = data[(space + 1)..<(i + length)].firstIndex(of: UInt8(ascii: "="))
            else {
                throw ArchiveError(.malformed, "a pax header at byte \(offset) is malformed")
            }
            let key = String(decoding: data[(space + 1)..<equals], as: UTF8.self)
            records[key] = try utf8(data[(equals + 1)..<(i + length - 1)], at: offset)
            i += length
        }
        return records
    }

    private mutating func add(name: String, kind: TarEntry.Kind, mode: Int, size: Int, dataOffset: Int)
        throws(ArchiveError)
    {
        let segments = try EntryName.segments(name)
        if segments.isEmpty {
            guard kind == .directory else {
                throw ArchiveError(.unsafePath, "entry '\(EntryName.printable(name))' has an empty path")
            }
            return  // "./" itself
        }
        guard kind == .directory || !name.hasSuffix("/") else {
            throw ArchiveError(.malformed, "file entry '\(EntryName.printable(name))' ends with '/'")
        }
        let path = segments.joined(separator: "/")
        guard entries.count < maxFiles else {
            throw ArchiveError(.overLimit, "the archive has more than \(maxFiles) entries (at '\(path)')")
        }
        guard size <= maxBytes - contentBytes else {
            throw ArchiveError(.overLimit, "the archive's files exceed \(maxBytes) bytes (at '\(path)')")
        }
        // Parents must be directories, and a file may appear once.
        var parent = ""
        for segment in segments.dropLast() {
            parent = parent.isEmpty ? String(segment) : parent + "/" + segment
            guard !files.contains(parent) else {
                throw ArchiveError(.conflict, "entry '\(path)' is inside '\(parent)', which is a file in the archive")
            }
            directories.insert(parent)
        }
        switch kind {
        case .file:
            guard !files.contains(path), !directories.contains(path) else {
                throw ArchiveError(.conflict, "entry '\(path)' appears twice in the archive")
            }
            files.insert(path)
        case .directory:
            guard !files.contains(path) else {
                throw ArchiveError(.conflict, "directory entry '\(path)' is also a file in the archive")
            }
            directories.insert(path)
        }
        contentBytes += size
        entries.append(TarEntry(path: path, kind: kind, mode: mode, size: size, dataOffset: dataOffset))
    }
}
