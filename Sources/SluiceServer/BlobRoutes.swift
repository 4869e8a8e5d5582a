import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceAPI
import SluiceCore

// `POST /v1/blobs` and `GET /v1/blobs/{hash}`: job bundles and results, addressed by their SHA-256.

extension HTTPField.Name {
    /// The SHA-256 of a blob: the uploader's claim on `POST` (refused when the bytes differ), the name on `GET`.
    static let sluiceSHA256 = HTTPField.Name("X-Sluice-Sha256")!
}

extension APIServer {
    func addBlobRoutes(to router: Router<APIRequestContext>) {
        let api = self
        router.post("/v1/blobs") { request, _ in try await api.putBlob(request) }
        router.get("/v1/blobs/:hash") { _, context in try api.getBlob(context) }
    }

    private func blobStore() throws -> BlobStore {
        guard let blobs else {
            throw APIError(.serviceUnavailable, code: "no_blobs", "this node keeps no blobs: run it with a data dir")
        }
        return blobs
    }

    func putBlob(_ request: Request) async throws -> Response {
        let store = try blobStore()
        var expected: Hash? = nil
        let claimed: String? =
            request.headers[.sluiceSHA256] ?? request.uri.queryParameters.get("sha256").map { "\($0)" }
        if let text = claimed {
            do { expected = try Hash(hex: text) } catch {
                throw APIError.badRequest("the expected SHA-256 '\(text)' is not 0x followed by 64 hex digits")
            }
        }
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: store.limits.blobBytes) } catch is NIOTooManyBytesError {
            throw APIError(
                .contentTooLarge, code: "body_too_large", "a blob may be at most \(store.limits.blobBytes) bytes")
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw APIError(
                .contentTooLarge, code: "body_too_large", "a blob may be at most \(store.limits.blobBytes) bytes")
        }
        let bytes = Array(buffer.readableBytesView)
        do {
            let hash = try store.put(bytes, expected: expected)
            return jsonResponse(BlobJSON(hash: hash, size: bytes.count), status: .created)
        } catch {
            switch error {
            case .hashMismatch(let expected, let actual):
                throw APIError(
                    .badRequest, code: "hash_mismatch",
                    "the bytes hash to \(actual.hex), not \(expected.hex): the upload was damaged or is not that blob")
            case .tooLarge(let size, let limit):
                throw APIError(.contentTooLarge, code: "body_too_large", "the blob is \(size) bytes; at most \(limit)")
            case .full(let limit):
                throw APIError(
                    HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), code: "blobs_full",
                    "the node's blob space (\(limit) bytes) is full")
            case .io(let why):
                throw APIError(.internalServerError, code: "internal", why)
            }
        }
    }

    func getBlob(_ context: APIRequestContext) throws -> Response {
        let store = try blobStore()
        let text = context.parameters.get("hash") ?? ""
        let hash: Hash
        do { hash = try Hash(hex: text) } catch {
            throw APIError.badRequest("'\(text)' is not a blob hash: use 0x followed by 64 hex digits")
        }
        let bytes: [UInt8]?
        do { bytes = try store.get(hash) } catch {
            throw APIError(.internalServerError, code: "blob_damaged", "the stored blob \(hash.hex) is damaged")
        }
        guard let bytes else { throw APIError.notFound("no blob \(hash.hex) on this node") }
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", .sluiceSHA256: hash.hex],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
