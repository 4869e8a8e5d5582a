import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSTesting
import Logging
import NIOWebSocket
import SluiceAPI
import SluiceCore
import SluiceNode
import SluiceRuntime
import SluiceServer
import SluiceState
import SluiceStorage
import Synchronization
import Testing
import WSClient
import WSCore

/// The text messages a WebSocket client has received so far.
final class MessageLog: Sendable {
    private let messages = Mutex<[String]>([])
    func append(_ text: String) { messages.withLock { $0.append(text) } }
    var count: Int { messages.withLock { $0.count } }

    /// The messages as block events (a message that is not one fails the test).
    func events(sourceLocation: SourceLocation = #_sourceLocation) -> [BlockEventJSON] {
        messages.withLock { $0 }.compactMap { text in
            let event = try? APIJSON.decoder().decode(BlockEventJSON.self, from: Data(text.utf8))
            #expect(event != nil, "not a block event: \(text)", sourceLocation: sourceLocation)
            return event
        }
    }
}

/// Runs `body` against the real server (HTTP and WebSocket upgrade) on a free local port. The server's
/// tasks and `body` run on threads of their own (`ThreadExecutor`), so other suites computing on the
/// shared ones cannot delay them past the tests' timeouts.
func withLiveServer(_ chain: TestChain, _ body: @escaping @Sendable (APIClient) async throws -> Void) async throws {
    var logger = Logger(label: "sluice-server-tests")
    logger.logLevel = .critical
    let app = chain.server.application(port: 0, logger: logger)
    try await withTaskExecutorPreference(ThreadExecutor.liveServers) {
        try await app.test(.live) { client in try await body(APIClient(client: client)) }
    }
}

/// Connects to `path`, collects every text message into `log` while `body` runs, then closes.
func withEvents(
    _ client: any TestClientProtocol, _ path: String, _ log: MessageLog,
    _ body: @escaping @Sendable () async throws -> Void
) async throws {
    try await client.ws(path) { inbound, outbound, _ in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message { log.append(text) }
                }
            }
            do {
                try await body()
            } catch {
                try? await outbound.close(.normalClosure, reason: nil)
                group.cancelAll()
                throw error
            }
            try await outbound.close(.normalClosure, reason: nil)
            try await group.waitForAll()
        }
    }
}

@Suite("WebSocket /v1/events")
struct EventsTests {
    /// An unfiltered stream carries every block; the block with a submitted transfer carries its receipt.
    @Test func blockEventsCarryReceipts() async throws {
        let (alice, bob) = (TestSender(), TestSender())
        try await withChain([alice, bob]) { chain in
            chain.node.start()
            try await withLiveServer(chain) { api in
                let log = MessageLog()
                let tx = alice.tx(0, to: bob.address, amount: 1234, gasPrice: 3)
                try await withEvents(api.client, "/v1/events", log) {
                    // Empty blocks arrive every block time: the first one shows the stream is subscribed.
                    let subscribed = try await eventually { log.count > 0 }
                    #expect(subscribed, "no block event arrived")
                    try await api.submitAccepted(tx)
                    let found = try await eventually {
                        log.events().contains { $0.receipts.contains { $0.transactionHash == tx.hash } }
                    }
                    #expect(found, "no event carried the transfer's receipt")
                }
                let events = log.events()
                let event = try #require(events.first { $0.receipts.contains { $0.transactionHash == tx.hash } })
                let receipt = try #require(event.receipts.first { $0.transactionHash == tx.hash })
                #expect(receipt.sender == alice.address && receipt.to == bob.address)
                #expect(receipt.status == .success && receipt.error == nil)
                #expect(receipt.fee == Amount(UInt128(3 * Bank.transferGas)))
                #expect(event.type == "block")
                #expect(event.transactionCount == event.receipts.count)
                // The event agrees with the API's view of the same block and transaction.
                let status = try await api.waitCommitted(tx.hash)
                #expect(status.blockHeight == event.height)
                #expect(status.index.map(Int.init) == receipt.index)
                let block: BlockJSON = try await api.get("/v1/blocks/\(event.height)")
                #expect(
                    block.hash == event.hash && block.stateRoot == event.stateRoot && block.timestamp == event.timestamp
                )
                // Blocks arrive in order, without repeats.
                let heights = events.map(\.height)
                #expect(heights == heights.sorted() && Set(heights).count == heights.count)
            }
        }
    }

    /// `?account=` delivers only blocks with a transaction from or to that account, and in them only
    /// those transactions' receipts.
    @Test func accountFilterSkipsOtherBlocks() async throws {
        let (alice, watched, carol, erin) = (TestSender(), TestSender(), TestSender(), TestSender())
        try await withChain([alice, watched, carol, erin]) { chain in
            chain.node.start()
            try await withLiveServer(chain) { api in
                let log = MessageLog()
                let others = Mutex<[Hash]>([])
                let touching = Mutex<[Hash]>([])
                try await withEvents(api.client, "/v1/events?account=\(watched.address.hex)", log) {
                    // The server subscribes right after the upgrade; until a filtered event arrives we
                    // cannot know it has, so repeat (a transfer between others, then one to the watched
                    // account) until one does.
                    var sequence: UInt64 = 0
                    let delivered = try await eventually(timeout: .seconds(20), every: .milliseconds(1)) {
                        let other = carol.tx(sequence, to: erin.address, amount: 1)
                        let toWatched = alice.tx(sequence, to: watched.address, amount: 1)
                        sequence += 1
                        others.withLock { $0.append(other.hash) }
                        touching.withLock { $0.append(toWatched.hash) }
                        try await api.submitAccepted(other)
                        _ = try await api.waitCommitted(other.hash)
                        try await api.submitAccepted(toWatched)
                        _ = try await api.waitCommitted(toWatched.hash)
                        return try await eventually(timeout: .seconds(2)) { log.count > 0 }
                    }
                    #expect(delivered, "no filtered event arrived")

                    // Now the stream is surely subscribed: a transfer between others is not delivered,
                    // the next one from the watched account is, and nothing else.
                    let seen = log.count
                    let other = carol.tx(sequence, to: erin.address, amount: 1)
                    others.withLock { $0.append(other.hash) }
                    try await api.submitAccepted(other)
                    _ = try await api.waitCommitted(other.hash)
                    let fromWatched = watched.tx(0, to: alice.address, amount: 1)
                    touching.withLock { $0.append(fromWatched.hash) }
                    try await api.submitAccepted(fromWatched)
                    _ = try await api.waitCommitted(fromWatched.hash)
                    let arrived = try await eventually { log.count > seen }
                    #expect(arrived, "the watched account's transfer was not delivered")
                    let next = log.events().dropFirst(seen)
                    #expect(next.count == 1)
                    #expect(next.first?.receipts.map(\.transactionHash) == [fromWatched.hash])
                }
                let events = log.events()
                let otherHashes = Set(others.withLock { $0 })
                let touchingHashes = Set(touching.withLock { $0 })
                for event in events {
                    #expect(!event.receipts.isEmpty, "an event with nothing for the account: \(event)")
                    for r in event.receipts {
                        #expect(r.sender == watched.address || r.to == watched.address, "\(r)")
                        #expect(!otherHashes.contains(r.transactionHash))
                        #expect(touchingHashes.contains(r.transactionHash))
                    }
                }
            }
        }
    }

    /// `?from=HEIGHT` replays the stored blocks from that height, then goes on with live ones: every
    /// height once, in order, with no gap where the replay ends.
    @Test func fromReplaysStoredBlocksThenLiveOnes() async throws {
        let (alice, bob) = (TestSender(), TestSender())
        try await withChain([alice, bob]) { chain in
            chain.node.start()
            try await withLiveServer(chain) { api in
                let tx = alice.tx(0, to: bob.address, amount: 5)
                try await api.submitAccepted(tx)
                let committed = try await api.waitCommitted(tx.hash)
                let txHeight = try #require(committed.blockHeight)

                let all = MessageLog()
                let headAtConnect = try await api.status().height
                try await withEvents(api.client, "/v1/events?from=1", all) {
                    // Live blocks after the replay: wait for some beyond the head at connect time.
                    let live = try await eventually { all.events().last.map { $0.height > headAtConnect + 3 } ?? false }
                    #expect(live, "no live blocks after the replay")
                }
                let heights = all.events().map(\.height)
                #expect(heights.first == 1)
                #expect(heights == Array(1...(heights.last ?? 1)), "heights with a gap or a repeat: \(heights)")
                let replayed = try #require(all.events().first { $0.height == txHeight })
                #expect(replayed.receipts.map(\.transactionHash) == [tx.hash])
                let block: BlockJSON = try await api.get("/v1/blocks/\(txHeight)")
                #expect(replayed.hash == block.hash && replayed.stateRoot == block.stateRoot)

                // With a filter, the replay holds only the blocks touching the account.
                let filtered = MessageLog()
                try await withEvents(api.client, "/v1/events?account=\(bob.address.hex)&from=0", filtered) {
                    let arrived = try await eventually { filtered.count > 0 }
                    #expect(arrived)
                }
                #expect(filtered.events().map(\.height) == [txHeight])
            }
        }
    }

    /// A malformed `?account=` is refused before the upgrade, with a JSON 400 for plain HTTP.
    @Test func badFilterIsRefused() async throws {
        let alice = TestSender()
        try await withChain([alice]) { chain in
            chain.node.start()
            try await withLiveServer(chain) { api in
                let upgraded = Atomic<Bool>(false)
                await #expect(throws: WebSocketClientError.webSocketUpgradeFailed) {
                    try await api.client.ws("/v1/events?account=garbage") { _, outbound, _ in
                        upgraded.store(true, ordering: .relaxed)
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                }
                let wasUpgraded = upgraded.load(ordering: .relaxed)
                #expect(!wasUpgraded)
                for query in [
                    "account=garbage", "from=abc", "from=-1", "from=1000000000", "job=0x12", "provider=nope",
                    "kind=job.nothing",
                ] {
                    await #expect(throws: WebSocketClientError.webSocketUpgradeFailed, "\(query)") {
                        try await api.client.ws("/v1/events?\(query)") { _, outbound, _ in
                            upgraded.store(true, ordering: .relaxed)
                            try await outbound.close(.normalClosure, reason: nil)
                        }
                    }
                    let reply = try await api.get("/v1/events?\(query)")
                    #expect(reply.status == 400 && reply.isJSON, "\(query): \(reply.status) \(reply.text)")
                    #expect((try? reply.decode(ErrorJSON.self))?.code == "bad_request")
                }
                let upgradedLater = upgraded.load(ordering: .relaxed)
                #expect(!upgradedLater)
            }
        }
    }

    /// Filters by kind, job and account together over a replay (no subscription race): only the matching
    /// receipts and block-end events, and blocks with none are skipped.
    @Test func kindJobAndAccountFilters() async throws {
        let (alice, bob, consumer) = (TestSender(), TestSender(), TestSender())
        try await withChain([alice, bob, consumer]) { chain in
            chain.node.start()
            try await withLiveServer(chain) { api in
                let transfer = alice.tx(0, to: bob.address, amount: 5)
                let jobSpec = JobSpec(
                    runner: .process, bundleHash: .zero, bundleURI: "", inputsHash: .zero, gpuCount: 1, minVramGB: 0,
                    model: "", maxDurationSeconds: 3600, maxPricePerGPUHour: 10, redundancy: 1, verification: 0)
                let submit = consumer.market(0, .jobSubmit(jobSpec))
                try await api.submitAccepted(transfer)
                try await api.submitAccepted(submit)
                let transferHeight = try #require(try await api.waitCommitted(transfer.hash).blockHeight)
                let submitted = try await api.waitCommitted(submit.hash)
                let job = try #require(submitted.receipt?.output)
                #expect(submitted.receipt?.events.map(\.kind) == ["job.submitted"])

                func replay(_ query: String) async throws -> [BlockEventJSON] {
                    let log = MessageLog()
                    let head = try await api.status().height
                    try await withEvents(api.client, "/v1/events?from=1&\(query)", log) {
                        // The replay ends at the head at connect time; wait for a live block past it (an empty
                        // block passes an unfiltered stream only), or a moment.
                        _ = try await eventually(timeout: .seconds(2)) {
                            log.events().last.map { $0.height > head } ?? false
                        }
                    }
                    return log.events()
                }
                let transfers = try await replay("kind=transfer")
                #expect(transfers.map(\.height) == [transferHeight], "\(transfers)")
                #expect(transfers.first?.receipts.map(\.transactionHash) == [transfer.hash])
                #expect(transfers.allSatisfy { $0.blockEvents.isEmpty })

                let ofJob = try await replay("job=\(job.hex)")
                #expect(ofJob.flatMap(\.receipts).map(\.transactionHash) == [submit.hash])
                #expect(ofJob.allSatisfy { $0.blockEvents.allSatisfy { $0.job == job } })

                let bobsTransfers = try await replay("kind=transfer&account=\(bob.address.hex)")
                #expect(bobsTransfers.flatMap(\.receipts).map(\.transactionHash) == [transfer.hash])
                let nobody = try await replay("kind=transfer&account=\(consumer.address.hex)")
                #expect(nobody.isEmpty, "\(nobody)")

                let fees = try await replay("kind=fees.collected")
                #expect(fees.count >= 1 && fees.allSatisfy { $0.receipts.isEmpty && !$0.blockEvents.isEmpty })
                #expect(fees.flatMap(\.blockEvents).allSatisfy { $0.kind == "fees.collected" })
            }
        }
    }
}
