// Backward of the fused narrow GRN (NarrowGRN.swift). Each row is recomputed from x with the forward's
// kernels and statistics, then (ẑ = (z − μ₂)/σ₂, ŝ = (s − μ₁)/σ₁, LN′ the LayerNorm input gradient
// dv = (dn − mean(dn) − v̂ · mean(dn ⊙ v̂))/σ with dn = dv̂-side gradient ⊙ γ):
//   dγ₂ += dout ⊙ ẑ,  dβ₂ += dout,  dz = LN′₂(dout)
//   GLU:  dy = [dz ⊙ σ(b); dz ⊙ a ⊙ σ(b)(1 − σ(b))],  db_g += dy,  dW_g += dy dᵀ,  dd = W_gᵀ dy
//   skip: dγ₁ += dz ⊙ ŝ,  dβ₁ += dz,  ds = LN′₁(dz),  dgate += ds ⊙ M x,  dx += Mᵀ(gate ⊙ ds)
//   dη₁ = dd ⊙ mask · scale,  db₂ += dη₁,  dW₂ += dη₁ eᵀ,  de = W₂ᵀ dη₁
//   dh₁ = de ⊙ (1 if h₁ > 0 else e + 1),  db₁ += dh₁,  dW₁ += dh₁ xᵀ,  dx += W₁ᵀ dh₁
// Parameter gradients are summed over rows in local buffers and added to the graph's once at the end.

/// Recomputing backward rule of `Graph.narrowGRN`.
struct NarrowGRNBackward: BackwardRule {
    let x: Var
    let w: NarrowGRNParameters
    let kernels: NarrowGRNRow
    /// μ₁, 1/σ₁, μ₂, 1/σ₂ per row.
    let stats: Tensor
    let mask: DropoutMask?
    let scale: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let d = kernels.dims, k = d.k, hd = d.hd, n = d.n
        let grads = NarrowGRNGradients(d)
        defer { grads.deallocate() }
        let t = NarrowGRNScratch(d)
        defer { t.deallocate() }
        let xp = x.value.pointer, op = dOut.pointer, sp = stats.pointer
        let g1 = w.skipNormWeight.value.pointer, g2 = w.normWeight.value.pointer
        let b1 = w.skipNormBias.value.pointer
        let dx = g.needsGrad(x) ? g.gradBuffer(x) : nil
        let gate = kernels.gate, mt = kernels.mt, wgt = kernels.wgt, w1 = kernels.w1, w2 = kernels.w2
        let maskBase = mask.map { UnsafePointer($0.bytes.baseAddress!) }
        let invN = 1 / Float(n)
        for r in 0..<d.rows {
            let xr = xp + r * k, o = op + r * n, st = sp + 4 * r
            let (m1, r1, m2, r2) = (st[0], st[1], st[2], st[3])
            let rowMask = maskBase.map { $0 + r * hd }
            kernels.skip(xr, t)
            kernels.hidden(xr, mask: rowMask, scale: scale, t)
            kernels.glu(t)
            let y = t.y, s = t.s, z = t.z
            for i in 0..<n { z[i] = y[i] * y[n + i] + ((s[i] - m1) * r1 * g1[i] + b1[i]) }
            // Output LayerNorm: dγ₂, dβ₂, then dz (kept in z's buffer once ẑ has been used).
            for i in 0..<n {
                let zh = (z[i] - m2) * r2
                grads.dNormWeight[i] += o[i] * zh
                grads.dNormBias[i] += o[i]
            }
            var (a2, c2) = LayerNormKernels.backwardSums(o, g2, z, m2, n)
            a2 *= invN
            c2 *= invN * r2
            for i in 0..<n { z[i] = (o[i] * g2[i] - a2 - (z[i] - m2) * r2 * c2) * r2 }   // z ← dz
            // GLU: dy, db_g, dW_g (transposed, Hd × 2·Out), dd.
            let dy = t.dy
            for i in 0..<n {
                let sig = y[n + i]
                dy[i] = z[i] * sig
                dy[n + i] = z[i] * y[i] * sig * (1 - sig)
            }
            for j in 0..<(2 * n) { grads.dGluBias[j] += dy[j] }
            for c in 0..<hd {
                GLULinearKernels.axpy(t.d[c], dy, grads.dGluWeightT + c * 2 * n, 2 * n)
                t.dd[c] = GLULinearKernels.dot(dy, wgt + c * 2 * n, 2 * n)
            }
            // Skip LayerNorm and gate: ds, then dx += Mᵀ(gate ⊙ ds).
            for i in 0..<n {
                grads.dSkipNormWeight[i] += z[i] * (s[i] - m1) * r1
                grads.dSkipNormBias[i] += z[i]
            }
            var (a1, c1) = LayerNormKernels.backwardSums(z, g1, s, m1, n)
            a1 *= invN
            c1 *= invN * r1
            let ds = t.ds
            for i in 0..<n { ds[i] = (z[i] * g1[i] - a1 - (s[i] - m1) * r1 * c1) * r1 }
            if let gate {
                for i in 0..<n { grads.dGate[i] += ds[i] * t.u[i] }
                for i in 0..<n { ds[i] *= gate[i] }
            }
            if let dx { for c in 0..<k { dx[r * k + c] += GLULinearKernels.dot(ds, mt + c * n, n) } }
            // Dropout, fc2, ELU, fc1.
            for j in 0..<hd { t.dh[j] = rowMask.map { $0[j] != 0 ? t.dd[j] * scale : 0 } ?? t.dd[j] }
            for i in 0..<hd { t.dd[i] = 0 }   // dd ← de = W₂ᵀ dη₁
            for j in 0..<hd {
                let dj = t.dh[j], row = w2 + j * hd
                grads.dFc2Bias[j] += dj
                for i in 0..<hd {
                    grads.dFc2Weight[j * hd + i] += dj * t.e[i]
                    t.dd[i] += row[i] * dj
                }
            }
            for j in 0..<hd {
                let h = t.h1[j]
                let dj = h > 0 ? t.dd[j] : t.dd[j] * (t.e[j] + 1)
                let row = w1 + j * k
                grads.dFc1Bias[j] += dj
                for c in 0..<k { grads.dFc1Weight[j * k + c] += dj * xr[c] }
                if let dx { for c in 0..<k { dx[r * k + c] += row[c] * dj } }
            }
        }
        grads.accumulate(into: g, w)
    }
}

/// Row-summed parameter gradients of a narrow GRN, in the layouts of the row kernels.
struct NarrowGRNGradients {
    let dims: NarrowGRNDims
    let base: UnsafeMutablePointer<Float>
    let count: Int
    let dFc1Weight, dFc1Bias, dFc2Weight, dFc2Bias, dGluWeightT, dGluBias: UnsafeMutablePointer<Float>
    let dGate, dSkipNormWeight, dSkipNormBias, dNormWeight, dNormBias: UnsafeMutablePointer<Float>

    init(_ d: NarrowGRNDims) {
        dims = d
        let (k, hd, n) = (d.k, d.hd, d.n)
        count = hd * k + hd + hd * hd + hd + hd * 2 * n + 2 * n + 5 * n
        base = .allocate(capacity: count)
        base.initialize(repeating: 0, count: count)
        dFc1Weight = base; dFc1Bias = dFc1Weight + hd * k; dFc2Weight = dFc1Bias + hd; dFc2Bias = dFc2Weight + hd * hd
        dGluWeightT = dFc2Bias + hd; dGluBias = dGluWeightT + hd * 2 * n; dGate = dGluBias + 2 * n
        dSkipNormWeight = dGate + n; dSkipNormBias = dSkipNormWeight + n; dNormWeight = dSkipNormBias + n
        dNormBias = dNormWeight + n
    }

    func deallocate() { base.deallocate() }

    /// Adds every sum into the gradient of its parameter (those that need one); W_g is transposed back.
    func accumulate(into g: Graph, _ w: NarrowGRNParameters) {
        let (k, hd, n) = (dims.k, dims.hd, dims.n)
        func add(_ v: Var?, _ src: UnsafeMutablePointer<Float>, _ count: Int) {
            guard let v, g.needsGrad(v) else { return }
            let dst = g.gradBuffer(v)
            for i in 0..<count { dst[i] += src[i] }
        }
        add(w.fc1Weight, dFc1Weight, hd * k)
        add(w.fc1Bias, dFc1Bias, hd)
        add(w.fc2Weight, dFc2Weight, hd * hd)
        add(w.fc2Bias, dFc2Bias, hd)
        if g.needsGrad(w.gluWeight) {   // dW_g (2·Out, Hd) += (Hd, 2·Out)ᵀ
            let dst = g.gradBuffer(w.gluWeight)
            for j in 0..<(2 * n) { for c in 0..<hd { dst[j * hd + c] += dGluWeightT[c * 2 * n + j] } }
        }
        add(w.gluBias, dGluBias, 2 * n)
        add(w.skipGate, dGate, n)
        add(w.skipNormWeight, dSkipNormWeight, n)
        add(w.skipNormBias, dSkipNormBias, n)
        add(w.normWeight, dNormWeight, n)
        add(w.normBias, dNormBias, n)
    }
}
