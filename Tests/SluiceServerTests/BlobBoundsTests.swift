import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceState
import Testing

@testable import SluiceServer

// Blob uploads cannot starve the node: they stream to disk within a bound on how many run at once and on
// the bytes they declare, a refused or damaged upload leaves nothing behind, and blobs no job needs
// expire so anonymous uploads cannot keep the space that providers' results need.

/// Files under the node's blob folder (blobs and temporary files alike).
private func filesIn(_ folder: URL) -> [String] {
    (FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])?.allObjects ?? [])
        .compactMap { $0 as? URL }
        .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
        .map(\.lastPathComponent)
}

private func uploadHead(_ length: Int, sha256: Hash? = nil) -> String {
    var head = "POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(length)\r\n"
    if let sha256 { head += "X-Sluice-Sha256: \(sha256.hex)\r\n" }
    return head + "\r\n"
}

@Suite("Blob upload bounds")
struct BlobBoundsTests {
    @Test func uploadsOverTheConcurrencyOrByteBoundAreRefused() async throws {
        var options = ChainOptions()
        options.blobLimits = BlobStore.Limits(blobBytes: 4 << 20, totalBytes: 64 << 20)
        options.limits = APIServer.Limits(concurrentUploads: 2, uploadBytesInFlight: 1 << 20)
        try await withChain([], options: options) { chain in
            try await withLiveServer(chain) { api in
                let port = try #require(api.client.port)
                let gate = chain.server.uploads
                let big = [UInt8](repeating: 3, count: 600_000)

                // A declares 600 kB and sends half: it holds a slot and 600 kB of the bound.
                let a = try RawConnection(port: port)
                try await a.send(uploadHead(big.count, sha256: Hash.sha256(big)))
                try await a.send(Array(big[0..<300_000]))
                #expect(try await eventually { gate.current.uploads == 1 })

                // B declares as much again: over the bytes in flight, refused before its body, and closed.
                let b = try RawConnection(port: port)
                try await b.send(uploadHead(big.count))
                let refused = try await b.read(timeout: .seconds(20))
                #expect(httpStatus(refused.bytes) == 503)
                #expect(httpBody(refused.bytes).contains("uploads_busy"))
                #expect(String(decoding: refused.bytes, as: UTF8.self).lowercased().contains("retry-after: 1"))
                #expect(refused.closed)

                // C declares 100 bytes and holds them: the second slot.
                let c = try RawConnection(port: port)
                try await c.send(uploadHead(100))
                #expect(try await eventually { gate.current.uploads == 2 })
                // D: both slots are taken.
                let d = try RawConnection(port: port)
                try await d.send(uploadHead(10))
                let busy = try await d.read(timeout: .seconds(20))
                #expect(httpStatus(busy.bytes) == 503 && httpBody(busy.bytes).contains("already under way"))

                // A finishes: stored whole, under its hash; its slot and bytes are free again.
                try await a.send(Array(big[300_000...]))
                let stored = try await a.read(timeout: .seconds(20), until: hasWholeResponse)
                #expect(httpStatus(stored.bytes) == 201, "\(httpBody(stored.bytes))")
                #expect(try await api.get("/v1/blobs/\(Hash.sha256(big).hex)").body == big)
                try await c.send([UInt8](repeating: 5, count: 100))
                let small = try await c.read(timeout: .seconds(20), until: hasWholeResponse)
                #expect(httpStatus(small.bytes) == 201)
                #expect(try await eventually { gate.current.uploads == 0 && gate.current.bytes == 0 })
            }
        }
    }

    @Test func aStreamedUploadThatFailsLeavesNothingBehind() async throws {
        var options = ChainOptions()
        options.blobLimits = BlobStore.Limits(blobBytes: 2 << 20, totalBytes: 64 << 20)
        try await withChain([], options: options) { chain in
            try await withLiveServer(chain) { api in
                let port = try #require(api.client.port)
                let folder = chain.dir.blobs
                // 1.5 MB in pieces, claimed to be other bytes: refused once the last piece is in.
                let bytes = (0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
                let client = try RawConnection(port: port)
                try await client.send(uploadHead(bytes.count, sha256: Hash.sha256(Array("another blob".utf8))))
                for start in stride(from: 0, to: bytes.count, by: 100_000) {
                    try await client.send(Array(bytes[start..<min(start + 100_000, bytes.count)]))
                }
                let reply = try await client.read(timeout: .seconds(20), until: hasWholeResponse)
                #expect(httpStatus(reply.bytes) == 400 && httpBody(reply.bytes).contains("hash_mismatch"))
                #expect(filesIn(folder).isEmpty, "left behind: \(filesIn(folder))")
                #expect(chain.server.blobs?.usedBytes == 0)

                // Chunked, without a Content-Length, past the blob limit: cut while streaming.
                let chunked = try RawConnection(port: port)
                try await chunked.send(
                    "POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                var over: (bytes: [UInt8], closed: Bool) = ([], false)
                for _ in 0..<40 {
                    let piece = [UInt8](repeating: 9, count: 128 * 1024)
                    let sent = try await chunked.send(Array("20000\r\n".utf8) + piece + Array("\r\n".utf8))
                    over = try await chunked.read(timeout: .milliseconds(20), until: hasWholeResponse)
                    if !sent || !over.bytes.isEmpty || over.closed { break }
                }
                if over.bytes.isEmpty { over = try await chunked.read(timeout: .seconds(20), until: hasWholeResponse) }
                #expect(httpStatus(over.bytes) == 413, "\(String(decoding: over.bytes.prefix(200), as: UTF8.self))")
                #expect(try await eventually { filesIn(folder).isEmpty }, "left behind: \(filesIn(folder))")
                #expect(chain.server.blobs?.usedBytes == 0)
            }
        }
    }

    /// Anonymous uploads fill only their part of the space; a job under way's upload is not counted
    /// against it; and a blob no job names expires while the bundle of a job on chain stays.
    @Test func anUnreferencedBlobExpiresWhileAReferencedOneStays() async throws {
        let consumer = TestSender()
        var options = ChainOptions()
        options.blobLimits = BlobStore.Limits(
            blobBytes: 1000, totalBytes: 10_000, unreferencedBytes: 2500, unreferencedSeconds: 3600,
            retentionSeconds: 600)
        try await withChain([consumer], options: options) { chain in
            try await Application(router: chain.server.router()).test(.router) { client in
                let api = APIClient(client: client)
                let bundle = [UInt8](repeating: 1, count: 1000)
                let stray = [UInt8](repeating: 2, count: 1000)
                for bytes in [bundle, stray] {
                    #expect(try await api.send(.post, "/v1/blobs", body: bytes).status == 201)
                }
                // The part for blobs no job names (2500) has room for no third one.
                let third = try await api.send(.post, "/v1/blobs", body: [UInt8](repeating: 3, count: 1000))
                #expect(third.status == 507 && (try? third.decode(ErrorJSON.self))?.code == "blobs_full")

                let spec = JobSpec(
                    runner: .process, bundleHash: Hash.sha256(bundle), bundleURI: "", inputsHash: .zero, gpuCount: 1,
                    minVramGB: 0, model: "", maxDurationSeconds: 3600, maxPricePerGPUHour: Amount(5), redundancy: 1,
                    verification: 0)
                let submit = consumer.market(0, .jobSubmit(spec))
                try await api.submitAccepted(submit)
                chain.node.start()
                let committed = try await api.waitCommitted(submit.hash)
                #expect(committed.receipt?.status == .success, "\(committed)")
                let job = JobRecord.id(consumer: consumer.address, sequence: 0)

                // A job that is only open has no space of its own yet.
                let early = try await api.send(.post, "/v1/blobs?job=\(job.hex)", body: [4])
                #expect(early.status == 409 && (try? early.decode(ErrorJSON.self))?.code == "job_not_running")

                // Within the hour nothing goes; past it, the stray blob goes and the job's bundle stays.
                let now = Date()
                let first = try #require(try chain.server.sweepBlobs(now: now))
                #expect(first.removed == 0 && first.referenced == 1 && first.unreferenced == 1)
                let later = try #require(try chain.server.sweepBlobs(now: now.addingTimeInterval(7200)))
                #expect(later.removed == 1 && later.referenced == 1)
                #expect(try await api.get("/v1/blobs/\(Hash.sha256(bundle).hex)").body == bundle)
                #expect(try await api.get("/v1/blobs/\(Hash.sha256(stray).hex)").status == 404)
                #expect(chain.server.blobs?.usedBytes == 1000 && chain.server.blobs?.unreferencedBytes == 0)
                // The space it held is free for the next anonymous upload.
                #expect(try await api.send(.post, "/v1/blobs", body: [UInt8](repeating: 3, count: 1000)).status == 201)
            }
        }
    }

    @Test func aSettledJobsBlobsAreKeptForTheRetentionPeriodOnly() {
        var job = JobRecord(
            id: Hash.sha256([1]), consumer: Address(Hash.sha256([2])),
            spec: JobSpec(
                runner: .process, bundleHash: Hash.sha256([3]), bundleURI: "", inputsHash: .zero, gpuCount: 1,
                minVramGB: 0, model: "", maxDurationSeconds: 3600, maxPricePerGPUHour: Amount(5), redundancy: 1,
                verification: 0),
            escrow: Amount(5))
        job.assigned = [
            JobRecord.Assignment(
                provider: Address(Hash.sha256([4])), pricePerGPUHour: Amount(5), result: Hash.sha256([5]),
                logs: Hash.sha256([6]))
        ]
        job.result = Hash.sha256([5])
        #expect(Set(job.blobs) == [Hash.sha256([3]), Hash.sha256([5]), Hash.sha256([6])])
        for status in [JobRecord.Status.open, .matched, .committed, .disputed] {
            job.status = status
            #expect(job.keepsBlobs(now: 1_000_000, retention: 600))
        }
        job.status = .settled
        job.settledTimestamp = 1000
        #expect(job.keepsBlobs(now: 1599, retention: 600))
        #expect(!job.keepsBlobs(now: 1600, retention: 600))
        job.status = .cancelled
        #expect(!job.keepsBlobs(now: 0, retention: 600))
    }
}
