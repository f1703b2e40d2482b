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
// (NarrowGRNBackward.swift) recomputes each row from x. σ is `FastMath.sigmoid` (as the unfused
// `gluLinear`), ELU's eˣ − 1 `FastMath.expm1` (as the unfused `elu`); products use fused multiply-adds
// and other summation orders. Values therefore agree with the composition to rounding (≈ 1e-6
// relative), not bit for bit. The row kernels (`forwardRow`, `backwardRow`) are shared with the fused
// variable selection sum (NarrowGRNSum.swift).
// Dropout draws its mask through `dropoutMask(shape:p:)` for the (…, Hd) tensor η₁, at the same point of
// the forward pass, so the bits equal those of `dropout(η₁)` in the unfused GRN.

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
