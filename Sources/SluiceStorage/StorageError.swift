/// An error of persistent storage, with what to do about it.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// RocksDB reported an error (I/O, corruption, lock held by another process, …).
        case database
        /// The data dir was written by a newer Sluice.
        case newerSchema
        /// The data dir was written by an older Sluice whose records this build cannot read.
        case olderSchema
        /// The data dir belongs to another chain.
        case wrongChain
        /// The stored data contradicts itself (a missing block, a root that does not match).
        case integrity
        /// A stored record could not be decoded.
        case corrupt
        /// A block does not read back from its own encoding (a field over its `WireLimits` bound): it was not
        /// committed.
        case undecodable
        /// The request does not fit the chain (a block that does not extend the head, …).
        case invalid
        case notFound
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
