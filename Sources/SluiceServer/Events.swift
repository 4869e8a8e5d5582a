import Foundation
import HummingbirdWebSocket
import SluiceAPI
import SluiceCore
import SluiceNode
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
        var receipts: [EventReceiptJSON] = []
        for (i, tx) in b.block.transactions.enumerated() {
            let item = EventReceiptJSON(index: i, transaction: tx, receipt: b.receipts[i])
            if let account, item.sender != account && item.to != account { continue }
            receipts.append(item)
        }
        if account != nil && receipts.isEmpty { return nil }
        return BlockEventJSON(
            height: b.head.height, hash: b.hash, timestamp: b.block.header.timestamp, stateRoot: b.head.state.root,
            transactionCount: b.block.transactions.count, receipts: receipts)
    }
}

extension APIServer {
    /// Sends one text message per committed block until the client closes the socket or the node stops.
    func streamEvents(filter: EventFilter, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter)
        async throws
    {
        let blocks = node.blocks()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // Reading the inbound side answers pings and notices the close.
                for try await _ in inbound {}
            }
            group.addTask {
                let encoder = APIJSON.encoder()
                for await block in blocks {
                    guard let event = filter.event(block) else { continue }
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
