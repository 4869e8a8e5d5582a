import Foundation
import HummingbirdWSClient
import Logging
public import SluiceAPI
public import SluiceCore

// `GET /v1/events` is a WebSocket: one text message, one `BlockEventJSON`, per committed block. The
// socket runs in a task of its own that feeds an `AsyncThrowingStream`; the stream's termination
// (the consumer stopped iterating, or its task was cancelled) cancels that task, which closes the
// socket. The stream buffers without limit: one event per block is little, and dropping one silently
// would be worse.

extension SluiceClient {
    /// The largest event message read (a block's receipts).
    static let maxEventBytes = 16 << 20

    /// Committed blocks as they come: from now on, or (with `from`) the stored blocks from that height
    /// first, so a client that reconnects asks for the height after the last one it saw and misses
    /// nothing; all blocks, or (with `account`) those with transactions sent by or to that account,
    /// listing only their receipts. The stream finishes when the node closes the socket, and throws
    /// when it cannot connect or a message does not decode.
    ///
    /// With `job`, only the blocks with an event about that job (its receipts and block-end events).
    public func events(
        account: Address? = nil, job: Hash? = nil, from: UInt64? = nil
    ) -> AsyncThrowingStream<BlockEventJSON, any Error> {
        var query: [String] = []
        if let account { query.append("account=\(account.hex)") }
        if let job { query.append("job=\(job.hex)") }
        if let from { query.append("from=\(from)") }
        let url = node.webSocket + "/v1/events" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        let base = baseURL
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await WebSocketClient.connect(
                        url: url, configuration: .init(maxFrameSize: Self.maxEventBytes), logger: silentLogger
                    ) { inbound, _, _ in
                        let decoder = APIJSON.decoder()
                        for try await message in inbound.messages(maxSize: Self.maxEventBytes) {
                            guard case .text(let text) = message else { continue }
                            do {
                                continuation.yield(try decoder.decode(BlockEventJSON.self, from: Data(text.utf8)))
                            } catch {
                                throw ClientError(
                                    "an event from \(base) is not a valid BlockEventJSON (\(describe(error))); is the node the same version as this client?"
                                )
                            }
                        }
                    }
                    continuation.finish()
                } catch let error as ClientError {
                    continuation.finish(throwing: error)
                } catch is CancellationError {
                    continuation.finish()
                } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
                    continuation.finish(
                        throwing: ClientError(
                            "the node at \(base) refused the event stream \(url); check the account address and that the node serves /v1/events"
                        ))
                } catch {
                    if Task.isCancelled {
                        continuation.finish()
                    } else {
                        continuation.finish(
                            throwing: ClientError(
                                "cannot reach the node at \(base): is `sluice devnet` running? (\(transportReason(error)))"
                            ))
                    }
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// WebSocketClient logs only at debug and trace; nothing of it belongs on a CLI's output.
let silentLogger = Logger(label: "sluice.client", factory: { _ in SwiftLogNoOpLogHandler() })
