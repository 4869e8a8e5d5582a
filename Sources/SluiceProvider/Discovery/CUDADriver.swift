#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few entry points of the NVIDIA driver API (`libcuda.so.1`) the benchmark needs, found at run time with
/// `dlopen`/`dlsym`: the driver comes with the GPU, so a build machine needs neither a GPU nor the CUDA toolkit,
/// and a machine without the driver gets a clear failure instead of a binary that will not start.
///
/// The C types: `CUresult` and `CUdevice` are `int`; contexts, modules, functions, events and streams are
/// pointers to opaque structs (`OpaquePointer?`); `CUdeviceptr` is `unsigned long long` on 64-bit hosts;
/// `size_t` is `Int`. The `_v2` names are the ones the driver's headers map the plain names to.
struct CUDADriver {
    typealias Result = Int32
    typealias Handle = OpaquePointer?

    let cuGetErrorName: @convention(c) (Result, UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Result
    let cuGetErrorString: @convention(c) (Result, UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Result
    let cuInit: @convention(c) (UInt32) -> Result
    let cuDriverGetVersion: @convention(c) (UnsafeMutablePointer<Int32>?) -> Result
    let cuDeviceGetCount: @convention(c) (UnsafeMutablePointer<Int32>?) -> Result
    let cuDeviceGet: @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Result
    let cuDeviceGetName: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32) -> Result
    let cuDeviceTotalMem: @convention(c) (UnsafeMutablePointer<Int>?, Int32) -> Result
    let cuDeviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>?, Int32, Int32) -> Result
    let cuCtxCreate: @convention(c) (UnsafeMutablePointer<Handle>?, UInt32, Int32) -> Result
    let cuCtxDestroy: @convention(c) (Handle) -> Result
    let cuCtxSynchronize: @convention(c) () -> Result
    let cuModuleLoadDataEx:
        @convention(c) (
            UnsafeMutablePointer<Handle>?, UnsafeRawPointer?, UInt32, UnsafeMutablePointer<Int32>?,
            UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        ) -> Result
    let cuModuleUnload: @convention(c) (Handle) -> Result
    let cuModuleGetFunction: @convention(c) (UnsafeMutablePointer<Handle>?, Handle, UnsafePointer<CChar>?) -> Result
    let cuMemAlloc: @convention(c) (UnsafeMutablePointer<UInt64>?, Int) -> Result
    let cuMemFree: @convention(c) (UInt64) -> Result
    let cuMemcpyDtoH: @convention(c) (UnsafeMutableRawPointer?, UInt64, Int) -> Result
    let cuLaunchKernel:
        @convention(c) (
            Handle, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, Handle,
            UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        ) -> Result
    let cuEventCreate: @convention(c) (UnsafeMutablePointer<Handle>?, UInt32) -> Result
    let cuEventRecord: @convention(c) (Handle, Handle) -> Result
    let cuEventSynchronize: @convention(c) (Handle) -> Result
    let cuEventElapsedTime: @convention(c) (UnsafeMutablePointer<Float>?, Handle, Handle) -> Result
    let cuEventDestroy: @convention(c) (Handle) -> Result

    // Values from cuda.h.
    static let success: Result = 0
    static let attributeMultiprocessorCount: Int32 = 16
    static let attributeComputeCapabilityMajor: Int32 = 75
    static let attributeComputeCapabilityMinor: Int32 = 76
    static let jitErrorLogBuffer: Int32 = 5
    static let jitErrorLogBufferSizeBytes: Int32 = 6

    static let libraryName = "libcuda.so.1"

    /// Opens the driver library and resolves every entry point, or says which one is missing. The library is
    /// never closed: unloading the driver while a context may remain is not worth the risk.
    static func load() -> Swift.Result<CUDADriver, BenchmarkError> {
        guard let library = dlopen(libraryName, RTLD_NOW | RTLD_LOCAL) else {
            let why = dlerror().map { String(cString: $0) } ?? "unknown reason"
            return .failure(
                BenchmarkError(
                    .noDriver,
                    "\(libraryName) could not be loaded (\(why)): this machine has no NVIDIA driver, so no CUDA GPU"))
        }
        do throws(BenchmarkError) {
            func symbol<T>(_ name: String, _: T.Type = T.self) throws(BenchmarkError) -> T {
                guard let p = dlsym(library, name) else {
                    throw BenchmarkError(
                        .missingSymbol, "\(libraryName) has no \(name): the NVIDIA driver is too old or damaged")
                }
                return unsafeBitCast(p, to: T.self)
            }
            return .success(
                CUDADriver(
                    cuGetErrorName: try symbol("cuGetErrorName"),
                    cuGetErrorString: try symbol("cuGetErrorString"),
                    cuInit: try symbol("cuInit"),
                    cuDriverGetVersion: try symbol("cuDriverGetVersion"),
                    cuDeviceGetCount: try symbol("cuDeviceGetCount"),
                    cuDeviceGet: try symbol("cuDeviceGet"),
                    cuDeviceGetName: try symbol("cuDeviceGetName"),
                    cuDeviceTotalMem: try symbol("cuDeviceTotalMem_v2"),
                    cuDeviceGetAttribute: try symbol("cuDeviceGetAttribute"),
                    cuCtxCreate: try symbol("cuCtxCreate_v2"),
                    cuCtxDestroy: try symbol("cuCtxDestroy_v2"),
                    cuCtxSynchronize: try symbol("cuCtxSynchronize"),
                    cuModuleLoadDataEx: try symbol("cuModuleLoadDataEx"),
                    cuModuleUnload: try symbol("cuModuleUnload"),
                    cuModuleGetFunction: try symbol("cuModuleGetFunction"),
                    cuMemAlloc: try symbol("cuMemAlloc_v2"),
                    cuMemFree: try symbol("cuMemFree_v2"),
                    cuMemcpyDtoH: try symbol("cuMemcpyDtoH_v2"),
                    cuLaunchKernel: try symbol("cuLaunchKernel"),
                    cuEventCreate: try symbol("cuEventCreate"),
                    cuEventRecord: try symbol("cuEventRecord"),
                    cuEventSynchronize: try symbol("cuEventSynchronize"),
                    cuEventElapsedTime: try symbol("cuEventElapsedTime"),
                    cuEventDestroy: try symbol("cuEventDestroy_v2")))
        } catch {
            return .failure(error)
        }
    }

    /// "CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected".
    func describe(_ code: Result) -> String {
        var name: UnsafePointer<CChar>? = nil
        var text: UnsafePointer<CChar>? = nil
        let n = cuGetErrorName(code, &name) == Self.success ? name.map { String(cString: $0) } : nil
        let t = cuGetErrorString(code, &text) == Self.success ? text.map { String(cString: $0) } : nil
        return "\(n ?? "CUresult") (\(code))" + (t.map { ": \($0)" } ?? "")
    }

    /// Throws when a driver call failed, naming the call and its result.
    func check(_ call: String, _ code: Result) throws(BenchmarkError) {
        guard code != Self.success else { return }
        throw BenchmarkError(.callFailed(call: call, code: code), "\(call) failed: \(describe(code))")
    }

    /// Launches kernel `name` on `grid` blocks of `block` threads (x, y). Each argument is passed as a 64-bit
    /// word: the driver copies as many bytes as the kernel's parameter has from it, so a 32-bit parameter
    /// takes the low half (little-endian, as every host CUDA runs on).
    func launch(
        _ name: String, _ function: Handle, grid: (UInt32, UInt32), block: (UInt32, UInt32), _ arguments: [UInt64]
    ) throws(BenchmarkError) {
        var words = arguments
        let code = words.withUnsafeMutableBufferPointer { w in
            var pointers: [UnsafeMutableRawPointer?] = w.indices.map { UnsafeMutableRawPointer(w.baseAddress! + $0) }
            return pointers.withUnsafeMutableBufferPointer { p in
                cuLaunchKernel(function, grid.0, grid.1, 1, block.0, block.1, 1, 0, nil, p.baseAddress, nil)
            }
        }
        try check("cuLaunchKernel(\(name), \(grid.0)×\(grid.1) blocks of \(block.0)×\(block.1) threads)", code)
    }

    /// Runs `body` (kernel launches) between two events and returns the GPU time between them, in ms.
    func timed(_ body: () throws(BenchmarkError) -> Void) throws(BenchmarkError) -> Float {
        var start: Handle = nil
        var end: Handle = nil
        try check("cuEventCreate", cuEventCreate(&start, 0))
        defer { _ = cuEventDestroy(start) }
        try check("cuEventCreate", cuEventCreate(&end, 0))
        defer { _ = cuEventDestroy(end) }
        try check("cuEventRecord(start)", cuEventRecord(start, nil))
        try body()
        try check("cuEventRecord(end)", cuEventRecord(end, nil))
        try check("cuEventSynchronize", cuEventSynchronize(end))
        var ms: Float = 0
        try check("cuEventElapsedTime", cuEventElapsedTime(&ms, start, end))
        return ms
    }
}
