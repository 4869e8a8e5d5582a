import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import SluiceAPI
import SluiceClient
import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceServer
import SluiceStorage
import Synchronization

/// `sluice bench e2e`: signed transfers through the whole node, over HTTP, measured against the
/// machine's signature-verification ceiling in the same run.
///
/// 1. The ceiling: Ed25519 verifications per second on all cores (`bench verify`'s loop).
/// 2. A devnet in a temporary dir (or `--node URL`), S funded senders.
/// 3. N transfers pre-signed (not timed), submitted as binary batches over C connections.
/// 4. Commits observed by polling the head and reading each new block's transaction hashes.
/// Committed tx/s = N ÷ (last commit seen − first submit); latency = commit seen − its batch's submit.
struct E2EBenchmark: Sendable {
    struct Options: Sendable {
        var transactions: Int
        var senders: Int
        var batch: Int
        var connections: Int
        var blockTime: Duration
        var maxBlockSize: Int
        var node: String?
        var funder: SigningKey?
        var threads: Int
    }

    struct Report: Codable {
        var transactions: Int
        var senders: Int
        var batch: Int
        var connections: Int
        var cores: Int
        var committedPerSecond: Double
        var submitSeconds: Double
        var totalSeconds: Double
        var latencyP50Millis: Double
        var latencyP99Millis: Double
        var latencyMaxMillis: Double
        var rejected: Int
        var ed25519CeilingPerSecond: Double
        var ratioToCeiling: Double
        var blocks: Int?
        var averageBlockSize: Double?
        /// Time the node spent executing and committing blocks, as a fraction of the run (in-process node only).
        var nodeExecuteSeconds: Double?
        var nodeCommitSeconds: Double?
        var node: String
    }

    let options: Options
    let progress: @Sendable (String) -> Void

    func run() async throws -> Report {
        let cores = options.threads
        progress("measuring the Ed25519 ceiling on \(cores) cores…")
        let ceiling = try VerifyBenchmark.verifiesPerSecond(
            scheme: .ed25519, count: max(20_000, options.transactions / 2), threads: cores)
        progress(String(format: "ceiling: %.0f verifications/s", ceiling))

        let senderKeys = try (0..<options.senders).map { i in
            var seed = [UInt8](repeating: 0, count: 32)
            var rng = SplitMix64(seed: 0xE2E0_0000 &+ UInt64(i))
            for j in 0..<4 {
                withUnsafeBytes(of: rng.next().littleEndian) { seed.replaceSubrange(j * 8..<j * 8 + 8, with: $0) }
            }
            return try SigningKey(scheme: .ed25519, seed: seed)
        }

        if let url = options.node {
            return try await measure(base: url, keys: senderKeys, ceiling: ceiling, stats: nil, nodeName: url)
        }
        // An in-process devnet on a free port, in a temporary dir.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let balance = Amount(1_000_000_000_000)
        let settings = NodeSettings(
            chainId: 7, dataDir: dir, blobsDir: dir + "-blobs", host: "127.0.0.1", port: 0,
            blockTime: options.blockTime,
            maxBlockSize: options.maxBlockSize, mempoolCapacity: max(200_000, options.transactions + 1),
            genesis: senderKeys.map { AccountJSON(address: $0.address, balance: balance, sequence: 0) })
        let runner = NodeRunner(settings: settings)
        let node = try runner.openNode(progress: progress)
        let stats = BlockStats()
        node.observe { b in stats.add(b) }
        var logger = Logger(label: "sluice-bench")
        logger.logLevel = .error
        let (ports, portSink) = AsyncStream<Int>.makeStream()
        let app = APIServer(node: node).application(port: 0, logger: logger) { port in portSink.yield(port) }
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [app], logger: logger))
        let server = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CommandError("the benchmark's node did not start") }
        node.start()
        let report: Report
        do {
            report = try await measure(
                base: "http://127.0.0.1:\(port)", keys: senderKeys, ceiling: ceiling, stats: stats,
                nodeName: "in-process devnet")
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await server.value
            await node.stop()
            node.store.close()
            throw error
        }
        await group.triggerGracefulShutdown()
        _ = try? await server.value
        await node.stop()
        node.store.close()
        return report
    }

    private func measure(
        base: String, keys: [SigningKey], ceiling: Double, stats: BlockStats?, nodeName: String
    ) async throws -> Report {
        let client = try SluiceClient(baseURL: base)
        let status = try await client.status()
        if let funder = options.funder { try await fund(keys, from: funder, client: client, chainId: status.chainId) }
        // Sequences start from the accounts' current ones (an external node may have seen them before).
        var firstSequence: [UInt64] = []
        if options.node != nil {
            for k in keys { firstSequence.append(try await client.account(k.address).sequence) }
        } else {
            firstSequence = Array(repeating: 0, count: keys.count)
        }

        progress("signing \(options.transactions) transfers from \(keys.count) senders…")
        let perSender = (options.transactions + keys.count - 1) / keys.count
        // Wave order: every sender's first transfer, then every sender's second, …
        let order: [(sender: Int, k: Int)] = (0..<options.transactions).map { i in (i % keys.count, i / keys.count) }
        precondition(perSender >= 1)
        let chainId = status.chainId
        let sequences = firstSequence
        let txs: [Transaction] = order.concurrentMap(threads: options.threads) { item in
            let key = keys[item.sender]
            return Transaction(
                chainId: chainId, sender: key.address, sequence: sequences[item.sender] + UInt64(item.k),
                gasLimit: 20, gasPrice: 1,
                payload: .transfer(to: keys[(item.sender + 1) % keys.count].address, amount: 1)
            ).signed(with: key)
        }
        let index: [Hash: Int] = {
            var index: [Hash: Int] = [:]
            index.reserveCapacity(txs.count)
            for (i, tx) in txs.enumerated() { index[tx.hash] = i }
            return index
        }()

        let tracker = Tracker(count: txs.count)
        let startHeight = status.height
        let batches = stride(from: 0, to: txs.count, by: options.batch).map { $0..<min($0 + options.batch, txs.count) }

        progress(
            "submitting over HTTP: \(batches.count) batches of \(options.batch) on \(options.connections) connections…")
        let started = DispatchTime.now().uptimeNanoseconds
        let observer = Task { () throws -> UInt64 in
            var seen = startHeight
            var done = 0
            var lastProgress = DispatchTime.now().uptimeNanoseconds
            while done < txs.count {
                let head = try await client.status().height
                while seen < head {
                    seen += 1
                    guard let block = try await client.block(height: seen) else { break }
                    let now = DispatchTime.now().uptimeNanoseconds
                    var found = 0
                    tracker.committed.withLock { c in
                        for h in block.transactionHashes {
                            if let i = index[h], c[i] == 0 {
                                c[i] = now
                                found += 1
                            }
                        }
                    }
                    if found > 0 { lastProgress = now }
                    done += found
                }
                let rejected = tracker.rejectedCount.load(ordering: .relaxed)
                if done + rejected >= txs.count && rejected > 0 { break }
                if DispatchTime.now().uptimeNanoseconds - lastProgress > 60_000_000_000 {
                    throw CommandError("no transaction committed for 60 s (\(done) of \(txs.count) committed)")
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            return DispatchTime.now().uptimeNanoseconds
        }
        let submitEnd = try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<options.connections {
                group.addTask {
                    for b in stride(from: c, to: batches.count, by: options.connections) {
                        let range = batches[b]
                        let t = DispatchTime.now().uptimeNanoseconds
                        tracker.submitted.withLock { s in for i in range { s[i] = t } }
                        let result = try await client.submitBatch(Array(txs[range]))
                        if result.rejected > 0 {
                            tracker.rejectedCount.wrappingAdd(result.rejected, ordering: .relaxed)
                            if let bad = result.results.first(where: { !$0.accepted }) {
                                tracker.firstRejection.withLock { $0 = $0 ?? "\(bad.code ?? "?"): \(bad.error ?? "")" }
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
            return DispatchTime.now().uptimeNanoseconds
        }
        progress("all submitted; waiting for the last commits…")
        let end = try await observer.value

        let rejected = tracker.rejectedCount.load(ordering: .relaxed)
        let commits = tracker.committed.withLock { $0 }
        let submits = tracker.submitted.withLock { $0 }
        var latencies: [Double] = []
        latencies.reserveCapacity(txs.count)
        for i in 0..<txs.count where commits[i] != 0 { latencies.append(Double(commits[i] - submits[i]) / 1e6) }
        latencies.sort()
        func pct(_ p: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
        let lastCommit = commits.max() ?? end
        let seconds = Double(lastCommit - started) / 1e9
        let perSecond = Double(latencies.count) / seconds
        var report = Report(
            transactions: txs.count, senders: keys.count, batch: options.batch, connections: options.connections,
            cores: options.threads, committedPerSecond: perSecond, submitSeconds: Double(submitEnd - started) / 1e9,
            totalSeconds: seconds, latencyP50Millis: pct(0.50), latencyP99Millis: pct(0.99),
            latencyMaxMillis: latencies.last ?? 0, rejected: rejected, ed25519CeilingPerSecond: ceiling,
            ratioToCeiling: perSecond / ceiling, node: nodeName)
        if let stats {
            let s = stats.snapshot()
            report.blocks = s.blocks
            report.averageBlockSize = s.blocks > 0 ? Double(s.transactions) / Double(s.blocks) : 0
            report.nodeExecuteSeconds = Double(s.executeNanos) / 1e9
            report.nodeCommitSeconds = Double(s.commitNanos) / 1e9
        }
        if rejected > 0 {
            progress(
                "warning: \(rejected) transactions were rejected (first: \(tracker.firstRejection.withLock { $0 } ?? "?"))"
            )
        }
        return report
    }

    /// Funds the senders from one key on an external node, 64 transfers at a time (the mempool's
    /// sequence window), waiting for each wave to commit.
    private func fund(_ keys: [SigningKey], from funder: SigningKey, client: SluiceClient, chainId: UInt64) async throws
    {
        progress("funding \(keys.count) senders from \(funder.address.hex)…")
        var sequence = try await client.account(funder.address).sequence
        var start = 0
        while start < keys.count {
            let wave = keys[start..<min(start + 64, keys.count)]
            var txs: [Transaction] = []
            for k in wave {
                txs.append(
                    Transaction(
                        chainId: chainId, sender: funder.address, sequence: sequence, gasLimit: 20, gasPrice: 1,
                        payload: .transfer(to: k.address, amount: Amount(1_000_000))
                    ).signed(with: funder))
                sequence += 1
            }
            let result = try await client.submitBatch(txs)
            if let bad = result.results.first(where: { !$0.accepted }) {
                throw CommandError("funding failed: \(bad.error ?? "") (\(bad.code ?? "?"))")
            }
            _ = try await client.waitForCommit(txs.last!.hash, timeout: .seconds(60))
            start += wave.count
        }
    }
}

/// What the submitting and observing tasks record.
final class Tracker: Sendable {
    let submitted: Mutex<[UInt64]>
    let committed: Mutex<[UInt64]>
    let rejectedCount = Atomic<Int>(0)
    let firstRejection = Mutex<String?>(nil)
    init(count: Int) {
        submitted = Mutex([UInt64](repeating: 0, count: count))
        committed = Mutex([UInt64](repeating: 0, count: count))
    }
}

/// Sums of the node's per-block figures, filled on the block thread.
final class BlockStats: Sendable {
    struct Sums {
        var blocks = 0
        var transactions = 0
        var executeNanos: UInt64 = 0
        var commitNanos: UInt64 = 0
    }
    private let sums = Mutex(Sums())
    func add(_ b: CommittedBlock) {
        guard !b.block.transactions.isEmpty else { return }
        sums.withLock {
            $0.blocks += 1
            $0.transactions += b.block.transactions.count
            $0.executeNanos += b.executeNanos
            $0.commitNanos += b.commitNanos
        }
    }
    func snapshot() -> Sums { sums.withLock { $0 } }
}
