import Foundation
import SluiceAPI
import SluiceCore
import Testing

/// Every payload's JSON form decodes back to the same payload, and a payload with fields of another
/// type, or without its own, is refused with the field's name.
@Suite("Payload JSON")
struct PayloadJSONTests {
    static let job = Hash.sha256([1])
    static let device = GPUDevice(model: "RTX 4090", vramGB: 24, count: 2, score: 77)
    static let payloads: [Payload] = [
        .transfer(to: Address(Hash.sha256([2])), amount: 5),
        .computeTransfer(to: Address(Hash.sha256([2])), amount: 5, rounds: 3),
        .providerRegister(
            ProviderRegistration(
                devices: [device], region: "eu", endpoint: "http://p", stake: 5_000, pricePerGPUHour: 6)),
        .providerUpdate(ProviderUpdate(devices: [device], pricePerGPUHour: 7)),
        .providerHeartbeat, .providerUnbond, .providerWithdraw,
        .jobSubmit(
            JobSpec(
                runner: .process, bundleHash: Hash.sha256([3]), bundleURI: "blob:x", inputsHash: .zero, gpuCount: 1,
                minVramGB: 16, model: "", maxDurationSeconds: 3600, maxPricePerGPUHour: 10, redundancy: 2,
                verification: 0)),
        .jobCancel(job: job), .jobCommit(job: job, commitment: Hash.sha256([4])),
        .jobReveal(job: job, result: Hash.sha256([5]), salt: Hash.sha256([6]), usageSeconds: 99, logs: .zero),
        .jobReveal(
            job: job, result: Hash.sha256([5]), salt: Hash.sha256([6]), usageSeconds: 99, logs: Hash.sha256([7])),
        .auditReport(job: job, result: Hash.sha256([5]), usageSeconds: 42, logs: .zero),
        .auditReport(job: job, result: Hash.sha256([5]), usageSeconds: 42, logs: Hash.sha256([8])),
        .jobDispute(job: job), .rewardClaim,
    ]

    @Test(arguments: payloads)
    func roundTrip(payload: Payload) throws {
        let json = try APIJSON.encoder().encode(PayloadJSON(payload))
        let decoded = try APIJSON.decoder().decode(PayloadJSON.self, from: json)
        #expect(try decoded.payload() == payload)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["type"] as? String == payload.kind.name)
    }

    @Test(arguments: [
        (#"{"type": "job.cancel"}"#, "jobId"),
        (
            #"{"type": "job.cancel", "jobId": "0x\#(String(repeating: "11", count: 32))", "to": "0x\#(String(repeating: "22", count: 32))"}"#,
            "to"
        ),
        (#"{"type": "provider.heartbeat", "amount": "5"}"#, "amount"),
        (#"{"type": "job.reveal", "jobId": "0x\#(String(repeating: "11", count: 32))"}"#, "result"),
        (#"{"type": "provider.update"}"#, "update"),
        (#"{"type": "audit.report", "jobId": "0x\#(String(repeating: "11", count: 32))"}"#, "result"),
        (
            #"{"type": "audit.report", "jobId": "0x\#(String(repeating: "11", count: 32))", "result": "0x\#(String(repeating: "22", count: 32))", "usageSeconds": 5, "salt": "0x\#(String(repeating: "33", count: 32))"}"#,
            "salt"
        ),
        (#"{"type": "job.dispute"}"#, "jobId"),
        (#"{"type": "mint", "to": "0x\#(String(repeating: "22", count: 32))"}"#, "unknown payload type"),
    ])
    func wrongFieldsAreRefused(text: String, mentions: String) {
        do {
            _ = try APIJSON.decoder().decode(PayloadJSON.self, from: Data(text.utf8))
            Issue.record("\(text) decoded")
        } catch {
            #expect(describe(error).contains(mentions), "\(describe(error))")
        }
    }
}
