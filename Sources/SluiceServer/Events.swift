import Foundation
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import Prometheus
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceStorage
import Synchronization

/// Which events a stream carries: all, or those about one account, one job, one provider, of one kind
/// (criteria given together must all hold). A receipt is sent when one of its events matches (or, for the
/// account criterion alone, when its transaction is from or to the account, so failed ones show too); a
/// block-end event when it matches; a block with nothing left is skipped.
struct EventFilter: Sendable {
    var account: Address?
    var job: Hash?
    var provider: Address?
    var kind: Event.Kind?

    var isEmpty: Bool { account == nil && job == nil && provider == nil && kind == nil }

    init(account: String? = nil, job: String? = nil, provider: String? = nil, kind: String? = nil) throws {
        func hash(_ text: String?, _ name: String) throws -> Hash? {
            guard let text, !text.isEmpty else { return nil }
            do { return try Hash(hex: text) } catch {
                throw APIError.badRequest("\(name) '\(text)' is not a hash: use 0x followed by 64 hex digits")
            }
        }
        self.account = try hash(account, "account").map(Address.init)
        self.job = try hash(job, "job")
        self.provider = try hash(provider, "provider").map(Address.init)
        if let kind, !kind.isEmpty {
            guard let k = Event.Kind(name: kind) else {
                throw APIError.badRequest(
                    "kind '\(kind)' is not an event kind: one of \(Event.Kind.allCases.map(\.name).joined(separator: ", "))"
                )
            }
            self.kind = k
        } else {
            self.kind = nil
        }
    }

    /// The filter of a request's query (`account`, `job`, `provider`, `kind`).
    init(_ query: (String) -> String?) throws {
        try self.init(account: query("account"), job: query("job"), provider: query("provider"), kind: query("kind"))
    }

    func matches(_ e: Event) -> Bool {
        if let kind, e.kind != kind { return false }
        if let job, e.job != job { return false }
        if let provider, e.provider != provider { return false }
        if let account, !e.accounts.contains(account) { return false }
        return true
    }

    /// The event for one block, or nil when the filter leaves nothing of it.
    func event(_ b: CommittedBlock) -> BlockEventJSON? {
        event(
            block: b.block, hash: b.hash, stateRoot: b.head.state.root, receiptsRoot: b.head.receiptsRoot,
            receipts: b.receipts, blockEnd: b.blockEnd)
    }

    func event(
        block: Block, hash: Hash, stateRoot: Hash, receiptsRoot: Hash, receipts all: [Receipt],
        blockEnd: BlockEndReceipt
    ) -> BlockEventJSON? {
        var receipts: [EventReceiptJSON] = []
        let accountOnly = account != nil && job == nil && provider == nil && kind == nil
        for (i, tx) in block.transactions.enumerated() where i < all.count {
            if !isEmpty {
                let direct = accountOnly && (tx.sender == account || tx.payload.recipient == account)
                guard direct || all[i].events.contains(where: matches) else { continue }
            }
            receipts.append(EventReceiptJSON(index: i, transaction: tx, receipt: all[i]))
        }
        let blockEvents = blockEnd.events.filter { isEmpty || matches($0) }.map(EventJSON.init)
        if !isEmpty && receipts.isEmpty && blockEvents.isEmpty { return nil }
        return BlockEventJSON(
            height: block.header.height, hash: hash, timestamp: block.header.timestamp, stateRoot: stateRoot,
            receiptsRoot: receiptsRoot, transactionCount: block.transactions.count, receipts: receipts,
            blockEvents: blockEvents)
    }
}

/// Where a stream starts: `?from=HEIGHT` replays the stored blocks from that height before the live ones
/// (a client that reconnects asks for the height after the last one it saw); without it, the next block.
struct EventStart: Sendable {
    /// How far back a stream may start.
    static let maxReplay: UInt64 = 100_000
    let from: UInt64?

    init(_ text: String?, head: UInt64) throws {
        guard let text, !text.isEmpty else {
            from = nil
            return
        }
        guard let h = UInt64(text) else { throw APIError.badRequest("from '\(text)' is not a block height") }
        guard h <= head + 1 else {
            throw APIError.badRequest("from \(h) is beyond the next block \(head + 1): the head is \(head)")
        }
        guard head < Self.maxReplay || h >= head - Self.maxReplay else {
            throw APIError.badRequest(
                "from \(h) is more than \(Self.maxReplay) blocks back: read older blocks with GET /v1/blocks/{height}")
        }
        from = h
    }
}

extension APIServer {
    /// Sends one text message per committed block (stored ones first when `start.from` is given) until
    /// the client closes the socket, the node stops, or the client falls behind by more than the event
    /// budget (EventBudget.swift): then it is sent a close frame saying why and its socket is closed.
    func streamEvents(
        filter: EventFilter, start: EventStart, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        channel: any Channel
    ) async throws {
        // Subscribe before reading the store, so no block falls between the replay and the live stream.
        let blocks = node.blocks()
        let store = node.store
        let budget = events
        let encodings = sharedEncodings
        let (queue, queued) = AsyncStream<(height: UInt64, bytes: ByteBuffer)>.makeStream()
        let subscriber = SubscriberProgress(firstLive: start.from ?? 0)
        budget.subscribed()
        defer {
            budget.release(subscriber.unsent.load(ordering: .relaxed))
            budget.unsubscribed()
        }

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Reading the inbound side answers pings and notices the close.
                for try await _ in inbound {}
            }
            group.addTask {
                // Takes blocks off the node as they commit and queues their events within the budget.
                for await block in blocks {
                    guard block.head.height >= subscriber.firstLive.load(ordering: .relaxed) else { continue }
                    let bytes: ByteBuffer
                    if filter.isEmpty {
                        bytes = try encodings.event(block)
                    } else {
                        guard let event = filter.event(block) else { continue }
                        bytes = ByteBuffer(bytes: try APIJSON.encoder().encode(event))
                    }
                    guard bytes.readableBytes > 0 else { continue }
                    let unsent = subscriber.unsent.load(ordering: .relaxed)
                    let verdict = budget.enqueue(bytes.readableBytes, backlog: unsent)
                    guard verdict == .queued else {
                        queued.finish()
                        self.drop(channel, verdict, unsent: unsent, next: block.head.height)
                        throw EventStreamDropped()
                    }
                    subscriber.unsent.add(bytes.readableBytes, ordering: .relaxed)
                    queued.yield((block.head.height, bytes))
                }
                queued.finish()
            }
            group.addTask {
                if let from = start.from, let head = store.head?.height, from <= head {
                    let encoder = APIJSON.encoder()
                    for height in from...head {
                        guard let block = try store.block(at: height), let root = try store.root(at: height),
                            let proof = try store.receiptProof(height: height, index: 0),
                            let blockEnd = try store.blockEnd(height: height)
                        else { continue }
                        var receipts: [Receipt] = []
                        receipts.reserveCapacity(block.transactions.count)
                        for i in block.transactions.indices {
                            if let r = try store.receipt(height: height, index: UInt32(i)) { receipts.append(r) }
                        }
                        if let event = filter.event(
                            block: block, hash: block.hash, stateRoot: root.root, receiptsRoot: proof.root,
                            receipts: receipts, blockEnd: blockEnd)
                        {
                            try await writeText(ByteBuffer(bytes: try encoder.encode(event)), to: outbound)
                        }
                    }
                    subscriber.firstLive.store(max(from, head + 1), ordering: .relaxed)
                }
                let replayed = subscriber.firstLive.load(ordering: .relaxed)
                for await (height, bytes) in queue {
                    // A block queued before the replay ended may be in the replay already.
                    if height >= replayed { try await writeText(bytes, to: outbound) }
                    subscriber.unsent.subtract(bytes.readableBytes, ordering: .relaxed)
                    budget.release(bytes.readableBytes)
                }
            }
            // Whichever ends first (client gone, node stopped, subscriber dropped) ends the stream.
            do {
                _ = try await group.next()
            } catch is EventStreamDropped {}
            group.cancelAll()
        }
    }

    /// Closes a subscriber that fell behind: a close frame saying why (queued behind what it has not read),
    /// then the socket after the grace period, whether or not it read.
    private func drop(_ channel: any Channel, _ verdict: EventBudget.Verdict, unsent: Int, next: UInt64) {
        events.droppedOne()
        metrics.subscribersDropped.increment()
        let frame =
            verdict == .overSubscriber
            ? closeFrame(
                .policyViolation,
                reason:
                    "too slow: \(unsent) bytes unsent, limit \(events.limits.perSubscriberBytes); reconnect with from=")
            : closeFrame(.unknown(1013), reason: "the node's event budget is spent: reconnect later with from=")
        channel.writeAndFlush(frame, promise: nil)
        let grace = TimeAmount(events.limits.closeGrace)
        channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
    }
}

/// What one subscriber's reader and writer share: the bytes queued and not yet written, and the first height
/// the live stream sends (past the replay).
final class SubscriberProgress: Sendable {
    let unsent = Atomic<Int>(0)
    let firstLive: Atomic<UInt64>

    init(firstLive: UInt64) { self.firstLive = Atomic(firstLive) }
}

/// A subscriber was closed for falling behind.
struct EventStreamDropped: Error {}

/// The largest frame an event is sent in: a larger event goes as a fragmented message, which clients with
/// the default frame limit (16 kB) accept.
let eventFrameBytes = 1 << 14

/// Sends `bytes` as one text message in frames over slices of them: bytes shared between subscribers are
/// never copied per subscriber.
private func writeText(_ bytes: ByteBuffer, to outbound: WebSocketOutboundWriter) async throws {
    var rest = bytes
    var opcode = WebSocketOpcode.text
    repeat {
        let slice = rest.readSlice(length: min(eventFrameBytes, rest.readableBytes))!
        try await outbound.write(.custom(WebSocketFrame(fin: rest.readableBytes == 0, opcode: opcode, data: slice)))
        opcode = .continuation
    } while rest.readableBytes > 0
}
