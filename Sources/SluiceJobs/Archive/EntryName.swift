// An entry name in an archive from a stranger is hostile bytes. The checks and the system calls must see the
// same path, and they only do for the forms modelled here: segments of printable bytes joined by "/", with
// "." segments and repeated slashes folded away. Everything else is refused before anything is written:
// NUL (a Swift String holds it, a system call stops at it, so "..\0" passes a check for ".." and then
// climbs out), every other control byte, "..", an absolute path, a segment longer than NAME_MAX and a path
// longer than PATH_MAX. The unpacker then hands each segment to `openat`/`mkdirat` through
// `EntryName.withSegment`, which checks the same rules again at the boundary, so a name that reaches a
// system call by another route is still refused.

/// Checking and splitting archive entry names.
enum EntryName {
    /// The longest segment the kernel accepts (NAME_MAX).
    static let maxSegmentBytes = 255
    /// The longest path, less its terminating NUL (PATH_MAX - 1).
    static let maxPathBytes = 4095
    /// The most directories an entry may be nested in: what walks of the unpacked tree are sized for.
    static let maxDepth = 128

    /// The segments of a relative entry name, "." and empty segments dropped.
    /// - Throws: `.unsafePath` for an absolute path, a `..` segment, NUL or another control byte;
    ///   `.pathTooLong` over the kernel's limits.
    /// - Complexity: O(n) for n bytes.
    static func segments(_ name: String) throws(ArchiveError) -> [String] {
        let bytes = Array(name.utf8)
        let shown = printable(name)
        if let bad = bytes.first(where: isForbidden) {
            throw ArchiveError(
                .unsafePath,
                "entry '\(shown)' has the control byte 0x\(String(bad, radix: 16)) in its name; names may hold "
                    + "printable characters only")
        }
        guard bytes.first != UInt8(ascii: "/") else {
            throw ArchiveError(.unsafePath, "entry '\(shown)' has an absolute path; archive paths must be relative")
        }
        guard bytes.count <= maxPathBytes else {
            throw ArchiveError(
                .pathTooLong, "entry '\(shown.prefix(80))…' is \(bytes.count) bytes; at most \(maxPathBytes)")
        }
        var segments: [String] = []
        for segment in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if segment.elementsEqual([0x2E]) { continue }
            guard !segment.elementsEqual([0x2E, 0x2E]) else {
                throw ArchiveError(.unsafePath, "entry '\(shown)' has a '..' segment; archive paths must stay inside")
            }
            guard segment.count <= maxSegmentBytes else {
                throw ArchiveError(
                    .pathTooLong, "entry '\(shown)' has a segment of \(segment.count) bytes; at most \(maxSegmentBytes)"
                )
            }
            segments.append(String(decoding: segment, as: UTF8.self))
        }
        guard segments.count <= maxDepth + 1 else {
            throw ArchiveError(
                .pathTooLong,
                "entry '\(shown.prefix(80))…' is nested \(segments.count - 1) directories deep; at most \(maxDepth)")
        }
        return segments
    }

    /// Runs `body` with one segment as a C string, after checking it is a single plain name: not empty,
    /// not "." or "..", no "/" and no control byte. The last check before a name reaches a system call.
    static func withSegment<T>(_ segment: String, _ body: (UnsafePointer<CChar>) -> T) throws(ArchiveError) -> T {
        let bytes = Array(segment.utf8)
        guard !bytes.isEmpty, bytes != [0x2E], bytes != [0x2E, 0x2E], bytes.count <= maxSegmentBytes,
            !bytes.contains(UInt8(ascii: "/")), !bytes.contains(where: isForbidden)
        else {
            throw ArchiveError(.unsafePath, "'\(printable(segment))' is not a plain file name; nothing was written")
        }
        return (bytes + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    /// NUL, the C0 controls and DEL.
    static func isForbidden(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x7F }

    /// The name with control bytes shown as \u{…}, for messages.
    static func printable(_ name: String) -> String {
        var text = ""
        for scalar in name.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                text += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                text.unicodeScalars.append(scalar)
            }
        }
        return text
    }
}
