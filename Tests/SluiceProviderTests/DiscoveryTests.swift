import Foundation
import SluiceCore
import Testing

@testable import SluiceProvider

@Suite struct DiscoveryTests {
    static let oneH100 = "0, GPU-4a0c5e2f-8f5b-6e3d-9a1c-2b7f0d4e6a81, NVIDIA H100 80GB HBM3, 81559, 580.159.04, 9.0\n"

    static let eightH100 =
        (0..<8).map { i in
            "\(i), GPU-00000000-1111-2222-3333-00000000000\(i), NVIDIA H100 80GB HBM3, 81559, 550.54.15, 9.0"
        }.joined(separator: "\n") + "\n"

    let h100 = DiscoveredGPU(
        index: 0, uuid: "GPU-4a0c5e2f-8f5b-6e3d-9a1c-2b7f0d4e6a81", model: "NVIDIA H100 80GB HBM3", vramMiB: 81559,
        driver: "580.159.04", computeCapability: "9.0")

    // MARK: Parsing nvidia-smi

    @Test func parsesOneH100() throws {
        #expect(try GPUDiscovery.parse(csv: Self.oneH100) == [h100])
    }

    @Test func parsesEightH100s() throws {
        let gpus = try GPUDiscovery.parse(csv: Self.eightH100)
        #expect(gpus.map(\.index) == Array(0..<8))
        #expect(gpus.allSatisfy { $0.model == "NVIDIA H100 80GB HBM3" && $0.vramMiB == 81559 })
        #expect(gpus.allSatisfy { $0.driver == "550.54.15" && $0.computeCapability == "9.0" })
        #expect(Set(gpus.map(\.uuid)).count == 8)
    }

    @Test func toleratesSpacesBlankLinesAndCarriageReturns() throws {
        let text = "\n  0 ,GPU-a,   NVIDIA A100-SXM4-40GB ,40960,535.104.05 , 8.0  \r\n\n"
        let gpus = try GPUDiscovery.parse(csv: text)
        #expect(
            gpus == [
                DiscoveredGPU(
                    index: 0, uuid: "GPU-a", model: "NVIDIA A100-SXM4-40GB", vramMiB: 40960, driver: "535.104.05",
                    computeCapability: "8.0")
            ])
        #expect(try GPUDiscovery.parse(csv: "") == [])
    }

    @Test func notAvailableFieldsAreUnknown() throws {
        let text =
            "0, [N/A], NVIDIA GH200 480GB, [N/A], 550.54.15, [N/A]\n1, GPU-b, Tesla T4, [Not Supported], N/A, 7.5\n"
        let gpus = try GPUDiscovery.parse(csv: text)
        #expect(gpus[0].uuid == "" && gpus[0].vramMiB == 0 && gpus[0].computeCapability == nil)
        #expect(gpus[0].driver == "550.54.15")
        #expect(gpus[1].vramMiB == 0 && gpus[1].driver == "" && gpus[1].computeCapability == "7.5")
    }

    @Test func missingComputeCapability() throws {
        // The legacy query's five fields, from a driver that does not know compute_cap.
        let gpus = try GPUDiscovery.parse(csv: "0, GPU-c, Tesla V100-SXM2-16GB, 16160, 470.57.02\n")
        #expect(
            gpus == [
                DiscoveredGPU(
                    index: 0, uuid: "GPU-c", model: "Tesla V100-SXM2-16GB", vramMiB: 16160, driver: "470.57.02")
            ])
    }

    @Test func quotedFields() throws {
        let gpus = try GPUDiscovery.parse(csv: #"3, "GPU-d", "Odd, ""Quoted"" Name", "24576", 550.00, 8.9"# + "\n")
        #expect(gpus.first?.model == #"Odd, "Quoted" Name"#)
        #expect(gpus.first?.index == 3 && gpus.first?.vramMiB == 24576 && gpus.first?.uuid == "GPU-d")
        #expect(throws: DiscoveryError.self) { try GPUDiscovery.parse(csv: #"0, "GPU-e, name, 1, 2"#) }
        #expect(throws: DiscoveryError.self) { try GPUDiscovery.parse(csv: #"0, "GPU-e"x, name, 1, 2"#) }
    }

    @Test(arguments: [
        "0, GPU-a, H100, 81559",  // too few fields
        "0, GPU-a, H100, 81559, 550, 9.0, extra",  // too many
        "x, GPU-a, H100, 81559, 550, 9.0",  // index not a number
        "0, GPU-a, H100, lots, 550, 9.0",  // memory not a number
        "0, GPU-a, [N/A], 81559, 550, 9.0",  // no name
    ])
    func refusesMalformedLines(line: String) {
        #expect(throws: DiscoveryError.self) { try GPUDiscovery.parse(csv: "\(Self.oneH100)\(line)\n") }
        do {
            _ = try GPUDiscovery.parse(csv: "\(Self.oneH100)\(line)\n")
        } catch {
            #expect(error.message.hasPrefix("nvidia-smi line 2 "))
        }
    }

    // MARK: Devices

    @Test func vramRoundsToNearestGB() {
        func gb(_ mib: UInt64) -> UInt32 {
            DiscoveredGPU(index: 0, uuid: "", model: "m", vramMiB: mib, driver: "").vramGB
        }
        #expect(gb(81559) == 80)  // H100 80GB
        #expect(gb(143771) == 140)  // H200
        #expect(gb(40960) == 40)
        #expect(gb(16160) == 16)
        #expect(gb(15360) == 15)
        #expect(gb(1535) == 1)
        #expect(gb(1536) == 2)
        #expect(gb(0) == 0)
    }

    @Test func groupsIdenticalModels() throws {
        let eight = try GPUDiscovery.parse(csv: Self.eightH100)
        let scores = Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, UInt64(50_000 + $0 * 10)) })
        #expect(
            GPUDiscovery.devices(gpus: eight, selection: .auto, scores: scores) == [
                GPUDevice(model: "NVIDIA H100 80GB HBM3", vramGB: 80, count: 8, score: 50_000)
            ])
        #expect(
            GPUDiscovery.devices(gpus: eight, selection: .indices([6, 3]), scores: scores) == [
                GPUDevice(model: "NVIDIA H100 80GB HBM3", vramGB: 80, count: 2, score: 50_030)
            ])
        #expect(GPUDiscovery.devices(gpus: eight, selection: .none, scores: scores) == [])

        // Mixed models stay apart, in index order; a GPU without a score makes its group claim 0.
        let mixed = [
            DiscoveredGPU(index: 0, uuid: "a", model: "NVIDIA A100-SXM4-40GB", vramMiB: 40960, driver: "1"),
            DiscoveredGPU(index: 1, uuid: "b", model: "NVIDIA H100 80GB HBM3", vramMiB: 81559, driver: "1"),
            DiscoveredGPU(index: 2, uuid: "c", model: "NVIDIA A100-SXM4-40GB", vramMiB: 40960, driver: "1"),
        ]
        #expect(
            GPUDiscovery.devices(gpus: mixed, selection: .auto, scores: [0: 19_000, 1: 51_000]) == [
                GPUDevice(model: "NVIDIA A100-SXM4-40GB", vramGB: 40, count: 2, score: 0),
                GPUDevice(model: "NVIDIA H100 80GB HBM3", vramGB: 80, count: 1, score: 51_000),
            ])
    }

    @Test func cpuDevice() {
        #expect(
            GPUDiscovery.cpuDevice(cores: 16, score: 900) == GPUDevice(model: "cpu", vramGB: 0, count: 8, score: 900))
        #expect(GPUDiscovery.cpuDevice(cores: 3, score: 1).count == 1)
        #expect(GPUDiscovery.cpuDevice(cores: 1, score: 1).count == 1)
        #expect(GPUDiscovery.cpuDevice(cores: 0, score: 1).count == 1)
    }

    // MARK: Selection

    @Test func parsesSelections() throws {
        #expect(try GPUSelection.parse("auto") == .auto)
        #expect(try GPUSelection.parse(" AUTO ") == .auto)
        #expect(try GPUSelection.parse("none") == .none)
        #expect(try GPUSelection.parse("0") == .indices([0]))
        #expect(try GPUSelection.parse("0,1") == .indices([0, 1]))
        #expect(try GPUSelection.parse("3, 1") == .indices([3, 1]))
        #expect(GPUSelection.indices([0, 1]).description == "0,1")
        #expect(GPUSelection.auto.description == "auto")
    }

    @Test(arguments: ["", "gpu0", "0,,1", "-1", "1.5", "0,0", "some", "0;1"])
    func refusesBadSelections(text: String) {
        #expect(throws: DiscoveryError.self) { try GPUSelection.parse(text) }
    }

    @Test func selectionErrorsSayWhatToWrite() {
        do {
            _ = try GPUSelection.parse("gpu0")
            Issue.record("parsed")
        } catch {
            #expect(error.description == "'gpu0' is not a GPU selection: write auto, none, or GPU indices such as 0,1")
        }
    }

    @Test func refusesIndicesThatDoNotExist() throws {
        let eight = try GPUDiscovery.parse(csv: Self.eightH100)
        #expect(try GPUSelection.parse("0,7", available: eight) == .indices([0, 7]))
        do {
            _ = try GPUSelection.parse("1,8", available: eight)
            Issue.record("parsed")
        } catch {
            #expect(error.code == .unknownGPU)
            #expect(error.description == "GPU 8 does not exist: this machine has GPU 0, 1, 2, 3, 4, 5, 6, 7")
        }
        do {
            _ = try GPUSelection.parse("0", available: [])
            Issue.record("parsed")
        } catch {
            #expect(error.description.contains("this machine has no NVIDIA GPU"))
        }
        // auto and none need no GPU to exist.
        #expect(try GPUSelection.parse("auto", available: []) == .auto)
        #expect(try GPUSelection.parse("none", available: []) == .none)
    }

    // MARK: Discovery

    @Test func discoverRetriesWithoutComputeCapability() {
        let outcome = GPUDiscovery.discover { argv in
            if argv == GPUDiscovery.query {
                return CommandOutput(
                    status: 2, stdout: "", stderr: #"Field "compute_cap" is not a valid field to query."#)
            }
            #expect(argv == GPUDiscovery.legacyQuery)
            return CommandOutput(status: 0, stdout: "0, GPU-c, Tesla V100-SXM2-16GB, 16160, 470.57.02\n", stderr: "")
        }
        #expect(outcome.reason == nil)
        #expect(outcome.gpus.map(\.model) == ["Tesla V100-SXM2-16GB"])
        #expect(outcome.gpus.first?.computeCapability == nil)
    }

    @Test func discoverKeepsTheReasonForNoGPUs() {
        let failing = GPUDiscovery.discover { _ in
            CommandOutput(
                status: 9, stdout: "",
                stderr: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n")
        }
        #expect(failing.gpus.isEmpty)
        #expect(
            failing.reason
                == "nvidia-smi exited with status 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
        )

        let absent = GPUDiscovery.discover { _ in throw SystemCommandError("nvidia-smi was not found on PATH") }
        #expect(absent.gpus.isEmpty && absent.reason == "nvidia-smi was not found on PATH")

        let garbled = GPUDiscovery.discover { _ in CommandOutput(status: 0, stdout: "what\n", stderr: "") }
        #expect(garbled.gpus.isEmpty && garbled.reason?.contains("could not be read") == true)

        let empty = GPUDiscovery.discover { _ in CommandOutput(status: 0, stdout: "", stderr: "") }
        #expect(empty.gpus.isEmpty && empty.reason == "nvidia-smi lists no GPU")

        let found = GPUDiscovery.discover { _ in CommandOutput(status: 0, stdout: Self.oneH100, stderr: "") }
        #expect(found == GPUDiscovery.Outcome(gpus: [h100], reason: nil))
    }

    @Test func discoverOnThisMachine() {
        let outcome = GPUDiscovery.discover()
        if SystemCommand.find("nvidia-smi") == nil {
            #expect(outcome.gpus.isEmpty)
            #expect(outcome.reason == "nvidia-smi was not found on PATH")
        } else {
            #expect(!outcome.gpus.isEmpty || outcome.reason != nil)
        }
    }

    @Test func systemCommandCapturesOutputAndStatus() throws {
        let out = try SystemCommand.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(out == CommandOutput(status: 3, stdout: "out\n", stderr: "err\n"))
        #expect(throws: SystemCommandError.self) { try SystemCommand.run(["definitely-not-a-command-4f2a"]) }
        #expect(throws: SystemCommandError.self) { try SystemCommand.run([]) }
    }

    @Test func systemCommandStopsAHungCommand() {
        do {
            _ = try SystemCommand.run(["sh", "-c", "sleep 20"], timeout: .milliseconds(200))
            Issue.record("a 20 s sleep finished within 200 ms")
        } catch {
            #expect(error.description.contains("did not finish"))
        }
    }

    // MARK: Benchmarks

    @Test func cpuBenchmarkScoresPositive() {
        #expect(Benchmark.cpu(seconds: 0) > 0)
        #expect(Benchmark.cpu(seconds: 0.02) > 0)
    }

    @Test func cudaBenchmarkWithoutADriverFailsCleanly() {
        let result = Benchmark.cuda(deviceIndex: 0)
        guard case .failure(let noDriver) = CUDADriver.load() else {
            // A machine with the NVIDIA driver: the benchmark must then prove itself.
            if case .success(let r) = result {
                #expect(r.checkedThreads == Benchmark.checkedThreads && r.gflops > 0)
            }
            return
        }
        #expect(noDriver.message.contains("libcuda"))
        guard case .failure(let e) = result else {
            Issue.record("the CUDA benchmark succeeded without a driver")
            return
        }
        #expect(e.code == .noDriver)
        #expect(e.description.contains("libcuda.so.1"))
        #expect(Benchmark.cudaReport().contains("libcuda.so.1"))
        #expect(throws: Never.self) { _ = Benchmark.cudaDeviceCount() }
    }

    @Test func fmaKernelReferenceDependsOnEveryIterationAndThread() {
        let base = FMAKernel.reference(thread: 12345, loops: 100)
        #expect(base.isFinite && base > 0)
        #expect(FMAKernel.reference(thread: 12345, loops: 100).bitPattern == base.bitPattern)
        #expect(FMAKernel.reference(thread: 12345, loops: 99) != base)
        #expect(FMAKernel.reference(thread: 12346, loops: 100) != base)
        // After the full benchmark's 16384 loops the values still differ by thread (not converged).
        #expect(FMAKernel.reference(thread: 0, loops: 16384) != FMAKernel.reference(thread: 1_048_575, loops: 16384))
    }

    @Test func eachDeviceClassIsChallengedOnAGPUOfItsModelOrOnTheCPU() {
        let h100 = DiscoveredGPU(index: 3, uuid: "GPU-3", model: "NVIDIA H100", vramMiB: 81_559, driver: "580")
        let offer = DeviceOffer(
            devices: [], gpus: [(h100, .failure(BenchmarkError(.noDriver, "none here")))], cpuReason: nil, cores: 2,
            cpuScore: 1)
        #expect(offer.challengeGPU(for: GPUDevice(model: "NVIDIA H100", vramGB: 80, count: 1, score: 1)) == 3)
        #expect(offer.challengeGPU(for: GPUDevice(model: "cpu", vramGB: 0, count: 1, score: 1)) == nil)
        #expect(offer.challengeGPU(for: GPUDevice(model: "RTX 4090", vramGB: 24, count: 1, score: 1)) == nil)
    }

    /// A job runs on the GPUs of the class the chain matched it at: those of its model and VRAM.
    @Test func aDeviceClassRunsOnTheGPUsOfItsModelAndMemory() {
        let none = Result<CUDABenchmarkResult, BenchmarkError>.failure(BenchmarkError(.noDriver, "none here"))
        let gpus = [
            DiscoveredGPU(index: 0, uuid: "GPU-0", model: "NVIDIA H100", vramMiB: 81_559, driver: "580"),
            DiscoveredGPU(index: 1, uuid: "GPU-1", model: "RTX 4090", vramMiB: 24_564, driver: "580"),
            DiscoveredGPU(index: 2, uuid: "GPU-2", model: "NVIDIA H100", vramMiB: 81_559, driver: "580"),
            DiscoveredGPU(index: 3, uuid: "GPU-3", model: "NVIDIA H100", vramMiB: 95_830, driver: "580"),
        ]
        let offer = DeviceOffer(devices: [], gpus: gpus.map { ($0, none) }, cpuReason: nil, cores: 2, cpuScore: 1)
        #expect(offer.gpuIndices(for: GPUDevice(model: "NVIDIA H100", vramGB: 80, count: 2, score: 1)) == [0, 2])
        #expect(offer.gpuIndices(for: GPUDevice(model: "NVIDIA H100", vramGB: 94, count: 1, score: 1)) == [3])
        #expect(offer.gpuIndices(for: GPUDevice(model: "RTX 4090", vramGB: 24, count: 1, score: 1)) == [1])
        #expect(offer.gpuIndices(for: GPUDevice(model: "cpu", vramGB: 0, count: 1, score: 1)).isEmpty)
    }

    /// ptxas refuses any byte above 127, even in a comment (found on the H100: the JIT stopped at a "×").
    @Test func kernelsArePlainASCIIAndNameTheirEntries() {
        for ptx in [FMAKernel.ptx(), ChallengeKernel.ptx()] {
            #expect(ptx.utf8.allSatisfy { $0 < 128 })
        }
        let challenge = ChallengeKernel.ptx()
        #expect(challenge.contains(".visible .entry sluice_pog_fill("))
        #expect(challenge.contains(".visible .entry sluice_pog_matmul("))
        #expect(challenge.components(separatedBy: "fma.rn.f32").count - 1 == ChallengeKernel.tile)
        // The SplitMix64 constants, as the signed decimals PTX takes.
        for constant: UInt64 in [0x9E37_79B9_7F4A_7C15, 0xBF58_476D_1CE4_E5B9, 0x94D0_49BB_1331_11EB] {
            #expect(challenge.contains("\(Int64(bitPattern: constant))"))
        }
    }

    @Test func ptxUsesTheCPUsConstants() {
        #expect(FMAKernel.literal(1) == "0f3F800000")
        #expect(FMAKernel.literal(0) == "0f00000000")
        let ptx = FMAKernel.ptx()
        #expect(ptx.contains(".target sm_50"))
        #expect(ptx.contains(".visible .entry sluice_fma("))
        #expect(ptx.contains(FMAKernel.literal(FMAKernel.multiplier)))
        #expect(ptx.contains(FMAKernel.literal(FMAKernel.addend)))
        let fmas = ptx.components(separatedBy: "fma.rn.f32").count - 1
        #expect(fmas == FMAKernel.chains * FMAKernel.unroll)
    }
}
