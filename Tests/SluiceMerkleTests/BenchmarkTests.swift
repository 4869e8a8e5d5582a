// Timings of build and update, printed rather than asserted (a test must not fail on a slow machine). The figures
// mean something only in release:
//   swift test -c release -Xswiftc -enable-testing --filter SluiceMerkleTests
// Other tests run alongside and take cores; for clean figures run this one alone: add --filter BenchmarkTests.
// Set SLUICE_MERKLE_BENCH_1M=1 to add the 1,000,000-leaf tree (about 2 GB of in-memory store).

import Foundation
import SluiceCore
import Testing

@testable import SluiceMerkle

@Suite struct BenchmarkTests {
    #if DEBUG
        static let sizes = [20_000]
        static let changeCount = 2_000
        static let configuration = "debug: sizes cut tenfold"
    #else
        static let sizes =
            [200_000] + (ProcessInfo.processInfo.environment["SLUICE_MERKLE_BENCH_1M"] == nil ? [] : [1_000_000])
        static let changeCount = 20_000
        static let configuration = "release"
    #endif

    static func milliseconds(_ d: Duration) -> String {
        String(format: "%.1f ms", Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15)
    }

    /// The best of `runs` timings of `body`, and its last result.
    static func best<T>(_ runs: Int, _ body: () throws -> T) rethrows -> (Duration, T) {
        var bestTime = Duration.seconds(1_000)
        var result: T? = nil
        for _ in 0..<runs {
            let start = ContinuousClock.now
            result = try body()
            bestTime = min(bestTime, ContinuousClock.now - start)
        }
        return (bestTime, result!)
    }

    @Test func printTimings() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threadCounts = Array(Set([1, 2, cores])).sorted()
        print("SluiceMerkle timings (\(Self.configuration), \(cores) cores, best of 3)")
        for size in Self.sizes {
            var rng = SplitMix64(seed: 900 &+ UInt64(size))
            let leaves = pairs(rng.leaves(size))
            var built: MerkleUpdate? = nil
            for threads in threadCounts {
                let (time, update) = Self.best(3) {
                    SparseMerkleTree.build(version: 1, leaves: leaves, threads: threads)
                }
                print(
                    "  build \(size) leaves, \(threads) thread(s): \(Self.milliseconds(time)) (\(update.newNodes.count) nodes)"
                )
                built = update
            }
            let base = try #require(built)
            let store = InMemoryNodeStore()
            store.apply(base)

            // A block's writes: existing keys set to new values; and a mix of overwrites, inserts and deletes.
            let keys = leaves.map(\.keyHash)
            var overwrites: Changes = []
            var seen = Set<Hash>()
            while overwrites.count < Self.changeCount {
                let key = keys[rng.below(keys.count)]
                if seen.insert(key).inserted { overwrites.append((key, rng.hash())) }
            }
            var mixed: Changes = overwrites.prefix(Self.changeCount / 2).map { $0 }
            mixed += overwrites.suffix(Self.changeCount / 4).map { ($0.keyHash, nil) }
            mixed += (0..<Self.changeCount / 4).map { _ in (rng.hash(), rng.hash()) }

            for (name, changes) in [("overwrites", overwrites), ("mixed 50/25/25 overwrite/delete/insert", mixed)] {
                var roots: Set<Hash> = []
                for threads in threadCounts {
                    let (time, update) = try Self.best(3) {
                        try SparseMerkleTree.update(
                            reader: store, rootKey: base.rootKey, version: 2, changes: changes, threads: threads)
                    }
                    roots.insert(update.root)
                    print(
                        "  update \(changes.count) \(name) on \(size) leaves, \(threads) thread(s): "
                            + "\(Self.milliseconds(time)) (\(update.newNodes.count) new, \(update.staleNodes.count) stale)"
                    )
                }
                #expect(roots.count == 1)
            }
            let probe = keys[0]
            let (proofTime, _) = try Self.best(3) {
                for key in keys.prefix(1_000) {
                    _ = try SparseMerkleTree.proof(reader: store, rootKey: base.rootKey, keyHash: key)
                }
            }
            print("  1000 proofs on \(size) leaves: \(Self.milliseconds(proofTime))")
            let proof = try SparseMerkleTree.proof(reader: store, rootKey: base.rootKey, keyHash: probe)
            #expect(proof.verify(root: base.root, keyHash: probe, valueHash: leaves[0].valueHash))
        }
    }
}
