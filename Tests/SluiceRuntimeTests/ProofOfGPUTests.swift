import SluiceCore
import SluiceRuntime
import SluiceState
import Testing

@Suite("Proof of GPU: the challenge, its answer and its check")
struct GPUChallengeTests {
    static let seed = Hash.sha256(Array("challenge".utf8))

    @Test func theProductsEntriesAreExactAndEqualTheNaiveSum() {
        let c = GPUChallenge(seed: Self.seed, size: 64)
        let a = c.matrix(second: false)
        let b = c.matrix(second: true)
        #expect(a.allSatisfy { $0 >= 0 && $0 <= 15 && $0 == $0.rounded() })
        #expect(Set(a).count == 16, "all 16 values appear")
        let product = c.productOnCPU(threads: 2)
        for (i, j) in [(0, 0), (5, 63), (63, 1), (31, 32)] {
            var sum: UInt32 = 0
            for k in 0..<64 { sum += UInt32(a[i * 64 + k]) * UInt32(b[k * 64 + j]) }
            #expect(product[i * 64 + j] == sum)
            #expect(c.entry(row: i, column: j) == sum)
        }
        // Another seed, another product.
        #expect(GPUChallenge(seed: Hash.sha256([1]), size: 64).productOnCPU(threads: 1) != product)
    }

    @Test(arguments: [64, 192, 320])
    func anHonestAnswerVerifiesAndRoundTrips(size: Int) throws {
        let c = GPUChallenge(seed: Self.seed, size: size)
        let answer = c.answerOnCPU(device: 2, threads: 2)
        #expect(c.verify(answer) == nil)
        #expect(answer.openings.count == GPUChallenge.samples)
        #expect(answer.openings.map { Int($0.leaf) } == c.sampledLeaves(root: answer.root))
        let decoded = try GPUChallengeAnswer(canonicalBytes: answer.canonicalBytes)
        #expect(decoded == answer)
        // The same answer does not prove another seed's challenge.
        #expect(GPUChallenge(seed: Hash.sha256([9]), size: size).verify(answer) != nil)
        // Threads do not change the answer.
        #expect(c.answerOnCPU(device: 2, threads: 1) == answer)
    }

    @Test func tamperedAnswersAreRefused() {
        let c = GPUChallenge(seed: Self.seed, size: 128)
        let honest = c.answerOnCPU(device: 0, threads: 2)

        var value = honest
        value.openings[3].values[5] &+= 1
        guard case .wrongValue? = c.verify(value) else {
            Issue.record("a changed entry must be caught as a wrong value")
            return
        }

        var path = honest
        path.openings[0].path[2] = Hash.sha256([1])
        #expect(c.verify(path) == .badPath)

        var short = honest
        short.openings[1].path.removeLast()
        #expect(c.verify(short) == .badPath)

        var root = honest
        root.root = Hash.sha256([2])
        #expect(c.verify(root) == .wrongOpenings, "another root selects other leaves")

        var fewer = honest
        fewer.openings.removeLast()
        #expect(c.verify(fewer) == .wrongOpenings)

        // A product computed wrong everywhere but consistently hashed: the openings show it.
        var wrong = c.productOnCPU(threads: 2)
        for i in wrong.indices { wrong[i] &+= 1 }
        let forged = wrong.withUnsafeBufferPointer { c.answer(device: 0, product: $0, threads: 2) }
        guard case .wrongValue? = c.verify(forged) else {
            Issue.record("a wrong product must be caught")
            return
        }
        #expect(GPUChallenge(seed: Self.seed, size: 100).verify(honest) == .badSize)
    }

    @Test func sizesFollowTheClaimedSpeedWithinBounds() {
        let cpu = GPUDevice(model: "cpu", vramGB: 0, count: 1, score: 1_000)  // 1e9 multiply-adds/s
        #expect(GPUChallenge.size(for: cpu, targetMilliseconds: 2_000) == 1_216)  // ∛(2e9) ≈ 1260
        let h100 = GPUDevice(model: "NVIDIA H100 80GB HBM3", vramGB: 80, count: 1, score: 56_000)
        #expect(GPUChallenge.size(for: h100, targetMilliseconds: 2_000) == GPUChallenge.maximumSize)
        let small = GPUDevice(model: "small", vramGB: 1, count: 1, score: 56_000)
        #expect(GPUChallenge.size(for: small, targetMilliseconds: 2_000) == 6_656, "3 n² floats fit in half of 1 GiB")
        let tiny = GPUDevice(model: "cpu", vramGB: 0, count: 1, score: 1)
        #expect(GPUChallenge.size(for: tiny, targetMilliseconds: 1) == GPUChallenge.minimumSize)
        #expect(GPUChallenge.expectedMilliseconds(size: 1_000, device: cpu) == 1_000)
    }
}

private func name(_ s: String) -> Address { Address(Hash.sha256(Array(s.utf8))) }

@Suite("Proof of GPU on chain: rounds, answers, deadlines, eligibility")
struct ProofOfGPUMarketTests {
    static let params = MarketParameters(
        proofIntervalSeconds: 100, proofWindowSeconds: 10, proofTargetMilliseconds: 1)
    let provider = name("prover")
    let buyer = name("buyer")

    func chain() -> MarketChain { MarketChain(funded: [provider, buyer], params: Self.params, proofs: true) }

    /// The answer to the provider's current challenge for `device`, computed on the CPU.
    func answer(_ chain: MarketChain, device: Int = 0) -> Payload {
        let proof = chain.provider(provider)!.proofs[device]
        return .providerProve(proof.challenge.answerOnCPU(device: UInt8(device), threads: 2))
    }

    @Test func aNewProviderIsChallengedAndMatchedOnlyOnceItProves() throws {
        var chain = chain()
        chain.block([chain.tx(provider, offer(price: 5))])
        var p = try #require(chain.provider(provider))
        #expect(p.proofs.count == 1)
        #expect(p.proofs[0].pending && !p.proofs[0].eligible && p.proofs[0].round == 1)
        #expect(p.proofs[0].size == 320, "∛(100 GFLOPS / 2 × 1 ms) ≈ 368, rounded down to a multiple of 64")
        #expect(chain.book?.proofSchedule.map(\.provider) == [provider])

        // Not proven: a job that fits waits.
        let r = chain.block([chain.tx(buyer, job(maxPrice: 10))])
        let id = try #require(r[0].output)
        #expect(chain.job(id)?.status == .open)

        // The answer makes the device eligible, and the same block's matching uses it.
        let proved = chain.block([chain.tx(provider, answer(chain))])
        #expect(proved[0].status == .success)
        p = try #require(chain.provider(provider))
        #expect(!p.proofs[0].pending && p.proofs[0].eligible && p.proofs[0].passed == 1)
        #expect(p.proofs[0].verifiedHeight == chain.height)
        #expect(chain.job(id)?.status == .matched)
    }

    @Test func wrongLateAndUnaskedAnswersFailAndChangeNothing() throws {
        var chain = chain()
        chain.block([chain.tx(provider, offer(price: 5))])
        let before = try #require(chain.provider(provider))

        guard case .providerProve(var forged) = answer(chain) else { return }
        forged.openings[0].values[0] &+= 1
        var r = chain.block([chain.tx(provider, .providerProve(forged))])
        #expect(r[0].status == .failed && r[0].error == .market(.wrongProof))
        guard case .providerProve(var otherDevice) = answer(chain) else { return }
        otherDevice.device = 1
        r = chain.block([chain.tx(provider, .providerProve(otherDevice))])
        #expect(r[0].error == .market(.noChallenge))
        r = chain.block([chain.tx(buyer, answer(chain))])
        #expect(r[0].error == .market(.notProvider))
        #expect(chain.provider(provider) == before)

        // Past the deadline the answer is refused, and the block-end step fails the device.
        let late = answer(chain)
        r = chain.block([chain.tx(provider, late)], after: 30)
        #expect(r[0].error == .market(.challengeClosed))
        let p = try #require(chain.provider(provider))
        #expect(!p.proofs[0].pending && !p.proofs[0].eligible && p.proofs[0].failed == 1)
    }

    @Test func aMissedRoundMakesAProvenDeviceIneligibleUntilItPassesAgain() throws {
        var chain = chain()
        chain.block([chain.tx(provider, offer(price: 5))])
        chain.block([chain.tx(provider, answer(chain))])
        #expect(chain.provider(provider)?.proofs[0].eligible == true)

        // The next round comes after the interval; the device stays eligible while it is pending…
        chain.block([], after: 101)
        var p = try #require(chain.provider(provider))
        #expect(p.proofs[0].round == 2 && p.proofs[0].pending && p.proofs[0].eligible)
        // …and is not once its deadline passes unanswered.
        chain.block([], after: 20)
        p = try #require(chain.provider(provider))
        #expect(!p.proofs[0].eligible && p.proofs[0].failed == 1)
        let r = chain.block([chain.tx(buyer, job(maxPrice: 10))])
        let id = try #require(r[0].output)
        #expect(chain.job(id)?.status == .open)

        // The round after that: answered, eligible again, and the waiting job is matched.
        chain.block([], after: 101)
        #expect(chain.provider(provider)?.proofs[0].round == 3)
        chain.block([chain.tx(provider, answer(chain))])
        p = try #require(chain.provider(provider))
        #expect(p.proofs[0].eligible && p.proofs[0].passed == 2)
        #expect(chain.job(id)?.status == .matched)
    }

    @Test func newDevicesProveThemselvesFromScratch() throws {
        var chain = chain()
        chain.block([chain.tx(provider, offer(price: 5))])
        chain.block([chain.tx(provider, answer(chain))])
        let update = ProviderUpdate(
            devices: [
                GPUDevice(model: "RTX 4090", vramGB: 24, count: 1, score: 100),
                GPUDevice(model: "cpu", vramGB: 0, count: 2, score: 50),
            ], pricePerGPUHour: 5)
        chain.block([chain.tx(provider, .providerUpdate(update))])
        var p = try #require(chain.provider(provider))
        #expect(p.proofs.count == 2 && p.proofs.allSatisfy { $0.pending && !$0.eligible && $0.round == 1 })
        chain.block([chain.tx(provider, answer(chain, device: 1))])
        p = try #require(chain.provider(provider))
        #expect(!p.proofs[0].eligible && p.proofs[1].eligible)
        // The job needs 16 GB: only the GPU class fits it, and not until it answers.
        let r = chain.block([chain.tx(buyer, job(maxPrice: 10, vram: 16))])
        let id = try #require(r[0].output)
        #expect(chain.job(id)?.status == .open)
        chain.block([chain.tx(provider, answer(chain, device: 0))])
        #expect(chain.job(id)?.status == .matched)
    }

    @Test func withoutProofsEveryDeviceIsEligible() throws {
        var chain = MarketChain(funded: [provider, buyer], params: Self.params, proofs: false)
        chain.block([chain.tx(provider, offer(price: 5))])
        #expect(chain.provider(provider)?.proofs.isEmpty == true)
        let r = chain.block([chain.tx(buyer, job(maxPrice: 10))])
        #expect(chain.job(try #require(r[0].output))?.status == .matched)
    }
}
