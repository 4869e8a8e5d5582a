import Foundation
import Logging
import SluiceAPI
import SluiceClient
import SluiceCore
import SluiceJobs

// Proof of GPU: answering the chain's challenges for this provider's devices.

extension ProviderAgent {
    /// Starts answering every pending proof-of-GPU challenge of this provider's devices that is not being
    /// answered already: the product on the device's GPU (on the CPU for CPU capacity, or when the GPU fails),
    /// then `provider.prove`.
    /// Answers the record's pending proof-of-GPU challenges. The record is read every `recordReadBlocks`
    /// blocks, and every block while a challenge is pending or an answer waits to be sent: one request per
    /// block less for every agent the node serves.
    func answerChallenges(height: UInt64) async {
        // A height below the last read (a node restarted from an older copy of the chain) reads at once.
        if height + Self.recordReadBlocks < nextRecordRead { nextRecordRead = 0 }
        guard height >= nextRecordRead || !unsentAnswers.isEmpty else { return }
        let record: ProviderJSON?
        do { record = try await client.provider(address) } catch {
            logger.warning("cannot read the provider record: \(error)")
            return
        }
        guard let record else { return }
        let pending = record.proofs.contains { $0.status == .pending }
        // While a round is pending and not yet being answered (a device the agent could not start on),
        // read again next block; otherwise the next `proof.*` event (or the safety net) reads it.
        let unstarted = record.proofs.contains {
            $0.status == .pending && !proving.contains($0.device) && answeredRounds[$0.device] != $0.round
                && $0.device < devices.count
        }
        nextRecordRead = height + (pending && unstarted ? 1 : Self.recordReadBlocks)
        for proof in record.proofs where proof.status == .pending {
            let d = proof.device
            guard !proving.contains(d), answeredRounds[d] != proof.round, d < devices.count else { continue }
            proving.insert(d)
            if let unsent = unsentAnswers[d], unsent.round == proof.round {
                await proved(device: d, round: proof.round, unsent.solved)
                continue
            }
            let challenge = GPUChallenge(seed: proof.seed, size: Int(proof.size))
            let model = devices[d].model
            let gpu = offer?.challengeGPU(for: devices[d])
            let logger = self.logger
            logger.info(
                "\("proof of GPU: device \(d) (\(model)) round \(proof.round): \(proof.size)×\(proof.size) product, due at \(proof.deadline)")"
            )
            Task.detached {
                let solved = ProofSolver.answer(challenge, device: UInt8(d), gpu: gpu, logger: logger)
                await self.proved(device: d, round: proof.round, solved)
            }
        }
    }

    func proved(device d: Int, round: UInt32, _ solved: ProofSolver.Solved) async {
        defer { proving.remove(d) }
        do {
            let hash = try await sender.send(.providerProve(solved.answer), gasLimit: Self.proveGasLimit)
            answeredRounds[d] = round
            unsentAnswers[d] = nil
            let seconds = String(format: "%.2f", solved.seconds)
            logger.info(
                "proof of GPU: device \(d) round \(round) answered on \(solved.how) in \(seconds) s (\(hash.hex))")
        } catch {
            logger.warning("proof of GPU: device \(d) round \(round): provider.prove not sent: \(error)")
            unsentAnswers[d] = (round, solved)
        }
    }

    /// Above the 200 gas a proof's check costs (`MarketParameters.proveGas`).
    static let proveGasLimit: UInt64 = 1_000
}
