// Layer normalization over the last axis (Ba, Kiros & Hinton 2016; PyTorch nn.LayerNorm semantics).
//   x: (..., C), weight: (C)?, bias: (C)? → y: (..., C)
//   μ = mean(x), σ² = mean((x − μ)²) (biased), r = 1/√(σ² + ε), n = (x − μ)·r, y = n ⊙ w + b
// Forward caches μ and r per row (as llm.c does); backward:
//   dn = dy ⊙ w,  dx = r · (dn − mean(dn) − n · mean(dn ⊙ n)),  dw = Σ dy ⊙ n,  db = Σ dy

import Foundation

extension Graph {
    /// Layer normalization over the last axis with optional elementwise affine `weight` and `bias`
    /// (each of shape `[C]`, C the last dimension). Uses the biased variance, like PyTorch.
    public func layerNorm(_ x: Var, weight: Var?, bias: Var?, eps: Float = 1e-5) -> Var {
        let sx = x.shape
        precondition(sx.count >= 1 && sx.last! > 0, "layerNorm: input \(sx) needs a non-empty last axis")
        let c = sx.last!
        if let weight { precondition(weight.shape == [c], "layerNorm: weight \(weight.shape) for input \(sx)") }
        if let bias { precondition(bias.shape == [c], "layerNorm: bias \(bias.shape) for input \(sx)") }
        let rows = x.value.count / c
        let out = Tensor(uninitialized: sx)
        let mean = Tensor(uninitialized: [rows]), rstd = Tensor(uninitialized: [rows])
        let xp = x.value.pointer, yp = out.sharedMutablePointer
        let mp = mean.sharedMutablePointer, rp = rstd.sharedMutablePointer
        let wp = weight?.value.pointer, bp = bias?.value.pointer
        let invC = 1 / Float(c)
        for r in 0..<rows {
            let xr = xp + r * c, yr = yp + r * c
            var s: Float = 0
            for i in 0..<c { s += xr[i] }
            let m = s * invC
            var v: Float = 0
            for i in 0..<c { let d = xr[i] - m; v += d * d }
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
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return record(out, inputs: inputs, rule: LayerNormBackward(
            x: x, weight: weight, bias: bias, mean: mean, rstd: rstd, rows: rows, c: c))
    }
}

struct LayerNormBackward: BackwardRule {
    let x: Var, weight: Var?, bias: Var?
    let mean: Tensor, rstd: Tensor
    let rows: Int, c: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0] else { return }
        let xp = x.value.pointer, dyp = dY.pointer
        let mp = mean.pointer, rp = rstd.pointer
        let wp = weight?.value.pointer
        let dx = g.needsGrad(x) ? g.gradBuffer(x) : nil
        let dw = weight.flatMap { g.needsGrad($0) ? g.gradBuffer($0) : nil }
        let db = bias.flatMap { g.needsGrad($0) ? g.gradBuffer($0) : nil }
        let invC = 1 / Float(c)
        for r in 0..<rows {
            let xr = xp + r * c, dyr = dyp + r * c
            let m = mp[r], rs = rp[r]
            if let db { for i in 0..<c { db[i] += dyr[i] } }
            if let dw { for i in 0..<c { dw[i] += dyr[i] * (xr[i] - m) * rs } }
            guard let dx else { continue }
            // Two reductions, then one pass writing dx (dn = dy ⊙ w, or dy without affine weight).
            var dnMean: Float = 0, dnNormMean: Float = 0
            if let wp {
                for i in 0..<c { let dn = dyr[i] * wp[i]; dnMean += dn; dnNormMean += dn * (xr[i] - m) }
            } else {
                for i in 0..<c { let dn = dyr[i]; dnMean += dn; dnNormMean += dn * (xr[i] - m) }
            }
            dnMean *= invC
            dnNormMean *= invC * rs
            let dxr = dx + r * c
            if let wp {
                for i in 0..<c { dxr[i] += (dyr[i] * wp[i] - dnMean - (xr[i] - m) * rs * dnNormMean) * rs }
            } else {
                for i in 0..<c { dxr[i] += (dyr[i] - dnMean - (xr[i] - m) * rs * dnNormMean) * rs }
            }
        }
    }
}
