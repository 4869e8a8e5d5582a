import Foundation
public import Logging
public import SluiceCore

/// Computes the answer to a proof-of-GPU challenge.
public enum ProofSolver {
    public struct Solved: Sendable {
        public var answer: GPUChallengeAnswer
        /// "GPU 0 (kernels 812 ms)" or "CPU (16 threads)".
        public var how: String
        public var seconds: Double
        /// The GPU kernels' time, when the GPU computed the product.
        public var kernelMilliseconds: Double?
    }

    /// The product on GPU `gpu` (nil: on the CPU; the CPU too when the GPU fails, with a warning), then the
    /// Merkle answer on all cores.
    public static func answer(_ challenge: GPUChallenge, device: UInt8, gpu: Int?, logger: Logger) -> Solved {
        // One core stays free: on the CPU path the product takes every thread for minutes, and the agent
        // (heartbeats, jobs) and a node on the same machine must keep running (seen on a 16-core machine).
        let threads = max(1, ProcessInfo.processInfo.activeProcessorCount - 1)
        let clock = ContinuousClock()
        let start = clock.now
        var how = "CPU (\(threads) thread\(threads == 1 ? "" : "s"))"
        var answer: GPUChallengeAnswer? = nil
        var kernel: Double? = nil
        if let gpu {
            switch Benchmark.challengeProduct(challenge, deviceIndex: gpu) {
            case .success(let product):
                answer = product.values.withUnsafeBufferPointer {
                    challenge.answer(device: device, product: $0, threads: threads)
                }
                how = "GPU \(gpu) (kernels \(Int(product.kernelMilliseconds.rounded())) ms)"
                kernel = product.kernelMilliseconds
            case .failure(let error):
                logger.warning("proof of GPU on GPU \(gpu) failed (\(error)); answering on the CPU")
            }
        }
        let result = answer ?? challenge.answerOnCPU(device: device, threads: threads)
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Solved(answer: result, how: how, seconds: seconds, kernelMilliseconds: kernel)
    }
}
