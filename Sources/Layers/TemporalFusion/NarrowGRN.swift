// A narrow-input Gated Residual Network as one fused op (TFT, Lim et al. 2021 eqs. 2–4; SSM-CGM A.5
// eqs. 4–6), in pytorch-forecasting's layout without a context and with the ResampleNorm skip: the
// per-variable GRNs of a variable selection network, In = 8 prescaled features → Out = 128.
//
//   η₂ = ELU(W₁x + b₁),  η₁ = W₂η₂ + b₂                          (eqs. 3–4; fc1, fc2: In → Hd → Hd)
//   [a; b] = W_g dropout(η₁) + b_g,  GLU = a ⊙ σ(b)               (eq. 5; W_g: (2·Out, Hd))
//   s = gate ⊙ (M x),  ŝ = LN₁(s)                                 (ResampleNorm skip: interpolation M
//                                                                   (Out, In), gate 2σ(mask), LayerNorm)
//   out = LN₂(ŝ + GLU)                                            (eq. 2, AddNorm)
//
// Only `out` (…, Out) and four per-row statistics (mean and 1/σ of both LayerNorms) are stored: the
// unfused composition writes and reads back five (…, Out)-wide intermediates per variable. Backward
// (below) recomputes each row from x. σ is `FastMath.sigmoid` (as the unfused
// `gluLinear`), ELU's eˣ − 1 `FastMath.expm1` (as the unfused `elu`); products use fused multiply-adds
// and other summation orders. Values therefore agree with the composition to rounding (≈ 1e-6
// relative), not bit for bit. The row kernels (`forwardRow`, `backwardRow`) are shared with the fused
// variable selection sum (NarrowGRNSum.swift).
// Dropout draws its mask through `dropoutMask(shape:p:)` for the (…, Hd) tensor η₁, at the same point of
// the forward pass, so the bits equal those of `dropout(η₁)` in the unfused GRN.

import CGMTensor

/// The parameters of one `narrowGRN`, as graph values.
public struct NarrowGRNParameters {
    /// fc1 (Hd, In) and (Hd); fc2 (Hd, Hd) and (Hd).
    public var fc1Weight: Var, fc1Bias: Var, fc2Weight: Var, fc2Bias: Var
    /// GLU linear (2·Out, Hd) and (2·Out): rows 0..<Out are values a, the rest gates b.
    public var gluWeight: Var, gluBias: Var
    /// The skip gate (Out), e.g. 2σ(mask); nil for an ungated skip.
    public var skipGate: Var?
    /// The skip LayerNorm's affine weight and bias (Out).
    public var skipNormWeight: Var, skipNormBias: Var
    /// The output (AddNorm) LayerNorm's affine weight and bias (Out).
    public var normWeight: Var, normBias: Var

    /// Groups the graph values of one narrow GRN's parameters.
    public init(fc1Weight: Var, fc1Bias: Var, fc2Weight: Var, fc2Bias: Var, gluWeight: Var, gluBias: Var,
                skipGate: Var?, skipNormWeight: Var, skipNormBias: Var, normWeight: Var, normBias: Var) {
        self.fc1Weight = fc1Weight
        self.fc1Bias = fc1Bias
        self.fc2Weight = fc2Weight
        self.fc2Bias = fc2Bias
        self.gluWeight = gluWeight
        self.gluBias = gluBias
        self.skipGate = skipGate
        self.skipNormWeight = skipNormWeight
        self.skipNormBias = skipNormBias
        self.normWeight = normWeight
        self.normBias = normBias
    }

    /// The graph inputs in a fixed order (x first, then these; the gate only when present).
    var vars: [Var] {
        [fc1Weight, fc1Bias, fc2Weight, fc2Bias, gluWeight, gluBias] + (skipGate.map { [$0] } ?? [])
            + [skipNormWeight, skipNormBias, normWeight, normBias]
    }
}

extension Graph {
    /// One GRN without context over a narrow input (see the file header): x (…, In) → (…, Out), with
    /// `skipProjection` the fixed (Out, In) interpolation matrix M of the ResampleNorm skip, `dropout` the
    /// GLU's input dropout (nil: no dropout call at all, as in the unfused GRN), `skipEps` and `eps` the two
    /// LayerNorms' ε. Meant for In, Hd ≤ 32; the same values as the unfused composition
    /// `LN₂(GLU(dropout(fc2(ELU(fc1 x)))) + LN₁(gate ⊙ M x))`.
    public func narrowGRN(_ x: Var, _ w: NarrowGRNParameters, skipProjection m: Tensor, dropout: Float?,
                          skipEps: Float = 1e-5, eps: Float = 1e-5) -> Var {
        let dims = NarrowGRNDims(x: x, w, skipProjection: m)
        let (k, hd, n, rows) = (dims.k, dims.hd, dims.n, dims.rows)
        let drop = dropout.flatMap { dropoutMask(shape: Array(x.shape.dropLast()) + [hd], p: $0) }
        let packed = NarrowGRNPacked(w, skipProjection: m, dims: dims, skipEps: skipEps, eps: eps)
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [n])
        let stats = Tensor(uninitialized: [rows, 4])   // μ₁, 1/σ₁, μ₂, 1/σ₂ per row
        let op = out.sharedMutablePointer, sp = stats.sharedMutablePointer, xp = x.value.pointer
        let t = NarrowGRNScratch(packed)
        defer { t.deallocate() }
        let maskBase = drop.map { UnsafePointer($0.mask.bytes.baseAddress!) }, scale = drop?.scale ?? 1
        for r in 0..<rows {
            packed.forwardRow(xp + r * k, mask: maskBase.map { $0 + r * hd }, scale: scale, t,
                              out: op + r * n, weight: 1, accumulate: false, stats: sp + 4 * r)
        }
        return record(out, inputs: [x] + w.vars, rule: NarrowGRNBackward(
            x: x, w: w, packed: packed, stats: stats, mask: drop?.mask, scale: scale))
    }
}

/// Widths of a narrow GRN, checked against every parameter: In k, hidden Hd, Out n, and the row count.
struct NarrowGRNDims {
    let k: Int, hd: Int, n: Int, rows: Int

    init(x: Var, _ w: NarrowGRNParameters, skipProjection m: Tensor) {
        let sx = x.shape
        precondition(sx.count >= 1 && sx.last! > 0, "narrowGRN: input \(sx) needs a non-empty last axis")
        k = sx.last!
        hd = w.fc1Weight.shape.first ?? 0
        n = m.shape.first ?? 0
        rows = x.value.count / k
        func check(_ v: Var?, _ shape: [Int], _ what: String) {
            guard let v else { return }
            precondition(v.shape == shape, "narrowGRN: \(what) has shape \(v.shape), expected \(shape) (In \(k), Hd \(hd), Out \(n))")
        }
        precondition(hd > 0 && n > 0 && m.shape == [n, k], "narrowGRN: skip projection \(m.shape) for input \(sx), want (Out, \(k))")
        check(w.fc1Weight, [hd, k], "fc1 weight")
        check(w.fc1Bias, [hd], "fc1 bias")
        check(w.fc2Weight, [hd, hd], "fc2 weight")
        check(w.fc2Bias, [hd], "fc2 bias")
        check(w.gluWeight, [2 * n, hd], "GLU weight")
        check(w.gluBias, [2 * n], "GLU bias")
        check(w.skipGate, [n], "skip gate")
        check(w.skipNormWeight, [n], "skip norm weight")
        check(w.skipNormBias, [n], "skip norm bias")
        check(w.normWeight, [n], "norm weight")
        check(w.normBias, [n], "norm bias")
    }
}

// MARK: - Backward
//
// Backward of the fused narrow GRN: each row through `NarrowGRNPacked.backwardRow`
// (the row kernel below, the equations) with weight 1; the GLU weight's gradient is flushed every
// `NarrowGRNScratch.tile` rows and all parameter gradients are added to the graph's once at the end.
/// Recomputing backward rule of `Graph.narrowGRN`.

struct NarrowGRNBackward: BackwardRule {
    let x: Var
    let w: NarrowGRNParameters
    let packed: NarrowGRNPacked
    /// μ₁, 1/σ₁, μ₂, 1/σ₂ per row.
    let stats: Tensor
    let mask: DropoutMask?
    let scale: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let p = packed, (k, hd, n) = (p.k, p.hd, p.n)
        let rows = stats.shape[0]
        let grads = NarrowGRNGradients(p)
        defer { grads.deallocate() }
        let t = NarrowGRNScratch(p)
        defer { t.deallocate() }
        let xp = x.value.pointer, dp = dOut.pointer, sp = stats.pointer
        let dx = g.needsGrad(x) ? g.gradBuffer(x) : nil
        let maskBase = mask.map { UnsafePointer($0.bytes.baseAddress!) }
        var filled = 0
        for r in 0..<rows {
            _ = p.backwardRow(xp + r * k, dOut: dp + r * n, weight: 1, stats: sp + 4 * r,
                              mask: maskBase.map { $0 + r * hd }, scale: scale, t, grads, slot: filled,
                              dx: dx.map { $0 + r * k })
            filled += 1
            if filled == NarrowGRNScratch.tile || r == rows - 1 {
                p.flushTile(filled, t, grads)
                filled = 0
            }
        }
        grads.accumulate(into: g, w)
    }
}

// MARK: - Row kernels (forward)
//
// Row kernels of the fused narrow GRN, shared by its forward and backward passes so
// that backward recomputes exactly the forward's values (SIMD along Out and Hd, one register of the build's
// ISA per vector: 16 lanes on AVX-512, 8 on AVX2; weights transposed and zero-padded to whole vectors, so
// padded lanes carry zeros through every product):
//   skip:   u = M x,  s = gate ⊙ u,  μ₁, 1/σ₁ of s                  (ResampleNorm: interpolation, 2σ(mask))
//   hidden: h₁ = W₁x + b₁,  e = ELU(h₁),  d = (W₂e + b₂) ⊙ mask/(1 − p)      (TFT eqs. 3–4, dropout)
//   glu:    [a; b] = W_g d + b_g,  σ(b),  z = a ⊙ σ(b) + LN₁(s)              (eq. 5 and the AddNorm input)
//   forwardRow: the three, then out = LN₂(z) written (or weight · out added) to the output row
// ELU's eˣ − 1 is `FastMath.expm1` (CGMTensor's FastMathExpm1.swift), as the unfused `elu`.
/// Weights of one narrow GRN call in the kernels' layouts: Mᵀ (In, Np), gate (Np), the two LayerNorms'
/// γ, β (Np), W₁ᵀ (In, Hp), b₁ (Hp), W₂ᵀ (Hd, Hp), W₂ (Hd, Hp), W₁ (Hd, Kp), b₂ (Hp), W_gᵀ (Hd, 2·Np) with
/// the value half in [0, Np) and the gate half in [Np, 2·Np), b_g (2·Np), and a lane mask (Np): 1 on the
/// Out real lanes. Np, Hp, Kp are Out, Hd, In rounded up to whole vectors (`KernelISA.padded`); padding is zero.

final class NarrowGRNPacked {
    /// One register of the build's ISA (KernelISA.swift): 16 lanes on AVX-512, 8 on AVX2.
    typealias V = KernelISA.Vector
    /// Lanes per vector; every padded width is a multiple of it.
    static var lanes: Int { V.scalarCount }
    let k: Int, hd: Int, n: Int, np: Int, hp: Int, kp: Int
    let hasGate: Bool
    /// The two LayerNorms' ε (skip, output) and 1/Out.
    let skipEps: Float, eps: Float, invN: Float
    /// Sparsity of Mᵀ by vector chunk (an interpolation matrix has ≤ 2 non-zeros per output): chunk q
    /// reads inputs chunkInputs[2q]..<chunkInputs[2q + 1]; input c feeds lanes inputLanes[2c]..<inputLanes[2c + 1]
    /// (whole chunks). Skipped products are exact zeros, so the values equal the dense product's.
    let chunkInputs: [Int], inputLanes: [Int]
    let base: UnsafeMutablePointer<Float>
    let mt, gate, g1, b1, g2, b2, laneMask, w1t, bh1, w2t, w2, w1, bh2, wgt, bg: UnsafeMutablePointer<Float>

    init(_ w: NarrowGRNParameters, skipProjection m: Tensor, dims: NarrowGRNDims, skipEps: Float, eps: Float) {
        (k, hd, n) = (dims.k, dims.hd, dims.n)
        (self.skipEps, self.eps, invN) = (skipEps, eps, 1 / Float(dims.n))
        np = KernelISA.padded(n); hp = KernelISA.padded(hd); kp = KernelISA.padded(k)
        hasGate = w.skipGate != nil
        var offset = 0
        var slots: [Int] = []
        for size in [k * np, np, np, np, np, np, np, k * hp, hp, hd * hp, hd * hp, hd * kp, hp, hd * 2 * np, 2 * np] {
            slots.append(offset)
            offset += KernelISA.padded(size)
        }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: offset)
        buffer.initialize(repeating: 0, count: offset)
        base = buffer
        let p = slots.map { buffer + $0 }
        (mt, gate, g1, b1, g2, b2, laneMask, w1t, bh1, w2t) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9])
        (w2, w1, bh2, wgt, bg) = (p[10], p[11], p[12], p[13], p[14])
        let (mp, w1p, w2p, wgp) = (m.pointer, w.fc1Weight.value.pointer, w.fc2Weight.value.pointer, w.gluWeight.value.pointer)
        for j in 0..<n { for c in 0..<k { mt[c * np + j] = mp[j * k + c] } }
        let (kk, npp, mtp, lanes) = (k, np, p[0], Self.lanes)
        var chunkInputs: [Int] = [], inputLanes = Array(repeating: 0, count: 2 * kk)
        for q in 0..<(npp / lanes) {
            let used = (0..<kk).filter { c in (0..<lanes).contains { mtp[c * npp + lanes * q + $0] != 0 } }
            chunkInputs += [used.first ?? 0, (used.last ?? -1) + 1]
        }
        for c in 0..<kk {
            let used = (0..<(npp / lanes)).filter { q in (0..<lanes).contains { mtp[c * npp + lanes * q + $0] != 0 } }
            inputLanes[2 * c] = lanes * (used.first ?? 0)
            inputLanes[2 * c + 1] = lanes * ((used.last ?? -1) + 1)
        }
        (self.chunkInputs, self.inputLanes) = (chunkInputs, inputLanes)
        let gv = w.skipGate?.value.pointer
        let (sg1, sb1, sg2, sb2) = (w.skipNormWeight.value.pointer, w.skipNormBias.value.pointer,
                                    w.normWeight.value.pointer, w.normBias.value.pointer)
        for j in 0..<n {
            gate[j] = gv?[j] ?? 1
            (g1[j], b1[j], g2[j], b2[j], laneMask[j]) = (sg1[j], sb1[j], sg2[j], sb2[j], 1)
        }
        let (fb1, fb2, gb) = (w.fc1Bias.value.pointer, w.fc2Bias.value.pointer, w.gluBias.value.pointer)
        for j in 0..<hd {
            for c in 0..<k { w1t[c * hp + j] = w1p[j * k + c]; w1[j * kp + c] = w1p[j * k + c] }
            for i in 0..<hd { w2t[i * hp + j] = w2p[j * hd + i]; w2[j * hp + i] = w2p[j * hd + i] }
            bh1[j] = fb1[j]
            bh2[j] = fb2[j]
        }
        for j in 0..<n {
            for c in 0..<hd {
                wgt[c * 2 * np + j] = wgp[j * hd + c]
                wgt[c * 2 * np + np + j] = wgp[(n + j) * hd + c]
            }
            bg[j] = gb[j]
            bg[np + j] = gb[n + j]
        }
    }

    deinit { base.deallocate() }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Σ of the lanes as a tree of half-width adds (`KernelISA.sum`): log₂(lanes) dependent adds instead of
    /// the lanes − 1 of `SIMD.sum()`, which matters for the several row reductions per row.
    @inline(__always) static func sum(_ v: V) -> Float { KernelISA.sum(v) }
}

/// Per-row buffers of a narrow GRN (one allocation, reused over the rows), padded like `NarrowGRNPacked`.
struct NarrowGRNScratch {
    /// Rows per tile of the backward's W_g-gradient accumulation.
    static let tile = 8
    let base: UnsafeMutablePointer<Float>, count: Int
    /// Np-wide: u = M x, s, z, a, σ(b), the padded dout row, dz, gate ⊙ ds.
    let u, s, z, a, sig, o, dz, dsg: UnsafeMutablePointer<Float>
    /// Hp-wide: h₁, e = ELU(h₁), dropout factors (mask/(1 − p), or 1), dd, dη₁, de.
    let h1, e, keep, dd, dh, de: UnsafeMutablePointer<Float>
    /// Kp-wide dx of one row; `tile` rows of d (Hp each) and of dy = [da; db] (2·Np each).
    let dx, dTile, dyTile: UnsafeMutablePointer<Float>

    /// Buffers for `w` alone.
    init(_ w: NarrowGRNPacked) { self.init([w]) }

    /// Buffers wide enough for each of `ws` (one at a time: a row kernel overwrites what it reads).
    init(_ ws: [NarrowGRNPacked]) {
        let (np, hp, kp, t) = (ws.map(\.np).max()!, ws.map(\.hp).max()!, ws.map(\.kp).max()!, Self.tile)
        count = 8 * np + 6 * hp + kp + t * hp + t * 2 * np
        base = .allocate(capacity: count)
        base.initialize(repeating: 0, count: count)
        u = base; s = u + np; z = s + np; a = z + np; sig = a + np; o = sig + np; dz = o + np; dsg = dz + np
        h1 = dsg + np; e = h1 + hp; keep = e + hp; dd = keep + hp; dh = dd + hp; de = dh + hp
        dx = de + hp; dTile = dx + kp; dyTile = dTile + t * hp
    }

    func deallocate() { base.deallocate() }
}

extension NarrowGRNPacked {
    /// One row of the forward pass: out = LN₂(z) for the row x (In), stored to `o` (Out) as weight · out,
    /// or added to it as o += weight · out when `accumulate`; μ₁, 1/σ₁, μ₂, 1/σ₂ go to `stats`. `mask` is
    /// the row's dropout keep mask (Hd bytes; nil: no dropout), `scale` its 1/(1 − p).
    @inline(__always)
    func forwardRow(_ x: UnsafePointer<Float>, mask: UnsafePointer<UInt8>?, scale: Float, _ t: NarrowGRNScratch,
                    out o: UnsafeMutablePointer<Float>, weight: Float, accumulate: Bool,
                    stats st: UnsafeMutablePointer<Float>) {
        typealias N = NarrowGRNPacked
        let (m1, r1) = skip(x, t, eps: skipEps)
        setKeep(mask, scale: scale, t)
        hidden(x, t, d: t.dTile)
        let m2 = glu(t.dTile, t, mean1: m1, rstd1: r1) * invN
        let r2 = rstd(t.z, m2, eps)
        var j = 0
        while j + N.lanes <= n {
            let v = (N.load(t.z + j) - m2) * r2 * N.load(g2 + j) + N.load(b2 + j)
            N.store(accumulate ? N.load(o + j) + weight * v : weight * v, o + j)
            j += N.lanes
        }
        while j < n {
            let v = (t.z[j] - m2) * r2 * g2[j] + b2[j]
            o[j] = accumulate ? o[j] + weight * v : weight * v
            j += 1
        }
        st[0] = m1; st[1] = r1; st[2] = m2; st[3] = r2
    }

    /// u = M x, s = gate ⊙ u into the scratch; returns (μ₁, 1/σ₁) of s over the Out real lanes.
    @inline(__always)
    func skip(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch, eps: Float) -> (Float, Float) {
        let mean = project(x, t) / Float(n)
        return (mean, rstd(t.s, mean, eps))
    }

    /// u = M x, s = gate ⊙ u into the scratch; returns Σ s.
    @inline(__always)
    func project(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch) -> Float {
        typealias N = NarrowGRNPacked
        var total = V()
        for j in stride(from: 0, to: np, by: N.lanes) {
            var acc = V()
            let q = j / N.lanes
            for c in chunkInputs[2 * q]..<chunkInputs[2 * q + 1] { acc = acc.addingProduct(x[c], N.load(mt + c * np + j)) }
            N.store(acc, t.u + j)
            let sv = acc * N.load(gate + j)
            N.store(sv, t.s + j)
            total += sv
        }
        return NarrowGRNPacked.sum(total)
    }

    /// 1/√(mean over the Out real lanes of (v − μ)² + ε).
    @inline(__always)
    func rstd(_ v: UnsafePointer<Float>, _ mean: Float, _ eps: Float) -> Float {
        typealias N = NarrowGRNPacked
        var acc = V()
        for j in stride(from: 0, to: np, by: N.lanes) {
            let d = (N.load(v + j) - mean) * N.load(laneMask + j)
            acc += d * d
        }
        return 1 / (NarrowGRNPacked.sum(acc) / Float(n) + eps).squareRoot()
    }

    /// h₁, e = ELU(h₁) and the dropped d = (W₂e + b₂) ⊙ keep (d goes to `d`, Hp wide; `keep` must be set).
    @inline(__always)
    func hidden(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch, d: UnsafeMutablePointer<Float>) {
        typealias N = NarrowGRNPacked
        for j in stride(from: 0, to: hp, by: N.lanes) {
            var acc = N.load(bh1 + j)
            for c in 0..<k { acc += x[c] * N.load(w1t + c * hp + j) }
            N.store(acc, t.h1 + j)
            N.store(acc.replacing(with: FastMath.expm1(acc), where: acc .<= 0), t.e + j)
        }
        for j in stride(from: 0, to: hp, by: N.lanes) {
            var acc = N.load(bh2 + j)
            for i in 0..<hd { acc += t.e[i] * N.load(w2t + i * hp + j) }
            N.store(acc * N.load(t.keep + j), d + j)
        }
    }

    /// a, σ(b) and z = a ⊙ σ(b) + (s − μ₁)/σ₁ ⊙ γ₁ + β₁ into the scratch; returns Σ z.
    @inline(__always)
    func glu(_ d: UnsafePointer<Float>, _ t: NarrowGRNScratch, mean1: Float, rstd1: Float) -> Float {
        typealias N = NarrowGRNPacked
        for j in stride(from: 0, to: np, by: N.lanes) {   // [a; b] = W_g d + b_g
            var av = N.load(bg + j), bv = N.load(bg + np + j)
            for c in 0..<hd {
                let dc = d[c], row = wgt + c * 2 * np
                av = av.addingProduct(dc, N.load(row + j))
                bv = bv.addingProduct(dc, N.load(row + np + j))
            }
            N.store(av, t.a + j)
            N.store(bv, t.sig + j)
        }
        // σ(b) in its own pass through FastMath's buffer kernel (two independent vectors per step, σ fully
        // inlined there: called per vector, σ was an out-of-line call that serialized the long σ chains).
        FastMath.sigmoid(t.sig, t.sig, count: np)
        var total = V()
        for j in stride(from: 0, to: np, by: N.lanes) {
            let zv = N.load(t.a + j) * N.load(t.sig + j) + ((N.load(t.s + j) - mean1) * rstd1 * N.load(g1 + j) + N.load(b1 + j))
            N.store(zv, t.z + j)
            total += zv
        }
        return NarrowGRNPacked.sum(total)
    }

    /// The dropout factors of one row into `t.keep`: mask/(1 − p) per hidden unit, or 1 without a mask.
    @inline(__always)
    func setKeep(_ mask: UnsafePointer<UInt8>?, scale: Float, _ t: NarrowGRNScratch) {
        if let mask {
            for j in 0..<hd { t.keep[j] = mask[j] != 0 ? scale : 0 }
        } else {
            for j in 0..<hd { t.keep[j] = 1 }
        }
    }
}

// MARK: - Row kernel (backward)
//
// One row of the fused narrow GRN's backward pass, shared by `narrowGRN` and the fused
// variable selection sum `weightedSum(_: PreparedNarrowGRNs, weights:)`. The row is recomputed from x with
// the forward's kernels and statistics; the output gradient is w · dout for a row weight w (1 for a plain
// narrowGRN, αᵢ in a VSN, TFT eq. 10). With ẑ = (z − μ₂)/σ₂, ŝ = (s − μ₁)/σ₁ and a LayerNorm's input
// gradient LN′(g) = (g ⊙ γ − mean(g ⊙ γ) − v̂ · mean(g ⊙ γ ⊙ v̂))/σ for the gradient g of its output:
//   dw = ⟨dout, out⟩ = ⟨dout, ẑ ⊙ γ₂ + β₂⟩  (returned),  g = w · dout
//   dγ₂ += g ⊙ ẑ,  dβ₂ += g,  dz = LN′₂(g)
//   GLU:  dy = [dz ⊙ σ(b); dz ⊙ a ⊙ σ(b)(1 − σ(b))],  db_g += dy,  dW_g += dy dᵀ,  dd = W_gᵀ dy
//   skip: dγ₁ += dz ⊙ ŝ,  dβ₁ += dz,  ds = LN′₁(dz),  dgate += ds ⊙ M x,  dx += Mᵀ(gate ⊙ ds)
//   dη₁ = dd ⊙ mask/(1 − p),  db₂ += dη₁,  dW₂ += dη₁ eᵀ,  de = W₂ᵀ dη₁
//   dh₁ = de ⊙ (1 if h₁ > 0 else e + 1),  db₁ += dh₁,  dW₁ += dh₁ xᵀ,  dx += W₁ᵀ dh₁
// Parameter gradients are summed over rows in `NarrowGRNGradients` (dW_g and db_g over tiles of up to
// `NarrowGRNScratch.tile` rows, from the tile's stored d and dy: `flushTile`) and added to the graph's
// gradients once at the end.

extension NarrowGRNPacked {
    /// Backward of one row x (In) for the output gradient weight · dOut (Out wide), with the row's forward
    /// `stats` (μ₁, 1/σ₁, μ₂, 1/σ₂) and dropout `mask` (Hd bytes, nil without dropout) and `scale` 1/(1 − p).
    /// Adds parameter gradients into `grads` (the GLU's through tile slot `slot` of `t`: call `flushTile`
    /// once the tile's slots are used) and dx into `dx` when given; returns ⟨dOut, out⟩ (the weight's gradient).
    @inline(__always)
    func backwardRow(_ x: UnsafePointer<Float>, dOut: UnsafePointer<Float>, weight: Float, stats st: UnsafePointer<Float>,
                     mask: UnsafePointer<UInt8>?, scale: Float, _ t: NarrowGRNScratch, _ grads: NarrowGRNGradients,
                     slot: Int, dx: UnsafeMutablePointer<Float>?) -> Float {
        typealias N = NarrowGRNPacked
        let (m1, r1, m2, r2) = (st[0], st[1], st[2], st[3])
        // dout row: read in place when Out fills whole vectors, else copied into the zero-padded buffer.
        let o: UnsafePointer<Float> = n == np ? dOut : UnsafePointer(t.o)
        if n != np { t.o.update(from: dOut, count: n) }
        let d = t.dTile + slot * hp, dy = t.dyTile + slot * 2 * np
        _ = project(x, t)   // u, s (μ₁, 1/σ₁ are the stored ones)
        setKeep(mask, scale: scale, t)
        hidden(x, t, d: d)
        _ = glu(d, t, mean1: m1, rstd1: r1)
        // Output LayerNorm: dw, dγ₂, dβ₂ and the two sums of LN′₂.
        var sa = V(), sb = V(), sw = V()
        for j in stride(from: 0, to: np, by: N.lanes) {
            let raw = N.load(o + j), zh = (N.load(t.z + j) - m2) * r2
            sw += raw * (zh * N.load(g2 + j) + N.load(b2 + j))
            let ov = weight * raw
            N.store(N.load(grads.g2 + j) + ov * zh, grads.g2 + j)
            N.store(N.load(grads.b2 + j) + ov, grads.b2 + j)
            let dn = ov * N.load(g2 + j)
            sa += dn
            sb += dn * zh
        }
        let (a2, c2) = (N.sum(sa) * invN, N.sum(sb) * invN)
        // dz; the GLU's dy (stored for the tile's dW_g); skip LayerNorm: dγ₁, dβ₁ and LN′₁'s sums.
        var s1a = V(), s1b = V()
        for j in stride(from: 0, to: np, by: N.lanes) {
            let zh = (N.load(t.z + j) - m2) * r2
            let dz = (weight * N.load(o + j) * N.load(g2 + j) - a2 - zh * c2) * r2 * N.load(laneMask + j)
            let sig = N.load(t.sig + j)
            N.store(dz * sig, dy + j)
            N.store(dz * N.load(t.a + j) * sig * (1 - sig), dy + np + j)
            N.store(dz, t.dz + j)
            let sh = (N.load(t.s + j) - m1) * r1
            N.store(N.load(grads.g1 + j) + dz * sh, grads.g1 + j)
            N.store(N.load(grads.b1 + j) + dz, grads.b1 + j)
            let dn = dz * N.load(g1 + j)
            s1a += dn
            s1b += dn * sh
        }
        let (a1, c1) = (N.sum(s1a) * invN, N.sum(s1b) * invN)
        for j in stride(from: 0, to: np, by: N.lanes) {
            let sh = (N.load(t.s + j) - m1) * r1
            let ds = (N.load(t.dz + j) * N.load(g1 + j) - a1 - sh * c1) * r1
            N.store(N.load(grads.gate + j) + ds * N.load(t.u + j), grads.gate + j)
            N.store(ds * N.load(gate + j), t.dsg + j)
        }
        // dd = W_gᵀ dy; dx from the skip: Mᵀ(gate ⊙ ds).
        for c in 0..<hd {   // dη₁ = (W_gᵀ dy) ⊙ keep, written as scalars and only read as scalars
            let dh = N.dot(dy, wgt + c * 2 * np, 2 * np) * t.keep[c]
            t.dh[c] = dh
            grads.fc2b[c] += dh
        }
        if let dx {
            for c in 0..<k {
                let (lo, hi) = (inputLanes[2 * c], inputLanes[2 * c + 1])
                dx[c] += N.dot(t.dsg + lo, mt + c * np + lo, hi - lo)
            }
        }
        hiddenBackward(x, t, grads, dx: dx)
        return N.sum(sw)
    }

    /// Dropout, fc2, ELU and fc1 backward for one row (vectors over the padded hidden width).
    @inline(__always)
    private func hiddenBackward(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch, _ grads: NarrowGRNGradients,
                                dx: UnsafeMutablePointer<Float>?) {
        typealias N = NarrowGRNPacked
        for i in stride(from: 0, to: hp, by: N.lanes) {   // per chunk of hidden units, accumulators in registers
            let e = N.load(t.e + i)
            var de = V()
            for j in 0..<hd {   // dW₂[j, :] += dη₁[j] eᵀ,  de += dη₁[j] W₂[j, :]
                let dj = t.dh[j]
                N.store(N.load(grads.fc2w + j * hp + i).addingProduct(dj, e), grads.fc2w + j * hp + i)
                de = de.addingProduct(dj, N.load(w2 + j * hp + i))
            }
            let dh1 = de.replacing(with: de * (e + 1), where: N.load(t.h1 + i) .<= 0)
            N.store(dh1, t.de + i)   // t.de ← dh₁
            N.store(N.load(grads.fc1b + i) + dh1, grads.fc1b + i)
            for c in 0..<k {
                N.store(N.load(grads.fc1wt + c * hp + i).addingProduct(x[c], dh1), grads.fc1wt + c * hp + i)
            }
        }
        guard let dx else { return }
        for c in stride(from: 0, to: kp, by: N.lanes) {   // dx += W₁ᵀ dh₁ (rows of W₁ padded to Kp)
            var acc = V()
            for j in 0..<hd { acc = acc.addingProduct(t.de[j], N.load(w1 + j * kp + c)) }
            N.store(acc, t.dx + c)
        }
        for c in 0..<k { dx[c] += t.dx[c] }
    }

    /// dW_g += Σ over the tile's first `rows` slots dy dᵀ (stored transposed, Hd × 2·Np) and db_g += Σ dy.
    @inline(__always)
    func flushTile(_ rows: Int, _ t: NarrowGRNScratch, _ grads: NarrowGRNGradients) {
        typealias N = NarrowGRNPacked
        for j in stride(from: 0, to: 2 * np, by: N.lanes) {
            var acc = N.load(grads.gluB + j)
            for q in 0..<rows { acc += N.load(t.dyTile + q * 2 * np + j) }
            N.store(acc, grads.gluB + j)
        }
        for c in 0..<hd {
            let row = grads.gluWT + c * 2 * np
            for j in stride(from: 0, to: 2 * np, by: N.lanes) {
                var acc = N.load(row + j)
                for q in 0..<rows { acc = acc.addingProduct(t.dTile[q * hp + c], N.load(t.dyTile + q * 2 * np + j)) }
                N.store(acc, row + j)
            }
        }
    }

    /// Σ a[i] b[i] over a multiple of `lanes` elements.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc0 = V(), acc1 = V(), j = 0
        while j + 2 * lanes <= count {
            acc0 = acc0.addingProduct(load(a + j), load(b + j))
            acc1 = acc1.addingProduct(load(a + j + lanes), load(b + j + lanes))
            j += 2 * lanes
        }
        if j < count { acc0 = acc0.addingProduct(load(a + j), load(b + j)) }
        return sum(acc0 + acc1)
    }
}

/// Row-summed parameter gradients of a narrow GRN, in the padded layouts of `NarrowGRNPacked`:
/// W₁ᵀ (In, Hp), b₁ (Hp), W₂ (Hd, Hp), b₂ (Hp), W_gᵀ (Hd, 2·Np), b_g (2·Np), gate, γ₁, β₁, γ₂, β₂ (Np).
struct NarrowGRNGradients {
    let packed: NarrowGRNPacked
    let base: UnsafeMutablePointer<Float>
    let fc1wt, fc1b, fc2w, fc2b, gluWT, gluB, gate, g1, b1, g2, b2: UnsafeMutablePointer<Float>

    init(_ p: NarrowGRNPacked) {
        packed = p
        let (k, hd, np, hp) = (p.k, p.hd, p.np, p.hp)
        let count = k * hp + hp + hd * hp + hp + hd * 2 * np + 2 * np + 5 * np
        base = .allocate(capacity: count)
        base.initialize(repeating: 0, count: count)
        fc1wt = base; fc1b = fc1wt + k * hp; fc2w = fc1b + hp; fc2b = fc2w + hd * hp
        gluWT = fc2b + hp; gluB = gluWT + hd * 2 * np; gate = gluB + 2 * np
        g1 = gate + np; b1 = g1 + np; g2 = b1 + np; b2 = g2 + np
    }

    func deallocate() { base.deallocate() }

    /// Adds every sum into the gradient of its parameter (those that need one), back in the parameters' layouts.
    func accumulate(into g: Graph, _ w: NarrowGRNParameters) {
        let (k, hd, n, np, hp) = (packed.k, packed.hd, packed.n, packed.np, packed.hp)
        func add(_ v: Var?, _ index: (Int) -> Int, _ src: UnsafeMutablePointer<Float>) {
            guard let v, g.needsGrad(v) else { return }
            let dst = g.gradBuffer(v)
            for i in 0..<v.value.count { dst[i] += src[index(i)] }
        }
        add(w.fc1Weight, { ($0 % k) * hp + $0 / k }, fc1wt)   // (j, c) ← W₁ᵀ[c, j]
        add(w.fc1Bias, { $0 }, fc1b)
        add(w.fc2Weight, { ($0 / hd) * hp + $0 % hd }, fc2w)
        add(w.fc2Bias, { $0 }, fc2b)
        add(w.gluWeight, { i in   // (j, c) ← W_gᵀ[c, j] (gate rows j ≥ Out sit at Np + j − Out)
            let (j, c) = (i / hd, i % hd)
            return c * 2 * np + (j < n ? j : np + j - n)
        }, gluWT)
        add(w.gluBias, { $0 < n ? $0 : np + $0 - n }, gluB)
        add(w.skipGate, { $0 }, gate)
        add(w.skipNormWeight, { $0 }, g1)
        add(w.skipNormBias, { $0 }, b1)
        add(w.normWeight, { $0 }, g2)
        add(w.normBias, { $0 }, b2)
    }
}
