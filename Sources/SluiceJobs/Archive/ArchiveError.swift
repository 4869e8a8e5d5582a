/// What went wrong packing, listing or unpacking an archive; the message names the entry and says what to do.
public struct ArchiveError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure, for tests and for callers that branch on it.
    package enum Code: Sendable, Equatable {
        /// Reading or writing the file system failed.
        case io
        /// A file or directory to archive that its permissions keep the reader out of.
        case unreadable
        /// An absolute path or a `..` segment.
        case unsafePath
        /// A symbolic link, hard link, device, FIFO or socket.
        case unsupportedEntry
        case badChecksum
        case truncated
        /// A header that is not ustar, a bad number, a name that is not UTF-8.
        case malformed
        /// Too many files or too many bytes.
        case overLimit
        /// A path longer than ustar can hold.
        case pathTooLong
        /// The same path twice, or a file where a directory is needed.
        case conflict
        /// Output globs that select nothing.
        case noMatch
        case invalidGlob
    }

    package let code: Code
    public let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}
