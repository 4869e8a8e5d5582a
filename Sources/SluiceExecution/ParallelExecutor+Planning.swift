import Foundation
public import SluiceCore
import Synchronization

// The cost model: whether Block-STM pays for a block, or the sequential path runs it.

extension ParallelExecutor {

    /// What the cost model decided for a block.
    @usableFromInline
    struct Plan {
        @usableFromInline var parallel: Bool
        @usableFromInline var reason: String
        @usableFromInline var predictedSpeedup: Double
        /// Every transaction declared its writes: pre-place ESTIMATE markers.
        @usableFromInline var declared: Bool
        @usableFromInline var declaredKeys: Int
        @inlinable init(parallel: Bool, reason: String, predictedSpeedup: Double, declared: Bool, declaredKeys: Int) {
            self.parallel = parallel
            self.reason = reason
            self.predictedSpeedup = predictedSpeedup
            self.declared = declared
            self.declaredKeys = declaredKeys
        }
    }

    /// Decides the path. O(n) over the declared footprints, done only when parallelism could pay.
    @inlinable
    func plan(_ txs: [VM.Transaction]) -> Plan {
        let n = txs.count
        if policy == .forceSequential {
            return Plan(
                parallel: false, reason: "forced sequential", predictedSpeedup: 0, declared: false, declaredKeys: 0)
        }
        if policy == .adaptive {
            if threads == 1 {
                return Plan(parallel: false, reason: "1 thread", predictedSpeedup: 1, declared: false, declaredKeys: 0)
            }
            if n < 4 * threads {
                return Plan(
                    parallel: false, reason: "small block", predictedSpeedup: 1, declared: false, declaredKeys: 0)
            }
        }
        let t = Double(Swift.min(threads, cores))
        let overhead = overheadNanosPerTransaction * Double(n)
        // The total work, estimated from at most 256 evenly spaced transactions: the decision must cost
        // next to nothing on the blocks it sends down the sequential path.
        let sample = Swift.min(n, 256)
        var sampled = 0.0
        for k in 0..<sample { sampled += vm.estimatedCost(of: txs[k * n / sample]) }
        let total = sampled / Double(Swift.max(sample, 1)) * Double(n)
        // Even with no conflict at all, parallel time is (work + bookkeeping) / threads, and never below
        // the serial floor.
        let floor = serialFloorNanosPerTransaction * Double(n)
        let ideal = total / Swift.max((total + overhead) / t, floor)
        if policy == .adaptive && ideal < minimumPredictedSpeedup {
            return Plan(
                parallel: false, reason: "cheap transactions", predictedSpeedup: ideal, declared: false, declaredKeys: 0
            )
        }
        if policy == .forceParallel {
            // Declared writes are only hints: place whatever the VM declares.
            return Plan(parallel: true, reason: "forced", predictedSpeedup: ideal, declared: true, declaredKeys: 0)
        }
        // The critical path through the declared write sets bounds what any schedule can do.
        var critical = 0.0
        var declared = true
        var keys = 0
        var declaredKeys = plannedKeys
        finishTimes.reset(expected: n * 2)
        for tx in txs {
            declaredKeys.removeAll()
            var start = 0.0
            declared = vm.declaredWrites(of: tx) { key in
                let f = finishTimes[key]
                if f > start { start = f }
                declaredKeys.append(key)
            }
            guard declared else { break }
            let end = start + vm.estimatedCost(of: tx)
            for k in 0..<declaredKeys.count { finishTimes.set(declaredKeys[k], end) }
            keys += declaredKeys.count
            if end > critical { critical = end }
        }
        plannedKeys = declaredKeys
        let predicted: Double
        if declared {
            predicted = total / Swift.max(Swift.max(total / t, critical) + overhead / t, floor)
        } else {
            predicted = ideal
        }
        if predicted < minimumPredictedSpeedup {
            return Plan(
                parallel: false, reason: "contention", predictedSpeedup: predicted, declared: declared,
                declaredKeys: keys)
        }
        return Plan(
            parallel: true, reason: "parallel pays", predictedSpeedup: predicted, declared: declared, declaredKeys: keys
        )
    }
}
