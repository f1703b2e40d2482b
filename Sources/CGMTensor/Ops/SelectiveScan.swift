// Mamba-2 selective scan, chunked "state-space dual" (SSD) algorithm (Dao & Gu 2024, "Transformers are
// SSMs", §6–7), one tape node with a hand-written backward.
//
//   x: (B, L, H, P)   Δ = dt: (B, L, H) (already softplus'ed and clamped)   A: (H), A < 0
//   Bm, Cm: (B, L, G, N) with head h reading group g(h) = h / (H/G)   D: (H)?   h₀: (B, H, P, N)?
//   → y: (B, L, H, P) [, h_L: (B, H, P, N)]
//
// Recurrence (SSM-CGM eqs. 15–16 with Λ = A·I per head, the Mamba-2 parameterization), state (P, N):
//   h_t = e^{Δ_t A} h_{t−1} + Δ_t x_t B_tᵀ,    y_t = h_t C_t + D x_t,    h_{−1} = h₀ (or 0)
//
// Chunked forward. L is cut into chunks [s, s + q) of `chunk` steps (the last one may be shorter: no
// divisibility needed and no padding). In a chunk let a_i = Δ_i A, Λ_i = Σ_{k ≤ i} a_k (inclusive cumsum
// from the chunk start, so Λ is non-increasing), H⁰ the state entering the chunk and H¹ the state leaving it:
//   y_i = Σ_{j ≤ i} (C_i·B_j) e^{Λ_i − Λ_j} Δ_j x_j  +  e^{Λ_i} (H⁰ C_i)  +  D x_i
//   Y   = (S ⊙ 𝓛) X  +  diag(e^{Λ}) C H⁰ᵀ  +  D X,   S = C Bᵀ (q×q),  𝓛_ij = e^{Λ_i − Λ_j} Δ_j [j ≤ i]   (1)
//   H¹  = e^{Λ_last} H⁰ + Σ_j w_j x_j B_jᵀ = e^{Λ_last} H⁰ + (w ⊙ X)ᵀ B,   w_j = e^{Λ_last − Λ_j} Δ_j   (2)
// Every exponent is ≤ 0 (A < 0), so nothing overflows. GEMMs per (batch, chunk, group g): S = C_g B_gᵀ,
// per head M_h = S ⊙ 𝓛_h and Y_h = M_h X_h, then for all heads of the group at once T = C_g H⁰_gᵀ
// (q × (H/G)·P) and H¹_g = e^{Λ_last} H⁰_g + (w ⊙ X_g)ᵀ B_g ((H/G)·P × N). Cost per chunk O(q²(N + HP) +
// qHPN): linear in L for a fixed chunk. The states entering chunks 1…C−1 and the within-chunk Λ are
// cached for the backward pass.
//
// Backward (chunks in reverse, carrying dH¹ = ∂ℓ/∂H¹; dH¹ of the last chunk is ∂ℓ/∂h_L or 0):
//   from (1), with dY:   dX_h += M_hᵀ dY_h,   dM_h = dY_h X_hᵀ,   dS += dM_h ⊙ 𝓛_h  (summed over the group)
//                        dΔ_j += Σ_{i ≥ j} dM_ij S_ij e^{Λ_i − Λ_j} =: r_j,   dΛ_j −= Δ_j r_j
//                        dΛ_i += Σ_p dY_ip (y − D x)_ip    (the "+Λ_i" side of every term of row i, incl. e^{Λ_i}H⁰C_i)
//                        dC += dS B,  dB += dSᵀ C
//                        dT = diag(e^{Λ}) dY:  dC_g += dT H⁰_g,  dH⁰_g = dTᵀ C_g
//                        dD_h += Σ dY_h ⊙ X_h,  dX_h += D_h dY_h
//   from (2):            dXw = B_g dH¹_gᵀ,  dB_g += (w ⊙ X_g) dH¹_g,  dX += w ⊙ dXw,  dw_j = Σ_p dXw_jp x_jp
//                        dΔ_j += dw_j e^{Λ_last − Λ_j},  dΛ_last += dw_j w_j,  dΛ_j −= dw_j w_j
//                        dH⁰ += e^{Λ_last} dH¹,  dΛ_last += e^{Λ_last} Σ dH¹ ⊙ H⁰
//   then da_k = Σ_{i ≥ k} dΛ_i (reverse cumsum in the chunk), dΔ_k += da_k A, dA += Σ_k da_k Δ_k,
//   and dH¹ of the previous chunk is dH⁰ (of chunk 0: ∂ℓ/∂h₀).
// S and 𝓛 are recomputed (one q×q×N GEMM and q²/2 exps per head) rather than stored.
//
// Layouts: x, B and C are read through row strides, so they can sit in place in one packed tensor
// (`selectiveScanPacked`, the Mamba-2 conv output); x's head stride may be 0, one value shared by all
// heads (`selectiveScanSharedValue`, SSM-CGM A.8). The q×q products are lower triangular and run over
// row blocks that skip the zero upper blocks (see "Lower-triangular products").

import Foundation

/// The output and final state of `selectiveScanWithFinalState`.
public struct SelectiveScanResult {
    /// y: (B, L, H, P).
    public let y: Var
    /// h_L, the state after the last step: (B, H, P, N). Pass it as `initialState` to continue the scan.
    public let finalState: Var
}

extension Graph {
    /// Mamba-2 selective scan (SSD), chunked: h_t = e^{Δ_t A} h_{t−1} + Δ_t x_t B_tᵀ, y_t = h_t C_t + D x_t.
    ///
    /// - Parameters:
    ///   - x: (B, L, H, P) inputs per head.
    ///   - dt: (B, L, H) step sizes Δ (positive: already softplus'ed and clamped).
    ///   - A: (H) per-head decay rates (negative, e.g. −exp(A_log)).
    ///   - B, C: (B, L, G, N) input and readout projections; G divides H.
    ///   - D: (H) skip weights, or nil for no skip.
    ///   - initialState: (B, H, P, N) state before step 0 (zero when nil).
    ///   - chunk: chunk length; any positive value (need not divide L).
    /// - Returns: y, (B, L, H, P).
    public func selectiveScan(_ x: Var, dt: Var, A: Var, B: Var, C: Var, D: Var? = nil,
                              initialState: Var? = nil, chunk: Int = 128) -> Var {
        selectiveScanChunked(x, dt: dt, A: A, B: B, C: C, D: D, initialState: initialState, chunk: chunk,
                             returnFinalState: false)[0]
    }

    /// `selectiveScan` that also returns the final state h_L (B, H, P, N), for streaming: scanning
    /// x[0..<L₁] and then x[L₁..<L] from that state equals scanning x[0..<L]. Gradient flows from both outputs.
    public func selectiveScanWithFinalState(_ x: Var, dt: Var, A: Var, B: Var, C: Var, D: Var? = nil,
                                            initialState: Var? = nil, chunk: Int = 128) -> SelectiveScanResult {
        let outs = selectiveScanChunked(x, dt: dt, A: A, B: B, C: C, D: D, initialState: initialState,
                                        chunk: chunk, returnFinalState: true)
        return SelectiveScanResult(y: outs[0], finalState: outs[1])
    }

    /// The chunked scan with x, B and C read in place from one packed tensor `xBC` (B, L, H·P + 2·G·N) whose
    /// columns are [x (H·P) | B (G·N) | C (G·N)] — the Mamba-2 convolution output — so no slices are
    /// copied; their gradients land in `xBC`'s gradient buffer. Otherwise as `selectiveScan`.
    public func selectiveScanPacked(_ xBC: Var, heads: Int, headdim: Int, groups: Int, dstate: Int, dt: Var, A: Var,
                                    D: Var? = nil, initialState: Var? = nil, chunk: Int = 128) -> Var {
        let s = xBC.shape, hp = heads * headdim, width = hp + 2 * groups * dstate
        precondition(s.count == 3 && s[2] == width,
                     "selectiveScanPacked: xBC \(s) must be (B, L, H·P + 2·G·N = \(width)) for H \(heads), P \(headdim), G \(groups), N \(dstate)")
        let operands = ScanOperands(x: ScanOperand(xBC, offset: 0, rowStride: width), xHeadStride: headdim,
                                    b: ScanOperand(xBC, offset: hp, rowStride: width),
                                    c: ScanOperand(xBC, offset: hp + groups * dstate, rowStride: width))
        return selectiveScanChunked(operands, xShape: [s[0], s[1], heads, headdim], bShape: [s[0], s[1], groups, dstate],
                                    cShape: [s[0], s[1], groups, dstate], dt: dt, A: A, D: D,
                                    initialState: initialState, chunk: chunk, returnFinalState: false)[0]
    }

    /// The chunked scan with one value sequence `v` (B, L, P) shared by all `heads` heads: every head h
    /// runs h_t = e^{Δ_t A_h} h_{t−1} + Δ_t v_t B_tᵀ, y_t = h_t C_t + D_h v_t with its own Δ and A. Equals
    /// `selectiveScan` of v repeated over the heads, without materializing the repetition (SSM-CGM A.8).
    /// Returns y (B, L, H, P).
    public func selectiveScanSharedValue(_ v: Var, heads: Int, dt: Var, A: Var, B: Var, C: Var, D: Var? = nil,
                                         initialState: Var? = nil, chunk: Int = 128) -> Var {
        let s = v.shape
        precondition(s.count == 3 && heads > 0, "selectiveScanSharedValue: v \(s) must be (B, L, P) and heads \(heads) > 0")
        let operands = ScanOperands(x: ScanOperand(v, offset: 0, rowStride: s[2]), xHeadStride: 0,
                                    b: ScanOperand(B, offset: 0, rowStride: Shape.count(Array(B.shape.suffix(2)))),
                                    c: ScanOperand(C, offset: 0, rowStride: Shape.count(Array(C.shape.suffix(2)))))
        return selectiveScanChunked(operands, xShape: [s[0], s[1], heads, s[2]], bShape: B.shape, cShape: C.shape,
                                    dt: dt, A: A, D: D, initialState: initialState, chunk: chunk,
                                    returnFinalState: false)[0]
    }

    private func selectiveScanChunked(_ x: Var, dt: Var, A: Var, B: Var, C: Var, D: Var?, initialState: Var?,
                                      chunk: Int, returnFinalState: Bool) -> [Var] {
        let gn = Shape.count(Array(B.shape.suffix(2)))
        let operands = ScanOperands(x: ScanOperand(x, offset: 0, rowStride: Shape.count(Array(x.shape.suffix(2)))),
                                    xHeadStride: x.shape.last ?? 0,
                                    b: ScanOperand(B, offset: 0, rowStride: gn), c: ScanOperand(C, offset: 0, rowStride: gn))
        return selectiveScanChunked(operands, xShape: x.shape, bShape: B.shape, cShape: C.shape, dt: dt, A: A, D: D,
                                    initialState: initialState, chunk: chunk, returnFinalState: returnFinalState)
    }

    private func selectiveScanChunked(_ operands: ScanOperands, xShape: [Int], bShape: [Int], cShape: [Int],
                                      dt: Var, A: Var, D: Var?, initialState: Var?, chunk: Int,
                                      returnFinalState: Bool) -> [Var] {
        let shape = SelectiveScanShape(x: xShape, dt: dt.shape, A: A.shape, B: bShape, C: cShape,
                                       D: D?.shape, initialState: initialState?.shape)
        precondition(chunk > 0, "selectiveScan: chunk must be positive, got \(chunk) for x \(xShape)")
        precondition(operands.b.rowStride == operands.c.rowStride, "selectiveScan: B and C must share a row layout")
        let kernel = SSDKernel(shape: shape, chunk: chunk, xStride: operands.x.rowStride,
                               xHeadStride: operands.xHeadStride, bcStride: operands.b.rowStride)
        let y = Tensor(uninitialized: xShape)
        let final = returnFinalState ? Tensor(uninitialized: shape.stateShape) : nil
        let cache = kernel.forward(x: operands.x.value, dt: dt.value.pointer, A: A.value.pointer, B: operands.b.value,
                                   C: operands.c.value, D: D?.value.pointer, h0: initialState?.value.pointer,
                                   y: y.sharedMutablePointer, final: final?.sharedMutablePointer,
                                   keepCache: isRecording)
        var inputs = operands.vars + [dt, A]
        if let D { inputs.append(D) }
        if let initialState { inputs.append(initialState) }
        let outputs = final.map { [y, $0] } ?? [y]
        return record(outputs, inputs: inputs, rule: SelectiveScanBackward(
            kernel: kernel, operands: operands, dt: dt, A: A, D: D, initialState: initialState, y: y, cache: cache))
    }
}

/// One of x, B, C: a tensor, where the operand starts in each row, and the row stride.
struct ScanOperand {
    let v: Var, offset: Int, rowStride: Int
    init(_ v: Var, offset: Int, rowStride: Int) { (self.v, self.offset, self.rowStride) = (v, offset, rowStride) }

    var value: UnsafePointer<Float> { v.value.pointer + offset }

    func gradient(_ g: Graph) -> UnsafeMutablePointer<Float>? { g.needsGrad(v) ? g.gradBuffer(v) + offset : nil }
}

/// Where x, B and C come from: three tensors, column blocks of one packed (B, L, H·P + 2·G·N) tensor,
/// or a value shared by all heads (x head stride 0).
struct ScanOperands {
    let x: ScanOperand
    /// Distance between the columns of consecutive heads in x: P, or 0 when all heads read one value.
    let xHeadStride: Int
    let b: ScanOperand, c: ScanOperand

    /// The distinct input variables.
    var vars: [Var] {
        var out: [Var] = []
        for v in [x.v, b.v, c.v] where !out.contains(where: { $0.id == v.id }) { out.append(v) }
        return out
    }
}

/// Forward-pass values the backward pass reuses.
struct SSDCache {
    /// Within-chunk inclusive cumsum Λ of Δ·A, laid out (B, H, L).
    let lambda: Tensor
    /// States entering chunks 1…C−1, (B, C−1, H, P, N) (empty for one chunk).
    let states: Tensor
}

/// Per-call scratch of the chunked kernels, allocated once per forward or backward call.
final class SSDScratch {
    let buffers: [UnsafeMutablePointer<Float>]
    init(_ sizes: [Int]) {
        buffers = sizes.map {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max($0, 1))
            p.initialize(repeating: 0, count: max($0, 1))
            return p
        }
    }
    deinit { for b in buffers { b.deallocate() } }
}

/// The chunked SSD forward and backward kernels for one shape and chunk length.
struct SSDKernel {
    let shape: SelectiveScanShape
    let chunk: Int
    /// Row strides of x (and dx) and of B, C (and dB, dC): H·P and G·N for separate tensors, the packed
    /// width for x, B, C read from one (B, L, H·P + 2·G·N) tensor. y and dY are always contiguous.
    let xStride: Int, bcStride: Int
    /// Column distance between heads in x: P, or 0 for one value shared by all heads (whose gradient
    /// then sums over the heads through the `+=` of every dx update).
    let xHeadStride: Int

    init(shape: SelectiveScanShape, chunk: Int, xStride: Int? = nil, xHeadStride: Int? = nil, bcStride: Int? = nil) {
        self.shape = shape
        self.chunk = chunk
        self.xStride = xStride ?? shape.hp
        self.xHeadStride = xHeadStride ?? shape.headdim
        self.bcStride = bcStride ?? shape.gn
    }

    var chunkCount: Int { (shape.length + chunk - 1) / chunk }

    /// Start and length of chunk `c`.
    @inline(__always) func bounds(_ c: Int) -> (start: Int, count: Int) {
        let s = c * chunk
        return (s, min(chunk, shape.length - s))
    }

    /// Writes Λ (within-chunk inclusive cumsum of Δ·A) of batch `b`, head `h`, chunk [s, s + q) into
    /// `lambda` (B, H, L) and the chunk's Δ of that head, contiguous, into `dtc`.
    @inline(__always)
    func cumsum(b: Int, h: Int, s: Int, q: Int, dt: UnsafePointer<Float>, a: Float,
                lambda: UnsafeMutablePointer<Float>, dtc: UnsafeMutablePointer<Float>) {
        let hs = shape.heads, l = shape.length
        let row = lambda + (b * hs + h) * l + s
        let src = dt + (b * l + s) * hs + h
        var acc: Float = 0
        for i in 0..<q {
            let d = src[i * hs]
            dtc[i] = d
            acc += d * a
            row[i] = acc
        }
    }

    /// Lower triangle of E_ij = e^{Λ_i − Λ_j} (j ≤ i) and M_ij = S_ij E_ij Δ_j into q×q blocks with row
    /// stride `chunk`; the upper triangles of `e` and `m` are never written (they stay 0).
    @inline(__always)
    func decayBlock(q: Int, lam: UnsafePointer<Float>, dtc: UnsafePointer<Float>, s: UnsafePointer<Float>,
                    e: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>) {
        let ld = chunk
        for i in 0..<q {
            let er = e + i * ld, mr = m + i * ld, sr = s + i * ld, li = lam[i]
            for j in 0...i { er[j] = li - lam[j] }
            FastMath.exp(er, er, count: i + 1)
            for j in 0...i { mr[j] = sr[j] * er[j] * dtc[j] }
        }
    }

    // MARK: Lower-triangular products
    // Every q×q matrix of the intra-chunk term (S, M, dM, dS) is only needed on and below the diagonal.
    // The products run over row blocks of `triangleBlock` rows; block [r₀, r₁) touches columns [0, r₁)
    // only, which skips the zero (or unneeded) upper blocks: 37.5% of those FLOPs for q = 128.

    /// Rows per block of the lower-triangular products.
    static let triangleBlock = 32

    @inline(__always) func forEachRowBlock(_ q: Int, _ body: (Int, Int) -> Void) {
        var r0 = 0
        while r0 < q {
            let r1 = min(q, r0 + SSDKernel.triangleBlock)
            body(r0, r1)
            r0 = r1
        }
    }

    /// c[i, j] = Σ_k a[i, k] b[j, k] for j < r₁(i) (the block lower triangle of A Bᵀ; A, B are q × k).
    func lowerABt(q: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                  c: UnsafeMutablePointer<Float>, ldc: Int) {
        forEachRowBlock(q) { r0, r1 in
            BLAS.gemm(transA: false, transB: true, m: r1 - r0, n: r1, k: k, a: a + r0 * lda, lda: lda, b: b, ldb: ldb,
                      beta: 0, c: c + r0 * ldc, ldc: ldc)
        }
    }

    /// out = L X + beta · out for L (q × q) lower triangular (zero above the diagonal), X (q × n).
    func lowerTimes(q: Int, n: Int, l: UnsafePointer<Float>, ldl: Int, x: UnsafePointer<Float>, ldx: Int,
                    beta: Float, out: UnsafeMutablePointer<Float>, ldo: Int) {
        forEachRowBlock(q) { r0, r1 in
            BLAS.gemm(transA: false, transB: false, m: r1 - r0, n: n, k: r1, a: l + r0 * ldl, lda: ldl, b: x, ldb: ldx,
                      beta: beta, c: out + r0 * ldo, ldc: ldo)
        }
    }

    /// out += Lᵀ Y for L (q × q) lower triangular, Y (q × n): row j of out needs rows i ≥ j of Y.
    func lowerTransposedTimes(q: Int, n: Int, l: UnsafePointer<Float>, ldl: Int, y: UnsafePointer<Float>, ldy: Int,
                              out: UnsafeMutablePointer<Float>, ldo: Int) {
        forEachRowBlock(q) { c0, c1 in
            BLAS.gemm(transA: true, transB: false, m: c1 - c0, n: n, k: q - c0, a: l + c0 * ldl + c0, lda: ldl,
                      b: y + c0 * ldy, ldb: ldy, beta: 1, c: out + c0 * ldo, ldc: ldo)
        }
    }

    // MARK: Forward

    /// Runs the scan; fills `y` and (when non-nil) `final`. Returns the cache when `keepCache`.
    func forward(x: UnsafePointer<Float>, dt: UnsafePointer<Float>, A: UnsafePointer<Float>,
                 B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?,
                 h0: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, final: UnsafeMutablePointer<Float>?,
                 keepCache: Bool) -> SSDCache? {
        let sh = shape, q0 = chunk, nc = chunkCount
        let (hs, p, n, l) = (sh.heads, sh.headdim, sh.dstate, sh.length)
        let (hp, hg, gw, sz) = (sh.hp, sh.headsPerGroup, sh.groupWidth, sh.stateSize)
        let (xs, xhs, bcs) = (xStride, xHeadStride, bcStride)
        let lambdaT = Tensor(uninitialized: [sh.batch, hs, l])
        // States entering chunks 1…nc−1; without a cache two ping-pong slots per call suffice.
        let slots = keepCache ? sh.batch * (nc - 1) : min(nc - 1, 2)
        let statesT = Tensor(uninitialized: [max(slots, 0) * sz])
        let lambda = lambdaT.sharedMutablePointer, states = statesT.sharedMutablePointer
        func slot(_ b: Int, _ c: Int) -> UnsafeMutablePointer<Float> {   // state entering chunk c ≥ 1
            keepCache ? states + (b * (nc - 1) + c - 1) * sz : states + ((c - 1) % 2) * sz
        }
        let scratch = SSDScratch([q0 * q0, q0 * q0, q0 * q0, q0 * gw, q0])
        let sBuf = scratch.buffers[0], eBuf = scratch.buffers[1], mBuf = scratch.buffers[2]
        let tBuf = scratch.buffers[3], dtc = scratch.buffers[4]

        for b in 0..<sh.batch {
            for c in 0..<nc {
                let (s, q) = bounds(c)
                let hIn: UnsafePointer<Float>? = c == 0 ? h0.map { $0 + b * sz } : UnsafePointer(slot(b, c))
                let hOut: UnsafeMutablePointer<Float>? = c == nc - 1 ? final.map { $0 + b * sz } : slot(b, c + 1)
                let row0 = b * l + s
                for g in 0..<sh.groups {
                    let cg = C + row0 * bcs + g * n, bg = B + row0 * bcs + g * n
                    // S = C_g B_gᵀ (q × q)
                    lowerABt(q: q, k: n, a: cg, lda: bcs, b: bg, ldb: bcs, c: sBuf, ldc: q0)
                    for hh in 0..<hg {
                        let h = g * hg + hh
                        cumsum(b: b, h: h, s: s, q: q, dt: dt, a: A[h], lambda: lambda, dtc: dtc)
                        let lam = lambda + (b * hs + h) * l + s
                        decayBlock(q: q, lam: lam, dtc: dtc, s: sBuf, e: eBuf, m: mBuf)
                        // Y_h = M_h X_h   (eq. 1, diagonal block)
                        lowerTimes(q: q, n: p, l: mBuf, ldl: q0, x: x + row0 * xs + h * xhs, ldx: xs, beta: 0,
                                   out: y + row0 * hp + h * p, ldo: hp)
                    }
                    if let hIn {   // T = C_g H⁰_gᵀ (q × gw); Y_ih += e^{Λ_i} T_ih   (eq. 1, state term)
                        BLAS.gemm(transA: false, transB: true, m: q, n: gw, k: n, a: cg, lda: bcs,
                                  b: hIn + g * gw * n, ldb: n, beta: 0, c: tBuf, ldc: gw)
                        for hh in 0..<hg {
                            let h = g * hg + hh
                            let lam = lambda + (b * hs + h) * l + s
                            for i in 0..<q {
                                let e = FastMath.exp(lam[i])
                                let yr = y + (row0 + i) * hp + h * p, tr = tBuf + i * gw + hh * p
                                for k in 0..<p { yr[k] += e * tr[k] }
                            }
                        }
                    }
                    if let D {
                        for hh in 0..<hg {
                            let h = g * hg + hh, dh = D[h]
                            for i in 0..<q {
                                let yr = y + (row0 + i) * hp + h * p, xr = x + (row0 + i) * xs + h * xhs
                                for k in 0..<p { yr[k] += dh * xr[k] }
                            }
                        }
                    }
                    if let hOut {   // H¹_g = e^{Λ_last} H⁰_g + (w ⊙ X_g)ᵀ B_g   (eq. 2)
                        let out = hOut + g * gw * n
                        for hh in 0..<hg {
                            let h = g * hg + hh
                            let lam = lambda + (b * hs + h) * l + s, last = lam[q - 1]
                            let dtp = dt + row0 * hs + h
                            for j in 0..<q {
                                let w = FastMath.exp(last - lam[j]) * dtp[j * hs]
                                let xr = x + (row0 + j) * xs + h * xhs, tr = tBuf + j * gw + hh * p
                                for k in 0..<p { tr[k] = w * xr[k] }
                            }
                            let decay = FastMath.exp(last), rows = out + hh * p * n
                            if let hIn {
                                let src = hIn + (g * gw + hh * p) * n
                                for k in 0..<(p * n) { rows[k] = decay * src[k] }
                            }
                        }
                        BLAS.gemm(transA: true, transB: false, m: gw, n: n, k: q, a: tBuf, lda: gw, b: bg, ldb: bcs,
                                  beta: hIn == nil ? 0 : 1, c: out, ldc: n)
                    }
                }
            }
        }
        return keepCache ? SSDCache(lambda: lambdaT, states: statesT) : nil
    }

    // MARK: Backward

    /// Gradients of the chunked scan (see the header). Pointers for inputs that need no gradient are nil.
    func backward(x: UnsafePointer<Float>, dt: UnsafePointer<Float>, A: UnsafePointer<Float>,
                  B: UnsafePointer<Float>, C: UnsafePointer<Float>, D: UnsafePointer<Float>?,
                  h0: UnsafePointer<Float>?, y: UnsafePointer<Float>, cache: SSDCache,
                  dY: UnsafePointer<Float>?, dFinal: UnsafePointer<Float>?,
                  dx: UnsafeMutablePointer<Float>?, ddt: UnsafeMutablePointer<Float>?,
                  dA: UnsafeMutablePointer<Float>?, dB: UnsafeMutablePointer<Float>?,
                  dC: UnsafeMutablePointer<Float>?, dD: UnsafeMutablePointer<Float>?,
                  dh0: UnsafeMutablePointer<Float>?) {
        let sh = shape, q0 = chunk, nc = chunkCount
        let (hs, p, n, l) = (sh.heads, sh.headdim, sh.dstate, sh.length)
        let (hp, hg, gw, sz) = (sh.hp, sh.headsPerGroup, sh.groupWidth, sh.stateSize)
        let (xs, xhs, bcs) = (xStride, xHeadStride, bcStride)
        let lambda = cache.lambda.pointer, states = cache.states.pointer
        let needLambda = ddt != nil || dA != nil
        let needS = dB != nil || dC != nil
        let scratch = SSDScratch([q0 * q0, q0 * q0, q0 * q0, q0 * q0, q0 * q0, q0 * gw, q0 * gw, sz, sz,
                                  hg * q0, hg * q0, q0, q0])
        let sBuf = scratch.buffers[0], eBuf = scratch.buffers[1], mBuf = scratch.buffers[2]
        let dmBuf = scratch.buffers[3], dsBuf = scratch.buffers[4]
        let tBuf = scratch.buffers[5], dtBuf = scratch.buffers[6]
        var dH = scratch.buffers[7], dHPrev = scratch.buffers[8]
        let dLam = scratch.buffers[9], dDt = scratch.buffers[10], dtc = scratch.buffers[11], r = scratch.buffers[12]

        for b in 0..<sh.batch {
            // dH holds ∂ℓ/∂H¹ of the chunk being processed when hasDH.
            var hasDH = false
            if let dFinal {
                dH.update(from: dFinal + b * sz, count: sz)
                hasDH = true
            }
            for c in stride(from: nc - 1, through: 0, by: -1) {
                let (s, q) = bounds(c)
                let hIn: UnsafePointer<Float>? = c == 0 ? h0.map { $0 + b * sz } : states + (b * (nc - 1) + c - 1) * sz
                let row0 = b * l + s
                // dH⁰ is needed for the previous chunk, or for h₀'s gradient at chunk 0.
                let needDHPrev = c > 0 || dh0 != nil
                for g in 0..<sh.groups {
                    let cg = C + row0 * bcs + g * n, bg = B + row0 * bcs + g * n
                    let dcg = dC.map { $0 + row0 * bcs + g * n }, dbg = dB.map { $0 + row0 * bcs + g * n }
                    dLam.update(repeating: 0, count: hg * q0)
                    dDt.update(repeating: 0, count: hg * q0)
                    lowerABt(q: q, k: n, a: cg, lda: bcs, b: bg, ldb: bcs, c: sBuf, ldc: q0)
                    if needS { for i in 0..<q { (dsBuf + i * q0).update(repeating: 0, count: q) } }
                    // ---- eq. (1): diagonal block, skip, and the Λ_i side of every output term.
                    if let dY {
                        for hh in 0..<hg {
                            let h = g * hg + hh
                            let xh = x + row0 * xs + h * xhs, dyh = dY + row0 * hp + h * p
                            let lam = lambda + (b * hs + h) * l + s
                            let dLamH = dLam + hh * q0, dDtH = dDt + hh * q0
                            let dtp = dt + row0 * hs + h
                            for j in 0..<q { dtc[j] = dtp[j * hs] }
                            decayBlock(q: q, lam: lam, dtc: dtc, s: sBuf, e: eBuf, m: mBuf)
                            if let dx {   // dX_h += M_hᵀ dY_h
                                lowerTransposedTimes(q: q, n: p, l: mBuf, ldl: q0, y: dyh, ldy: hp,
                                                     out: dx + row0 * xs + h * xhs, ldo: xs)
                            }
                            if needS || needLambda {   // dM_h = dY_h X_hᵀ
                                lowerABt(q: q, k: p, a: dyh, lda: hp, b: xh, ldb: xs, c: dmBuf, ldc: q0)
                                r.update(repeating: 0, count: q)
                                for i in 0..<q {
                                    let dmr = dmBuf + i * q0, er = eBuf + i * q0, sr = sBuf + i * q0
                                    let dsr = dsBuf + i * q0
                                    for j in 0...i {
                                        let t = dmr[j] * er[j]
                                        dsr[j] += t * dtc[j]
                                        r[j] += t * sr[j]
                                    }
                                }
                                for j in 0..<q {
                                    dDtH[j] += r[j]
                                    dLamH[j] -= dtc[j] * r[j]
                                }
                            }
                            let dh = D?[h] ?? 0
                            var dDh: Float = 0
                            for i in 0..<q {
                                let yr = y + (row0 + i) * hp + h * p, xr = xh + i * xs, dyr = dyh + i * hp
                                if needLambda {
                                    var acc: Float = 0
                                    for k in 0..<p { acc += dyr[k] * (yr[k] - dh * xr[k]) }
                                    dLamH[i] += acc
                                }
                                if D != nil {
                                    var acc: Float = 0
                                    for k in 0..<p { acc += dyr[k] * xr[k] }
                                    dDh += acc
                                    if let dx {
                                        let dxr = dx + (row0 + i) * xs + h * xhs
                                        for k in 0..<p { dxr[k] += dh * dyr[k] }
                                    }
                                }
                            }
                            dD?[h] += dDh
                        }
                        if needS {   // dC_g += dS B_g,  dB_g += dSᵀ C_g
                            if let dcg {
                                lowerTimes(q: q, n: n, l: dsBuf, ldl: q0, x: bg, ldx: bcs, beta: 1, out: dcg, ldo: bcs)
                            }
                            if let dbg {
                                lowerTransposedTimes(q: q, n: n, l: dsBuf, ldl: q0, y: cg, ldy: bcs, out: dbg, ldo: bcs)
                            }
                        }
                        // State term of (1): dT = diag(e^Λ) dY;  dC_g += dT H⁰_g;  dH⁰_g = dTᵀ C_g.
                        if let hIn, dC != nil || needDHPrev {
                            for hh in 0..<hg {
                                let h = g * hg + hh
                                let lam = lambda + (b * hs + h) * l + s
                                for i in 0..<q {
                                    let e = FastMath.exp(lam[i])
                                    let dyr = dY + (row0 + i) * hp + h * p, tr = dtBuf + i * gw + hh * p
                                    for k in 0..<p { tr[k] = e * dyr[k] }
                                }
                            }
                            if let dcg {
                                BLAS.gemm(transA: false, transB: false, m: q, n: n, k: gw, a: dtBuf, lda: gw,
                                          b: hIn + g * gw * n, ldb: n, beta: 1, c: dcg, ldc: bcs)
                            }
                            if needDHPrev {
                                BLAS.gemm(transA: true, transB: false, m: gw, n: n, k: q, a: dtBuf, lda: gw,
                                          b: cg, ldb: bcs, beta: 0, c: dHPrev + g * gw * n, ldc: n)
                            }
                        } else if needDHPrev {
                            (dHPrev + g * gw * n).update(repeating: 0, count: gw * n)
                        }
                    } else if needDHPrev {
                        (dHPrev + g * gw * n).update(repeating: 0, count: gw * n)
                    }
                    // ---- eq. (2): the state leaving the chunk.
                    if hasDH {
                        let dhg = dH + g * gw * n
                        for hh in 0..<hg {   // Xw = w ⊙ X_g
                            let h = g * hg + hh
                            let lam = lambda + (b * hs + h) * l + s, last = lam[q - 1]
                            let dtp = dt + row0 * hs + h
                            for j in 0..<q {
                                let w = FastMath.exp(last - lam[j]) * dtp[j * hs]
                                let xr = x + (row0 + j) * xs + h * xhs, tr = tBuf + j * gw + hh * p
                                for k in 0..<p { tr[k] = w * xr[k] }
                            }
                        }
                        // dXw = B_g dH¹_gᵀ (q × gw);  dB_g += Xw dH¹_g
                        BLAS.gemm(transA: false, transB: true, m: q, n: gw, k: n, a: bg, lda: bcs, b: dhg, ldb: n,
                                  beta: 0, c: dtBuf, ldc: gw)
                        if let dbg {
                            BLAS.gemm(transA: false, transB: false, m: q, n: n, k: gw, a: tBuf, lda: gw,
                                      b: dhg, ldb: n, beta: 1, c: dbg, ldc: bcs)
                        }
                        for hh in 0..<hg {
                            let h = g * hg + hh
                            let lam = lambda + (b * hs + h) * l + s, last = lam[q - 1]
                            let dLamH = dLam + hh * q0, dDtH = dDt + hh * q0
                            let dtp = dt + row0 * hs + h
                            for j in 0..<q {
                                let e = FastMath.exp(last - lam[j]), w = e * dtp[j * hs]
                                let xr = x + (row0 + j) * xs + h * xhs, dwr = dtBuf + j * gw + hh * p
                                var dw: Float = 0
                                for k in 0..<p { dw += dwr[k] * xr[k] }
                                if let dx {
                                    let dxr = dx + (row0 + j) * xs + h * xhs
                                    for k in 0..<p { dxr[k] += w * dwr[k] }
                                }
                                dDtH[j] += dw * e
                                dLamH[q - 1] += dw * w
                                dLamH[j] -= dw * w
                            }
                            // dH⁰ += e^{Λ_last} dH¹;  dΛ_last += e^{Λ_last} Σ dH¹ ⊙ H⁰
                            let decay = FastMath.exp(last)
                            let dRows = dhg + hh * p * n
                            if needDHPrev {
                                let prev = dHPrev + (g * gw + hh * p) * n
                                for k in 0..<(p * n) { prev[k] += decay * dRows[k] }
                            }
                            if let hIn, needLambda {
                                let src = hIn + (g * gw + hh * p) * n
                                var acc: Float = 0
                                for k in 0..<(p * n) { acc += dRows[k] * src[k] }
                                dLamH[q - 1] += decay * acc
                            }
                        }
                    }
                    // ---- Λ = cumsum(Δ A): da_k = Σ_{i ≥ k} dΛ_i;  dΔ_k += da_k A;  dA += Σ da_k Δ_k.
                    if needLambda {
                        for hh in 0..<hg {
                            let h = g * hg + hh, a = A[h]
                            let dLamH = dLam + hh * q0, dDtH = dDt + hh * q0
                            let dtp = dt + row0 * hs + h
                            var acc: Float = 0, dAh: Float = 0
                            for k in stride(from: q - 1, through: 0, by: -1) {
                                acc += dLamH[k]
                                dDtH[k] += acc * a
                                dAh += acc * dtp[k * hs]
                            }
                            dA?[h] += dAh
                            if let ddt {
                                let out = ddt + row0 * hs + h
                                for k in 0..<q { out[k * hs] += dDtH[k] }
                            }
                        }
                    }
                }
                swap(&dH, &dHPrev)
                hasDH = needDHPrev && (hIn != nil || hasDH || dY != nil)
            }
            if let dh0, hasDH {
                let out = dh0 + b * sz
                for k in 0..<sz { out[k] += dH[k] }
            }
        }
    }
}

struct SelectiveScanBackward: BackwardRule {
    let kernel: SSDKernel
    let operands: ScanOperands
    let dt: Var, A: Var, D: Var?, initialState: Var?
    /// The forward output y (its Λ-derivative is Σ dY (y − D x)).
    let y: Tensor
    let cache: SSDCache?

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let cache else { return }
        let dY = dOutputs[0], dFinal = dOutputs.count > 1 ? dOutputs[1] : nil
        guard dY != nil || dFinal != nil else { return }
        func grad(_ v: Var?) -> UnsafeMutablePointer<Float>? {
            guard let v, g.needsGrad(v) else { return nil }
            return g.gradBuffer(v)
        }
        let (xp, bp, cp) = (operands.x.value, operands.b.value, operands.c.value)
        let (dx, dB, dC) = (operands.x.gradient(g), operands.b.gradient(g), operands.c.gradient(g))
        kernel.backward(x: xp, dt: dt.value.pointer, A: A.value.pointer, B: bp, C: cp, D: D?.value.pointer,
                        h0: initialState?.value.pointer, y: y.pointer, cache: cache, dY: dY?.pointer,
                        dFinal: dFinal?.pointer, dx: dx, ddt: grad(dt), dA: grad(A), dB: dB, dC: dC, dD: grad(D),
                        dh0: grad(initialState))
    }
}
