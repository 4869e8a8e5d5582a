import Foundation
import HummingbirdTesting
import SluiceAPI
import SluiceCore
import SluiceNode
import Testing

@testable import SluiceServer

// A WebSocket subscriber that never reads is closed once its unsent events pass the budget, with a close
// frame saying why, while a subscriber that reads goes on receiving every block.

/// The upgrade request of a WebSocket client, by hand.
private let upgradeRequest =
    "GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

/// The code of the first close frame among the server's (unmasked) frames after the 101 head, if any.
func closeCode(inWebSocketStream bytes: [UInt8]) -> UInt16? {
    guard
        let end = bytes.indices.dropLast(3).first(where: { i in
            bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10
        })
    else { return nil }
    var i = end + 4
    while i + 2 <= bytes.count {
        let opcode = bytes[i] & 0x0F
        var length = Int(bytes[i + 1] & 0x7F)
        var header = 2
        if length == 126 {
            guard i + 4 <= bytes.count else { return nil }
            length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            header = 4
        } else if length == 127 {
            guard i + 10 <= bytes.count else { return nil }
            length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[i + 2 + $1]) }
            header = 10
        }
        guard i + header + length <= bytes.count else { return nil }
        if opcode == 0x8 {
            guard length >= 2 else { return 1005 }
            return UInt16(bytes[i + header]) << 8 | UInt16(bytes[i + header + 1])
        }
        i += header + length
    }
    return nil
}

@Suite("WebSocket slow subscribers")
struct SlowSubscriberTests {
    @Test func aSubscriberThatNeverReadsIsClosedWhileAReaderKeepsReceiving() async throws {
        let senders = (0..<50).map { _ in TestSender() }
        var options = ChainOptions()
        options.events = APIServer.EventLimits(
            perSubscriberBytes: 4 << 20, totalBytes: 256 << 20, closeGrace: .seconds(120))
        options.mempool = Mempool.Configuration(chainId: testChain, perSenderLimit: 10_000)
        try await withChain(senders, options: options) { chain in
            chain.node.start()
            try await withLiveServer(chain) { api in
                let port = try #require(api.client.port)
                let budget = chain.server.events
                // Never reads, and keeps little in the kernel: what it is sent piles up in the node.
                let slow = try RawConnection(port: port, receiveBuffer: 4096)
                try await slow.send(upgradeRequest)
                let log = MessageLog()
                try await withEvents(api.client, "/v1/events", log) {
                    #expect(try await eventually { budget.subscriberCount == 2 }, "both streams subscribed")
                    // Blocks of 2,000 transfers (events of several hundred kB; the budget holds several) until the slow
                    // one is dropped.
                    var sequence: UInt64 = 0
                    for _ in 0..<150 where budget.droppedCount == 0 {
                        // 40 per sender: within the mempool's sequence window.
                        let batch = senders.flatMap { s in (0..<40).map { s.tx(sequence + UInt64($0)) } }
                        sequence += 40
                        let reply = try await api.submitBatch(batch)
                        let results = try reply.decode(BatchResultJSON.self).results
                        #expect(results.allSatisfy { $0.accepted }, "\(reply.text.prefix(300))")
                        _ = try await api.waitCommitted(batch[batch.count - 1].hash)
                    }
                    #expect(budget.droppedCount == 1, "the subscriber that never reads was not dropped")
                    // The reader is not dropped and goes on receiving.
                    let tx = senders[0].tx(sequence)
                    try await api.submitAccepted(tx)
                    _ = try await api.waitCommitted(tx.hash)
                    let delivered = try await eventually {
                        log.events().contains { $0.receipts.contains { $0.transactionHash == tx.hash } }
                    }
                    #expect(delivered, "the reader stopped receiving once the slow subscriber was dropped")
                    #expect(budget.droppedCount == 1 && budget.subscriberCount >= 1)
                }
                let heights = log.events().map(\.height)
                #expect(!heights.isEmpty && heights == Array(heights[0]...heights[heights.count - 1]), "a gap")

                // The slow one, reading at last, finds what it was sent, then a close frame saying why.
                // (It ends at the close frame; the long limit is for a loaded machine: the whole suite on two cores.)
                let stream = try await slow.read(max: 256 << 20, timeout: .seconds(240)) {
                    closeCode(inWebSocketStream: $0) != nil
                }
                #expect(httpStatus(stream.bytes) == 101)
                #expect(closeCode(inWebSocketStream: stream.bytes) == 1008, "no close frame with 1008")
                #expect(try await eventually { budget.queuedBytes == 0 || budget.subscriberCount == 0 })
            }
        }
    }
}
