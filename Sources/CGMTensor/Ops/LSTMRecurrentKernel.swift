// The LSTM's per-step recurrent products as a register-blocked SIMD kernel:
//
//   forward   gates_t += h_{t−1} · W_hhᵀ     (B × H)·(H × 4H), W_hhᵀ transposed once per sequence
//   backward  dh_{t−1} = dâ_t · W_hh         (B × 4H)·(4H × H), W_hh as stored
//
// i.e. C[r, :] (+)= Σ_k A[r, k] · W[k, :] with W (K × N) row-major. OpenBLAS packs both operands on every
// call; at B = 32 re-packing the 64K-float weight costs about a third of each call (TFT: 2 × 1,200 calls
// per step). This kernel reads W in place: 4 rows × 64 columns of C live in 16 SIMD16 accumulators while k
// runs, one broadcast of A and four loads of W feeding 16 fused multiply-adds. It needs hardware FMA
// (release builds: `-target-cpu`, see Package.swift, which defines CGMTRAIN_FMA_KERNELS); elsewhere, and
// for shapes that are not whole blocks, the LSTM keeps `BLAS.gemm`. Results differ from OpenBLAS's in
// summation order only.

enum RecurrentGEMM {
    typealias V = SIMD16<Float>

    /// Tests turn the kernel on in debug builds too (slow there, but it exercises the LSTM's wiring).
    nonisolated(unsafe) static var forcedForTesting = false

    /// Whether the LSTM uses this kernel for `rows × n` outputs: whole 4 × 64 blocks, and an FMA build.
    static func applies(rows: Int, n: Int) -> Bool {
        #if CGMTRAIN_FMA_KERNELS
        let build = true
        #else
        let build = forcedForTesting
        #endif
        return build && rows % 4 == 0 && n % 64 == 0 && rows > 0 && n > 0
    }

    /// C[r, j] = (accumulate ? C[r, j] : 0) + Σ_k A[r, k] · W[k, j] for r < rows (a multiple of 4) and
    /// j < n (a multiple of 64); A has row stride `lda`, W is (k × n) contiguous, C has row stride `ldc`.
    static func multiply(rows: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                         w: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        precondition(rows % 4 == 0 && n % 64 == 0, "RecurrentGEMM: \(rows) × \(n) is not whole 4 × 64 blocks")
        var r = 0
        while r < rows {
            let a0 = a + r * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
            var j = 0
            while j < n {
                block(a0, a1, a2, a3, k: k, w: w + j, ldw: n, c: c + r * ldc + j, ldc: ldc, accumulate: accumulate)
                j += 64
            }
            r += 4
        }
    }

    /// One 4 × 64 block of C.
    @inline(__always)
    private static func block(_ a0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ a2: UnsafePointer<Float>,
                              _ a3: UnsafePointer<Float>, k: Int, w: UnsafePointer<Float>, ldw: Int,
                              c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        var c00 = V(), c01 = V(), c02 = V(), c03 = V()
        var c10 = V(), c11 = V(), c12 = V(), c13 = V()
        var c20 = V(), c21 = V(), c22 = V(), c23 = V()
        var c30 = V(), c31 = V(), c32 = V(), c33 = V()
        var wk = w
        for q in 0..<k {
            let w0 = load(wk), w1 = load(wk + 16), w2 = load(wk + 32), w3 = load(wk + 48)
            let x0 = V(repeating: a0[q]), x1 = V(repeating: a1[q]), x2 = V(repeating: a2[q]), x3 = V(repeating: a3[q])
            c00.addProduct(x0, w0); c01.addProduct(x0, w1); c02.addProduct(x0, w2); c03.addProduct(x0, w3)
            c10.addProduct(x1, w0); c11.addProduct(x1, w1); c12.addProduct(x1, w2); c13.addProduct(x1, w3)
            c20.addProduct(x2, w0); c21.addProduct(x2, w1); c22.addProduct(x2, w2); c23.addProduct(x2, w3)
            c30.addProduct(x3, w0); c31.addProduct(x3, w1); c32.addProduct(x3, w2); c33.addProduct(x3, w3)
            wk += ldw
        }
        @inline(__always) func put(_ v: V, _ p: UnsafeMutablePointer<Float>) {
            store(accumulate ? load(p) + v : v, p)
        }
        let r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc
        put(c00, r0); put(c01, r0 + 16); put(c02, r0 + 32); put(c03, r0 + 48)
        put(c10, r1); put(c11, r1 + 16); put(c12, r1 + 32); put(c13, r1 + 48)
        put(c20, r2); put(c21, r2 + 16); put(c22, r2 + 32); put(c23, r2 + 48)
        put(c30, r3); put(c31, r3 + 16); put(c32, r3 + 32); put(c33, r3 + 48)
    }

    @inline(__always) private static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) private static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) private static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }
}
