public import SluiceCore
import SluiceState

// The market's rules that need no state, in one place: execution fails a transaction that breaks one
// (fee and sequence taken, nothing else changed), and the mempool refuses it before it costs anyone a fee.
// Both call these functions, so a transaction admission refuses fails the same way, on every node, if it
// reaches a block some other way (a block built by another tool, an older node's mempool).

/// The checks of market payloads that do not depend on state.
public enum MarketRules {
    /// The failure execution gives `payload` whatever the state, if it breaks a stateless rule.
    /// - Complexity: O(n) in the payload's size.
    public static func statelessFailure(of payload: Payload) -> MarketError? {
        switch payload {
        case .jobSubmit(let spec): jobFailure(spec)
        case .providerRegister(let offer):
            offerFailure(devices: offer.devices, price: offer.pricePerGPUHour, runners: offer.runners)
        case .providerUpdate(let update): offerFailure(devices: update.devices, price: update.pricePerGPUHour)
        case .transfer, .computeTransfer, .jobCancel, .jobCommit, .jobReveal, .providerHeartbeat, .providerUnbond,
            .providerWithdraw, .auditReport, .jobDispute, .providerProve, .rewardClaim:
            nil
        }
    }

    /// Why a job cannot be submitted, whatever the state: a field over its wire limit, redundancy, GPUs,
    /// or duration out of range (a runner is one the codec knows, `Runner`), a verification mode that does not exist, an escrow that overflows or
    /// is zero. Checked in that order.
    public static func jobFailure(_ spec: JobSpec) -> MarketError? {
        // The job is stored in the state as it came: it must read back, or the state could not be.
        do throws(CoreError) { try spec.checkRoundTrip() } catch { return .jobNotEncodable }
        guard spec.redundancy >= 1, spec.redundancy <= MarketParameters.maxRedundancy, spec.gpuCount >= 1,
            spec.maxDurationSeconds >= 1, spec.maxDurationSeconds <= MarketParameters.maxDurationSeconds
        else { return .invalidJob }
        guard spec.verificationMode != nil else { return .unknownVerification }
        guard let escrow = spec.escrow else { return .escrowOverflow }
        // With redundancy, GPUs and duration at least 1, only a zero price gives a zero escrow: a job nobody is
        // paid for, which providers would run for nothing and the consumer could not be charged for.
        guard escrow > .zero else { return .zeroEscrow }
        return nil
    }

    /// Why an offer (`provider.register`, or `provider.update` with `runners` nil) is invalid: no device, a
    /// class with no GPU, a zero price, more GPUs than a count holds, or (registering) no runner.
    public static func offerFailure(devices: [GPUDevice], price: Amount, runners offered: [Runner]? = nil)
        -> MarketError?
    {
        guard !devices.isEmpty, devices.allSatisfy({ $0.count > 0 }), price > .zero,
            devices.reduce(UInt64(0), { $0 + UInt64($1.count) }) <= UInt64(UInt32.max)
        else { return .invalidOffer }
        if let offered, offered.isEmpty { return .invalidOffer }
        return nil
    }
}
