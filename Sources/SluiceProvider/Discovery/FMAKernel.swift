/// The proof-of-GPU kernel, as PTX text, and the same arithmetic on the CPU.
///
/// Each thread starts `chains` accumulators from its global index and runs `a = a × m + c` on each, as fused
/// multiply-adds (`fma.rn.f32`, IEEE-exact), `loops × unroll` times; it then adds them in a fixed order and writes
/// one float. The CPU repeats the same operations with `Float.addingProduct` (also a correctly rounded fused
/// multiply-add), so a GPU value equals its CPU value bit for bit; a kernel that skipped work or did not run
/// cannot match. The multiplier is just under 1, so values stay near 1 (no overflow, no subnormals) while still
/// depending on every iteration and on the thread's index.
///
/// The driver compiles PTX itself (no CUDA toolkit needed). PTX 6.0 for sm_50 loads on every GPU from Maxwell
/// on; the constants are written as the bit patterns of the CPU's own `Float`s, so both sides use the same
/// numbers.
enum FMAKernel {
    static let name = "sluice_fma"
    /// Independent accumulators per thread: enough to hide the FMA latency.
    static let chains = 8
    /// FMAs per chain in one trip through the loop.
    static let unroll = 4
    static let multiplier: Float = 0.99999
    static let addend: Float = 0.00001
    /// The thread index times 2^-20 is a thread's start (exact: a power of two).
    static let scale: Float = 0x1p-20
    /// Chain k starts at the thread's start plus k/8 (exact).
    static func offset(_ chain: Int) -> Float { Float(chain) * 0.125 }

    /// PTX's spelling of a float: `0f` and the IEEE bits in hex.
    static func literal(_ value: Float) -> String {
        let hex = String(value.bitPattern, radix: 16, uppercase: true)
        return "0f" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// The kernel `sluice_fma(float *out, u32 loops)`; every thread writes `out[global index]`. `loops` ≥ 1.
    static func ptx() -> String {
        // Registers: %f1 the start, %f2 the multiplier, %f3 the addend, %f10… the chains, %f30 the sum.
        let chainRegisters = (0..<chains).map { "%f\(10 + $0)" }
        var starts = ""
        for (k, r) in chainRegisters.enumerated() {
            starts += "\tadd.rn.f32 \t\(r), %f1, \(literal(offset(k)));\n"
        }
        var body = ""
        for _ in 0..<unroll {
            for r in chainRegisters { body += "\tfma.rn.f32 \t\(r), \(r), %f2, %f3;\n" }
        }
        var sum = "\tmov.f32 \t%f30, \(chainRegisters[0]);\n"
        for r in chainRegisters.dropFirst() { sum += "\tadd.rn.f32 \t%f30, %f30, \(r);\n" }
        return """
            //
            // Sluice proof-of-GPU kernel: chains of fused multiply-adds per thread, one float out per thread.
            //
            .version 6.0
            .target sm_50
            .address_size 64

            .visible .entry \(name)(
            \t.param .u64 \(name)_out,
            \t.param .u32 \(name)_loops
            )
            {
            \t.reg .pred \t%p<2>;
            \t.reg .b32 \t%r<8>;
            \t.reg .f32 \t%f<32>;
            \t.reg .b64 \t%rd<6>;

            \tld.param.u64 \t%rd1, [\(name)_out];
            \tld.param.u32 \t%r1, [\(name)_loops];
            \tcvta.to.global.u64 \t%rd2, %rd1;
            \tmov.u32 \t%r2, %ctaid.x;
            \tmov.u32 \t%r3, %ntid.x;
            \tmov.u32 \t%r4, %tid.x;
            \tmad.lo.s32 \t%r5, %r2, %r3, %r4;
            \tcvt.rn.f32.u32 \t%f4, %r5;
            \tmul.rn.f32 \t%f1, %f4, \(literal(scale));
            \tmov.f32 \t%f2, \(literal(multiplier));
            \tmov.f32 \t%f3, \(literal(addend));
            \(starts)\tmov.u32 \t%r6, 0;
            $L__loop:
            \(body)\tadd.s32 \t%r6, %r6, 1;
            \tsetp.lt.u32 \t%p1, %r6, %r1;
            \t@%p1 bra \t$L__loop;
            \(sum)\tmul.wide.u32 \t%rd3, %r5, 4;
            \tadd.s64 \t%rd4, %rd2, %rd3;
            \tst.global.f32 \t[%rd4], %f30;
            \tret;
            }

            """
    }

    /// What thread `thread` writes after `loops` trips through the loop, computed on the CPU.
    static func reference(thread: UInt32, loops: UInt32) -> Float {
        let start = Float(thread) * scale
        var a = (0..<chains).map { start + offset($0) }
        for _ in 0..<(Int(max(loops, 1)) * unroll) {
            for k in 0..<chains { a[k] = addend.addingProduct(a[k], multiplier) }
        }
        var sum = a[0]
        for k in 1..<chains { sum += a[k] }
        return sum
    }

    /// Fused multiply-adds the whole grid performs.
    static func fmas(threads: Int, loops: UInt32) -> Double {
        Double(threads) * Double(loops) * Double(unroll * chains)
    }
}
