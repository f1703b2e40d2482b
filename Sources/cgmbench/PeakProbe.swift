import CGMTensor
import Foundation

/// The measured fp32 FMA peak of one core: a loop of fused multiply-adds on 12 independent accumulators of one
/// vector register each (`KernelISA.Vector`: 12 zmm on AVX-512, 12 ymm of AVX2's 16), which covers FMA latency ×
/// issue width on both (4 cycles × 2 pipes = 8 chains in flight) with nothing but FMAs in the loop: the release
/// build compiles `chains` to 12 `vfmadd231ps` on registers per iteration, no loads and no spills (checked with
/// objdump). Every GFLOP/s figure of `cgmbench` is reported as a fraction of this number.
enum PeakProbe {
    typealias V = KernelISA.Vector

    /// Best GFLOP/s over `runs` runs of ~`seconds` each, timed by this thread's CPU time (time-slicing by other
    /// jobs on a shared machine does not count against it; their effect on the clock frequency does).
    static func measure(runs: Int = 15, seconds: Double = 0.05) -> Double {
        var iterations = 1 << 14
        while true {   // calibrate one run to about `seconds`
            let t0 = threadCPUSeconds()
            sink += chains(iterations: iterations)
            let dt = threadCPUSeconds() - t0
            if dt > seconds / 2 {
                iterations = max(1, Int(Double(iterations) * seconds / dt))
                break
            }
            iterations *= 2
        }
        var best = 0.0
        for _ in 0..<runs {
            let t = threadCPUSeconds()
            sink += chains(iterations: iterations)
            best = max(best, flop(iterations) / (threadCPUSeconds() - t) / 1e9)
        }
        return best
    }

    /// CPU time of the calling thread, in seconds.
    static func threadCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// FLOPs of `chains(iterations:)`: 12 accumulators × lanes × 2 per iteration.
    static func flop(_ iterations: Int) -> Double { Double(12 * V.scalarCount * 2) * Double(iterations) }

    /// Keeps the result alive so the loop cannot be removed.
    nonisolated(unsafe) static var sink: Float = 0

    /// 12 independent chains aᵢ ← aᵢ + x·y (x·y tiny: no overflow over any run length); returns their sum.
    @inline(never)
    static func chains(iterations: Int) -> Float {
        let x = V(repeating: 1e-9 + sink * 1e-30), y = V(repeating: 0.5)
        var a0 = V(repeating: 0), a1 = V(repeating: 1), a2 = V(repeating: 2), a3 = V(repeating: 3)
        var a4 = V(repeating: 4), a5 = V(repeating: 5), a6 = V(repeating: 6), a7 = V(repeating: 7)
        var a8 = V(repeating: 8), a9 = V(repeating: 9), a10 = V(repeating: 10), a11 = V(repeating: 11)
        for _ in 0..<iterations {
            a0.addProduct(x, y); a1.addProduct(x, y); a2.addProduct(x, y); a3.addProduct(x, y)
            a4.addProduct(x, y); a5.addProduct(x, y); a6.addProduct(x, y); a7.addProduct(x, y)
            a8.addProduct(x, y); a9.addProduct(x, y); a10.addProduct(x, y); a11.addProduct(x, y)
        }
        let s = (a0 + a1 + a2 + a3) + (a4 + a5 + a6 + a7) + (a8 + a9 + a10 + a11)
        return s.sum()
    }
}
