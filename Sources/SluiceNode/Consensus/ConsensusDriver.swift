import Dispatch
import Foundation
public import SluiceConsensus
public import SluiceCore
public import SluiceNetwork
import SluiceState
public import SluiceStorage
import Synchronization

// The driver runs the consensus core in the node: one thread owns the core and is the only one that
// touches it (no actor, no await). It waits for a peer's message or the core's next deadline, hands the
// core what came, and carries out what the core returns: messages go to the network, committed blocks
// go to the ordered queue, from which the node's block thread executes them (`ConsensusOrdering`), so
// execution never holds up voting.
//
// Peers' frames are decoded on the network's threads and queued per peer, each queue bounded; the driver
// takes one message per peer in turn, so a peer that floods fills only its own queue and loses its own
// messages. Transactions a node admits are forwarded to every validator (a full mesh: no relaying), so
// whichever validator leads a round has them.
//
// Payloads: the leader's block takes the mempool's best transactions less those already ordered (in the
// uncommitted blocks it extends, or committed but not yet executed); a voter checks that a payload
// decodes strictly and is within bounds. Signatures and everything else are checked when the block runs:
// a bad transaction fails in its receipt on every node alike.

/// The frame kinds the validator network carries.
public enum ValidatorFrame: UInt8 {
    case consensus = 1
    case transactions = 2
}

/// How this validator runs consensus.
public struct ConsensusSettings: Sendable {
    public var configuration: ConsensusConfiguration
    public var validators: ValidatorSet
    /// Where each validator's network listens.
    public var addresses: [PeerAddress]
    public var key: SigningKey
    public var listenHost: String
    public var listenPort: Int
    /// Where the safety data and the ledger are kept.
    public var directory: String
    public var maxBlockSize: Int
    /// Messages queued per peer before that peer's further messages are dropped.
    public var inboxLimit = 4096

    public init(
        configuration: ConsensusConfiguration, validators: ValidatorSet, addresses: [PeerAddress], key: SigningKey,
        listenHost: String, listenPort: Int, directory: String, maxBlockSize: Int
    ) {
        self.configuration = configuration
        self.validators = validators
        self.addresses = addresses
        self.key = key
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.directory = directory
        self.maxBlockSize = maxBlockSize
    }
}

/// What the driver reports (`/v1/status`, `sluice status`).
public struct ConsensusStatus: Sendable, Equatable {
    public var me: UInt16
    public var epoch: UInt64
    public var round: UInt64
    public var committedHeight: UInt64
    public var validators: Int
    public var connectedPeers: [UInt16]
    public var droppedMessages: Int
    public var evidence: Int
}

/// Runs a validator's consensus core on its own thread.
public final class ConsensusDriver: @unchecked Sendable {
    public let settings: ConsensusSettings
    public let me: UInt16
    let store: ChainStore
    let mempool: Mempool
    let report: @Sendable (String) -> Void
    let ledger: FileConsensusLedger
    var core: ConsensusCore!
    public private(set) var network: PeerNetwork!

    struct Inboxes {
        var queues: [UInt16: [ConsensusMessage]] = [:]
        var count = 0
        var dropped: [UInt16: Int] = [:]
        var stopping = false
    }

    let condition = NSCondition()
    var inboxes = Inboxes()  // guarded by `condition`
    let ordered = OrderedQueue()
    let status: Mutex<ConsensusStatus>
    let finished = DispatchSemaphore(value: 0)
    /// Rate limit for drop reports: one line per kind per second.
    var lastDropReport: [String: UInt64] = [:]
    /// Decoded transaction hashes of uncommitted blocks, by block id (payload building).
    var pendingHashes: [Hash: [Hash]] = [:]

    /// Opens the safety data and the ledger under `settings.directory` and makes the core. Blocks the
    /// ledger holds beyond the state's head are queued for execution first.
    /// - Parameter genesisBlock: the chain's genesis block (height 0): it seeds the first epoch.
    public init(
        settings: ConsensusSettings, store: ChainStore, mempool: Mempool, genesisHash: Hash, genesisTimestamp: UInt64,
        report: @escaping @Sendable (String) -> Void
    ) throws(ConsensusError) {
        guard let me = settings.validators.index(of: settings.key.address) else {
            throw ConsensusError(
                .invalidSet,
                "this node's key \(settings.key.address) is not in the validator set: check [consensus] key")
        }
        self.settings = settings
        self.me = me
        self.store = store
        self.mempool = mempool
        self.report = report
        do {
            try FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
        } catch {
            throw ConsensusError(.storage, "cannot create \(settings.directory): \(error.localizedDescription)")
        }
        let genesis = ConsensusBlock.genesis(
            epoch: settings.validators.epoch, height: 0, timestamp: genesisTimestamp * 1000, seed: genesisHash)
        ledger = try FileConsensusLedger(path: settings.directory + "/ledger", genesis: genesis)
        if ledger.truncatedBytes > 0 {
            report("consensus: dropped a torn last ledger record (\(ledger.truncatedBytes) bytes) left by a crash")
        }
        let head = store.head?.height ?? 0
        guard ledger.head.height >= head else {
            throw ConsensusError(
                .storage,
                "the state is at height \(head) but the consensus ledger only at \(ledger.head.height): the ledger "
                    + "in \(settings.directory) is not this chain's; restore it or start from an empty data dir")
        }
        status = Mutex(
            ConsensusStatus(
                me: me, epoch: settings.validators.epoch, round: 0, committedHeight: ledger.head.height,
                validators: settings.validators.count, connectedPeers: [], droppedMessages: 0, evidence: 0))
        if ledger.head.height > head {
            var replay: [ConsensusBlock] = []
            for h in (head + 1)...ledger.head.height {
                guard let b = ledger.block(atHeight: h) else {
                    throw ConsensusError(.storage, "the consensus ledger lacks block \(h)")
                }
                replay.append(b)
            }
            ordered.push(replay, decode: Self.transactions)
        }
        core = try ConsensusCore(
            configuration: settings.configuration, validators: settings.validators, me: me,
            signer: try Ed25519ConsensusSigner(key: settings.key), verifier: Ed25519ConsensusVerifier(),
            safetyStorage: FileSafetyStorage(path: settings.directory + "/safety"), ledger: ledger,
            payloads: PayloadSource(driver: self))
        do {
            network = try PeerNetwork(
                me: me, key: settings.key, peers: settings.addresses,
                onFrame: { [weak self] peer, frame in self?.received(frame, from: peer) }, log: report)
        } catch {
            throw ConsensusError(.invalidSet, error.message)
        }
    }

    /// The ordered blocks the node's block thread executes.
    public var ordering: OrderedQueue { ordered }

    /// Starts listening, dialling and the consensus thread. Returns the network's bound port.
    public func start() throws(NetworkError) -> Int {
        let port = try network.start(host: settings.listenHost, port: settings.listenPort)
        let finished = self.finished
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "sluice-consensus"
        thread.stackSize = 8 << 20
        thread.start()
        return port
    }

    /// Stops the consensus thread and the network.
    public func stop() {
        condition.lock()
        let already = inboxes.stopping
        inboxes.stopping = true
        condition.broadcast()
        condition.unlock()
        guard !already else { return }
        finished.wait()
        network.stop()
        ordered.close()
    }

    public var currentStatus: ConsensusStatus {
        var s = status.withLock { $0 }
        s.connectedPeers = network.connected
        return s
    }

    // MARK: Frames in (network threads)

    func received(_ frame: Frame, from peer: UInt16) {
        switch ValidatorFrame(rawValue: frame.kind) {
        case .consensus:
            let message: ConsensusMessage
            do { message = try ConsensusMessage(wire: frame.body) } catch {
                return dropped(peer, "message", error.message)
            }
            condition.lock()
            if inboxes.queues[peer, default: []].count >= settings.inboxLimit {
                inboxes.dropped[peer, default: 0] += 1
                condition.unlock()
                return dropped(peer, "message", "its queue holds \(settings.inboxLimit) messages (flooding?)")
            }
            inboxes.queues[peer, default: []].append(message)
            inboxes.count += 1
            condition.signal()
            condition.unlock()
        case .transactions:
            let txs: [Transaction]
            do { txs = try BlockPayload.decode(frame.body) } catch {
                return dropped(peer, "transactions", "they do not decode: \(error.message)")
            }
            let mempool = self.mempool
            let store = self.store
            DispatchQueue.global(qos: .userInitiated).async {
                _ = mempool.admit(txs, state: store.latest, now: UInt64(Date().timeIntervalSince1970))
            }
        case nil:
            dropped(peer, "frame", "unknown frame kind \(frame.kind)")
        }
    }

    /// Sends transactions this node admitted to every other validator.
    public func forward(_ transactions: [Transaction]) {
        guard !transactions.isEmpty else { return }
        network.broadcast(Frame(kind: ValidatorFrame.transactions.rawValue, body: BlockPayload.encode(transactions)))
    }

    func dropped(_ peer: UInt16?, _ kind: String, _ reason: String) {
        status.withLock { $0.droppedMessages += 1 }
        let key = "\(peer.map(String.init) ?? "-")/\(kind)"
        let now = Self.milliseconds()
        condition.lock()
        let last = lastDropReport[key] ?? 0
        let due = now >= last + 1000
        if due { lastDropReport[key] = now }
        condition.unlock()
        if due { report("consensus: dropped a \(kind) from validator \(peer.map(String.init) ?? "?"): \(reason)") }
    }

    // MARK: The consensus thread

    func run() {
        var outputs = core.start(now: Self.milliseconds())
        while true {
            carryOut(outputs)
            outputs = []
            publishStatus()
            let deadline = core.nextDeadline
            condition.lock()
            while !inboxes.stopping && inboxes.count == 0 {
                let now = Self.milliseconds()
                if now >= deadline { break }
                _ = condition.wait(until: Date(timeIntervalSince1970: Double(deadline) / 1000))
            }
            if inboxes.stopping {
                condition.unlock()
                return
            }
            // One message from each peer that has some, in index order.
            var batch: [(UInt16, ConsensusMessage)] = []
            for peer in inboxes.queues.keys.sorted() {
                guard var q = inboxes.queues[peer], !q.isEmpty else { continue }
                batch.append((peer, q.removeFirst()))
                inboxes.queues[peer] = q
                inboxes.count -= 1
            }
            condition.unlock()
            for (peer, message) in batch {
                outputs += core.receive(message, from: peer, now: Self.milliseconds())
            }
            let now = Self.milliseconds()
            if now >= core.nextDeadline { outputs += core.tick(now: now) }
        }
    }

    func carryOut(_ outputs: [ConsensusOutput]) {
        for output in outputs {
            switch output {
            case .send(let message, let to):
                network.send(Frame(kind: ValidatorFrame.consensus.rawValue, body: message.canonicalBytes), to: to)
            case .broadcast(let message):
                network.broadcast(Frame(kind: ValidatorFrame.consensus.rawValue, body: message.canonicalBytes))
            case .committed(let blocks, _):
                for b in blocks { pendingHashes[b.id] = nil }
                ordered.push(blocks, decode: Self.transactions)
            case .evidence(let evidence):
                status.withLock { $0.evidence += 1 }
                report(
                    "consensus: validator \(evidence.validator) signed twice in one round (evidence kept for slashing)")
            case .dropped(let from, let kind, let reason):
                dropped(from, kind, reason)
            }
        }
    }

    func publishStatus() {
        let round = core.round
        let height = core.committed.height
        status.withLock { s in
            s.round = round
            s.committedHeight = height
        }
    }

    static func transactions(_ block: ConsensusBlock) -> [Transaction] {
        (try? BlockPayload.decode(block.payload)) ?? []
    }

    static func milliseconds() -> UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Payloads (called by the core, on the consensus thread)

    func payload(pending: [ConsensusBlock]) -> [UInt8] {
        var excluded = ordered.inFlight
        for b in pending {
            if pendingHashes[b.id] == nil { pendingHashes[b.id] = Self.transactions(b).map(\.hash) }
            for h in pendingHashes[b.id]! { excluded.insert(h) }
        }
        let max = settings.maxBlockSize
        let candidates = mempool.batch(
            maxCount: Swift.min(max + excluded.count, WireLimits.blockTransactions), state: store)
        var chosen: [Transaction] = []
        chosen.reserveCapacity(Swift.min(candidates.count, max))
        for tx in candidates where chosen.count < max && !excluded.contains(tx.hash) { chosen.append(tx) }
        // Blocks that went away without committing (another fork won) leave stale entries; keep it small.
        if pendingHashes.count > 256 { pendingHashes.removeAll() }
        return BlockPayload.encode(chosen)
    }

    func invalidity(of block: ConsensusBlock) -> String? {
        let txs: [Transaction]
        do { txs = try BlockPayload.decode(block.payload) } catch {
            return "its payload does not decode: \(error.message)"
        }
        if txs.count > settings.maxBlockSize * 2 {
            return "it orders \(txs.count) transactions, over twice the block size \(settings.maxBlockSize)"
        }
        return nil
    }
}

/// The core's payload hooks, forwarded to the driver (the core holds it strongly; it holds the driver weakly).
final class PayloadSource: PayloadProvider {
    weak var driver: ConsensusDriver?
    init(driver: ConsensusDriver) { self.driver = driver }

    func payload(height: UInt64, round: UInt64, timestamp: UInt64, pending: [ConsensusBlock]) -> [UInt8] {
        driver?.payload(pending: pending) ?? BlockPayload.encode([])
    }

    func invalidity(of block: ConsensusBlock, pending: [ConsensusBlock]) -> String? {
        guard let driver else { return "the node is stopping" }
        return driver.invalidity(of: block)
    }
}

/// Committed consensus blocks waiting to be executed, oldest first, with the hashes of their transactions
/// (so that no leader orders them again before they run).
public final class OrderedQueue: @unchecked Sendable {
    struct Entry {
        var block: ConsensusBlock
        var transactions: [Transaction]
    }

    let condition = NSCondition()
    var entries: [Entry] = []  // guarded by `condition`
    var hashes: [Set<Hash>] = []
    var closed = false

    func push(_ blocks: [ConsensusBlock], decode: (ConsensusBlock) -> [Transaction]) {
        let decoded = blocks.map { Entry(block: $0, transactions: decode($0)) }
        let sets = decoded.map { Set($0.transactions.map(\.hash)) }
        condition.lock()
        entries += decoded
        hashes += sets
        condition.broadcast()
        condition.unlock()
    }

    /// Waits at most `nanoseconds` for a block; true when one is queued.
    func wait(nanoseconds: UInt64) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let until = Date(timeIntervalSinceNow: Double(nanoseconds) / 1e9)
        while entries.isEmpty && !closed {
            if !condition.wait(until: until) { break }
        }
        return !entries.isEmpty
    }

    /// The oldest queued block, left in the queue (its hashes stay excluded) until `executed()`.
    func first() -> Entry? {
        condition.lock()
        defer { condition.unlock() }
        return entries.first
    }

    /// The oldest block ran: its transactions may leave the exclusion set (the mempool drops them now).
    func executed() {
        condition.lock()
        if !entries.isEmpty {
            entries.removeFirst()
            hashes.removeFirst()
        }
        condition.unlock()
    }

    var inFlight: Set<Hash> {
        condition.lock()
        defer { condition.unlock() }
        return hashes.reduce(into: Set<Hash>()) { $0.formUnion($1) }
    }

    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return entries.count
    }

    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}
