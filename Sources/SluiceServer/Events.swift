import Foundation
import HummingbirdWebSocket
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceStorage

/// Which blocks' receipts an event stream carries: all, or those of transactions sent by or to one
/// account (blocks with none of them are skipped).
struct EventFilter: Sendable {
    let account: Address?

    init(_ text: String?) throws {
        guard let text, !text.isEmpty else {
            account = nil
            return
        }
        do { account = Address(try Hash(hex: text)) } catch {
            throw APIError.badRequest("account '\(text)' is not an address: use 0x followed by 64 hex digits")
        }
    }

    /// The event for one block, or nil when the filter leaves nothing of it.
    func event(_ b: CommittedBlock) -> BlockEventJSON? {
        event(block: b.block, hash: b.hash, stateRoot: b.head.state.root, receipts: b.receipts)
    }

    func event(block: Block, hash: Hash, stateRoot: Hash, receipts all: [Receipt]) -> BlockEventJSON? {
        var receipts: [EventReceiptJSON] = []
        for (i, tx) in block.transactions.enumerated() where i < all.count {
            let item = EventReceiptJSON(index: i, transaction: tx, receipt: all[i])
            if let account, item.sender != account && item.to != account { continue }
            receipts.append(item)
        }
        if account != nil && receipts.isEmpty { return nil }
        return BlockEventJSON(
            height: block.header.height, hash: hash, timestamp: block.header.timestamp, stateRoot: stateRoot,
            transactionCount: block.transactions.count, receipts: receipts)
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
    /// the client closes the socket or the node stops.
    func streamEvents(
        filter: EventFilter, start: EventStart, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter
    ) async throws {
        // Subscribe before reading the store, so no block falls between the replay and the live stream.
        let blocks = node.blocks()
        let store = node.store
        var next = start.from ?? 0
        if let from = start.from, let head = store.head?.height, from <= head {
            let encoder = APIJSON.encoder()
            for height in from...head {
                guard let block = try store.block(at: height), let root = try store.root(at: height) else { continue }
                var receipts: [Receipt] = []
                receipts.reserveCapacity(block.transactions.count)
                for i in block.transactions.indices {
                    if let r = try store.receipt(height: height, index: UInt32(i)) { receipts.append(r) }
                }
                if let event = filter.event(block: block, hash: block.hash, stateRoot: root.root, receipts: receipts) {
                    try await outbound.write(.text(String(decoding: try encoder.encode(event), as: UTF8.self)))
                }
            }
            next = head + 1
        }
        let firstLive = next
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Reading the inbound side answers pings and notices the close.
                for try await _ in inbound {}
            }
            group.addTask {
                let encoder = APIJSON.encoder()
                for await block in blocks {
                    guard block.head.height >= firstLive, let event = filter.event(block) else { continue }
                    let text = String(decoding: try encoder.encode(event), as: UTF8.self)
                    try await outbound.write(.text(text))
                }
            }
            // Whichever ends first (client gone, node stopped) ends the stream.
            _ = try await group.next()
            group.cancelAll()
        }
    }
}
