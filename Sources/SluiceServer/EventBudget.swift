import Foundation
import NIOCore
import NIOWebSocket
import SluiceAPI
import SluiceNode
import SluiceStorage
import Synchronization

// A fixed memory budget for `/v1/events` (docs/THREAT_MODEL.md, "Event subscribers").
//
// A subscriber that never reads cannot slow the others down (each has its own queue and writer), but
// everything sent to it stays in memory: the node's per-subscriber stream, the encoded events waiting for
// the socket, and what NIO holds once the socket's buffer is full. So each stream takes committed blocks
// off the node at once, encodes them (one shared buffer per block for unfiltered streams, however many
// subscribers), and queues the bytes for its writer, counted here from the moment they are queued until
// the write returns (NIO's writer suspends once its channel is over its high water mark, so what is
// counted is what is held, within one event and the water mark). A subscriber whose unsent events would
// pass `perSubscriberBytes` is closed with 1008 (policy violation); when all subscribers together would
// pass `totalBytes`, a subscriber that still has anything unsent is closed with 1013 (try again later).
// A subscriber with nothing unsent always gets the next event, however large, so a reader that keeps up
// is never closed. A closed subscriber reconnects with `?from=` the height after the last it saw.

extension APIServer {
    /// The memory event subscribers may hold in events not yet written to their sockets.
    public struct EventLimits: Sendable {
        public var perSubscriberBytes: Int
        public var totalBytes: Int
        /// How long a closed subscriber has to read its close frame before its socket is closed.
        public var closeGrace: Duration

        public init(perSubscriberBytes: Int = 8 << 20, totalBytes: Int = 64 << 20, closeGrace: Duration = .seconds(2)) {
            self.perSubscriberBytes = perSubscriberBytes
            self.totalBytes = totalBytes
            self.closeGrace = closeGrace
        }
    }
}

/// The bytes of events queued and not yet written, per subscriber and in all.
final class EventBudget: Sendable {
    struct State {
        var queued = 0
        var subscribers = 0
        var dropped = 0
    }

    enum Verdict: Equatable {
        case queued
        case overSubscriber
        case overTotal
    }

    let limits: APIServer.EventLimits
    private let state = Mutex(State())

    init(limits: APIServer.EventLimits) { self.limits = limits }

    /// Counts `bytes` of one event in for a subscriber that has `backlog` bytes unsent, or says why not.
    func enqueue(_ bytes: Int, backlog: Int) -> Verdict {
        state.withLock { s in
            if backlog > 0 {
                if backlog + bytes > limits.perSubscriberBytes { return .overSubscriber }
                if s.queued + bytes > limits.totalBytes { return .overTotal }
            }
            s.queued += bytes
            return .queued
        }
    }

    /// `bytes` were written (or dropped with their subscriber).
    func release(_ bytes: Int) { state.withLock { $0.queued -= bytes } }

    func subscribed() { state.withLock { $0.subscribers += 1 } }
    func unsubscribed() { state.withLock { $0.subscribers -= 1 } }
    func droppedOne() { state.withLock { $0.dropped += 1 } }

    var queuedBytes: Int { state.withLock { $0.queued } }
    var subscriberCount: Int { state.withLock { $0.subscribers } }
    var droppedCount: Int { state.withLock { $0.dropped } }
}

/// The unfiltered event of each recent block, encoded once for every subscriber.
final class SharedEventEncodings: Sendable {
    private let recent = Mutex<[(height: UInt64, bytes: ByteBuffer)]>([])
    private static let kept = 16

    /// The block's unfiltered event as JSON bytes. Encoded under the lock: the subscribers that ask for
    /// the same new block at once wait for one encoding instead of each making its own.
    func event(_ block: CommittedBlock) throws -> ByteBuffer {
        let height = block.head.height
        return try recent.withLock { r throws -> ByteBuffer in
            if let found = r.first(where: { $0.height == height }) { return found.bytes }
            guard let event = try EventFilter().event(block) else { return ByteBuffer() }
            let bytes = ByteBuffer(bytes: try APIJSON.encoder().encode(event))
            r.append((height, bytes))
            if r.count > Self.kept { r.removeFirst(r.count - Self.kept) }
            return bytes
        }
    }
}

/// A WebSocket close frame with `code` and `reason` (at most 123 bytes of it are sent).
func closeFrame(_ code: WebSocketErrorCode, reason: String) -> WebSocketFrame {
    var data = ByteBufferAllocator().buffer(capacity: 125)
    data.write(webSocketErrorCode: code)
    data.writeBytes(reason.utf8.prefix(123))
    return WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
}
