import Foundation
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceServer
import Testing

// HTTP connections cannot hold the node: an idle socket, a head that never ends, a kept-alive connection
// left idle, oversized headers and a refused request all end with the server closing the connection.
// Real sockets on 127.0.0.1 with short limits; the tests wait for the close (generously), never time it.

/// Limits short enough that a test waits a moment for each close.
private var shortLimits: ChainOptions {
    var options = ChainOptions()
    options.connections = APIServer.Connections(
        idleTimeout: .milliseconds(300), headerTimeout: .milliseconds(300), uploadTimeout: .seconds(2),
        maxHeaderFieldBytes: 2048, maxHeaderBytes: 4096, maxHeaderCount: 50, lingerAfterRefusal: .milliseconds(200))
    options.blobLimits = BlobStore.Limits(blobBytes: 1 << 20, totalBytes: 8 << 20)
    return options
}

@Suite("HTTP connection guards")
struct ConnectionGuardTests {
    @Test func anIdleConnectionIsClosed() async throws {
        try await withChain([], options: shortLimits) { chain in
            try await withLiveServer(chain) { api in
                let port = try #require(api.client.port)
                // Nothing sent at all.
                let silent = try RawConnection(port: port)
                let nothing = try await silent.read(timeout: .seconds(20))
                #expect(nothing.closed && nothing.bytes.isEmpty, "an idle socket was not closed")

                // A request answered, then the kept-alive connection left idle.
                let kept = try RawConnection(port: port)
                try await kept.send("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                let reply = try await kept.read(timeout: .seconds(20), until: hasWholeResponse)
                #expect(httpStatus(reply.bytes) == 200)
                let after = try await kept.read(timeout: .seconds(20))
                #expect(after.closed, "a kept-alive idle connection was not closed")
            }
        }
    }

    @Test func aHeadThatNeverEndsIsCut() async throws {
        try await withChain([], options: shortLimits) { chain in
            try await withLiveServer(chain) { api in
                let port = try #require(api.client.port)
                let slow = try RawConnection(port: port)
                try await slow.send("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                // One short header at a time, each well within the idle time, never the blank line.
                var closed = false
                for i in 0..<400 {
                    guard try await slow.send("X-Slow-\(i): 1\r\n") else {
                        closed = true
                        break
                    }
                    let seen = try await slow.read(timeout: .milliseconds(50))
                    if seen.closed {
                        closed = true
                        break
                    }
                }
                #expect(closed, "a head sent a header at a time held the connection")
            }
        }
    }

    @Test func oversizedHeadersAreRefusedAndTheConnectionClosed() async throws {
        try await withChain([], options: shortLimits) { chain in
            try await withLiveServer(chain) { api in
                let port = try #require(api.client.port)
                let client = try RawConnection(port: port)
                let filler = String(repeating: "x", count: 1500)
                var head = "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                for i in 0..<4 { head += "X-Filler-\(i): \(filler)\r\n" }
                try await client.send(head + "\r\n")
                let reply = try await client.read(timeout: .seconds(20))
                #expect(httpStatus(reply.bytes) == 431, "\(String(decoding: reply.bytes, as: UTF8.self))")
                #expect(httpBody(reply.bytes).contains("headers_too_large"))
                #expect(reply.closed, "the connection stayed open after oversized headers")

                // Within the limits the same request is answered.
                let fine = try RawConnection(port: port)
                try await fine.send("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: \(filler)\r\n\r\n")
                let ok = try await fine.read(timeout: .seconds(20), until: hasWholeResponse)
                #expect(httpStatus(ok.bytes) == 200)
            }
        }
    }

    @Test func aRefusedRequestClosesTheConnection() async throws {
        try await withChain([], options: shortLimits) { chain in
            try await withLiveServer(chain) { api in
                let port = try #require(api.client.port)
                // Over the blob limit by its Content-Length: refused before the body, which is never read.
                let client = try RawConnection(port: port)
                try await client.send(
                    "POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(2 << 20)\r\n\r\n")
                try await client.send([UInt8](repeating: 1, count: 4096))
                let reply = try await client.read(timeout: .seconds(20))
                #expect(httpStatus(reply.bytes) == 413, "\(String(decoding: reply.bytes.prefix(300), as: UTF8.self))")
                #expect(httpBody(reply.bytes).contains("body_too_large"))
                #expect(reply.closed, "the connection stayed open after a refused upload")
                #expect(chain.server.blobs?.usedBytes == 0)
            }
        }
    }

    @Test func anUploadThatTricklesIsCut() async throws {
        try await withChain([], options: shortLimits) { chain in
            try await withLiveServer(chain) { api in
                let port = try #require(api.client.port)
                let client = try RawConnection(port: port)
                try await client.send("POST /v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n")
                // A byte at a time, each within the idle time: only the upload's deadline ends it.
                var answered: [UInt8] = []
                var closed = false
                for _ in 0..<2000 {
                    guard try await client.send([7]) else {
                        closed = true
                        break
                    }
                    let seen = try await client.read(timeout: .milliseconds(20))
                    answered += seen.bytes
                    if seen.closed {
                        closed = true
                        break
                    }
                }
                #expect(closed, "a trickled upload held its slot")
                if !answered.isEmpty { #expect(httpStatus(answered) == 408) }
                #expect(chain.server.blobs?.usedBytes == 0)
            }
        }
    }
}
