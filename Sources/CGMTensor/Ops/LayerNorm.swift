// Layer normalization over the last axis (Ba, Kiros & Hinton 2016; PyTorch nn.LayerNorm semantics).
//   x: (..., C), optional skip (..., C) (normalizes x + skip), weight: (C)?, bias: (C)? → y: (..., C)
//   μ = mean(x), σ² = mean((x − μ)²) (biased), r = 1/√(σ² + ε), n = (x − μ)·r, y = n ⊙ w + b
// Forward caches μ and r per row (as llm.c does); the row reductions run on one register of partial sums
// (16 lanes on AVX-512, 8 on AVX2: a reassociated sum, not the sequential order). Backward:
//   dn = dy ⊙ w,  dx = r · (dn − mean(dn) − n · mean(dn ⊙ n)),  dw = Σ dy ⊙ n,  db = Σ dy

import Foundation

extension Graph {
    /// Layer normalization over the last axis with optional elementwise affine `weight` and `bias`
    /// (each of shape `[C]`, C the last dimension). Uses the biased variance, like PyTorch.
    /// With `skip` (x's shape) it normalizes x + skip in one op (the residual add of TFT's AddNorm),
    /// with the same values and gradients as `layerNorm(x + skip, …)`.
    public func layerNorm(_ x: Var, adding skip: Var? = nil, weight: Var?, bias: Var?, eps: Float = 1e-5) -> Var {
        let sx = x.shape
        if let skip { precondition(skip.shape == sx, "layerNorm: skip \(skip.shape) must match input \(sx)") }
        precondition(sx.count >= 1 && sx.last! > 0, "layerNorm: input \(sx) needs a non-empty last axis")
        let c = sx.last!
        if let weight { precondition(weight.shape == [c], "layerNorm: weight \(weight.shape) for input \(sx)") }
        if let bias { precondition(bias.shape == [c], "layerNorm: bias \(bias.shape) for input \(sx)") }
        let rows = x.value.count / c
        let out = Tensor(uninitialized: sx)
        let mean = Tensor(uninitialized: [rows]), rstd = Tensor(uninitialized: [rows])
        var input = x.value
        if let skip {   // input = x + skip, kept for backward
            input = Tensor(uninitialized: sx)
            let a = x.value.pointer, b = skip.value.pointer, s = input.sharedMutablePointer
            for i in 0..<input.count { s[i] = a[i] + b[i] }
        }
        let xp = input.pointer, yp = out.sharedMutablePointer
        let mp = mean.sharedMutablePointer, rp = rstd.sharedMutablePointer
        let wp = weight?.value.pointer, bp = bias?.value.pointer
        let invC = 1 / Float(c)
        for r in 0..<rows {
            let xr = xp + r * c, yr = yp + r * c
            let m = LayerNormKernels.sum(xr, c) * invC
            let v = LayerNormKernels.centeredSquares(xr, m, c)
            let rs = 1 / (v * invC + eps).squareRoot()
            mp[r] = m
            rp[r] = rs
            switch (wp, bp) {
            case let (w?, b?): for i in 0..<c { yr[i] = (xr[i] - m) * rs * w[i] + b[i] }
            case let (w?, nil): for i in 0..<c { yr[i] = (xr[i] - m) * rs * w[i] }
            case let (nil, b?): for i in 0..<c { yr[i] = (xr[i] - m) * rs + b[i] }
            case (nil, nil): for i in 0..<c { yr[i] = (xr[i] - m) * rs }
            }
        }
        var inputs = [x]
        if let skip { inputs.append(skip) }
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return record(out, inputs: inputs, rule: LayerNormBackward(
            x: x, skip: skip, input: input, weight: weight, bias: bias, mean: mean, rstd: rstd, rows: rows, c: c))
    }
}

struct LayerNormBackward: BackwardRule {
    let x: Var, skip: Var?
    /// The normalized input: x, or x + skip.
    let input: Tensor
    let weight: Var?, bias: Var?
    let mean: Tensor, rstd: Tensor
    let rows: Int, c: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0] else { return }
        let xp = input.pointer, dyp = dY.pointer
        let mp = mean.pointer, rp = rstd.pointer
        let wp = weight?.value.pointer
        let dx = g.needsGrad(x) ? g.gradBuffer(x) : nil
        let dskip = skip.flatMap { g.needsGrad($0) ? g.gradBuffer($0) : nil }
        let dw = weight.flatMap { g.needsGrad($0) ? g.gradBuffer($0) : nil }
        let db = bias.flatMap { g.needsGrad($0) ? g.gradBuffer($0) : nil }
        let invC = 1 / Float(c)
        for r in 0..<rows {
            let xr = xp + r * c, dyr = dyp + r * c
            let m = mp[r], rs = rp[r]
            if let db { for i in 0..<c { db[i] += dyr[i] } }
            if let dw { for i in 0..<c { dw[i] += dyr[i] * (xr[i] - m) * rs } }
            if dx == nil && dskip == nil { continue }
            // Two reductions, then one pass writing dx (dn = dy ⊙ w, or dy without affine weight).
            var (dnMean, dnNormMean) = LayerNormKernels.backwardSums(dyr, wp, xr, m, c)
            dnMean *= invC
            dnNormMean *= invC * rs
            @inline(__always) func write(_ dxr: UnsafeMutablePointer<Float>) {
                if let wp {
                    for i in 0..<c { dxr[i] += (dyr[i] * wp[i] - dnMean - (xr[i] - m) * rs * dnNormMean) * rs }
                } else {
                    for i in 0..<c { dxr[i] += (dyr[i] - dnMean - (xr[i] - m) * rs * dnNormMean) * rs }
                }
            }
            if let dx { write(dx + r * c) }
            if let dskip { write(dskip + r * c) }   // d(x + skip) goes to both summands
        }
    }
}

/// Row reductions of the layer norm on one register of partial sums (`KernelISA.Vector`; tails scalar).
enum LayerNormKernels {
    typealias V = KernelISA.Vector
    static var lanes: Int { V.scalarCount }

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }

    /// Σ x[i].
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc = V(), i = 0
        while i + lanes <= n { acc += load(x + i); i += lanes }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// Σ (x[i] − m)².
    @inline(__always)
    static func centeredSquares(_ x: UnsafePointer<Float>, _ m: Float, _ n: Int) -> Float {
        var acc = V(), i = 0
        let mv = V(repeating: m)
        while i + lanes <= n { let d = load(x + i) - mv; acc += d * d; i += lanes }
        var s = acc.sum()
        while i < n { let d = x[i] - m; s += d * d; i += 1 }
        return s
    }

    /// (Σ dn[i], Σ dn[i]·(x[i] − m)) with dn = dy ⊙ w (or dy without a weight).
    @inline(__always)
    static func backwardSums(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, _ x: UnsafePointer<Float>,
                             _ m: Float, _ n: Int) -> (Float, Float) {
        var a = V(), b = V(), i = 0
        let mv = V(repeating: m)
        if let w {
            while i + lanes <= n { let dn = load(dy + i) * load(w + i); a += dn; b += dn * (load(x + i) - mv); i += lanes }
        } else {
            while i + lanes <= n { let dn = load(dy + i); a += dn; b += dn * (load(x + i) - mv); i += lanes }
        }
        var s = a.sum(), t = b.sum()
        while i < n { let dn = dy[i] * (w?[i] ?? 1); s += dn; t += dn * (x[i] - m); i += 1 }
        return (s, t)
    }
}
