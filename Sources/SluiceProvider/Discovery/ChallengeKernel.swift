public import SluiceCore

/// The proof-of-GPU challenge's product on an NVIDIA GPU (`GPUChallenge`): two PTX kernels the driver compiles,
/// one filling A and B from the seed (the same SplitMix64 positions as the CPU and the chain), one multiplying
/// them in 16×16 tiles through shared memory with fused multiply-adds. Every partial sum is an integer below 2^24,
/// so the result equals the CPU's and the chain's bit for bit whatever the order of the additions.
enum ChallengeKernel {
    static let fillName = "sluice_pog_fill"
    static let multiplyName = "sluice_pog_matmul"
    static let tile = 16

    static func ptx() -> String {
        // The tile loop's 16 multiply-adds, unrolled: row ty of the A tile times column tx of the B tile.
        var products = ""
        for k in 0..<tile {
            products += "\tld.shared.f32 \t%f4, [%r15+\(4 * k)];\n"
            products += "\tld.shared.f32 \t%f5, [%r16+\(4 * tile * k)];\n"
            products += "\tfma.rn.f32 \t%f1, %f4, %f5, %f1;\n"
        }
        return """
            //
            // Sluice proof-of-GPU challenge: fill A and B from the seed, C = A * B in 16 x 16 tiles.
            //
            .version 6.0
            .target sm_50
            .address_size 64

            .visible .entry \(fillName)(
            \t.param .u64 \(fillName)_out,
            \t.param .u64 \(fillName)_stream,
            \t.param .u32 \(fillName)_count
            )
            {
            \t.reg .pred \t%p<2>;
            \t.reg .b32 \t%r<8>;
            \t.reg .b64 \t%rd<20>;
            \t.reg .f32 \t%f<2>;

            \tld.param.u64 \t%rd1, [\(fillName)_out];
            \tld.param.u64 \t%rd2, [\(fillName)_stream];
            \tld.param.u32 \t%r1, [\(fillName)_count];
            \tcvta.to.global.u64 \t%rd1, %rd1;
            \tmov.u32 \t%r2, %ctaid.x;
            \tmov.u32 \t%r3, %ntid.x;
            \tmov.u32 \t%r4, %tid.x;
            \tmad.lo.s32 \t%r5, %r2, %r3, %r4;
            \tsetp.ge.u32 \t%p1, %r5, %r1;
            \t@%p1 bra \t$L__fill_done;
            \tcvt.u64.u32 \t%rd3, %r5;
            \tadd.u64 \t%rd4, %rd3, 1;
            \tmul.lo.s64 \t%rd5, %rd4, -7046029254386353131;
            \tadd.u64 \t%rd6, %rd2, %rd5;
            \tshr.u64 \t%rd7, %rd6, 30;
            \txor.b64 \t%rd8, %rd6, %rd7;
            \tmul.lo.s64 \t%rd9, %rd8, -4658895280553007687;
            \tshr.u64 \t%rd10, %rd9, 27;
            \txor.b64 \t%rd11, %rd9, %rd10;
            \tmul.lo.s64 \t%rd12, %rd11, -7723592293110705685;
            \tshr.u64 \t%rd13, %rd12, 31;
            \txor.b64 \t%rd14, %rd12, %rd13;
            \tshr.u64 \t%rd15, %rd14, 60;
            \tcvt.u32.u64 \t%r6, %rd15;
            \tcvt.rn.f32.u32 \t%f1, %r6;
            \tshl.b64 \t%rd16, %rd3, 2;
            \tadd.s64 \t%rd17, %rd1, %rd16;
            \tst.global.f32 \t[%rd17], %f1;
            $L__fill_done:
            \tret;
            }

            .visible .entry \(multiplyName)(
            \t.param .u64 \(multiplyName)_a,
            \t.param .u64 \(multiplyName)_b,
            \t.param .u64 \(multiplyName)_c,
            \t.param .u32 \(multiplyName)_n
            )
            {
            \t.reg .pred \t%p<2>;
            \t.reg .b32 \t%r<24>;
            \t.reg .b64 \t%rd<24>;
            \t.reg .f32 \t%f<8>;
            \t.shared .align 4 .b8 \tsluice_tile_a[1024];
            \t.shared .align 4 .b8 \tsluice_tile_b[1024];

            \tld.param.u64 \t%rd1, [\(multiplyName)_a];
            \tld.param.u64 \t%rd2, [\(multiplyName)_b];
            \tld.param.u64 \t%rd3, [\(multiplyName)_c];
            \tld.param.u32 \t%r1, [\(multiplyName)_n];
            \tcvta.to.global.u64 \t%rd1, %rd1;
            \tcvta.to.global.u64 \t%rd2, %rd2;
            \tcvta.to.global.u64 \t%rd3, %rd3;
            \tmov.u32 \t%r2, %tid.x;
            \tmov.u32 \t%r3, %tid.y;
            \tmov.u32 \t%r4, %ctaid.x;
            \tmov.u32 \t%r5, %ctaid.y;
            \tshl.b32 \t%r6, %r4, 4;
            \tadd.u32 \t%r6, %r6, %r2;
            \tshl.b32 \t%r7, %r5, 4;
            \tadd.u32 \t%r7, %r7, %r3;
            \tcvt.u64.u32 \t%rd4, %r1;
            \tshl.b64 \t%rd5, %rd4, 2;
            \tcvt.u64.u32 \t%rd6, %r7;
            \tmul.lo.u64 \t%rd7, %rd6, %rd4;
            \tcvt.u64.u32 \t%rd8, %r2;
            \tadd.u64 \t%rd9, %rd7, %rd8;
            \tshl.b64 \t%rd9, %rd9, 2;
            \tadd.s64 \t%rd10, %rd1, %rd9;
            \tcvt.u64.u32 \t%rd11, %r3;
            \tmul.lo.u64 \t%rd12, %rd11, %rd4;
            \tcvt.u64.u32 \t%rd13, %r6;
            \tadd.u64 \t%rd14, %rd12, %rd13;
            \tshl.b64 \t%rd14, %rd14, 2;
            \tadd.s64 \t%rd15, %rd2, %rd14;
            \tshl.b64 \t%rd16, %rd5, 4;
            \tmov.u32 \t%r8, sluice_tile_a;
            \tmov.u32 \t%r9, sluice_tile_b;
            \tshl.b32 \t%r10, %r3, 6;
            \tshl.b32 \t%r11, %r2, 2;
            \tadd.u32 \t%r12, %r10, %r11;
            \tadd.u32 \t%r13, %r8, %r12;
            \tadd.u32 \t%r14, %r9, %r12;
            \tadd.u32 \t%r15, %r8, %r10;
            \tadd.u32 \t%r16, %r9, %r11;
            \tshr.u32 \t%r17, %r1, 4;
            \tmov.u32 \t%r18, 0;
            \tmov.f32 \t%f1, 0f00000000;
            $L__tile:
            \tld.global.f32 \t%f2, [%rd10];
            \tld.global.f32 \t%f3, [%rd15];
            \tst.shared.f32 \t[%r13], %f2;
            \tst.shared.f32 \t[%r14], %f3;
            \tbar.sync \t0;
            \(products)\tbar.sync \t0;
            \tadd.s64 \t%rd10, %rd10, 64;
            \tadd.s64 \t%rd15, %rd15, %rd16;
            \tadd.u32 \t%r18, %r18, 1;
            \tsetp.lt.u32 \t%p1, %r18, %r17;
            \t@%p1 bra \t$L__tile;
            \tcvt.rzi.u32.f32 \t%r19, %f1;
            \tadd.u64 \t%rd17, %rd7, %rd13;
            \tshl.b64 \t%rd17, %rd17, 2;
            \tadd.s64 \t%rd18, %rd3, %rd17;
            \tst.global.u32 \t[%rd18], %r19;
            \tret;
            }

            """
    }
}

/// The product of a challenge computed on a GPU, and how long the kernels took.
public struct GPUChallengeProduct: Sendable {
    public var values: [UInt32]
    public var kernelMilliseconds: Double
}

extension Benchmark {
    /// Computes a challenge's product C = A·B on CUDA device `deviceIndex` through the driver API. A failure names
    /// the driver call; without a driver it says so.
    public static func challengeProduct(
        _ challenge: GPUChallenge, deviceIndex: Int
    ) -> Result<GPUChallengeProduct, BenchmarkError> {
        switch CUDADriver.load() {
        case .failure(let e): return .failure(e)
        case .success(let d):
            do throws(BenchmarkError) {
                return .success(try challengeProduct(d, challenge, deviceIndex: deviceIndex))
            } catch {
                return .failure(error)
            }
        }
    }

    private static func challengeProduct(
        _ d: CUDADriver, _ challenge: GPUChallenge, deviceIndex: Int
    ) throws(BenchmarkError) -> GPUChallengeProduct {
        let n = challenge.size
        guard n % ChallengeKernel.tile == 0, n > 0 else {
            throw BenchmarkError(.wrongResult, "the challenge's side \(n) is not a multiple of \(ChallengeKernel.tile)")
        }
        try d.check("cuInit", d.cuInit(0))
        var device: Int32 = 0
        try d.check("cuDeviceGet", d.cuDeviceGet(&device, Int32(deviceIndex)))
        var context: OpaquePointer? = nil
        try d.check("cuCtxCreate_v2", d.cuCtxCreate(&context, 0, device))
        defer { _ = d.cuCtxDestroy(context) }
        let module = try loadModule(d, ptx: ChallengeKernel.ptx())
        defer { _ = d.cuModuleUnload(module) }
        var fill: OpaquePointer? = nil
        try d.check(
            "cuModuleGetFunction(\(ChallengeKernel.fillName))",
            d.cuModuleGetFunction(&fill, module, ChallengeKernel.fillName))
        var multiply: OpaquePointer? = nil
        try d.check(
            "cuModuleGetFunction(\(ChallengeKernel.multiplyName))",
            d.cuModuleGetFunction(&multiply, module, ChallengeKernel.multiplyName))

        let count = n * n
        let bytes = count * 4
        var a: UInt64 = 0
        var b: UInt64 = 0
        var c: UInt64 = 0
        try d.check("cuMemAlloc_v2(A, \(bytes) bytes)", d.cuMemAlloc(&a, bytes))
        defer { _ = d.cuMemFree(a) }
        try d.check("cuMemAlloc_v2(B, \(bytes) bytes)", d.cuMemAlloc(&b, bytes))
        defer { _ = d.cuMemFree(b) }
        try d.check("cuMemAlloc_v2(C, \(bytes) bytes)", d.cuMemAlloc(&c, bytes))
        defer { _ = d.cuMemFree(c) }

        let tile = UInt32(ChallengeKernel.tile)
        let grid = UInt32(n / ChallengeKernel.tile)
        let ms = try d.timed { () throws(BenchmarkError) in
            for (matrix, stream) in [(a, challenge.seedA), (b, challenge.seedB)] {
                try d.launch(
                    ChallengeKernel.fillName, fill, grid: (UInt32((count + 255) / 256), 1), block: (256, 1),
                    [matrix, stream, UInt64(count)])
            }
            try d.launch(
                ChallengeKernel.multiplyName, multiply, grid: (grid, grid), block: (tile, tile), [a, b, c, UInt64(n)])
        }
        var values = [UInt32](repeating: 0, count: count)
        let copied = values.withUnsafeMutableBytes { d.cuMemcpyDtoH($0.baseAddress, c, bytes) }
        try d.check("cuMemcpyDtoH_v2(\(bytes) bytes)", copied)
        // A cheap self-check before the answer goes out: a few entries against the seed.
        for (row, column) in [(0, 0), (n - 1, n - 1), (n / 3, n / 2)] {
            let expected = challenge.entry(row: row, column: column)
            guard values[row * n + column] == expected else {
                throw BenchmarkError(
                    .wrongResult,
                    "the GPU computed C[\(row)][\(column)] = \(values[row * n + column]), the seed gives \(expected)")
            }
        }
        return GPUChallengeProduct(values: values, kernelMilliseconds: Double(ms))
    }
}
