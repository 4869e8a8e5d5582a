import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
public import SluiceAPI
public import SluiceCore

// Job bundles and results: `POST /v1/blobs`, `GET /v1/blobs/{hash}`. The client checks the hash on both
// ends: it tells the node what the bytes must hash to, and it refuses downloaded bytes that hash to
// anything but the name it asked for, so neither side trusts the other by name.

extension SluiceClient {
    /// The largest blob the client downloads.
    public static let maxBlobBytes = 256 << 20
    /// How many times an upload is sent again while the node is busy with others.
    static let busyRetries = 10

    /// Uploads `bytes`; the node refuses them unless they hash to `Hash.sha256(bytes)`. A provider names
    /// the `job` under way the blob is a result or logs of: the node then counts it against its whole blob
    /// space, not the part anonymous uploads may fill. A node busy with other uploads (503 `uploads_busy`)
    /// is asked again, up to `busyRetries` times, a second apart.
    @discardableResult
    public func putBlob(_ bytes: [UInt8], job: Hash? = nil) async throws(ClientError) -> Hash {
        let hash = Hash.sha256(bytes)
        let path = "/v1/blobs"
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "X-Sluice-Sha256", value: hash.hex)
        if let job { request.headers.add(name: "X-Sluice-Job", value: job.hex) }
        // A ByteBuffer body goes with its Content-Length: the node counts the upload at its size.
        request.body = .bytes(ByteBuffer(bytes: bytes))
        var (status, data) = try await execute(request, path: path)
        for _ in 0..<Self.busyRetries where status == 503 && data.range(of: Data(#""uploads_busy""#.utf8)) != nil {
            try? await Task.sleep(for: .seconds(1))
            (status, data) = try await execute(request, path: path)
        }
        let stored = try decode(BlobJSON.self, status: status, body: data, path: path)
        guard stored.hash == hash else {
            throw ClientError(
                "the node stored the blob as \(stored.hash.hex), not \(hash.hex): it is not to be trusted")
        }
        return hash
    }

    /// Downloads a blob and checks its bytes against `hash`; nil when the node has none.
    public func blob(_ hash: Hash) async throws(ClientError) -> [UInt8]? {
        let path = "/v1/blobs/\(hash.hex)"
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        let (status, data) = try await execute(request, path: path, limit: Self.maxBlobBytes)
        if status == 404 { return nil }
        guard (200..<300).contains(status) else {
            _ = try decode(BlobJSON.self, status: status, body: data, path: path)
            throw ClientError("GET \(path): HTTP \(status)", status: status)
        }
        let bytes = [UInt8](data)
        let actual = Hash.sha256(bytes)
        guard actual == hash else {
            throw ClientError(
                "the blob the node sent for \(hash.hex) hashes to \(actual.hex): refused (damaged or substituted)")
        }
        return bytes
    }
}

extension SluiceClient {
    /// `GET /v1/market/params`: the market's parameters and the total burned.
    public func marketParams() async throws(ClientError) -> MarketParamsJSON {
        try await get("/v1/market/params", as: MarketParamsJSON.self)
    }

    /// `GET /v1/market/providers/{address}/jobs`: the jobs under way a provider is assigned to.
    public func providerJobs(_ address: Address) async throws(ClientError) -> JobListJSON {
        try await get("/v1/market/providers/\(address.hex)/jobs", as: JobListJSON.self)
    }
}
