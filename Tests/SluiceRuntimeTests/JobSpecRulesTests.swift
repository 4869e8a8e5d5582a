import SluiceCore
import SluiceExecution
import SluiceRuntime
import SluiceState
import Testing

private let submitter = Address(Hash.sha256(Array("job-rules-consumer".utf8)))

/// A job spec that passes every rule, to break one field at a time.
private func validSpec() -> JobSpec {
    JobSpec(
        runner: .process, bundleHash: Hash.sha256([7]), bundleURI: "blob:0x07", inputsHash: .zero, gpuCount: 1,
        minVramGB: 16, model: "", maxDurationSeconds: 3600, maxPricePerGPUHour: 10, redundancy: 1, verification: 0)
}

/// Issue 13, item 8: jobs that make no sense (nobody is paid, a verification the market does not know) and
/// jobs that could not be read back are refused by one set of rules (`MarketRules`), which execution applies
/// as the mempool does: a job the mempool refuses fails the same way, on every node, if it reaches a block.
@Suite("Job specs: the market's stateless rules, at execution")
struct JobSpecRulesTests {
    static let broken: [(String, MarketError, @Sendable (inout JobSpec) -> Void)] = [
        ("zero price", .zeroEscrow, { $0.maxPricePerGPUHour = .zero }),
        ("unknown verification 1", .unknownVerification, { $0.verification = 1 }),
        ("unknown verification 255", .unknownVerification, { $0.verification = 255 }),
        ("zero duration", .invalidJob, { $0.maxDurationSeconds = 0 }),
        ("zero redundancy", .invalidJob, { $0.redundancy = 0 }),
        ("zero GPUs", .invalidJob, { $0.gpuCount = 0 }),
        ("overflowing escrow", .escrowOverflow, { $0.maxPricePerGPUHour = Amount(UInt128.max) }),
        ("bundle URI over its limit", .jobNotEncodable, { $0.bundleURI = String(repeating: "u", count: 513) }),
        ("model over its limit", .jobNotEncodable, { $0.model = String(repeating: "é", count: 65) }),
    ]

    @Test(arguments: broken.indices)
    func aBrokenSpecFailsAtExecutionWithItsError(_ i: Int) {
        let (name, expected, breakIt) = Self.broken[i]
        var spec = validSpec()
        breakIt(&spec)
        #expect(MarketRules.jobFailure(spec) == expected, "\(name)")
        #expect(MarketRules.statelessFailure(of: .jobSubmit(spec)) == expected, "\(name)")
        var chain = MarketChain(funded: [submitter])
        let r = chain.block([chain.tx(submitter, .jobSubmit(spec))])
        #expect(r[0].status == .failed && r[0].error == .market(expected), "\(name): \(r[0])")
        // Fee and sequence taken, no job, no escrow.
        #expect(chain.balance(submitter) == 1_000_000 - UInt128(MarketParameters.submitGas), "\(name)")
        #expect(chain.book?.openJobs ?? [] == [], "\(name)")
    }

    @Test func aSpecAtEveryLimitIsAccepted() {
        var spec = validSpec()
        spec.bundleURI = String(repeating: "u", count: WireLimits.bundleURIBytes)
        spec.model = String(repeating: "é", count: WireLimits.jobModelBytes / 2)
        spec.maxDurationSeconds = MarketParameters.maxDurationSeconds
        spec.redundancy = MarketParameters.maxRedundancy
        spec.maxPricePerGPUHour = 1
        spec.maxDurationSeconds = 1  // 16 × 1 × 1 × 1 s rounds up to an escrow of 1
        #expect(MarketRules.jobFailure(spec) == nil)
        var chain = MarketChain(funded: [submitter])
        let r = chain.block([chain.tx(submitter, .jobSubmit(spec))])
        #expect(r[0].status == .success, "\(r[0])")
        #expect(chain.job(r[0].output ?? .zero)?.escrow == 1)
    }

    @Test func everyVerificationModeIsKnownAndOnlyThose() {
        for raw in UInt8.min...UInt8.max {
            var spec = validSpec()
            spec.verification = raw
            let known = VerificationMode(rawValue: raw) != nil
            #expect((MarketRules.jobFailure(spec) == nil) == known, "verification \(raw)")
        }
        #expect(VerificationMode.exact.rawValue == 0)
    }

    @Test func offersBreakingTheRulesFailBothWays() {
        let device = GPUDevice(model: "RTX 4090", vramGB: 24, count: 1, score: 100)
        #expect(MarketRules.offerFailure(devices: [device], price: 5, runners: [.process]) == nil)
        #expect(MarketRules.offerFailure(devices: [device], price: .zero, runners: [.process]) == .invalidOffer)
        #expect(MarketRules.offerFailure(devices: [], price: 5) == .invalidOffer)
        #expect(MarketRules.offerFailure(devices: [device], price: 5, runners: []) == .invalidOffer)
    }

    /// Receipts carry the error's message, and a receipt must read back: every message fits its bound.
    @Test func everyErrorMessageFitsInAReceipt() throws {
        let errors = MarketError.allCases.map(TransactionError.market) + BankError.allCases.map(TransactionError.bank)
        for error in errors {
            let receipt = Receipt(transactionHash: .zero, status: .failed, gasUsed: 1, fee: 1, error: error.message)
            #expect(throws: Never.self, "\(error)") { try receipt.checkRoundTrip() }
            #expect(error.module != nil)
        }
    }
}
