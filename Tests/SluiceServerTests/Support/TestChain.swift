import Foundation
import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceServer
import SluiceStorage
import Testing

// A node on a fresh data dir with funded accounts, and the API server over it: what every test here
// starts from. Tests drive the server through its router (HummingbirdTesting) and read state only
// through the API, so a test shows what a client sees.

let testChain: UInt64 = 7
let initialBalance: UInt128 = 1_000_000

/// A key that signs its transactions.
struct TestSender: Sendable {
    let key: SigningKey

    init(_ scheme: SignatureScheme = .ed25519) {
        key = try! SigningKey(scheme: scheme)
    }

    var address: Address { key.address }

    /// A signed transfer from this sender.
    func tx(
        _ sequence: UInt64, to: Address = sink, amount: UInt128 = 1, gasPrice: UInt64 = 1, gasLimit: UInt64 = 10,
        expiry: UInt64 = Transaction.never, chainId: UInt64 = testChain
    ) -> Transaction {
        Transaction(
            chainId: chainId, sender: address, sequence: sequence, gasLimit: gasLimit, gasPrice: gasPrice,
            expiry: expiry, payload: .transfer(to: to, amount: Amount(amount))
        ).signed(with: key)
    }
}

/// An account nobody funds and nobody sends from: the default recipient.
let sink = Address(Hash.sha256(Array("sluice-server-tests/sink".utf8)))

/// A temporary directory, removed by `remove()`.
struct TempDir: Sendable {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-server-\(UUID().uuidString)").path
    }

    /// The node's blob folder, beside the data dir.
    var blobs: URL { URL(fileURLWithPath: path + "-blobs") }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(at: blobs)
    }
}

/// How to build a test node.
struct ChainOptions: Sendable {
    var blockTime: Duration = .milliseconds(20)
    var maxBlockSize = 10_000
    var mempool = Mempool.Configuration(chainId: testChain)
    var limits = APIServer.Limits()
    /// nil: the node keeps no blobs.
    var blobLimits: BlobStore.Limits? = BlobStore.Limits()
    /// The market's genesis parameters (nil: none stored, the defaults apply).
    var market: MarketParameters? = nil
    /// Long timeouts, so that a suite running beside real processes on 2 cores never trips them by being
    /// slow; the tests of the timeouts set short ones.
    var connections = APIServer.Connections(idleTimeout: .seconds(600), headerTimeout: .seconds(300))
    var events = APIServer.EventLimits()
}

/// A chain store with a genesis, a node over it (not started) and an API server over the node.
struct TestChain: Sendable {
    let dir: TempDir
    let store: ChainStore
    let node: Node
    let server: APIServer

    /// Creates the data dir and commits a genesis in which each of `funded` holds its balance.
    init(funded: [(TestSender, UInt128)], options: ChainOptions = ChainOptions(), dir: TempDir = TempDir()) throws {
        self.dir = dir
        store = try ChainStore(path: dir.path, chainId: testChain)
        var state: [StateKey: StateValue] = [:]
        for (sender, balance) in funded {
            state[.account(sender.address)] = .account(AccountState(balance: Amount(balance), sequence: 0))
        }
        if let market = options.market {
            let entry = try market.genesisEntry()
            state[entry.key] = entry.value
        }
        _ = try store.commitGenesis(state: state, timestamp: 0)
        (node, server) = try Self.open(store, options, dir)
    }

    /// A node and server over an existing store (after a restart).
    init(reopening dir: TempDir, options: ChainOptions = ChainOptions()) throws {
        self.dir = dir
        store = try ChainStore(path: dir.path, chainId: testChain)
        (node, server) = try Self.open(store, options, dir)
    }

    private static func open(_ store: ChainStore, _ options: ChainOptions, _ dir: TempDir) throws -> (Node, APIServer) {
        let node = try Node(
            store: store, executor: ParallelExecutor(vm: RuntimeVM(), threads: 2),
            configuration: .init(
                blockTime: options.blockTime, maxBlockSize: options.maxBlockSize, mempool: options.mempool))
        let blobs = try options.blobLimits.map { try BlobStore(root: dir.blobs, limits: $0) }
        return (
            node,
            APIServer(
                node: node, limits: options.limits, blobs: blobs, connections: options.connections,
                eventLimits: options.events)
        )
    }

    init(_ senders: [TestSender], balance: UInt128 = initialBalance, options: ChainOptions = ChainOptions()) throws {
        try self.init(funded: senders.map { ($0, balance) }, options: options)
    }
}

/// Runs `body` with a fresh chain; stops the node and removes the data dir afterwards.
func withChain<T: Sendable>(
    _ senders: [TestSender], balance: UInt128 = initialBalance, options: ChainOptions = ChainOptions(),
    _ body: (TestChain) async throws -> T
) async throws -> T {
    try await withChain(funded: senders.map { ($0, balance) }, options: options, body)
}

/// The same with a balance per account.
func withChain<T: Sendable>(
    funded: [(TestSender, UInt128)], options: ChainOptions = ChainOptions(), _ body: (TestChain) async throws -> T
) async throws -> T {
    let chain = try TestChain(funded: funded, options: options)
    defer { chain.dir.remove() }
    do {
        let result = try await body(chain)
        await chain.node.stop()
        return result
    } catch {
        await chain.node.stop()
        throw error
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. Waiting only: no test
/// asserts how long anything took.
func eventually(
    timeout: Duration = .seconds(15), every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try await Task.sleep(for: interval)
    }
}
