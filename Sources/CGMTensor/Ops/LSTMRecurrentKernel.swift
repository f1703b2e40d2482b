// The LSTM's per-step products as a register-blocked SIMD kernel:
//
//   forward   gates_t = [x_t | h_{t−1}] · [W_ih | W_hh]ᵀ   (B × (In + H))·((In + H) × 4H), the transpose formed
//                                                          once per sequence; XH holds [x_t | h_{t−1}] rows
//   backward  dh_{t−1} = dâ_t · W_hh                       (B × 4H)·(4H × H), W_hh as stored
//
// i.e. C[r, :] (+)= Σ_k A[r, k] · W[k, :] with W (K × N) row-major. OpenBLAS packs both operands on every
// call; at B = 32 re-packing the 64K-float weight costs about a third of each call (TFT: 2 × 1,200 calls
// per step). This kernel reads W in place: a tile of C (R rows × V vectors) lives in R·V accumulator
// registers while k runs, V loads of W and one broadcast of A per row feeding R·V fused multiply-adds.
// The tile is chosen at build time for the register file (KernelISA.swift):
//   AVX-512 (32 zmm): 4 rows × 4 SIMD16 = 4 × 64:  16 accumulators + 4 of W + 1 broadcast = 21 registers
//   AVX2    (16 ymm): 6 rows × 2 SIMD8  = 6 × 16:  12 accumulators + 2 of W + 1 broadcast = 15 registers
// (the AVX-512 tile on AVX2 would need 32 ymm for its accumulators alone and spills every iteration).
// Rows past the last whole tile run as a shorter tile. It needs hardware FMA (release builds: `-target-cpu`,
// see Package.swift, which defines CGMTRAIN_FMA_KERNELS); elsewhere, and for column counts that are not
// whole tiles, the LSTM keeps `BLAS.gemm`. Results differ from OpenBLAS's, and between the two tiles, in
// summation order only (each output is the same k-ascending chain of fused multiply-adds in both tiles).

/// The register-blocked product C (+)= A · W of the LSTM steps (see the file header); public so that `cgmbench`
/// can time it against `cblas_sgemm` at the LSTMs' shapes.
public enum RecurrentGEMM {
    /// A tile shape of the kernel; `build` is the one this build's LSTM uses. Both run on any x86-64 build
    /// (the tests check each against OpenBLAS); only the build's own fits its register file.
    public enum Tile: String, CaseIterable, Sendable {
        /// 4 rows × 64 columns (4 SIMD16 per row), for 32 × 512-bit registers.
        case avx512
        /// 6 rows × 16 columns (2 SIMD8 per row), for 16 × 256-bit registers.
        case avx2

        /// Rows of C per tile.
        public var rows: Int { self == .avx512 ? 4 : 6 }
        /// Columns of C per tile: the kernel needs n to be a multiple of this.
        public var columns: Int { self == .avx512 ? 64 : 16 }

        /// The tile of this build's target ISA.
        public static var build: Tile {
            #if CGMTRAIN_AVX512
            return .avx512
            #else
            return .avx2
            #endif
        }
    }

    /// Tests turn the kernel on in debug builds too (slow there, but it exercises the LSTM's wiring).
    nonisolated(unsafe) static var forcedForTesting = false

    /// Whether the LSTM uses this kernel for `rows × n` outputs: whole tile columns, and an FMA build.
    public static func applies(rows: Int, n: Int) -> Bool {
        #if CGMTRAIN_FMA_KERNELS
        let build = true
        #else
        let build = forcedForTesting
        #endif
        return build && n % Tile.build.columns == 0 && rows > 0 && n > 0
    }

    /// C[r, j] = (accumulate ? C[r, j] : 0) + Σ_k A[r, k] · W[k, j] for r < rows and j < n (a multiple of the
    /// tile's columns); A has row stride `lda`, W is (k × n) with row stride `ldw` (default n), C has row
    /// stride `ldc`.
    public static func multiply(rows: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                         w: UnsafePointer<Float>, ldw: Int? = nil, c: UnsafeMutablePointer<Float>, ldc: Int,
                         accumulate: Bool, tile: Tile = .build) {
        precondition(n % tile.columns == 0, "RecurrentGEMM: \(n) columns are not whole \(tile) tiles of \(tile.columns)")
        let ldw = ldw ?? n
        switch tile {
        case .avx512:
            run(AVX512Tile.self, rows: rows, n: n, k: k, a: a, lda: lda, w: w, ldw: ldw, c: c, ldc: ldc, accumulate: accumulate)
        case .avx2:
            run(AVX2Tile.self, rows: rows, n: n, k: k, a: a, lda: lda, w: w, ldw: ldw, c: c, ldc: ldc, accumulate: accumulate)
        }
    }

    /// Walks C by column strips (a strip of W, k × columns, stays in L1 while every row block reads it), each
    /// strip in whole tiles and then the remaining rows as one shorter tile.
    @inline(__always)
    private static func run<T: RecurrentTile>(_: T.Type, rows: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                              w: UnsafePointer<Float>, ldw: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                              accumulate: Bool) {
        let full = rows - rows % T.rows
        var j = 0
        while j < n {
            var r = 0
            while r < full {
                T.block(T.rows, a + r * lda, lda: lda, k: k, w: w + j, ldw: ldw, c: c + r * ldc + j, ldc: ldc,
                        accumulate: accumulate)
                r += T.rows
            }
            if r < rows {
                T.remainder(rows - r, a + r * lda, lda: lda, k: k, w: w + j, ldw: ldw, c: c + r * ldc + j, ldc: ldc,
                            accumulate: accumulate)
            }
            j += T.columns
        }
    }
}

/// One tile shape: `block(used, …)` computes `used` ≤ `rows` rows × `columns` columns of C.
protocol RecurrentTile {
    static var rows: Int { get }
    static var columns: Int { get }
    static func block(_ used: Int, _ a: UnsafePointer<Float>, lda: Int, k: Int, w: UnsafePointer<Float>, ldw: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool)
}

extension RecurrentTile {
    /// A tile of 1 ..< rows rows: each count gets its own inlined copy of `block` (dead rows folded away).
    @inline(__always)
    static func remainder(_ used: Int, _ a: UnsafePointer<Float>, lda: Int, k: Int, w: UnsafePointer<Float>, ldw: Int,
                          c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        switch used {
        case 1: block(1, a, lda: lda, k: k, w: w, ldw: ldw, c: c, ldc: ldc, accumulate: accumulate)
        case 2: block(2, a, lda: lda, k: k, w: w, ldw: ldw, c: c, ldc: ldc, accumulate: accumulate)
        case 3: block(3, a, lda: lda, k: k, w: w, ldw: ldw, c: c, ldc: ldc, accumulate: accumulate)
        case 4: block(4, a, lda: lda, k: k, w: w, ldw: ldw, c: c, ldc: ldc, accumulate: accumulate)
        default: block(5, a, lda: lda, k: k, w: w, ldw: ldw, c: c, ldc: ldc, accumulate: accumulate)
        }
    }
}

@inline(__always) private func load<V: SIMD>(_ p: UnsafePointer<Float>, _: V.Type) -> V where V.Scalar == Float {
    UnsafeRawPointer(p).loadUnaligned(as: V.self)
}

@inline(__always) private func put<V: SIMD>(_ v: V, _ p: UnsafeMutablePointer<Float>, _ accumulate: Bool)
where V.Scalar == Float {
    let raw = UnsafeMutableRawPointer(p)
    raw.storeBytes(of: accumulate ? raw.loadUnaligned(as: V.self) + v : v, as: V.self)
}

/// 4 rows × 64 columns: per row four SIMD16 accumulators (16 zmm), four loads of W, one broadcast.
enum AVX512Tile: RecurrentTile {
    typealias V = SIMD16<Float>
    static var rows: Int { 4 }
    static var columns: Int { 64 }

    @inline(__always)
    static func block(_ used: Int, _ a: UnsafePointer<Float>, lda: Int, k: Int, w: UnsafePointer<Float>, ldw: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        var c00 = V(), c01 = V(), c02 = V(), c03 = V()
        var c10 = V(), c11 = V(), c12 = V(), c13 = V()
        var c20 = V(), c21 = V(), c22 = V(), c23 = V()
        var c30 = V(), c31 = V(), c32 = V(), c33 = V()
        let a0 = a, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
        var wk = w
        for q in 0..<k {
            let w0 = load(wk, V.self), w1 = load(wk + 16, V.self), w2 = load(wk + 32, V.self), w3 = load(wk + 48, V.self)
            let x0 = V(repeating: a0[q])
            c00.addProduct(x0, w0); c01.addProduct(x0, w1); c02.addProduct(x0, w2); c03.addProduct(x0, w3)
            if used > 1 {
                let x1 = V(repeating: a1[q])
                c10.addProduct(x1, w0); c11.addProduct(x1, w1); c12.addProduct(x1, w2); c13.addProduct(x1, w3)
            }
            if used > 2 {
                let x2 = V(repeating: a2[q])
                c20.addProduct(x2, w0); c21.addProduct(x2, w1); c22.addProduct(x2, w2); c23.addProduct(x2, w3)
            }
            if used > 3 {
                let x3 = V(repeating: a3[q])
                c30.addProduct(x3, w0); c31.addProduct(x3, w1); c32.addProduct(x3, w2); c33.addProduct(x3, w3)
            }
            wk += ldw
        }
        let r0 = c, r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc
        put(c00, r0, accumulate); put(c01, r0 + 16, accumulate); put(c02, r0 + 32, accumulate); put(c03, r0 + 48, accumulate)
        if used > 1 { put(c10, r1, accumulate); put(c11, r1 + 16, accumulate); put(c12, r1 + 32, accumulate); put(c13, r1 + 48, accumulate) }
        if used > 2 { put(c20, r2, accumulate); put(c21, r2 + 16, accumulate); put(c22, r2 + 32, accumulate); put(c23, r2 + 48, accumulate) }
        if used > 3 { put(c30, r3, accumulate); put(c31, r3 + 16, accumulate); put(c32, r3 + 32, accumulate); put(c33, r3 + 48, accumulate) }
    }
}

/// 6 rows × 16 columns: per row two SIMD8 accumulators (12 ymm), two loads of W, one broadcast.
enum AVX2Tile: RecurrentTile {
    typealias V = SIMD8<Float>
    static var rows: Int { 6 }
    static var columns: Int { 16 }

    @inline(__always)
    static func block(_ used: Int, _ a: UnsafePointer<Float>, lda: Int, k: Int, w: UnsafePointer<Float>, ldw: Int,
                      c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        let a0 = a, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda
        var wk = w
        for q in 0..<k {
            let w0 = load(wk, V.self), w1 = load(wk + 8, V.self)
            let x0 = V(repeating: a0[q])
            c00.addProduct(x0, w0); c01.addProduct(x0, w1)
            if used > 1 { let x = V(repeating: a1[q]); c10.addProduct(x, w0); c11.addProduct(x, w1) }
            if used > 2 { let x = V(repeating: a2[q]); c20.addProduct(x, w0); c21.addProduct(x, w1) }
            if used > 3 { let x = V(repeating: a3[q]); c30.addProduct(x, w0); c31.addProduct(x, w1) }
            if used > 4 { let x = V(repeating: a4[q]); c40.addProduct(x, w0); c41.addProduct(x, w1) }
            if used > 5 { let x = V(repeating: a5[q]); c50.addProduct(x, w0); c51.addProduct(x, w1) }
            wk += ldw
        }
        put(c00, c, accumulate); put(c01, c + 8, accumulate)
        let r1 = c + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc
        if used > 1 { put(c10, r1, accumulate); put(c11, r1 + 8, accumulate) }
        if used > 2 { put(c20, r2, accumulate); put(c21, r2 + 8, accumulate) }
        if used > 3 { put(c30, r3, accumulate); put(c31, r3 + 8, accumulate) }
        if used > 4 { put(c40, r4, accumulate); put(c41, r4 + 8, accumulate) }
        if used > 5 { put(c50, r5, accumulate); put(c51, r5 + 8, accumulate) }
    }
}
