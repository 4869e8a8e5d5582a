// Random values of every payload kind, within the wire limits: the valid encodings the codec fuzzer
// mutates (`CodecFuzzTests`). Lengths sit at the edges (0, near 127/128 where ULEB128 grows, the bound).

@testable import SluiceCore

extension SplitMix64 {
    /// A length from 0 to `limit`, often at 0, at the ULEB128 edge or at `limit`.
    mutating func length(upTo limit: Int) -> Int {
        switch int(0...4) {
        case 0: 0
        case 1: Swift.min(limit, int(120...136))
        case 2: limit
        default: int(0...Swift.min(limit, 40))
        }
    }

    /// Text of at most `bytes` UTF-8 bytes.
    mutating func text(maxBytes bytes: Int) -> String {
        var s = text()
        while s.utf8.count > bytes { s.removeLast() }
        return s
    }

    mutating func device() -> GPUDevice {
        GPUDevice(
            model: text(maxBytes: WireLimits.deviceModelBytes), vramGB: integer(), count: integer(), score: integer(),
            pricePerGPUHour: amount())
    }

    mutating func devices() -> [GPUDevice] { (0..<int(0...3)).map { _ in device() } }

    mutating func runner() -> Runner { Runner.allCases[int(0...Runner.allCases.count - 1)] }

    mutating func jobSpec() -> JobSpec {
        JobSpec(
            runner: runner(), bundleHash: hash(),
            bundleURI: text(maxBytes: WireLimits.bundleURIBytes), inputsHash: hash(), gpuCount: integer(),
            minVramGB: integer(), model: text(maxBytes: WireLimits.jobModelBytes), maxDurationSeconds: integer(),
            maxPricePerGPUHour: amount(), redundancy: integer(), verification: integer())
    }

    mutating func answer() -> GPUChallengeAnswer {
        GPUChallengeAnswer(
            device: integer(), root: hash(),
            openings: (0..<int(0...GPUChallenge.samples)).map { _ in
                GPUChallengeOpening(
                    leaf: integer(), values: (0..<int(0...GPUChallenge.leafEntries)).map { _ in integer() },
                    path: (0..<int(0...3)).map { _ in hash() })
            })
    }

    /// A payload of any of the 15 kinds.
    mutating func anyPayload() -> Payload {
        switch int(0...14) {
        case 0: .transfer(to: address(), amount: amount())
        case 1: .computeTransfer(to: address(), amount: amount(), rounds: integer())
        case 2:
            .providerRegister(
                ProviderRegistration(
                    devices: devices(), region: text(maxBytes: WireLimits.regionBytes),
                    endpoint: text(maxBytes: WireLimits.endpointBytes), stake: amount(), pricePerGPUHour: amount(),
                    runners: (0..<int(0...WireLimits.offerRunners)).map { _ in runner() }))
        case 3: .jobSubmit(jobSpec())
        case 4: .jobCancel(job: hash())
        case 5: .jobCommit(job: hash(), commitment: hash())
        case 6: .jobReveal(job: hash(), result: hash(), salt: hash(), usageSeconds: integer(), logs: hash())
        case 7: .providerUpdate(ProviderUpdate(devices: devices(), pricePerGPUHour: amount()))
        case 8: .providerHeartbeat
        case 9: .providerUnbond
        case 10: .providerWithdraw
        case 11: .auditReport(job: hash(), result: hash(), usageSeconds: integer(), logs: hash())
        case 12: .jobDispute(job: hash())
        case 13: .providerProve(answer())
        default: .rewardClaim
        }
    }

    mutating func anyTransaction() -> Transaction {
        var t = transaction()
        t.payload = anyPayload()
        return t
    }

    mutating func anyBlock() -> Block {
        Block(header: header(), transactions: (0..<int(0...4)).map { _ in anyTransaction() })
    }
}
