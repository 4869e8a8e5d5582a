import Dispatch
import Foundation
import SluiceCore
import SluiceExecution
import SluiceNode
import SluiceRuntime
import SluiceState
import SluiceStorage

/// `sluice bench storage`: genesis, then blocks of p2p transfers executed in parallel, their state root
/// updated and committed durably, with the time of each stage side by side.
struct StorageBenchmark {
    var accounts: Int
    var blockSize: Int
    var blocks: Int
    var threads: Int
    var data: String?
    var seed: UInt64 = 1

    struct Stage: Codable {
        var p50Millis: Double
        var p99Millis: Double
        var meanMillis: Double

        init(_ nanos: [UInt64]) {
            let sorted = nanos.sorted()
            func at(_ q: Double) -> Double {
                sorted.isEmpty
                    ? 0 : Double(sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)]) / 1e6
            }
            p50Millis = at(0.5)
            p99Millis = at(0.99)
            meanMillis = sorted.isEmpty ? 0 : Double(sorted.reduce(0, +)) / Double(sorted.count) / 1e6
        }
    }

    struct Report: Codable {
        var accounts: Int
        var blockSize: Int
        var blocks: Int
        var threads: Int
        var genesisSeconds: Double
        var execution: Stage
        var rootUpdate: Stage
        var commit: Stage
        var rootUpdatePlusCommit: Stage
        var changedKeysPerBlock: Double
        var batchBytesPerBlock: Double
        var batchRecordsPerBlock: Double
        var treeNodesPerBlock: Double
        var diskBytes: Int
        var diskBytesPerAccount: Double
        var executionPath: String
    }

    func run(progress: @escaping (String) -> Void) throws -> Report {
        let dir =
            data
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-\(UUID().uuidString)").path
        defer { if data == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let store = try ChainStore(path: dir, chainId: 1)
        store.threads = threads
        let addresses = (0..<accounts).map(ExecutionBenchmark.address)
        var state: [StateKey: StateValue] = [:]
        state.reserveCapacity(accounts)
        for a in addresses { state[.account(a)] = .account(AccountState(balance: 1_000_000_000, sequence: 0)) }
        progress("genesis: \(accounts) accounts…")
        let genesisStart = DispatchTime.now().uptimeNanoseconds
        _ = try store.commitGenesis(state: state, timestamp: 0, progress: progress)
        let genesisSeconds = Double(DispatchTime.now().uptimeNanoseconds - genesisStart) / 1e9
        state = [:]

        let applier = BlockPipeline(store: store, executor: ParallelExecutor(vm: RuntimeVM(), threads: threads))
        var rng = SplitMix64(seed: seed)
        var sequences = [UInt64](repeating: 0, count: accounts)
        var execution: [UInt64] = []
        var root: [UInt64] = []
        var commit: [UInt64] = []
        var both: [UInt64] = []
        var bytes = 0
        var records = 0
        var nodes = 0
        var paths = Set<String>()
        var changed = 0
        for k in 0..<blocks {
            var txs: [Transaction] = []
            txs.reserveCapacity(blockSize)
            for _ in 0..<blockSize {
                let s = rng.below(accounts)
                txs.append(
                    Transaction(
                        chainId: 1, sender: addresses[s], sequence: sequences[s], gasLimit: 10, gasPrice: 1,
                        payload: .transfer(to: addresses[rng.below(accounts)], amount: 1)))
                sequences[s] += 1
            }
            let applied = try applier.apply(txs, timestamp: UInt64(k + 1), verify: false)
            execution.append(applied.executeNanos)
            root.append(applied.timings.rootUpdate)
            commit.append(applied.timings.write)
            both.append(applied.timings.rootUpdate + applied.timings.write)
            bytes += applied.timings.batchBytes
            records += applied.timings.batchRecords
            nodes += applied.timings.treeNodes
            paths.insert(applied.statistics.path.rawValue)
            changed +=
                Set(
                    txs.flatMap { tx -> [Address] in
                        if case .transfer(let to, _) = tx.payload { return [tx.sender, to] }
                        return [tx.sender]
                    }
                ).count
            progress(
                String(
                    format: "block %d/%d: execute %.1f ms, root %.1f ms, commit %.1f ms", k + 1, blocks,
                    Double(applied.executeNanos) / 1e6, Double(applied.timings.rootUpdate) / 1e6,
                    Double(applied.timings.write) / 1e6))
        }
        try store.database.flush()
        let disk = directorySize(dir)
        return Report(
            accounts: accounts, blockSize: blockSize, blocks: blocks, threads: threads, genesisSeconds: genesisSeconds,
            execution: Stage(execution), rootUpdate: Stage(root), commit: Stage(commit),
            rootUpdatePlusCommit: Stage(both), changedKeysPerBlock: Double(changed + blocks) / Double(blocks),
            batchBytesPerBlock: Double(bytes) / Double(blocks), batchRecordsPerBlock: Double(records) / Double(blocks),
            treeNodesPerBlock: Double(nodes) / Double(blocks), diskBytes: disk,
            diskBytesPerAccount: Double(disk) / Double(accounts), executionPath: paths.sorted().joined(separator: "+"))
    }

    private func directorySize(_ path: String) -> Int {
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        for case let file as String in e {
            let attributes = try? FileManager.default.attributesOfItem(
                atPath: (path as NSString).appendingPathComponent(file))
            total += (attributes?[.size] as? Int) ?? 0
        }
        return total
    }
}
