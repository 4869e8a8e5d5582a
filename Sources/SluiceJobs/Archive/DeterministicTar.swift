public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Bundles and results travel as tar archives addressed by their SHA-256, and k honest providers must
// produce bit-identical result archives from the same job. So the archive keeps nothing a provider's
// machine adds: entries are regular files only (directories are implied by the paths), sorted by the bytes
// of their UTF-8 paths, with mtime 0, uid/gid 0, no user or group names, and mode 0644 or 0755 (the
// owner's exec bit is the only permission carried). The format is plain POSIX ustar, which every tar reads.
//
// The tree is walked through directory file descriptors (openat with O_NOFOLLOW at every step) so a job that
// is still running, or that left symbolic links behind, cannot make the provider read outside the job's
// directory: a link or a special file among the selected files is an error naming it, and links are never
// followed. Children are visited sorted by name (with "/" appended to directories), which visits the whole
// tree in the order of its full paths; `archive` writes files in that order, so a caller may add files of its
// own (a result's summary, kept out of the job's reach) and get the same bytes as if they had been on disk.

/// Deterministic POSIX ustar archives of a directory's regular files, and their safe extraction.
public enum DeterministicTar {
    /// The most entries an archive may have unless the caller says otherwise.
    public static let defaultMaxFiles = 10_000
    /// The most bytes of file content (1 GiB) an archive may hold unless the caller says otherwise.
    public static let defaultMaxBytes = 1 << 30

    /// Packs the regular files under `directory` (all of them, or those matching one of the `include` globs).
    ///
    /// The same tree gives the same bytes whatever the files' times, owners, creation order or the host.
    /// - Throws: `ArchiveError` naming the file: a selected symbolic link or special file, a path too long
    ///   for ustar, more than `maxFiles` files or `maxBytes` bytes, globs that match nothing, an I/O error.
    /// - Complexity: O(n log n + b) for n entries under the walked directories and b bytes packed.
    public static func pack(
        directory: URL, include: [String]? = nil, maxFiles: Int = defaultMaxFiles, maxBytes: Int = defaultMaxBytes
    ) throws(ArchiveError) -> [UInt8] {
        let files = try files(in: directory, include: include, maxFiles: maxFiles, maxBytes: maxBytes)
        if let include, files.isEmpty {
            let list = include.map { "'\($0)'" }.joined(separator: ", ")
            throw ArchiveError(
                .noMatch,
                "no file matches outputs \(list) in \(directory.path) (a directory's files are taken with 'dir/**')")
        }
        return try archive(files)
    }

    /// The regular files under `directory` (all, or those matching one of the `include` globs), read through
    /// directory descriptors without following a link, in archive order. Names in `skipping` are passed over
    /// at the top level whatever they are: the caller owns them (a result's summary).
    /// - Throws: as `pack`, but an empty selection is no error.
    /// - Complexity: O(n log n + b) for n entries under the walked directories and b bytes read.
    public static func files(
        in directory: URL, include: [String]? = nil, maxFiles: Int = defaultMaxFiles,
        maxBytes: Int = defaultMaxBytes, skipping: Set<String> = []
    ) throws(ArchiveError) -> [ArchiveFile] {
        var globs: [Glob]?
        if let include {
            var parsed: [Glob] = []
            for text in include { parsed.append(try Glob(text)) }
            globs = parsed
        }
        let root = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else {
            throw ArchiveError(.io, "cannot open directory \(directory.path): \(errnoText())")
        }
        defer { close(root) }
        var packer = Packer(globs: globs, maxFiles: maxFiles, maxBytes: maxBytes, skipping: skipping)
        try packer.walk(root, prefix: "")
        return packer.files
    }

    /// The archive of `files`, sorted by the bytes of their paths (the order a directory walk gives).
    /// - Throws: `.pathTooLong` for a path ustar cannot hold, `.conflict` for a path given twice.
    /// - Complexity: O(n log n + b).
    public static func archive(_ files: [ArchiveFile]) throws(ArchiveError) -> [UInt8] {
        let sorted = files.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        var size = 2 * TarHeader.blockSize
        for file in sorted { size += TarHeader.blockSize + (file.bytes.count + 511) / 512 * 512 }
        var archive: [UInt8] = []
        archive.reserveCapacity(size)
        for (i, file) in sorted.enumerated() {
            if i > 0, sorted[i - 1].path == file.path {
                throw ArchiveError(.conflict, "'\(file.path)' appears twice in the archive")
            }
            archive.append(
                contentsOf: try TarHeader.encode(path: file.path, size: file.bytes.count, executable: file.executable))
            archive.append(contentsOf: file.bytes)
            let padding = (TarHeader.blockSize - file.bytes.count % TarHeader.blockSize) % TarHeader.blockSize
            archive.append(contentsOf: repeatElement(0, count: padding))
        }
        archive.append(contentsOf: [UInt8](repeating: 0, count: 2 * TarHeader.blockSize))
        return archive
    }

    /// Whether the relative file path matches the glob: `*` and `?` within one segment, `**` any number of
    /// segments ("out/**", "out/*.ppm", "**/*.txt", "result.json"). An invalid glob matches nothing.
    public static func matches(_ path: String, glob: String) -> Bool {
        guard let glob = try? Glob(glob) else { return false }
        return glob.matches(path)
    }
}

/// One regular file of an archive: its relative path, its bytes and whether the owner may execute it.
public struct ArchiveFile: Sendable, Equatable {
    public var path: String
    public var bytes: [UInt8]
    public var executable: Bool

    public init(path: String, bytes: [UInt8], executable: Bool = false) {
        self.path = path
        self.bytes = bytes
        self.executable = executable
    }
}

package func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// The walk's state: the archive written so far and the limits.
private struct Packer {
    let globs: [Glob]?
    let maxFiles: Int
    let maxBytes: Int
    let skipping: Set<String>
    var files: [ArchiveFile] = []
    var contentBytes = 0

    private enum Kind { case directory, regular, other(String) }

    private struct Child {
        let name: [UInt8]
        let text: String
        let kind: Kind
        /// The name with "/" after a directory: sorting siblings by it sorts full paths.
        let key: [UInt8]
    }

    func selects(_ path: String) -> Bool {
        guard let globs else { return true }
        return globs.contains { $0.matches(path) }
    }

    func mayHoldSelected(_ directory: String) -> Bool {
        guard let globs else { return true }
        return globs.contains { $0.mayMatchBelow(directory: directory) }
    }

    mutating func walk(_ directory: Int32, prefix: String) throws(ArchiveError) {
        let shown = prefix.isEmpty ? "." : String(prefix.dropLast())
        for child in try children(of: directory, shown: shown) {
            if prefix.isEmpty && skipping.contains(child.text) { continue }
            let path = prefix + child.text
            switch child.kind {
            case .directory:
                guard mayHoldSelected(path) else { continue }
                // Every path below needs at least "path/x"; ustar holds at most 256 bytes.
                guard path.utf8.count < 255 else {
                    throw ArchiveError(
                        .pathTooLong, "directory '\(path)' is nested too deep: paths below it do not fit a ustar header"
                    )
                }
                let fd = child.name.withUnsafeBufferPointer { name in
                    name.withMemoryRebound(to: CChar.self) {
                        openat(directory, $0.baseAddress!, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    }
                }
                guard fd >= 0 else { throw readError("cannot open directory '\(path)'") }
                defer { close(fd) }
                try walk(fd, prefix: path + "/")
            case .regular:
                guard selects(path) else { continue }
                try add(child, in: directory, path: path)
            case .other(let what):
                guard selects(path) else { continue }
                throw ArchiveError(
                    .unsupportedEntry,
                    "'\(path)' is \(what); only regular files can be archived (links are not followed)")
            }
        }
    }

    private func children(of directory: Int32, shown: String) throws(ArchiveError) -> [Child] {
        let copy = dup(directory)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw ArchiveError(.io, "cannot list directory '\(shown)': \(errnoText())")
        }
        defer { closedir(stream) }
        var result: [Child] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw ArchiveError(.io, "cannot list directory '\(shown)': \(errnoText())") }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            var info = stat()
            let status = name.withUnsafeBufferPointer { buffer -> Int32 in
                var terminated = Array(buffer)
                terminated.append(0)
                return terminated.withUnsafeBufferPointer {
                    $0.withMemoryRebound(to: CChar.self) {
                        fstatat(directory, $0.baseAddress!, &info, AT_SYMLINK_NOFOLLOW)
                    }
                }
            }
            let text = String(decoding: name, as: UTF8.self)
            guard status == 0 else {
                if errno == ENOENT { continue }  // removed while we looked
                throw ArchiveError(.io, "cannot stat '\(shown)/\(text)': \(errnoText())")
            }
            let kind: Kind
            switch info.st_mode & S_IFMT {
            case S_IFDIR: kind = .directory
            case S_IFREG: kind = .regular
            case S_IFLNK: kind = .other("a symbolic link")
            case S_IFIFO: kind = .other("a FIFO")
            case S_IFSOCK: kind = .other("a socket")
            case S_IFCHR, S_IFBLK: kind = .other("a device")
            default: kind = .other("not a regular file")
            }
            guard String(validating: name, as: UTF8.self) != nil else {
                let path = shown == "." ? text : "\(shown)/\(text)"
                let wanted: Bool
                if case .directory = kind { wanted = mayHoldSelected(path) } else { wanted = selects(path) }
                guard !wanted else { throw ArchiveError(.malformed, "the name of '\(path)' is not UTF-8; rename it") }
                continue
            }
            var key = name
            if case .directory = kind { key.append(UInt8(ascii: "/")) }
            result.append(Child(name: name + [0], text: text, kind: kind, key: key))
        }
        result.sort { $0.key.lexicographicallyPrecedes($1.key) }
        return result
    }

    private mutating func add(_ child: Child, in directory: Int32, path: String) throws(ArchiveError) {
        guard files.count < maxFiles else {
            throw ArchiveError(.overLimit, "more than \(maxFiles) files to archive (at '\(path)'); at most \(maxFiles)")
        }
        // O_NONBLOCK: a FIFO swapped in after the directory was read must not block the open.
        let fd = child.name.withUnsafeBufferPointer { name in
            name.withMemoryRebound(to: CChar.self) {
                openat(directory, $0.baseAddress!, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
            }
        }
        guard fd >= 0 else {
            if errno == ELOOP {
                throw ArchiveError(
                    .unsupportedEntry, "'\(path)' is a symbolic link; only regular files can be archived")
            }
            throw readError("cannot open '\(path)'")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ArchiveError(.io, "cannot stat '\(path)': \(errnoText())") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ArchiveError(.unsupportedEntry, "'\(path)' is not a regular file; only regular files can be archived")
        }
        let room = maxBytes - contentBytes
        guard Int(info.st_size) <= room else {
            throw overBytes(at: path)
        }
        var data: [UInt8] = []
        data.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw ArchiveError(.io, "cannot read '\(path)': \(errnoText())")
            }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
            if data.count > room { throw overBytes(at: path) }
        }
        _ = try TarHeader.splitPath(path)  // a path ustar cannot hold is refused while walking
        files.append(ArchiveFile(path: path, bytes: data, executable: info.st_mode & 0o100 != 0))
        contentBytes += data.count
    }

    /// A failed open: the tree's own doing when permissions refuse it (a job that made a file unreadable to
    /// the agent's user), else the machine's.
    private func readError(_ what: String, _ code: Int32 = errno) -> ArchiveError {
        let refused = code == EACCES || code == EPERM
        return ArchiveError(
            refused ? .unreadable : .io, "\(what): \(errnoText(code))\(refused ? "; outputs must be readable" : "")")
    }

    private func overBytes(at path: String) -> ArchiveError {
        ArchiveError(.overLimit, "the files to archive exceed \(maxBytes) bytes (at '\(path)'); at most \(maxBytes)")
    }
}
