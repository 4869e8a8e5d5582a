public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

// Reading, measuring, handing over and removing trees that a job or a stranger's archive made. Each step goes
// through directory descriptors and never follows a link: a job that left a link where a file or a
// directory was expected makes these functions skip it, refuse it or remove the link itself, never touch
// what it points to. Types are checked on the open descriptor, not on a name the job could swap.

/// File-system steps on trees the provider does not trust.
public enum SafeFile {
    /// The bytes of the regular file `name` directly inside `directory`, at most `maxBytes`.
    /// - Throws: `ArchiveError` (`.unsupportedEntry` for a link, directory or special file; `.overLimit`).
    public static func read(_ name: String, in directory: URL, maxBytes: Int) throws(ArchiveError) -> [UInt8] {
        let parent = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { throw ArchiveError(.io, "cannot open \(directory.path): \(errnoText())") }
        defer { close(parent) }
        let fd = try EntryName.withSegment(name) {
            openat(parent, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        }
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw ArchiveError(.noMatch, "'\(name)' is missing") }
            throw ArchiveError(
                code == ELOOP ? .unsupportedEntry : .io, "cannot open '\(name)': \(errnoText(code))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ArchiveError(.io, "cannot stat '\(name)': \(errnoText())") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ArchiveError(.unsupportedEntry, "'\(name)' is not a regular file")
        }
        guard Int(info.st_size) <= maxBytes else {
            throw ArchiveError(.overLimit, "'\(name)' is \(info.st_size) bytes; at most \(maxBytes)")
        }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw ArchiveError(.io, "cannot read '\(name)': \(errnoText())")
            }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
            guard data.count <= maxBytes else {
                throw ArchiveError(.overLimit, "'\(name)' grew past \(maxBytes) bytes while read")
            }
        }
        return data
    }

    /// Writes all of `bytes` to `fd`, retrying short writes and EINTR. False on an error (errno says which).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            written += n
        }
        return true
    }

    /// Removes `url` and everything below it, links themselves rather than their targets. Missing is fine.
    /// A tree of any depth is removed with bounded recursion: a directory deeper than 32 levels is first
    /// moved up beside `url` and removed from there.
    public static func removeTree(_ url: URL) {
        let path = url.standardizedFileURL.path
        let parentPath = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let parent = open(parentPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard parent >= 0 else { return }
        defer { close(parent) }
        var remover = TreeRemover(top: parent, base: name)
        var pending = [Array(name.utf8) + [0]]
        while let next = pending.popLast() {
            remover.remove(parent, next, depth: 0)
            pending += remover.movedUp
            remover.movedUp = []
        }
    }

    /// Gives the tree at `url` to `uid`/`gid` (links themselves, not their targets), so a job running as that
    /// user may write in it.
    package static func chownTree(_ url: URL, uid: uid_t, gid: gid_t) {
        let root = open(url.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { return }
        defer { close(root) }
        _ = fchown(root, uid, gid)
        walk(root, depth: 0, maxDepth: EntryName.maxDepth + 1) { directory, name, info in
            _ = fchownat(directory, name, uid, gid, AT_SYMLINK_NOFOLLOW)
            return true
        }
    }

    /// Whether a tree holds more than `maxBytes` allocated bytes, more than `maxEntries` entries or
    /// directories nested deeper than `maxDepth`; the walk stops at the first bound passed.
    /// - Complexity: O(min(n, maxEntries)) for n entries.
    package static func exceeds(_ url: URL, maxBytes: UInt64, maxEntries: Int, maxDepth: Int = 64) -> Bool {
        let root = open(url.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { return false }
        defer { close(root) }
        var bytes: UInt64 = 0
        var entries = 0
        return !walk(root, depth: 0, maxDepth: maxDepth) { _, _, info in
            bytes += UInt64(max(0, info.st_blocks)) * 512
            entries += 1
            return bytes <= maxBytes && entries <= maxEntries
        }
    }

    /// Visits every entry below `directory` (depth first, links not followed) until `visit` returns false
    /// or a directory lies deeper than `maxDepth`.
    /// - Returns: false when the visit was stopped.
    @discardableResult
    private static func walk(
        _ directory: Int32, depth: Int, maxDepth: Int, _ visit: (Int32, UnsafePointer<CChar>, stat) -> Bool
    ) -> Bool {
        guard depth <= maxDepth else { return false }
        let copy = dup(directory)
        guard copy >= 0 else { return true }
        guard let stream = fdopendir(copy) else {
            close(copy)
            return true
        }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) + [0] }
            if name == [0x2E, 0] || name == [0x2E, 0x2E, 0] { continue }
            let keepGoing = name.withUnsafeBufferPointer { buffer -> Bool in
                buffer.withMemoryRebound(to: CChar.self) { cName in
                    var info = stat()
                    guard fstatat(directory, cName.baseAddress!, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return true }
                    guard visit(directory, cName.baseAddress!, info) else { return false }
                    guard info.st_mode & S_IFMT == S_IFDIR else { return true }
                    let child = openat(directory, cName.baseAddress!, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard child >= 0 else { return true }
                    defer { close(child) }
                    return walk(child, depth: depth + 1, maxDepth: maxDepth, visit)
                }
            }
            if !keepGoing { return false }
        }
        return true
    }

}

/// Removes trees depth first; directories below `maxDepth` are renamed into `top` and returned in `movedUp`.
private struct TreeRemover {
    let top: Int32
    let base: String
    var movedUp: [[UInt8]] = []
    var moves = 0
    static let maxDepth = 32

    mutating func remove(_ parent: Int32, _ name: [UInt8], depth: Int) {
        name.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { cName in
                let c = cName.baseAddress!
                if unlinkat(parent, c, 0) == 0 || errno == ENOENT { return }
                if depth >= Self.maxDepth {
                    moves += 1
                    let moved = Array("\(base).deep-\(getpid())-\(moves)".utf8) + [0]
                    let renamed = moved.withUnsafeBufferPointer { target in
                        target.withMemoryRebound(to: CChar.self) { renameat(parent, c, top, $0.baseAddress!) }
                    }
                    if renamed == 0 { movedUp.append(moved) }
                    return
                }
                let directory = openat(parent, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard directory >= 0 else { return }
                defer { close(directory) }
                // Owner write and search, so a job that made its directories read-only cannot keep them.
                _ = fchmod(directory, 0o700)
                var names: [[UInt8]] = []
                let copy = dup(directory)
                if copy >= 0, let stream = fdopendir(copy) {
                    while let entry = readdir(stream) {
                        let child = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) + [0] }
                        if child != [0x2E, 0] && child != [0x2E, 0x2E, 0] { names.append(child) }
                    }
                    closedir(stream)
                } else if copy >= 0 {
                    close(copy)
                }
                for child in names { remove(directory, child, depth: depth + 1) }
                _ = unlinkat(parent, c, AT_REMOVEDIR)
            }
        }
    }
}
