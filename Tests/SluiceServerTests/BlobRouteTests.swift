import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceServer
import SluiceStorage
import Testing

// Job bundles and results through the node: stored by the SHA-256 of their bytes, refused when the bytes
// do not match the hash the uploader names, never served when damaged on disk.

/// A blob stored, read back byte for byte, and an unknown one not found: what `walkEveryRoute` exercises.
func walkBlobs(_ api: APIClient) async throws {
    let bytes = Array("a job bundle, or its result".utf8)
    let hash = Hash.sha256(bytes)
    let put = try await api.send(
        .post, "/v1/blobs?sha256=\(hash.hex)", body: bytes, contentType: "application/octet-stream")
    #expect(put.status == 201, "\(put.text)")
    #expect(try put.decode(BlobJSON.self) == BlobJSON(hash: hash, size: bytes.count))
    let got = try await api.get("/v1/blobs/\(hash.hex)")
    #expect(got.status == 200 && got.body == bytes && got.contentType == "application/octet-stream")
    let missing = try await api.get("/v1/blobs/\(Hash.sha256([1, 2, 3]).hex)")
    #expect(missing.status == 404 && (try? missing.decode(ErrorJSON.self))?.code == "not_found", "\(missing.text)")
}

@Suite struct BlobRouteTests {
    func error(_ reply: Reply) -> String? { (try? reply.decode(ErrorJSON.self))?.code }

    @Test func refusesBytesThatDoNotMatchTheirHash() async throws {
        try await withChain([]) { chain in
            try await Application(router: chain.server.router()).test(.router) { client in
                let api = APIClient(client: client)
                let bytes = Array("the real bundle".utf8)
                let claimed = Hash.sha256(Array("another bundle".utf8))
                let reply = try await api.send(
                    .post, "/v1/blobs?sha256=\(claimed.hex)", body: bytes, contentType: "application/octet-stream")
                #expect(reply.status == 400 && error(reply) == "hash_mismatch", "\(reply.text)")
                // Nothing was stored, under either name.
                #expect(try await api.get("/v1/blobs/\(claimed.hex)").status == 404)
                #expect(try await api.get("/v1/blobs/\(Hash.sha256(bytes).hex)").status == 404)
                #expect(chain.server.blobs?.usedBytes == 0)

                let bad = try await api.send(.post, "/v1/blobs?sha256=zz", body: bytes)
                #expect(bad.status == 400 && error(bad) == "bad_request")
                let badName = try await api.get("/v1/blobs/nothex")
                #expect(badName.status == 400 && error(badName) == "bad_request")
                // Without a claimed hash the bytes are stored under their own; twice is the same blob.
                let first = try await api.send(.post, "/v1/blobs", body: bytes)
                let second = try await api.send(.post, "/v1/blobs", body: bytes)
                #expect(first.status == 201 && second.status == 201)
                #expect(try first.decode(BlobJSON.self).hash == Hash.sha256(bytes))
                #expect(chain.server.blobs?.usedBytes == Int64(bytes.count))
            }
        }
    }

    @Test func limitsSizeAndSpace() async throws {
        var options = ChainOptions()
        options.blobLimits = BlobStore.Limits(blobBytes: 1000, totalBytes: 1500, unreferencedBytes: 1500)
        try await withChain([], options: options) { chain in
            try await Application(router: chain.server.router()).test(.router) { client in
                let api = APIClient(client: client)
                let big = try await api.send(.post, "/v1/blobs", body: [UInt8](repeating: 7, count: 1001))
                #expect(big.status == 413 && error(big) == "body_too_large", "\(big.text)")
                let a = try await api.send(.post, "/v1/blobs", body: [UInt8](repeating: 1, count: 1000))
                #expect(a.status == 201)
                let b = try await api.send(.post, "/v1/blobs", body: [UInt8](repeating: 2, count: 600))
                #expect(b.status == 507 && error(b) == "blobs_full", "\(b.text)")
                #expect(chain.server.blobs?.usedBytes == 1000)
            }
        }
    }

    @Test func neverServesADamagedBlobAndKeepsBlobsOverARestart() async throws {
        let dir = TempDir()
        defer { dir.remove() }
        let bytes = [UInt8](repeating: 9, count: 4096)
        let hash = Hash.sha256(bytes)
        do {
            let chain = try TestChain(funded: [], dir: dir)
            try await Application(router: chain.server.router()).test(.router) { client in
                let put = try await APIClient(client: client).send(.post, "/v1/blobs", body: bytes)
                #expect(put.status == 201)
            }
            chain.store.close()
        }
        let chain = try TestChain(reopening: dir)
        defer { chain.store.close() }
        let store = try #require(chain.server.blobs)
        #expect(store.usedBytes == 4096)
        try await Application(router: chain.server.router()).test(.router) { client in
            let api = APIClient(client: client)
            #expect(try await api.get("/v1/blobs/\(hash.hex)").body == bytes)
            // One flipped byte on disk: the node refuses to serve it rather than hand out other bytes.
            let file = try #require(
                FileManager.default.enumerator(at: dir.blobs, includingPropertiesForKeys: nil)?.allObjects
                    .compactMap { $0 as? URL }.first { $0.lastPathComponent.count == 64 })
            var damaged = bytes
            damaged[100] ^= 1
            try Data(damaged).write(to: file)
            let reply = try await api.get("/v1/blobs/\(hash.hex)")
            #expect(reply.status == 500 && error(reply) == "blob_damaged", "\(reply.text)")
        }
    }

    @Test func aNodeWithoutBlobsSaysSo() async throws {
        var options = ChainOptions()
        options.blobLimits = nil
        try await withChain([], options: options) { chain in
            try await Application(router: chain.server.router()).test(.router) { client in
                let reply = try await APIClient(client: client).send(.post, "/v1/blobs", body: [1])
                #expect(reply.status == 503 && error(reply) == "no_blobs")
            }
        }
    }
}
