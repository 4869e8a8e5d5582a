import Foundation
import Logging
import ServiceLifecycle
import SluiceConsensus
import SluiceCore
import SluiceExecution
import SluiceNetwork
import SluiceNode
import SluiceRuntime
import SluiceServer
import SluiceState
import SluiceStorage
import UnixSignals

/// Runs one node from its settings until SIGINT or SIGTERM: opens (or creates, with its genesis) the data
/// dir, starts the block loop and the API, prints where to reach them, shows a live status line on a
/// terminal, and on a signal stops the API, lets the block in progress commit, and closes the store.
/// `sluice devnet` and `sluice node run` both end here.
struct NodeRunner {
    var settings: NodeSettings
    /// Lines printed after the URLs (the devnet's keys).
    var notes: [String] = []
    var logLevel: Logger.Level = .warning
    /// A one-line live status on a terminal (never when standard output is not one).
    var statusLine = true
    /// Called with the API's base URL once the server listens (tests, the e2e benchmark).
    var onListening: @Sendable (String) -> Void = { _ in }
    /// Services run beside the node and shut down before it (the devnet's provider agents, whose open
    /// event streams would otherwise hold the API's graceful shutdown).
    var companions: [any Service] = []

    func run() async throws {
        var logger = Logger(label: "sluice")
        logger.logLevel = logLevel
        let node = try openNode(progress: { print($0) })
        let blobs: BlobStore
        do { blobs = try BlobStore(root: URL(fileURLWithPath: settings.blobsDir)) } catch {
            node.store.close()
            throw CommandError("cannot open the blob folder \(settings.blobsDir): \(error)")
        }
        let server = APIServer(node: node, blobs: blobs)
        let settings = self.settings
        let notes = self.notes
        let onListening = self.onListening
        let app = server.application(host: settings.host, port: settings.port, logger: logger) { port in
            let base = "http://\(settings.host):\(port)"
            var lines = [
                "Sluice node \(APIServer.version): chain \(settings.chainId), height \(node.store.head?.height ?? 0), data \(settings.dataDir)",
                "  API:        \(base)/v1/status   (OpenAPI: \(base)/openapi.json)",
                "  WebSocket:  ws://\(settings.host):\(port)/v1/events",
                "  Metrics:    \(base)/metrics",
            ]
            lines += notes
            lines.append("Press Ctrl-C to stop.")
            print(lines.joined(separator: "\n"))
            fflush(nil)
            onListening(base)
        }
        var services: [any Service] = [NodeService(node: node), app]
        if statusLine && isatty(STDOUT_FILENO) == 1 { services.append(StatusLineService(node: node)) }
        // A group shuts its services down last to first: companions go before the API and the node.
        services += companions
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch {
            await node.stop()
            node.store.close()
            throw CommandError("the node stopped: \(error)")
        }
        // The API and the block thread are stopped: close RocksDB before the process exits.
        node.store.close()
        print("stopped at height \(node.store.head?.height ?? 0); run the same command again to go on from there")
    }

    /// Opens the data dir and the node; commits the genesis block when the dir is new.
    func openNode(progress: (String) -> Void) throws -> Node {
        let store: ChainStore
        do { store = try ChainStore(path: settings.dataDir, chainId: settings.chainId) } catch {
            throw CommandError(error.message)
        }
        if store.head == nil {
            progress("creating the genesis block with \(settings.genesis.count) accounts in \(settings.dataDir)…")
            do {
                _ = try store.commitGenesis(
                    state: try settings.genesisState(), timestamp: settings.genesisTime ?? Node.unixNow())
            } catch let e as StorageError { throw CommandError(e.message) }
        }
        let threads = ProcessInfo.processInfo.activeProcessorCount
        var makeDriver: ((Mempool) throws(ConsensusError) -> ConsensusDriver)?
        if let validator = settings.consensus {
            let consensus = try validator.consensusSettings(
                chainId: settings.chainId, directory: settings.consensusDir, maxBlockSize: settings.maxBlockSize,
                blockTime: settings.blockTime)
            guard let found = try? store.block(at: 0) else {
                store.close()
                throw CommandError("the data dir \(settings.dataDir) has no genesis block at height 0")
            }
            makeDriver = { (mempool: Mempool) throws(ConsensusError) -> ConsensusDriver in
                try ConsensusDriver(
                    settings: consensus, store: store, mempool: mempool, genesisHash: found.hash,
                    genesisTimestamp: found.header.timestamp, report: BlockProducer.standardError)
            }
        }
        do {
            return try Node(
                store: store, executor: ParallelExecutor(vm: RuntimeVM(), threads: threads),
                configuration: Node.Configuration(
                    blockTime: settings.blockTime, maxBlockSize: settings.maxBlockSize,
                    mempool: Mempool.Configuration(chainId: settings.chainId, capacity: settings.mempoolCapacity)),
                consensus: makeDriver)
        } catch {
            store.close()
            throw CommandError(error.message)
        }
    }
}

/// The block loop as a service: runs until graceful shutdown, then lets the block in progress commit.
struct NodeService: Service {
    let node: Node

    func run() async throws {
        if let consensus = node.consensus {
            do { _ = try consensus.start() } catch { throw CommandError(error.message) }
        }
        node.start()
        try? await gracefulShutdown()
        await node.stop()
    }
}

/// `height 1234 · 5,000 tx/s · mempool 12` on one terminal line, refreshed every second.
struct StatusLineService: Service {
    let node: Node

    func run() async throws {
        defer {
            print("\r\u{1B}[2K", terminator: "")
            fflush(nil)
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let (tps, total) = node.throughput()
            let line =
                "height \(node.store.head?.height ?? 0) · \(Int(tps.rounded())) tx/s · mempool \(node.mempool.count) · \(total) committed"
            print("\r\u{1B}[2K\(line)", terminator: "")
            fflush(nil)
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
