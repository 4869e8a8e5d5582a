import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import Prometheus
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceStorage

// `POST /v1/blobs` and `GET /v1/blobs/{hash}`: job bundles and results, addressed by their SHA-256.
// Both directions stream: an upload goes to disk chunk by chunk (`BlobUpload`), a download is read from
// disk chunk by chunk, so neither costs memory in proportion to the blob. Uploads are admitted by
// `UploadGate` (how many at once, how many bytes between them) before their body is read.

extension HTTPField.Name {
    /// The SHA-256 of a blob: the uploader's claim on `POST` (refused when the bytes differ), the name on `GET`.
    static let sluiceSHA256 = HTTPField.Name("X-Sluice-Sha256")!
    /// The job under way an upload belongs to (a provider's result or logs): admitted against the whole
    /// blob space instead of the part for blobs no job names.
    static let sluiceJob = HTTPField.Name("X-Sluice-Job")!
}

extension APIServer {
    /// The chunk a download is read from disk in.
    static let blobReadChunk = 1 << 20

    func addBlobRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.post("/v1/blobs") { request, _ in try await api.putBlob(request) }
        router.get("/v1/blobs/:hash") { _, context in try await api.getBlob(context) }
    }

    private func blobStore() throws -> BlobStore {
        guard let blobs else {
            throw APIError(.serviceUnavailable, code: "no_blobs", "this node keeps no blobs: run it with a data dir")
        }
        return blobs
    }

    func putBlob(_ request: Request) async throws -> Response {
        let store = try blobStore()
        let query = request.uri.queryParameters
        var expected: Hash? = nil
        if let text = request.headers[.sluiceSHA256] ?? query.get("sha256").map({ "\($0)" }) {
            do { expected = try Hash(hex: text) } catch {
                throw APIError.badRequest("the expected SHA-256 '\(text)' is not 0x followed by 64 hex digits")
            }
        }
        let pool = try uploadPool(request.headers[.sluiceJob] ?? query.get("job").map { "\($0)" })
        let limit = store.limits.blobBytes
        var declared: Int64? = nil
        if let text = request.headers[.contentLength] {
            guard let n = Int64(text), n >= 0 else {
                throw APIError.badRequest("Content-Length '\(text)' is not a size")
            }
            guard n <= limit else {
                throw APIError(.contentTooLarge, code: "body_too_large", "a blob may be at most \(limit) bytes")
            }
            declared = n
        }
        let counted = declared ?? Int64(limit)
        do { try uploads.enter(bytes: counted) } catch {
            metrics.uploadsRefused.increment()
            let why =
                switch error {
                case .tooMany(let n): "\(n) uploads are already under way"
                case .tooManyBytes(let n): "the uploads under way already hold \(n) bytes"
                }
            throw APIError(
                .serviceUnavailable, code: "uploads_busy",
                "\(why): retry after a second, or send a Content-Length so a small blob is counted at its size",
                headers: [.retryAfter: "1"])
        }
        defer { uploads.leave(bytes: counted) }

        let upload: BlobUpload
        do { upload = try BlobUpload(store: store) } catch { throw Self.apiError(error) }
        defer { upload.discard() }
        let body = request.body
        do {
            try await withDeadline(connections.uploadTimeout) {
                for try await chunk in body {
                    try chunk.withUnsafeReadableBytes { try upload.append($0) }
                }
            }
        } catch let failure as BlobStore.Failure {
            throw Self.apiError(failure)
        } catch is DeadlinePassed {
            throw APIError(
                .requestTimeout, code: "timeout",
                "the blob did not arrive within \(connections.uploadTimeout): send it faster, or a smaller one")
        }
        let size = upload.size
        let claimed = expected
        do {
            // Syncing up to a blob's worth of bytes blocks: not on the tasks' threads.
            let stored = try await NIOThreadPool.singleton.runIfActive {
                try upload.finish(expected: claimed, pool: pool)
            }
            return jsonResponse(BlobJSON(hash: stored.hash, size: size), status: .created)
        } catch let failure as BlobStore.Failure {
            throw Self.apiError(failure)
        }
    }

    /// Which part of the space an upload is counted against: the whole of it for a blob of a job under way
    /// (`X-Sluice-Job` or `?job=`), else the part for blobs no job names.
    private func uploadPool(_ jobText: String?) throws -> BlobStore.Pool {
        guard let jobText else { return .unreferenced }
        let id: Hash
        do { id = try Hash(hex: jobText) } catch {
            throw APIError.badRequest("job '\(jobText)' is not a job id: use 0x followed by 64 hex digits")
        }
        guard case .job(let job)? = try state(.job(id)) else {
            throw APIError.notFound("no job \(id.hex): upload without X-Sluice-Job, or name a job on chain")
        }
        switch job.status {
        case .matched, .committed, .disputed: return .job
        default:
            throw APIError(
                .conflict, code: "job_not_running",
                "job \(id.hex) is \(job.status.name): only results of a job under way use the job's space")
        }
    }

    static func apiError(_ failure: BlobStore.Failure) -> APIError {
        switch failure {
        case .hashMismatch(let expected, let actual):
            APIError(
                .badRequest, code: "hash_mismatch",
                "the bytes hash to \(actual.hex), not \(expected.hex): the upload was damaged or is not that blob")
        case .tooLarge(let size, let limit):
            APIError(.contentTooLarge, code: "body_too_large", "the blob is over \(limit) bytes (\(size) sent)")
        case .full(let limit):
            APIError(
                HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), code: "blobs_full",
                "the node's blob space (\(limit) bytes for blobs no job names yet) is full: retry later")
        case .io(let why):
            APIError(.internalServerError, code: "internal", why)
        }
    }

    func getBlob(_ context: APIRequestContext) async throws -> Response {
        let store = try blobStore()
        let text = context.parameters.get("hash") ?? ""
        let hash: Hash
        do { hash = try Hash(hex: text) } catch {
            throw APIError.badRequest("'\(text)' is not a blob hash: use 0x followed by 64 hex digits")
        }
        let path = store.path(hash).path
        // The file is hashed before anything is sent (a damaged one is reported, never served), then sent
        // chunk by chunk; both read from disk a chunk at a time.
        let size: Int?
        do {
            size = try await NIOThreadPool.singleton.runIfActive { try BlobFile.verify(path, hash: hash) }
        } catch {
            throw APIError(.internalServerError, code: "blob_damaged", "the stored blob \(hash.hex) is damaged")
        }
        guard let size else { throw APIError.notFound("no blob \(hash.hex) on this node") }
        let body = ResponseBody(contentLength: size) { writer in
            let file = try BlobFile(path)
            var sent = 0
            while sent < size {
                let chunk = try file.read(at: sent, upTo: min(Self.blobReadChunk, size - sent))
                guard chunk.readableBytes > 0 else { throw BlobStore.Failure.io("\(path) shrank while being sent") }
                try await writer.write(chunk)
                sent += chunk.readableBytes
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream", .sluiceSHA256: hash.hex], body: body)
    }
}

/// A stored blob open for reading.
final class BlobFile: Sendable {
    let fd: Int32

    init(_ path: String) throws(BlobStore.Failure) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw posixError("open", URL(fileURLWithPath: path)) }
    }

    deinit { close(fd) }

    func read(at offset: Int, upTo count: Int) throws(BlobStore.Failure) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { raw in
            max(0, pread(fd, raw.baseAddress!, count, off_t(offset)))
        }
        _ = n
        return buffer
    }

    /// The blob's size when its bytes hash to `hash`, nil when there is no such file; throws when it is damaged.
    static func verify(_ path: String, hash: Hash) throws -> Int? {
        guard access(path, F_OK) == 0 else { return nil }
        let file = try BlobFile(path)
        var hasher = BlobHasher()
        var offset = 0
        while true {
            let chunk = try file.read(at: offset, upTo: APIServer.blobReadChunk)
            if chunk.readableBytes == 0 { break }
            chunk.withUnsafeReadableBytes { hasher.update($0) }
            offset += chunk.readableBytes
        }
        let actual = hasher.finalize()
        guard actual == hash else { throw BlobStore.Failure.hashMismatch(expected: hash, actual: actual) }
        return offset
    }
}

/// Thrown by `withDeadline` when the time ran out.
struct DeadlinePassed: Error {}

/// Runs `body`, cancelling it and throwing `DeadlinePassed` when it has not finished within `limit`.
func withDeadline(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return false
        }
        let finished = try await group.next() ?? false
        group.cancelAll()
        if !finished { throw DeadlinePassed() }
    }
}
