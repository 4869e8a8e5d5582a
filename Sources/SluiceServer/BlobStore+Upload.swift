import Crypto
import Foundation
public import SluiceCore
import Synchronization

/// One blob being received: its bytes go to a temporary file in the store's folder and into a running
/// SHA-256 as they arrive, so memory stays at one chunk whatever the blob's size. `finish` syncs the file
/// and moves it into place only when the hash is the one claimed and the space has room; anything else
/// (a refusal, an error, the upload dropped half way) removes the temporary file.
///
/// Used by one task at a time (the request's handler, which may hand it to a thread to finish), hence
/// `@unchecked Sendable`: it is never shared between two users at once.
public final class BlobUpload: @unchecked Sendable {
    let store: BlobStore
    let temporary: URL
    private var fd: Int32
    private var hasher = BlobHasher()
    /// The bytes received so far.
    public private(set) var size = 0

    public init(store: BlobStore) throws(BlobStore.Failure) {
        self.store = store
        temporary = store.root.appendingPathComponent(".tmp-\(UUID().uuidString)")
        fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw posixError("create", temporary) }
    }

    deinit { discard() }

    /// Adds the next bytes; refuses them (and drops the upload) once the blob would pass the store's limit.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(BlobStore.Failure) {
        guard fd >= 0 else { throw .io("the upload was already finished or dropped") }
        guard size + bytes.count <= store.limits.blobBytes else {
            let total = size + bytes.count
            discard()
            throw .tooLarge(size: total, limit: store.limits.blobBytes)
        }
        hasher.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let failure = posixError("write", temporary)
                discard()
                throw failure
            }
            offset += n
        }
        size += bytes.count
    }

    /// Checks the hash, counts the blob against `pool`, syncs and moves it into place; returns its name and
    /// whether it was new. A blob already stored keeps its file (its upload time is renewed).
    @discardableResult
    public func finish(expected: Hash?, pool: BlobStore.Pool) throws(BlobStore.Failure) -> (hash: Hash, stored: Bool) {
        guard fd >= 0 else { throw .io("the upload was already finished or dropped") }
        defer { discard() }
        let hash = hasher.finalize()
        if let expected, expected != hash { throw .hashMismatch(expected: expected, actual: hash) }
        let target = store.path(hash)
        if store.renew(target) { return (hash, false) }
        guard store.reserve(Int64(size), pool: pool) else {
            throw .full(limit: pool == .job ? store.limits.totalBytes : store.limits.unreferencedBytes)
        }
        do throws(BlobStore.Failure) {
            guard fsync(fd) == 0 else { throw posixError("sync", temporary) }
            let folder = target.deletingLastPathComponent()
            if mkdir(folder.path, 0o755) != 0 && errno != EEXIST { throw posixError("create", folder) }
            try store.files.withLock { _ throws(BlobStore.Failure) in
                guard rename(temporary.path, target.path) == 0 else { throw posixError("move the blob to", target) }
            }
        } catch {
            store.release(Int64(size), unreferenced: true)
            throw error
        }
        return (hash, true)
    }

    /// Drops the upload and its temporary file (nothing happens the second time).
    public func discard() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(temporary.path)
    }
}

extension BlobStore {
    /// When the blob at `target` exists, renews its upload time (it is uploaded again) and returns true.
    func renew(_ target: URL) -> Bool {
        files.withLock { _ in
            guard access(target.path, F_OK) == 0 else { return false }
            utimes(target.path, nil)
            return true
        }
    }
}

/// SHA-256 over bytes that arrive in pieces (swift-crypto's; `Hash.sha256` takes all bytes at once).
struct BlobHasher {
    private var state = SHA256()

    mutating func update(_ bytes: UnsafeRawBufferPointer) { state.update(bufferPointer: bytes) }

    func finalize() -> Hash { state.finalize().withUnsafeBytes { Hash(unsafeBytes: $0) } }
}
