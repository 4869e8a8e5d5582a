public import Foundation
public import SluiceCore

/// Content-addressed files on disk: job bundles and results. A blob's name is the SHA-256 of its bytes,
/// checked when it is stored, so nothing is trusted by name. Files live at `<root>/<2 hex>/<64 hex>`;
/// a blob is written to a temporary file, synced and renamed into place, so a crash leaves either the whole
/// blob or none of it.
public final class BlobStore: Sendable {
    public struct Limits: Sendable {
        /// The largest blob.
        public var blobBytes: Int
        /// All blobs together.
        public var totalBytes: Int64

        public init(blobBytes: Int = 256 << 20, totalBytes: Int64 = 20 << 30) {
            self.blobBytes = blobBytes
            self.totalBytes = totalBytes
        }
    }

    public enum Failure: Error, Equatable, Sendable {
        /// The bytes hash to something else than the caller said.
        case hashMismatch(expected: Hash, actual: Hash)
        case tooLarge(size: Int, limit: Int)
        case full(limit: Int64)
        case io(String)
    }

    public let root: URL
    public let limits: Limits
    private let used: Mutex64

    public init(root: URL, limits: Limits = Limits()) throws {
        self.root = root
        self.limits = limits
        do { try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true) } catch {
            throw Failure.io("cannot create the blob folder \(root.path): \(error.localizedDescription)")
        }
        // Leftover temporary files of a crash are removed; the rest is counted against the quota.
        var total: Int64 = 0
        let keys: Set<URLResourceKey> = [.fileSizeKey, .isRegularFileKey]
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: Array(keys))
        while let url = files?.nextObject() as? URL {
            guard let values = try? url.resourceValues(forKeys: keys), values.isRegularFile == true else { continue }
            if url.lastPathComponent.hasPrefix(".tmp-") {
                try? FileManager.default.removeItem(at: url)
                continue
            }
            total += Int64(values.fileSize ?? 0)
        }
        used = Mutex64(total)
    }

    /// The bytes on disk now.
    public var usedBytes: Int64 { used.value }

    func path(_ hash: Hash) -> URL {
        let hex = String(hash.hex.dropFirst(2))
        return root.appendingPathComponent(String(hex.prefix(2))).appendingPathComponent(hex)
    }

    /// Stores `bytes` and returns their hash; when `expected` is given and differs, nothing is stored.
    /// Storing a blob that is already there changes nothing.
    @discardableResult
    public func put(_ bytes: [UInt8], expected: Hash? = nil) throws(Failure) -> Hash {
        guard bytes.count <= limits.blobBytes else { throw .tooLarge(size: bytes.count, limit: limits.blobBytes) }
        let hash = Hash.sha256(bytes)
        if let expected, expected != hash { throw .hashMismatch(expected: expected, actual: hash) }
        let target = path(hash)
        if FileManager.default.fileExists(atPath: target.path) { return hash }
        guard used.add(Int64(bytes.count), limit: limits.totalBytes) else { throw .full(limit: limits.totalBytes) }
        do {
            let folder = target.deletingLastPathComponent()
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let temporary = folder.appendingPathComponent(".tmp-\(UUID().uuidString)")
            try writeSynced(bytes, to: temporary)
            if rename(temporary.path, target.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temporary)
                throw Failure.io("cannot move the blob into place: \(reason)")
            }
        } catch let failure as Failure {
            used.add(-Int64(bytes.count))
            throw failure
        } catch {
            used.add(-Int64(bytes.count))
            throw .io("cannot store the blob: \(error.localizedDescription)")
        }
        return hash
    }

    /// The blob's bytes, checked against its name (a file damaged on disk is reported, never served), or
    /// nil when there is none.
    public func get(_ hash: Hash) throws(Failure) -> [UInt8]? {
        let target = path(hash)
        guard let data = FileManager.default.contents(atPath: target.path) else { return nil }
        let bytes = [UInt8](data)
        let actual = Hash.sha256(bytes)
        guard actual == hash else { throw .hashMismatch(expected: hash, actual: actual) }
        return bytes
    }

    public func contains(_ hash: Hash) -> Bool { FileManager.default.fileExists(atPath: path(hash).path) }
}

private func writeSynced(_ bytes: [UInt8], to url: URL) throws {
    let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard fd >= 0 else { throw BlobStore.Failure.io("cannot create \(url.path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 {
            if errno == EINTR { continue }
            throw BlobStore.Failure.io("cannot write \(url.path): \(String(cString: strerror(errno)))")
        }
        offset += n
    }
    guard fsync(fd) == 0 else {
        throw BlobStore.Failure.io("cannot sync \(url.path): \(String(cString: strerror(errno)))")
    }
}

/// A counter under a lock, for the quota.
final class Mutex64: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Int64

    init(_ v: Int64) { current = v }

    var value: Int64 { lock.withLock { current } }

    /// Adds `delta` unless the result would pass `limit`; says whether it did.
    @discardableResult
    func add(_ delta: Int64, limit: Int64 = .max) -> Bool {
        lock.withLock {
            guard current + delta <= limit else { return false }
            current += delta
            return true
        }
    }
}
