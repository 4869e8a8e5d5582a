import Foundation
import Synchronization

/// The proof-of-work scores a provider claims for its devices (`GPUDevice.score`).
///
/// The CPU score is multiply-adds per second over a fixed float matrix product; the GPU score is FP32 GFLOPS of
/// a fused multiply-add kernel the driver compiles from PTX (`FMAKernel`), whose output is checked against the
/// same arithmetic on the CPU, so a score comes with evidence that the GPU did the work. Both are deterministic
/// work; only the time varies.
public enum Benchmark {
    /// The CPU matrix's side.
    static let cpuMatrixSize = 64

    /// Millions of float multiply-adds per second, single thread, over repeated 64×64 matrix products for about
    /// `seconds` (at least one product). Fused where the compiler targets FMA; vectorized as it can.
    public static func cpu(seconds: Double) -> UInt64 {
        let n = cpuMatrixSize
        let a = (0..<n * n).map { Float(($0 * 7 + 3) % 17) / 16 }
        let b = (0..<n * n).map { Float(($0 * 5 + 1) % 13) / 16 }
        var c = [Float](repeating: 0, count: n * n)
        var checksum: Float = 0
        var rounds = 0
        let clock = ContinuousClock()
        let start = clock.now
        var elapsed: Duration = .zero
        repeat {
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        for i in 0..<n * n { c[i] = 0 }
                        for i in 0..<n {
                            for k in 0..<n {
                                let x = a[i * n + k]
                                for j in 0..<n { c[i * n + j] += x * b[k * n + j] }
                            }
                        }
                        for v in c { checksum += v }
                    }
                }
            }
            rounds += 1
            elapsed = clock.now - start
        } while seconds > 0 && elapsed < .nanoseconds(Int64(seconds * 1e9))
        // Publishing the checksum keeps the optimizer from dropping the products.
        cpuChecksum.store(checksum.bitPattern, ordering: .relaxed)
        let secs = max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 1e-9)
        let perSecond = Double(rounds) * Double(n * n * n) / secs / 1e6
        return max(1, UInt64(min(perSecond, Double(UInt64.max / 2))))
    }

    private static let cpuChecksum = Atomic<UInt32>(0)

    /// The kernel's launch shape: 4096 blocks of 256 threads, 16384 loop trips, ≈ 1.1 TFLOP, about 20 ms on an
    /// H100 and a second on a small GPU. The best of `timedRuns` launches is reported, after a short warm-up.
    static let threadsPerBlock: UInt32 = 256
    static let timedRuns = 3
    static let checkedThreads = 8

    /// Runs the FMA kernel on one GPU through the driver API and checks its output; a failure names the driver
    /// call that failed and its `CUresult`. Never crashes when there is no driver: it says so.
    public static func cuda(
        deviceIndex: Int, blocks: UInt32 = 4096, loops: UInt32 = 16384
    ) -> Result<CUDABenchmarkResult, BenchmarkError> {
        switch CUDADriver.load() {
        case .failure(let e): return .failure(e)
        case .success(let driver):
            do {
                return .success(try run(driver, deviceIndex: deviceIndex, blocks: max(blocks, 1), loops: max(loops, 1)))
            } catch { return .failure(error) }
        }
    }

    /// The number of CUDA devices the driver sees.
    public static func cudaDeviceCount() -> Result<Int, BenchmarkError> {
        switch CUDADriver.load() {
        case .failure(let e): return .failure(e)
        case .success(let d):
            do throws(BenchmarkError) {
                try d.check("cuInit", d.cuInit(0))
                var count: Int32 = 0
                try d.check("cuDeviceGetCount", d.cuDeviceGetCount(&count))
                return .success(Int(count))
            } catch {
                return .failure(error)
            }
        }
    }

    /// Benchmarks every CUDA device and describes the results, one line each (for `sluice provider benchmark`).
    public static func cudaReport() -> String {
        let count: Int
        switch cudaDeviceCount() {
        case .failure(let e): return "CUDA benchmark: \(e)"
        case .success(let n): count = n
        }
        guard count > 0 else { return "CUDA benchmark: the driver sees no CUDA device" }
        var lines: [String] = []
        for index in 0..<count {
            switch cuda(deviceIndex: index) {
            case .success(let r): lines.append(r.description)
            case .failure(let e): lines.append("GPU \(index): failed: \(e)")
            }
        }
        return lines.joined(separator: "\n")
    }

    private static func run(
        _ d: CUDADriver, deviceIndex: Int, blocks: UInt32, loops: UInt32
    ) throws(BenchmarkError) -> CUDABenchmarkResult {
        try d.check("cuInit", d.cuInit(0))
        var driverVersion: Int32 = 0
        try d.check("cuDriverGetVersion", d.cuDriverGetVersion(&driverVersion))
        var count: Int32 = 0
        try d.check("cuDeviceGetCount", d.cuDeviceGetCount(&count))
        guard deviceIndex >= 0, deviceIndex < Int(count) else {
            throw BenchmarkError(.noDevice, "there is no CUDA device \(deviceIndex): the driver sees \(count)")
        }
        var device: Int32 = 0
        try d.check("cuDeviceGet", d.cuDeviceGet(&device, Int32(deviceIndex)))
        var nameBuffer = [CChar](repeating: 0, count: 256)
        try d.check("cuDeviceGetName", d.cuDeviceGetName(&nameBuffer, Int32(nameBuffer.count - 1), device))
        let name = String(decoding: nameBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var totalMemory = 0
        try d.check("cuDeviceTotalMem_v2", d.cuDeviceTotalMem(&totalMemory, device))
        var major: Int32 = 0
        var minor: Int32 = 0
        var multiprocessors: Int32 = 0
        try d.check(
            "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)",
            d.cuDeviceGetAttribute(&major, CUDADriver.attributeComputeCapabilityMajor, device))
        try d.check(
            "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)",
            d.cuDeviceGetAttribute(&minor, CUDADriver.attributeComputeCapabilityMinor, device))
        try d.check(
            "cuDeviceGetAttribute(MULTIPROCESSOR_COUNT)",
            d.cuDeviceGetAttribute(&multiprocessors, CUDADriver.attributeMultiprocessorCount, device))

        // Everything below lives in a context of our own, made current on this thread by cuCtxCreate and
        // destroyed on the way out; the defers release in reverse order, while the context is still current.
        var context: OpaquePointer? = nil
        try d.check("cuCtxCreate_v2", d.cuCtxCreate(&context, 0, device))
        defer { _ = d.cuCtxDestroy(context) }

        let module = try loadModule(d)
        defer { _ = d.cuModuleUnload(module) }
        var function: OpaquePointer? = nil
        try d.check(
            "cuModuleGetFunction(\(FMAKernel.name))", d.cuModuleGetFunction(&function, module, FMAKernel.name))

        let threads = Int(blocks) * Int(threadsPerBlock)
        let bytes = threads * MemoryLayout<Float>.size
        var output: UInt64 = 0
        try d.check("cuMemAlloc_v2(\(bytes) bytes)", d.cuMemAlloc(&output, bytes))
        defer { _ = d.cuMemFree(output) }

        func launch(loops: UInt32) throws(BenchmarkError) {
            try d.launch(
                FMAKernel.name, function, grid: (blocks, 1), block: (threadsPerBlock, 1), [output, UInt64(loops)])
        }

        // A short warm-up lets the clocks rise and the JIT's first-launch costs pass before timing.
        try launch(loops: min(loops, 64))
        try d.check("cuCtxSynchronize (warm-up)", d.cuCtxSynchronize())
        var best = Float.infinity
        for _ in 0..<timedRuns {
            best = min(best, try d.timed { () throws(BenchmarkError) in try launch(loops: loops) })
        }
        try d.check("cuCtxSynchronize", d.cuCtxSynchronize())

        var values = [Float](repeating: .nan, count: threads)
        let copied = values.withUnsafeMutableBytes { d.cuMemcpyDtoH($0.baseAddress, output, bytes) }
        try d.check("cuMemcpyDtoH_v2(\(bytes) bytes)", copied)

        // The proof: sampled threads, spread over the grid, wrote exactly what the CPU computes.
        let samples = (0..<checkedThreads).map { i in
            UInt32((UInt64(threads - 1) * UInt64(i * i)) / UInt64((checkedThreads - 1) * (checkedThreads - 1)))
        }
        for thread in samples {
            let expected = FMAKernel.reference(thread: thread, loops: loops)
            let got = values[Int(thread)]
            guard got.bitPattern == expected.bitPattern else {
                throw BenchmarkError(
                    .wrongResult,
                    "thread \(thread) wrote \(got), the CPU computes \(expected) for the same work: the GPU did not run "
                        + "the kernel as written")
            }
        }
        guard best > 0, best.isFinite else {
            throw BenchmarkError(.wrongResult, "the kernel's time \(best) ms is not usable")
        }
        let gflops = 2 * FMAKernel.fmas(threads: threads, loops: loops) / (Double(best) / 1000) / 1e9
        return CUDABenchmarkResult(
            deviceIndex: deviceIndex, deviceName: name, totalMemoryBytes: UInt64(totalMemory),
            computeCapability: "\(major).\(minor)", multiprocessors: Int(multiprocessors),
            driverVersion: Int(driverVersion), threads: threads, kernelMilliseconds: Double(best), gflops: gflops,
            checkedThreads: samples.count)
    }

    /// JIT-compiles the kernel's PTX, keeping the compiler's error log for the failure message.
    static func loadModule(_ d: CUDADriver, ptx source: String = FMAKernel.ptx()) throws(BenchmarkError)
        -> OpaquePointer?
    {
        var module: OpaquePointer? = nil
        let logSize = 8192
        var log = [CChar](repeating: 0, count: logSize)
        let code = source.withCString { ptx in
            log.withUnsafeMutableBufferPointer { logBuffer in
                var options: [Int32] = [CUDADriver.jitErrorLogBuffer, CUDADriver.jitErrorLogBufferSizeBytes]
                var values: [UnsafeMutableRawPointer?] = [
                    UnsafeMutableRawPointer(logBuffer.baseAddress), UnsafeMutableRawPointer(bitPattern: logSize - 1),
                ]
                return options.withUnsafeMutableBufferPointer { o in
                    values.withUnsafeMutableBufferPointer { v in
                        d.cuModuleLoadDataEx(
                            &module, UnsafeRawPointer(ptx), UInt32(o.count), o.baseAddress, v.baseAddress)
                    }
                }
            }
        }
        guard code == CUDADriver.success else {
            let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw BenchmarkError(
                .callFailed(call: "cuModuleLoadDataEx", code: code),
                "cuModuleLoadDataEx (the PTX kernel) failed: \(d.describe(code))"
                    + (text.isEmpty ? "" : "; the JIT says: \(text)"))
        }
        return module
    }
}

/// One GPU's benchmark: what the driver says the device is, and how fast the checked kernel ran.
public struct CUDABenchmarkResult: Sendable, Equatable, CustomStringConvertible {
    public var deviceIndex: Int
    /// The name the driver reports, e.g. "NVIDIA H100 80GB HBM3".
    public var deviceName: String
    public var totalMemoryBytes: UInt64
    /// "9.0".
    public var computeCapability: String
    public var multiprocessors: Int
    /// As cuDriverGetVersion reports it: 12040 is CUDA 12.4.
    public var driverVersion: Int
    public var threads: Int
    /// The fastest timed launch.
    public var kernelMilliseconds: Double
    /// FP32 GFLOPS, counting a fused multiply-add as two operations.
    public var gflops: Double
    /// How many threads' outputs matched the CPU's arithmetic bit for bit.
    public var checkedThreads: Int

    /// The score a provider claims: whole GFLOPS.
    public var score: UInt64 { UInt64(max(0, gflops.rounded())) }

    public var description: String {
        let gib = Double(totalMemoryBytes) / Double(1 << 30)
        return "GPU \(deviceIndex): \(deviceName), \(String(format: "%.1f", gib)) GiB, compute \(computeCapability), "
            + "\(multiprocessors) SMs, CUDA driver \(driverVersion / 1000).\(driverVersion % 1000 / 10): "
            + "\(score) GFLOPS FP32 (\(threads) threads, best of \(Benchmark.timedRuns) in "
            + "\(String(format: "%.2f", kernelMilliseconds)) ms; \(checkedThreads) outputs match the CPU)"
    }
}

/// Why a benchmark could not run or did not prove anything; names the failing driver call and its result.
public struct BenchmarkError: Error, CustomStringConvertible, Sendable, Equatable {
    enum Code: Sendable, Equatable {
        case noDriver, missingSymbol, noDevice, wrongResult
        case callFailed(call: String, code: Int32)
    }

    let code: Code
    public let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
