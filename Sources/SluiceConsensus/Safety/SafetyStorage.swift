import Foundation
import SluiceCore
public import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where safety data lives. `save` returns only once the data is durable: a signature leaves the process
/// only after it.
public protocol SafetyStorage: AnyObject, Sendable {
    /// The saved data, nil when nothing was ever saved.
    func load() throws(ConsensusError) -> SafetyData?
    func save(_ data: SafetyData) throws(ConsensusError)
}

/// Safety data in memory: the simulator's disk (it survives the simulated crash of its validator).
public final class MemorySafetyStorage: SafetyStorage {
    private let stored = Mutex<SafetyData?>(nil)
    /// When set, `save` fails: a disk that refuses writes.
    public let failing = Atomic<Bool>(false)

    public init() {}

    public func load() throws(ConsensusError) -> SafetyData? { stored.withLock { $0 } }

    public func save(_ data: SafetyData) throws(ConsensusError) {
        if failing.load(ordering: .relaxed) { throw ConsensusError(.storage, "the disk refused the write") }
        stored.withLock { $0 = data }
    }

    /// What is saved, for tests.
    public var saved: SafetyData? { stored.withLock { $0 } }
}

/// Safety data in a file, replaced atomically: written to a temporary file, synced, renamed over the old
/// one, and the directory synced. A file that does not read back (torn, edited, of another format) is an
/// error, never a fresh start: starting fresh could sign twice for a round.
public final class FileSafetyStorage: SafetyStorage {
    public let path: String
    static let magic = Array("SLUICE-SAFETY-1\n".utf8)

    public init(path: String) { self.path = path }

    public func load() throws(ConsensusError) -> SafetyData? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let bytes = FileManager.default.contents(atPath: path).map(Array.init) else {
            throw ConsensusError(.storage, "cannot read the safety file \(path): check its permissions")
        }
        let m = Self.magic.count
        guard bytes.count >= m + 32, Array(bytes[0..<m]) == Self.magic else {
            throw Self.unreadable(path, "it is not a safety file")
        }
        let body = Array(bytes[m..<(bytes.count - 32)])
        guard Hash.sha256(body).bytes == Array(bytes[(bytes.count - 32)...]) else {
            throw Self.unreadable(path, "its checksum does not match (torn or edited)")
        }
        do throws(CoreError) { return try SafetyData(canonicalBytes: body) } catch {
            throw Self.unreadable(path, error.message)
        }
    }

    static func unreadable(_ path: String, _ why: String) -> ConsensusError {
        ConsensusError(
            .storage,
            "the safety file \(path) does not read back: \(why). Do not delete it to start over: a validator "
                + "that forgets its votes can sign twice and be slashed; restore it from a backup or stop this "
                + "validator until the epoch changes")
    }

    public func save(_ data: SafetyData) throws(ConsensusError) {
        let body = data.canonicalBytes
        let bytes = Self.magic + body + Hash.sha256(body).bytes
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw Self.failed("create \(temporary)") }
        var written = 0
        let ok = bytes.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let n = write(fd, raw.baseAddress! + written, raw.count - written)
                if n <= 0 { return false }
                written += n
            }
            return fsync(fd) == 0
        }
        close(fd)
        guard ok else { throw Self.failed("write and sync \(temporary)") }
        guard rename(temporary, path) == 0 else { throw Self.failed("rename \(temporary) to \(path)") }
        let directory = (path as NSString).deletingLastPathComponent
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        if dfd >= 0 {
            defer { close(dfd) }
            guard fsync(dfd) == 0 else { throw Self.failed("sync the directory \(directory)") }
        }
    }

    static func failed(_ what: String) -> ConsensusError {
        ConsensusError(
            .storage,
            "could not \(what) (\(String(cString: strerror(errno)))): nothing was signed; free disk space or fix "
                + "permissions")
    }
}
