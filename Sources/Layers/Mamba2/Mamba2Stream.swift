// Streaming (recurrent) inference of a Mamba-2 mixer, standard and MES (SSM-CGM A.15 future work:
// "streaming-capable versions of SSM-CGM, leveraging the linear-time properties of Mamba").
//
// The mixer is causal, so its output at t depends on the past only through two finite summaries:
//   • the depthwise conv window: the last d_conv − 1 pre-convolution inputs xBC_{t−K+1 … t−1} (zeros before
//     the first position, the causal zero padding of the full forward), (B, K − 1, conv_dim), oldest first;
//   • the SSM state h_t per head, (B, H, P, N) (eq. 15: h_t = e^{Δ_t A} h_{t−1} + Δ_t x_t B_tᵀ).
//     MES (A.8): the state of the unscaled system driven by the shared value v (the chunked block scans
//     ŷ = SSM(v; B, C) once and outputs y_h = s_h ŷ_h + D_h v; the same split is kept here).
// `step(u_t)` advances by one position at O(d_model·d_in_proj + H·P·N + d_inner·d_model) per sequence,
// independent of how many positions came before; `prefill(u)` consumes a whole context with the chunked
// SSD scan (`selectiveScanWithFinalState`) and the block's own fused kernels where they apply, and returns
// the outputs and the same state stepping would have reached (to float rounding).
//
// Step t, per sequence (Mamba2Block's forward with L = 1 and the carried state):
//   [z | xBC | dt] = W_in u_t
//   pre = conv_bias + Σ_{k<K−1} w_k ⊙ window_k + w_{K−1} ⊙ xBC;  window ← (window_1 … window_{K−2}, xBC)
//   x | B | C = SiLU(pre);  Δ = clamp(softplus(dt + dt_bias));  A = −exp(A_log)
//   standard: h ← e^{Δ_h A_h} h + Δ_h x_h B_gᵀ,  y_h = h C_g + D_h x_h
//   MES:      v = mean_h x_h;  ĥ ← e^{Δ_h A_h} ĥ + Δ_h v Bᵀ,  y_h = s_h (ĥ C) + D_h v
//   out = W_out RMSNorm_groups(y ⊙ SiLU(z)) ⊙ w
// Inference only: nothing is recorded and no gradients exist (train with the chunked block).

import CGMTensor
import Foundation
import Layers

/// The recurrent state of one `Mamba2Block` for a batch of independent sequences (a value: copying it
/// snapshots the stream, e.g. to run a forecast horizon and come back).
public struct Mamba2StreamState: Equatable, Sendable {
    /// Number of sequences B.
    public let batch: Int
    /// The last d_conv − 1 pre-convolution inputs (x, B, C columns of the in-projection), oldest first:
    /// (B, d_conv − 1, conv_dim) row-major; zeros before the first position.
    public var convWindow: [Float]
    /// SSM state per head, (B, H, P, N) row-major (MES: the unscaled shared-value system).
    public var ssm: [Float]
    /// Positions consumed so far.
    public var position: Int

    /// A state from its parts (e.g. read back from a file); sizes are checked when it is stepped.
    public init(batch: Int, convWindow: [Float], ssm: [Float], position: Int) {
        (self.batch, self.convWindow, self.ssm, self.position) = (batch, convWindow, ssm, position)
    }
}

/// A `Mamba2Block` bound to the current values of its parameters for streaming inference.
///
/// Holds views of the store's parameter values (later optimizer updates are seen) plus A = −exp(A_log),
/// derived at construction: build a new one after changing A_log.
public struct Mamba2Stream {
    /// The block streamed.
    public let block: Mamba2Block
    let inProj: Tensor, convWeightT: [Float], convBias: Tensor, dtBias: Tensor, a: [Float], d: Tensor
    let normWeight: Tensor, outProj: Tensor, bScale: Tensor?, initStates: Tensor?

    /// Binds `block` to the parameter values in `store`.
    public init(_ block: Mamba2Block, _ store: ParameterStore) {
        self.block = block
        let c = block.config
        inProj = store.value(block.inProj.weight)
        let w = store.value(block.conv.weight).scalars           // (conv_dim, 1, K) → (K, conv_dim)
        var wt = [Float](repeating: 0, count: w.count)
        for ch in 0..<c.convDim { for k in 0..<c.dConv { wt[k * c.convDim + ch] = w[ch * c.dConv + k] } }
        convWeightT = wt
        convBias = store.value(block.conv.bias!)
        dtBias = store.value(block.dtBias)
        a = store.value(block.aLog).scalars.map { -ActivationMath.exp($0) }
        d = store.value(block.d)
        normWeight = store.value(block.normWeight)
        outProj = store.value(block.outProj.weight)
        bScale = block.bScale.map { store.value($0) }
        initStates = block.initStates.map { store.value($0) }
    }

    /// The state before the first position: an all-zero conv window and the block's initial SSM state
    /// (the learned `init_states` for every sequence, or zeros).
    public func initialState(batch: Int) -> Mamba2StreamState {
        precondition(batch > 0, "Mamba2Stream: batch must be positive, got \(batch)")
        let c = block.config, sz = c.nheads * c.headdim * c.dState
        var ssm = [Float](repeating: 0, count: batch * sz)
        if let h0 = initStates?.scalars { for b in 0..<batch { ssm.replaceSubrange(b * sz ..< (b + 1) * sz, with: h0) } }
        return Mamba2StreamState(batch: batch, convWindow: [Float](repeating: 0, count: batch * (c.dConv - 1) * c.convDim),
                                 ssm: ssm, position: 0)
    }

    /// One position: u (B, d_model) → the block's output at that position (B, d_model); advances `state`.
    public func step(_ u: Tensor, _ state: inout Mamba2StreamState) -> Tensor {
        let c = block.config, nb = state.batch
        precondition(u.shape == [nb, c.dModel], "Mamba2Stream.step: input \(u.shape) must be (B = \(nb), d_model = \(c.dModel))")
        checkSizes(state, "step")
        let (di, cd, f, k) = (c.dInner, c.convDim, c.inProjFeatures, c.dConv)
        let zx = Tensor(uninitialized: [nb, f])
        BLAS.gemm(transA: false, transB: true, m: nb, n: f, k: c.dModel, a: u.pointer, lda: c.dModel,
                  b: inProj.pointer, ldb: c.dModel, c: zx.sharedMutablePointer, ldc: f)
        let xbc = Tensor(uninitialized: [nb, cd]), pre = Tensor(uninitialized: [nb, cd])
        let zp = zx.pointer, pp = pre.sharedMutablePointer, xp = xbc.sharedMutablePointer
        convWeightT.withUnsafeBufferPointer { wt in
            state.convWindow.withUnsafeMutableBufferPointer { win in
                for b in 0..<nb {
                    let pr = pp + b * cd, wb = win.baseAddress! + b * (k - 1) * cd, xnew = zp + b * f + di
                    pr.update(from: convBias.pointer, count: cd)
                    for tap in 0..<(k - 1) {   // the same summation order as the full forward's conv
                        let wk = wt.baseAddress! + tap * cd, xs = wb + tap * cd
                        for ch in 0..<cd { pr[ch] += wk[ch] * xs[ch] }
                    }
                    let wl = wt.baseAddress! + (k - 1) * cd
                    for ch in 0..<cd { pr[ch] += wl[ch] * xnew[ch] }
                    if k > 1 {   // window ← (window_1 … window_{K−2}, xBC_t)
                        if k > 2 { wb.update(from: wb + cd, count: (k - 2) * cd) }
                        (wb + (k - 2) * cd).update(from: xnew, count: cd)
                    }
                }
            }
        }
        FastMath.sigmoid(pre.pointer, xp, count: nb * cd)
        for i in 0..<(nb * cd) { xp[i] *= pp[i] }
        let delta = deltas(zx, rows: nb)
        let y = Tensor(uninitialized: [nb, di])
        state.ssm.withUnsafeMutableBufferPointer { st in
            for b in 0..<nb {
                scanStep(x: xbc.pointer + b * cd, delta: delta.pointer + b * c.nheads,
                         state: st.baseAddress! + b * c.nheads * c.headdim * c.dState, y: y.sharedMutablePointer + b * di)
            }
        }
        state.position += 1
        return readout(y, gateSource: zx, rows: nb)
    }

    /// A whole context u (B, L, d_model) from `state` (default: the initial state): the block's outputs
    /// (B, L, d_model), equal to `forward` (from the initial state) or to L `step`s, and the state after
    /// position L − 1. Uses the chunked SSD scan, so it costs what one forward does.
    public func prefill(_ u: Tensor, from state: Mamba2StreamState? = nil) -> (output: Tensor, state: Mamba2StreamState) {
        let c = block.config
        precondition(u.shape.count == 3 && u.shape[2] == c.dModel,
                     "Mamba2Stream.prefill: input \(u.shape) must be (B, L, d_model = \(c.dModel))")
        let (nb, l) = (u.shape[0], u.shape[1])
        var st = state ?? initialState(batch: nb)
        precondition(st.batch == nb, "Mamba2Stream.prefill: state of \(st.batch) sequences for input \(u.shape)")
        checkSizes(st, "prefill")
        guard l > 0 else { return (Tensor(zeros: [nb, 0, c.dModel]), st) }
        let (di, cd, f, k, h, p, n) = (c.dInner, c.convDim, c.inProjFeatures, c.dConv, c.nheads, c.headdim, c.dState)
        let rows = nb * l
        let zx = Tensor(uninitialized: [nb, l, f])
        BLAS.gemm(transA: false, transB: true, m: rows, n: f, k: c.dModel, a: u.pointer, lda: c.dModel,
                  b: inProj.pointer, ldb: c.dModel, c: zx.sharedMutablePointer, ldc: f)
        // Causal conv over [window; xBC], then the new window = the last K − 1 inputs of that concatenation.
        let pre = Tensor(uninitialized: [nb, l, cd]), xbc = Tensor(uninitialized: [nb, l, cd])
        let zp = zx.pointer, pp = pre.sharedMutablePointer
        convWeightT.withUnsafeBufferPointer { wt in
            st.convWindow.withUnsafeMutableBufferPointer { win in
                for b in 0..<nb {
                    let wb = win.baseAddress! + b * (k - 1) * cd
                    for t in 0..<l {
                        let pr = pp + (b * l + t) * cd
                        pr.update(from: convBias.pointer, count: cd)
                        for tap in 0..<k {
                            let s = t + tap - (k - 1)   // source position; < 0 reads the window
                            let xs = s >= 0 ? UnsafePointer(zp + (b * l + s) * f + di) : UnsafePointer(wb + (k - 1 + s) * cd)
                            let wk = wt.baseAddress! + tap * cd
                            for ch in 0..<cd { pr[ch] += wk[ch] * xs[ch] }
                        }
                    }
                    if k > 1 {
                        let keep = max(0, k - 1 - l)   // old window rows still among the last K − 1 inputs
                        if keep > 0 { wb.update(from: wb + (k - 1 - keep) * cd, count: keep * cd) }
                        for r in keep..<(k - 1) {
                            (wb + r * cd).update(from: zp + (b * l + l - (k - 1) + r) * f + di, count: cd)
                        }
                    }
                }
            }
        }
        let xp = xbc.sharedMutablePointer
        FastMath.sigmoid(pre.pointer, xp, count: rows * cd)
        for i in 0..<(rows * cd) { xp[i] *= pp[i] }
        let delta = deltas(zx, rows: rows)
        // The scan over the context from the carried state (chunked SSD, final state returned).
        let g = Graph(training: false, recording: false)
        let gn = c.ngroups * n
        func columns(_ lo: Int, _ count: Int, _ shape: [Int]) -> Tensor {
            let t = Tensor(uninitialized: shape), dst = t.sharedMutablePointer
            for r in 0..<rows { (dst + r * count).update(from: xbc.pointer + r * cd + lo, count: count) }
            return t
        }
        let bm = columns(di, gn, [nb, l, c.ngroups, n]), cm = columns(di + gn, gn, [nb, l, c.ngroups, n])
        let h0 = g.constant(Tensor(shape: [nb, h, p, n], scalars: st.ssm))
        let a = g.constant(Tensor(shape: [h], scalars: self.a)), dt = g.constant(delta.reshaped([nb, l, h]))
        let y: Tensor
        switch c.variant {
        case .standard:
            let r = g.selectiveScanWithFinalState(g.constant(columns(0, di, [nb, l, h, p])), dt: dt, A: a,
                                                  B: g.constant(bm), C: g.constant(cm), D: g.constant(d),
                                                  initialState: h0, chunk: c.chunk)
            y = r.y.value
            st.ssm = r.finalState.value.scalars
        case .mes:
            // v repeated over the heads, ŷ = SSM(v; B, C) per head, then y_h = s_h ŷ_h + D_h v.
            let v = Tensor(uninitialized: [nb, l, p]), rep = Tensor(uninitialized: [nb, l, h, p])
            let vp = v.sharedMutablePointer, rp = rep.sharedMutablePointer
            for r in 0..<rows { headMean(xbc.pointer + r * cd, vp + r * p) }
            for r in 0..<rows { for hh in 0..<h { (rp + (r * h + hh) * p).update(from: vp + r * p, count: p) } }
            let res = g.selectiveScanWithFinalState(g.constant(rep), dt: dt, A: a, B: g.constant(bm), C: g.constant(cm),
                                                    D: nil, initialState: h0, chunk: c.chunk)
            y = g.mesCombine(res.y, value: g.constant(v), scale: g.constant(bScale!), skip: g.constant(d)).value
            st.ssm = res.finalState.value.scalars
        }
        st.position += l
        let out = readout(y.reshaped([rows, di]), gateSource: zx.reshaped([rows, f]), rows: rows)
        return (out.reshaped([nb, l, c.dModel]), st)
    }

    // MARK: Pieces shared by step and prefill

    private func checkSizes(_ s: Mamba2StreamState, _ op: String) {
        let c = block.config
        precondition(s.convWindow.count == s.batch * (c.dConv - 1) * c.convDim
                     && s.ssm.count == s.batch * c.nheads * c.headdim * c.dState,
                     "Mamba2Stream.\(op): state sizes \(s.convWindow.count), \(s.ssm.count) do not fit this block "
                     + "(B·(d_conv−1)·conv_dim = \(s.batch * (c.dConv - 1) * c.convDim), B·H·P·N = \(s.batch * c.nheads * c.headdim * c.dState))")
    }

    /// Δ = clamp(softplus(dt + dt_bias)) for `rows` rows of the in-projection output: (rows, H).
    private func deltas(_ zx: Tensor, rows: Int) -> Tensor {
        let c = block.config, h = c.nheads, f = c.inProjFeatures, off = c.dInner + c.convDim
        let out = Tensor(uninitialized: [rows, h]), op = out.sharedMutablePointer, bias = dtBias.pointer
        for r in 0..<rows {
            for hh in 0..<h {
                var v = ActivationMath.softplus(zx.pointer[r * f + off + hh] + bias[hh])
                if let lim = c.dtLimit { v = min(max(v, lim.lowerBound), lim.upperBound) }
                op[r * h + hh] = v
            }
        }
        return out
    }

    /// v = (1/H) Σ_h x_h for one row of the conv output (summed as `headMean` does).
    private func headMean(_ x: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>) {
        let c = block.config, p = c.headdim, inv = 1 / Float(c.nheads)
        v.update(from: x, count: p)
        for hh in 1..<c.nheads { let s = x + hh * p; for i in 0..<p { v[i] += s[i] } }
        for i in 0..<p { v[i] *= inv }
    }

    /// One recurrence step of every head of one sequence (eqs. 15–16; MES eqs. 19–21): updates `state`
    /// (H, P, N) and writes y (H·P) including the D skip.
    private func scanStep(x xbc: UnsafePointer<Float>, delta: UnsafePointer<Float>, state: UnsafeMutablePointer<Float>,
                          y: UnsafeMutablePointer<Float>) {
        let c = block.config
        let (h, p, n, di, hg) = (c.nheads, c.headdim, c.dState, c.dInner, c.nheads / c.ngroups)
        let dp = d.pointer
        var vbuf = [Float](repeating: 0, count: c.variant == .mes ? p : 0)
        if c.variant == .mes { vbuf.withUnsafeMutableBufferPointer { headMean(xbc, $0.baseAddress!) } }
        vbuf.withUnsafeBufferPointer { vb in
            for hh in 0..<h {
                let g = hh / hg, dlt = delta[hh], decay = Foundation.exp(dlt * a[hh])
                let bt = xbc + di + g * n, ct = xbc + di + c.ngroups * n + g * n
                let xh = c.variant == .mes ? vb.baseAddress! : xbc + hh * p
                let scale = bScale?.pointer[hh] ?? 1
                for i in 0..<p {
                    let acc = Self.stateRow(state + (hh * p + i) * n, bt, ct, decay: decay, dx: dlt * xh[i], n: n)
                    y[hh * p + i] = scale * acc + dp[hh] * xh[i]
                }
            }
        }
    }

    /// One row (channel) of a head's state: s ← decay·s + dx·B, returns s·C; one register of the build's ISA
    /// (`KernelISA.Vector`: 16 lanes on AVX-512, 8 on AVX2) at a time.
    @inline(__always)
    private static func stateRow(_ s: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                                 decay: Float, dx: Float, n: Int) -> Float {
        typealias V = KernelISA.Vector
        let sr = UnsafeMutableRawPointer(s), br = UnsafeRawPointer(b), cr = UnsafeRawPointer(c)
        var acc = V(repeating: 0)
        var k = 0
        while k + V.scalarCount <= n {
            let v = sr.loadUnaligned(fromByteOffset: k * 4, as: V.self) * decay + br.loadUnaligned(fromByteOffset: k * 4, as: V.self) * dx
            sr.storeBytes(of: v, toByteOffset: k * 4, as: V.self)
            acc += v * cr.loadUnaligned(fromByteOffset: k * 4, as: V.self)
            k += V.scalarCount
        }
        var total = KernelISA.sum(acc)
        while k < n {
            s[k] = decay * s[k] + dx * b[k]
            total += s[k] * c[k]
            k += 1
        }
        return total
    }

    /// out = W_out · (RMSNorm over groups of d_inner/G of y ⊙ SiLU(z)) ⊙ w for `rows` rows; y (rows, d_inner),
    /// z read from the in-projection rows `gateSource` (rows, d_in_proj). Returns (rows, d_model).
    private func readout(_ y: Tensor, gateSource zx: Tensor, rows: Int) -> Tensor {
        let c = block.config, di = c.dInner, f = c.inProjFeatures, gs = di / c.ngroups
        let normed = Tensor(uninitialized: [rows, di]), np = normed.sharedMutablePointer
        let s = UnsafeMutablePointer<Float>.allocate(capacity: di)
        defer { s.deallocate() }
        let yp = y.pointer, wp = normWeight.pointer
        for r in 0..<rows {
            let z = zx.pointer + r * f, yr = yp + r * di, o = np + r * di
            FastMath.sigmoid(z, s, count: di)
            for i in 0..<di { o[i] = yr[i] * z[i] * s[i] }
            for gi in 0..<(di / gs) {
                let u = o + gi * gs
                var ss: Float = 0
                for i in 0..<gs { ss += u[i] * u[i] }
                let rs = 1 / (ss / Float(gs) + c.normEps).squareRoot()
                for i in 0..<gs { u[i] = u[i] * rs * wp[gi * gs + i] }
            }
        }
        let out = Tensor(uninitialized: [rows, c.dModel])
        BLAS.gemm(transA: false, transB: true, m: rows, n: c.dModel, k: di, a: normed.pointer, lda: di,
                  b: outProj.pointer, ldb: di, c: out.sharedMutablePointer, ldc: c.dModel)
        return out
    }
}

extension Mamba2Block {
    /// This block bound to `store`'s current parameter values for streaming inference (`Mamba2Stream`).
    public func stream(_ store: ParameterStore) -> Mamba2Stream { Mamba2Stream(self, store) }
}
