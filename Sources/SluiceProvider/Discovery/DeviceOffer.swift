import Foundation
public import SluiceCore

/// What a provider offers: the selected GPUs with their proof-of-GPU benchmarks, or CPU capacity when
/// none is selected or found. `sluice provider run` registers it, `sluice provider gpus` prints it.
public struct DeviceOffer: Sendable {
    /// The devices to register.
    public var devices: [GPUDevice]
    /// The GPUs selected (empty: CPU capacity), each with its benchmark.
    public var gpus: [(gpu: DiscoveredGPU, benchmark: Result<CUDABenchmarkResult, BenchmarkError>)]
    /// Why CPU capacity is offered, when it is.
    public var cpuReason: String?
    public var cores: Int
    public var cpuScore: UInt64

    /// Runs nvidia-smi (not with `--gpus none`), the benchmark on each selected GPU and the CPU benchmark.
    /// Throws when the selection names GPUs the machine does not have.
    public static func discover(_ selection: GPUSelection) throws(DiscoveryError) -> DeviceOffer {
        if selection == .none { return cpu(reason: "--gpus none") }
        let found = GPUDiscovery.discover()
        try selection.check(against: found.gpus)
        let chosen = selection.selected(from: found.gpus)
        if chosen.isEmpty { return cpu(reason: found.reason ?? "nvidia-smi listed none") }
        let gpus = chosen.map { ($0, Benchmark.cuda(deviceIndex: $0.index)) }
        var scores: [Int: UInt64] = [:]
        for (gpu, benchmark) in gpus { scores[gpu.index] = (try? benchmark.get())?.score ?? 0 }
        var offer = cpu(reason: nil)
        offer.devices = GPUDiscovery.devices(gpus: chosen, selection: selection, scores: scores)
        offer.gpus = gpus
        return offer
    }

    /// CPU capacity (half the logical cores, with the single-thread CPU score), for `reason`.
    public static func cpu(reason: String?) -> DeviceOffer {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let score = Benchmark.cpu(seconds: 0.2)
        return DeviceOffer(
            devices: [GPUDiscovery.cpuDevice(cores: cores, score: score)], gpus: [], cpuReason: reason, cores: cores,
            cpuScore: score)
    }

    /// The GPU that answers a device class's proof-of-GPU challenges: the first selected GPU of its model (nil
    /// for CPU capacity: the CPU answers).
    public func challengeGPU(for device: GPUDevice) -> Int? {
        device.model == "cpu" ? nil : gpus.first { $0.gpu.model == device.model }?.gpu.index
    }

    /// The selected GPUs of a device class, by nvidia-smi index: those of its model and VRAM (none for CPU
    /// capacity).
    public func gpuIndices(for device: GPUDevice) -> [Int] {
        gpus.filter { $0.gpu.model == device.model && $0.gpu.vramGB == device.vramGB }.map(\.gpu.index)
    }

    /// "1 × NVIDIA H100 80GB HBM3 (80 GB, score 56008)", one entry per device class.
    public var summary: String {
        devices.map { "\($0.count) × \($0.model) (\($0.vramGB) GB, score \($0.score))" }.joined(separator: ", ")
    }
}
