// Random transactions of every payload kind whose variable-length fields are drawn at, just under and just
// over their `WireLimits` bound (strings of one- and two-byte characters, so that a bound counted in
// characters instead of bytes shows), with the other fields mostly valid so that many are admitted.

import SluiceCore
import SluiceRuntime
import SluiceState

extension SplitMix64 {
    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func bool() -> Bool { Bool.random(using: &self) }
    mutating func hash() -> Hash { Hash(w0: next(), w1: next(), w2: next(), w3: next()) }

    /// A length near `limit`: 0, a small one, limit − 1, limit, limit + 1, or anything up to a bit over.
    mutating func length(near limit: Int) -> Int {
        switch int(0...6) {
        case 0: 0
        case 1: int(1...8)
        case 2: limit - 1
        case 3: limit
        case 4: limit + 1
        case 5: limit + int(2...9)
        default: int(0...limit + 10)
        }
    }

    /// A string of exactly `bytes` UTF-8 bytes, of ASCII or (half the time) mostly two-byte characters.
    mutating func string(bytes: Int) -> String {
        guard bytes > 0 else { return "" }
        if bool() { return String(repeating: "é", count: bytes / 2) + (bytes % 2 == 1 ? "a" : "") }
        return String(repeating: "a", count: bytes)
    }

    /// A runner: the type holds only names the codec knows (unknown names are refused by the decoder,
    /// `CodecFuzzTests`).
    mutating func runner() -> Runner { int(0...5) == 1 ? .container : .process }

    mutating func device() -> GPUDevice {
        GPUDevice(
            model: bool() ? "NVIDIA H100 80GB HBM3" : string(bytes: length(near: WireLimits.deviceModelBytes)),
            vramGB: 80, count: UInt32(int(1...8)), score: 1_000, pricePerGPUHour: Amount(UInt128(int(0...9))))
    }

    mutating func devices() -> [GPUDevice] {
        let n = bool() ? int(1...3) : Swift.max(1, length(near: WireLimits.offerDevices))
        return (0..<n).map { _ in device() }
    }

    mutating func jobSpec() -> JobSpec {
        JobSpec(
            runner: runner(), bundleHash: hash(),
            bundleURI: string(bytes: length(near: WireLimits.bundleURIBytes)), inputsHash: hash(),
            gpuCount: UInt32(int(1...4)), minVramGB: 16,
            model: bool() ? "" : string(bytes: length(near: WireLimits.jobModelBytes)),
            maxDurationSeconds: UInt64(int(1...36_000)), maxPricePerGPUHour: Amount(UInt128(int(1...100))),
            redundancy: UInt8(int(1...3)), verification: 0)
    }

    mutating func answer() -> GPUChallengeAnswer {
        let openings = (0..<int(0...GPUChallenge.samples + 1)).map { _ in
            GPUChallengeOpening(
                leaf: next(), values: (0..<int(0...GPUChallenge.leafEntries + 1)).map { _ in UInt32(int(0...9)) },
                path: (0..<length(near: WireLimits.openingPathHashes)).map { _ in hash() })
        }
        return GPUChallengeAnswer(device: UInt8(int(0...3)), root: hash(), openings: openings)
    }

    /// A payload of kind `kind` (0…14, the wire tags).
    mutating func payload(kind: Int) -> Payload {
        let to = Address(hash())
        switch kind {
        case 0: return .transfer(to: to, amount: Amount(UInt128(int(0...9))))
        case 1: return .computeTransfer(to: to, amount: 1, rounds: UInt32(int(0...3)))
        case 2:
            let runners = (0..<Swift.max(1, length(near: WireLimits.offerRunners))).map { _ in runner() }
            return .providerRegister(
                ProviderRegistration(
                    devices: devices(), region: string(bytes: length(near: WireLimits.regionBytes)),
                    endpoint: string(bytes: length(near: WireLimits.endpointBytes)), stake: 5_000,
                    pricePerGPUHour: Amount(UInt128(int(1...9))), runners: runners))
        case 3: return .jobSubmit(jobSpec())
        case 4: return .jobCancel(job: hash())
        case 5: return .jobCommit(job: hash(), commitment: hash())
        case 6: return .jobReveal(job: hash(), result: hash(), salt: hash(), usageSeconds: next(), logs: hash())
        case 7: return .providerUpdate(ProviderUpdate(devices: devices(), pricePerGPUHour: Amount(UInt128(int(1...9)))))
        case 8: return .providerHeartbeat
        case 9: return .providerUnbond
        case 10: return .providerWithdraw
        case 11: return .auditReport(job: hash(), result: hash(), usageSeconds: next(), logs: hash())
        case 12: return .jobDispute(job: hash())
        case 13: return .providerProve(answer())
        default: return .rewardClaim
        }
    }
}

/// How many payload kinds the wire format has (`Payload`'s tags 0…14).
let payloadKinds = 15
