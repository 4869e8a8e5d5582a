import SluiceCore
import SluiceRuntime
import SluiceState
import Testing

@Suite("The runtime's modules")
struct RuntimeModuleTests {
    /// Each payload kind belongs to one module, which alone declares its intrinsic gas; the mempool's
    /// gas and size checks come from there.
    @Test func everyPayloadHasOneModuleAndItsIntrinsicGas() {
        let spec = JobSpec(
            runner: .process, bundleHash: .zero, bundleURI: "", inputsHash: .zero, gpuCount: 1, minVramGB: 0,
            model: "", maxDurationSeconds: 60, maxPricePerGPUHour: 1, redundancy: 1, verification: 0)
        let payloads: [Payload] = [
            .transfer(to: .treasury, amount: 1), .computeTransfer(to: .treasury, amount: 1, rounds: 3),
            .jobSubmit(spec), .jobCancel(job: .zero), .providerHeartbeat, .providerUnbond, .providerWithdraw,
            .rewardClaim, .jobDispute(job: .zero),
        ]
        for payload in payloads {
            let bank = Bank.intrinsicGas(of: payload)
            let market = Market.intrinsicGas(of: payload)
            #expect((bank == nil) != (market == nil), "\(payload)")
            #expect(RuntimeVM.intrinsicGas(of: payload) == (bank ?? market), "\(payload)")
            #expect(payload.module == (bank != nil ? .bank : .market), "\(payload)")
        }
        #expect(RuntimeVM.intrinsicGas(of: .computeTransfer(to: .treasury, amount: 1, rounds: 3)) == 13)
        #expect(RuntimeVM.admissionBytes(of: .providerHeartbeat, default: 4096) == 4096)
        #expect(RuntimeVM.admissionBytes(of: .transfer(to: .treasury, amount: 1), default: 100_000) == 100_000)
        #expect(RuntimeModuleID.allCases.map(\.name) == ["bank", "market", "staking", "contracts"])
    }
}

extension RuntimeModuleTests {
    /// The executors hold one receipt per transaction: it stays as small as before events (80 bytes).
    @Test func aReceiptStaysSmall() {
        #expect(MemoryLayout<RuntimeReceipt>.stride <= 80)
        #expect(MemoryLayout<TransactionError>.size <= 2)
    }
}
