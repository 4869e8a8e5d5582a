import Foundation
import SluiceCore
import Testing

@testable import SluiceCommands

@Suite("--gpu MODEL:VRAM_GB:COUNT[:SCORE][@PRICE]")
struct GPUOptionTests {
    @Test func classesParseWithAndWithoutTheirOwnAsk() throws {
        #expect(try parseGPU("RTX 4090:24:2") == GPUDevice(model: "RTX 4090", vramGB: 24, count: 2, score: 0))
        #expect(
            try parseGPU("NVIDIA H100 80GB HBM3:80:8:56000@36000000")
                == GPUDevice(
                    model: "NVIDIA H100 80GB HBM3", vramGB: 80, count: 8, score: 56_000, pricePerGPUHour: 36_000_000))
        // A model may contain colons; the numbers are read from the right.
        #expect(try parseGPU("a:b:16:1@7").model == "a:b")
    }

    @Test(arguments: [
        "RTX 4090:24:2@", "RTX 4090:24:2@0", "RTX 4090:24:2@-3", "RTX 4090:24:2@x", "RTX 4090:24", ":24:1",
    ])
    func badClassesAreRefusedWithTheSyntax(text: String) {
        #expect {
            try parseGPU(text)
        } throws: { error in
            "\(error)".contains("MODEL:VRAM_GB:COUNT[:SCORE][@PRICE]")
        }
    }
}

@Suite("sluice provider gpus, real process")
struct ProviderGPUsCommandTests {
    /// Without GPUs the agent offers CPU capacity; --challenge answers a challenge sized from the CPU's own
    /// score on the CPU and checks it as the chain does; --json is for scripts.
    @Test func cpuOfferAndAChallengeAnsweredAndChecked() throws {
        let run = try runSluice([
            "provider", "gpus", "--gpus", "none", "--challenge", "--target-milliseconds", "50", "--json",
        ])
        #expect(run.status == 0, "\(run.err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.out.utf8)) as? [String: Any])
        #expect((object["gpus"] as? [Any])?.isEmpty == true)
        #expect((object["noGPUReason"] as? String)?.contains("--gpus none") == true)
        let offer = try #require(object["offer"] as? [[String: Any]])
        #expect(offer.count == 1 && offer[0]["model"] as? String == "cpu")
        let challenges = try #require(object["challenges"] as? [[String: Any]])
        #expect(challenges.count == 1)
        #expect(challenges[0]["verified"] as? Bool == true)
        let size = try #require(challenges[0]["size"] as? Int)
        #expect(size >= GPUChallenge.minimumSize && size % GPUChallenge.sizeStep == 0)
        #expect((challenges[0]["answeredOn"] as? String)?.hasPrefix("CPU") == true)
    }
}
