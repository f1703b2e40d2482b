// Layer norm of a narrow bias-free Linear, fused: out = LN(x Wᵀ) ⊙ γ + β, for small In (a TFT
// ResampleNorm's 8 → 128 interpolation, with its gate folded into W). The (…, Out) projection is never
// stored: forward computes it row by row in a stack buffer and keeps the row mean μ and 1/σ; backward
// recomputes it from x (Out·In multiply-adds per row) and forms, in the same pass (n̂ = (y − μ)/σ),
//   dγ += dout ⊙ n̂,  dβ += dout,  dy = (dn − mean(dn) − n̂ mean(dn ⊙ n̂)) / σ with dn = dout ⊙ γ,
//   dx = dy W,  dW += dyᵀ x.
// Same values as `layerNorm(linear(x, W, nil), γ, β)` up to summation order.

extension Graph {
    /// `layerNorm(linear(x, weight, nil), weight: normWeight, bias: normBias)` for x (…, In), weight
    /// (Out, In), without materializing the (…, Out) projection. Meant for narrow inputs (In ≤ 32).
    public func linearLayerNorm(_ x: Var, weight: Var, normWeight: Var, normBias: Var, eps: Float = 1e-5) -> Var {
        let sx = x.shape, sw = weight.shape
        precondition(sx.count >= 1 && sw.count == 2 && sw[1] == sx.last! && sw[0] > 0,
                     "linearLayerNorm: input \(sx) and weight \(sw) must be (…, In) and (Out, In)")
        precondition(normWeight.shape == [sw[0]] && normBias.shape == [sw[0]],
                     "linearLayerNorm: norm weight \(normWeight.shape) and bias \(normBias.shape) for weight \(sw)")
        let k = sw[1], n = sw[0], rows = k == 0 ? 0 : x.value.count / k
        let out = Tensor(uninitialized: Array(sx.dropLast()) + [n])
        let mean = Tensor(uninitialized: [rows]), rstd = Tensor(uninitialized: [rows])
        let wt = GLULinearKernels.transpose(weight.value)   // (In, Out)
        let op = out.sharedMutablePointer, xp = x.value.pointer, gp = normWeight.value.pointer, bp = normBias.value.pointer
        let mp = mean.sharedMutablePointer, rp = rstd.sharedMutablePointer
        let y = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { y.deallocate() }
        let invN = 1 / Float(n)
        for r in 0..<rows {
            LinearLayerNormKernels.project(x: xp + r * k, wt: wt.pointer, k: k, n: n, y: y)
            let m = LayerNormKernels.sum(y, n) * invN
            let rs = 1 / (LayerNormKernels.centeredSquares(y, m, n) * invN + eps).squareRoot()
            mp[r] = m
            rp[r] = rs
            let o = op + r * n
            for i in 0..<n { o[i] = (y[i] - m) * rs * gp[i] + bp[i] }
        }
        return record(out, inputs: [x, weight, normWeight, normBias], rule: LinearLayerNormBackward(
            x: x, weight: weight, normWeight: normWeight, normBias: normBias, wt: wt, mean: mean, rstd: rstd, rows: rows))
    }
}

struct LinearLayerNormBackward: BackwardRule {
    let x: Var, weight: Var, normWeight: Var, normBias: Var
    /// Wᵀ (In, Out), and the per-row mean and 1/σ of the projection, from the forward pass.
    let wt: Tensor, mean: Tensor, rstd: Tensor
    let rows: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let k = weight.shape[1], n = weight.shape[0]
        let needX = g.needsGrad(x), needW = g.needsGrad(weight)
        let dg = g.needsGrad(normWeight) ? g.gradBuffer(normWeight) : nil
        let db = g.needsGrad(normBias) ? g.gradBuffer(normBias) : nil
        let xp = x.value.pointer, wtp = wt.pointer, dp = dOut.pointer, gp = normWeight.value.pointer
        let mp = mean.pointer, rp = rstd.pointer
        let dx = needX ? g.gradBuffer(x) : nil
        let dWt = Tensor(zeros: [k, n])   // Σ over rows, added once at the end
        let dwt = dWt.sharedMutablePointer
        let y = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n)
        defer { y.deallocate() }
        let dy = y + n
        let invN = 1 / Float(n)
        for r in 0..<rows {
            let xr = xp + r * k, o = dp + r * n, m = mp[r], rs = rp[r]
            if let db { for i in 0..<n { db[i] += o[i] } }
            guard dg != nil || needX || needW else { continue }
            LinearLayerNormKernels.project(x: xr, wt: wtp, k: k, n: n, y: y)
            if let dg { for i in 0..<n { dg[i] += o[i] * (y[i] - m) * rs } }
            guard needX || needW else { continue }
            var (dnMean, dnNormMean) = LayerNormKernels.backwardSums(o, gp, y, m, n)
            dnMean *= invN
            dnNormMean *= invN * rs
            for i in 0..<n { dy[i] = (o[i] * gp[i] - dnMean - (y[i] - m) * rs * dnNormMean) * rs }
            if needW { for c in 0..<k { GLULinearKernels.axpy(xr[c], dy, dwt + c * n, n) } }
            if let dx { for c in 0..<k { dx[r * k + c] += GLULinearKernels.dot(dy, wtp + c * n, n) } }
        }
        if needW {   // dW (Out, In) += dWtᵀ
            let gw = g.gradBuffer(weight)
            for j in 0..<n { for c in 0..<k { gw[j * k + c] += dwt[c * n + j] } }
        }
        withExtendedLifetime(dWt) {}
    }
}

enum LinearLayerNormKernels {
    /// y[j] = Σ_c x[c] · wt[c, j] for j in 0..<n (c ascending).
    @inline(__always)
    static func project(x: UnsafePointer<Float>, wt: UnsafePointer<Float>, k: Int, n: Int, y: UnsafeMutablePointer<Float>) {
        y.update(repeating: 0, count: n)
        for c in 0..<k { GLULinearKernels.axpy(x[c], wt + c * n, y, n) }
    }
}
