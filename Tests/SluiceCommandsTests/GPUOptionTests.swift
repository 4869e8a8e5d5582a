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
