public import Foundation
public import SluiceCore
import Synchronization

/// Content-addressed files on disk: job bundles, results and logs. A blob's name is the SHA-256 of its
/// bytes, checked when it is stored, so nothing is trusted by name. Files live at `<root>/<2 hex>/<64 hex>`.
///
/// Design. A blob arrives as a stream (`BlobUpload`): its bytes go to a temporary file in the store's
/// folder and into a running SHA-256, so an upload costs a fixed buffer of memory whatever its size; it is
/// synced and renamed into place only when the hash is the one the uploader claimed, so a crash or a
/// refused upload leaves either the whole blob or nothing. Space is split in two: blobs that no job on
/// chain names (anonymous uploads, and results between their upload and the reveal that names them) may
/// take at most `unreferencedBytes`, and expire `unreferencedSeconds` after their upload (the file's
/// modification time); the rest of `totalBytes` stays for blobs jobs name, kept until the job settles plus
/// `retentionSeconds` (`BlobRetention` decides which those are and calls `sweep`). An upload that names a
/// job under way (a provider's result) is admitted against the whole space, not the anonymous part.
public final class BlobStore: Sendable {
    public struct Limits: Sendable {
        /// The largest blob.
        public var blobBytes: Int
        /// All blobs together.
        public var totalBytes: Int64
        /// The most that blobs no job names may take of `totalBytes`.
        public var unreferencedBytes: Int64
        /// How long a blob no job names is kept after its upload.
        public var unreferencedSeconds: UInt64
        /// How long a job's blobs are kept after it settled (or was cancelled, expired, left unresolved);
        /// never less than the market's dispute window.
        public var retentionSeconds: UInt64

        public init(
            blobBytes: Int = 256 << 20, totalBytes: Int64 = 20 << 30, unreferencedBytes: Int64? = nil,
            unreferencedSeconds: UInt64 = 3600, retentionSeconds: UInt64 = 86_400
        ) {
            self.blobBytes = blobBytes
            self.totalBytes = totalBytes
            self.unreferencedBytes = unreferencedBytes ?? totalBytes / 4
            self.unreferencedSeconds = unreferencedSeconds
            self.retentionSeconds = retentionSeconds
        }
    }

    public enum Failure: Error, Equatable, Sendable {
        /// The bytes hash to something else than the caller said.
        case hashMismatch(expected: Hash, actual: Hash)
        case tooLarge(size: Int, limit: Int)
        /// The store (or its part for blobs no job names) has no room for the blob.
        case full(limit: Int64)
        case io(String)
    }

    /// Which part of the space a new blob is counted against.
    public enum Pool: Sendable {
        /// Nobody vouches for it: the part for blobs no job names.
        case unreferenced
        /// It names a job under way (a provider's result or logs): the whole space.
        case job
    }

    struct Usage {
        /// Bytes of all stored blobs.
        var used: Int64
        /// Bytes of the stored blobs the latest sweep found no job naming, plus those stored since.
        var unreferenced: Int64
    }

    public let root: URL
    public let limits: Limits
    let usage: Mutex<Usage>
    /// Held while a blob is moved into place, touched, or removed by the sweep, so a blob found present
    /// by an upload is not removed under it.
    let files: Mutex<Void>

    public init(root: URL, limits: Limits = Limits()) throws(Failure) {
        let total = try Self.open(root)
        self.root = root
        self.limits = limits
        usage = Mutex(Usage(used: total, unreferenced: total))
        files = Mutex(())
    }

    /// Creates the folder, removes leftover temporary files of a crash, and returns the bytes of the blobs
    /// there (all counted as unreferenced until the first sweep says otherwise).
    private static func open(_ root: URL) throws(Failure) -> Int64 {
        do { try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true) } catch {
            throw Failure.io("cannot create the blob folder \(root.path): \(error.localizedDescription)")
        }
        var total: Int64 = 0
        for file in files(in: root) {
            if file.isTemporary {
                unlink(file.url.path)
                continue
            }
            total += file.size
        }
        return total
    }

    /// The bytes on disk now.
    public var usedBytes: Int64 { usage.withLock { $0.used } }

    /// The bytes of blobs no job named at the latest sweep, and of those stored since.
    public var unreferencedBytes: Int64 { usage.withLock { $0.unreferenced } }

    func path(_ hash: Hash) -> URL {
        let hex = String(hash.hex.dropFirst(2))
        return root.appendingPathComponent(String(hex.prefix(2))).appendingPathComponent(hex)
    }

    /// Stores `bytes` and returns their hash; when `expected` is given and differs, nothing is stored.
    /// Storing a blob that is already there changes nothing but its upload time.
    @discardableResult
    public func put(_ bytes: [UInt8], expected: Hash? = nil, pool: Pool = .unreferenced) throws(Failure) -> Hash {
        let upload = try BlobUpload(store: self)
        do { try bytes.withUnsafeBytes { try upload.append($0) } } catch let failure as Failure { throw failure } catch
        {
            throw .io("\(error)")
        }
        return try upload.finish(expected: expected, pool: pool).hash
    }

    /// The blob's bytes, checked against its name (a file damaged on disk is reported, never served), or
    /// nil when there is none. Reads the whole blob into memory: the API serves blobs with `open`.
    public func get(_ hash: Hash) throws(Failure) -> [UInt8]? {
        let target = path(hash)
        guard let data = FileManager.default.contents(atPath: target.path) else { return nil }
        let bytes = [UInt8](data)
        let actual = Hash.sha256(bytes)
        guard actual == hash else { throw .hashMismatch(expected: hash, actual: actual) }
        return bytes
    }

    public func contains(_ hash: Hash) -> Bool { FileManager.default.fileExists(atPath: path(hash).path) }

    /// Counts `size` new bytes against the space (and the part for blobs no job names, for `.unreferenced`);
    /// false when they do not fit.
    func reserve(_ size: Int64, pool: Pool) -> Bool {
        usage.withLock { u in
            guard u.used + size <= limits.totalBytes else { return false }
            if pool == .unreferenced && u.unreferenced + size > limits.unreferencedBytes { return false }
            u.used += size
            u.unreferenced += size
            return true
        }
    }

    func release(_ size: Int64, unreferenced: Bool) {
        usage.withLock { u in
            u.used -= size
            if unreferenced { u.unreferenced = max(0, u.unreferenced - size) }
        }
    }

    /// A file under the root: a blob (its name is its hash) or a temporary file of an upload.
    struct StoredFile {
        var url: URL
        var hash: Hash?
        var size: Int64
        var modified: Date
        var isTemporary: Bool { url.lastPathComponent.hasPrefix(".tmp-") }
    }

    static func files(in root: URL) -> [StoredFile] {
        let keys: [URLResourceKey] = [.fileSizeKey, .isRegularFileKey, .contentModificationDateKey]
        var found: [StoredFile] = []
        let walk = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys)
        while let url = walk?.nextObject() as? URL {
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true else {
                continue
            }
            let name = url.lastPathComponent
            let hash = name.count == 64 ? try? Hash(hex: "0x" + name) : nil
            found.append(
                StoredFile(
                    url: url, hash: hash, size: Int64(values.fileSize ?? 0),
                    modified: values.contentModificationDate ?? .distantPast))
        }
        return found
    }
}

func posixError(_ what: String, _ url: URL) -> BlobStore.Failure {
    .io("cannot \(what) \(url.path): \(String(cString: strerror(errno)))")
}
