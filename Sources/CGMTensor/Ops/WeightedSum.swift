// Per-row weighted sum of V same-shaped inputs as one fused op (the fusion step of a TFT variable
// selection network, Lim et al. 2021 eq. 10 / SSM-CGM A.6 eq. 10: out = Σᵢ αᵢ ẽᵢ).
//
//   xs: V tensors (…, D),  weights: (…, V)  →  out[r, :] = Σᵢ w[r, i] · xᵢ[r, :]   (i ascending)
//   backward: dxᵢ[r, :] += w[r, i] · dout[r, :],   dw[r, i] += Σ_k dout[r, k] · xᵢ[r, k]
//
// Replaces stack(unsqueeze(xᵢ)) ⊙ unsqueeze(w) → sum over the stacked axis, which materializes the
// (…, V, D) stack and product and their gradients.

extension Graph {
    /// Σᵢ weights[…, i] · xs[i][…, :] for V inputs of one shape (…, D) and weights (…, V).
    public func weightedSum(_ xs: [Var], weights: Var) -> Var {
        precondition(!xs.isEmpty, "weightedSum: needs at least one input")
        let sx = xs[0].shape, v = xs.count
        precondition(sx.count >= 1 && xs.allSatisfy { $0.shape == sx },
                     "weightedSum: inputs must share one shape (…, D), got \(xs.map(\.shape))")
        precondition(weights.shape == Array(sx.dropLast()) + [v],
                     "weightedSum: weights \(weights.shape) must be \(Array(sx.dropLast()) + [v]) for \(v) inputs of \(sx)")
        let d = sx.last!, rows = d == 0 ? 0 : xs[0].value.count / d
        let out = Tensor(zeros: sx)
        let op = out.sharedMutablePointer, wp = weights.value.pointer
        let values = xs.map(\.value)
        let pointers = values.map(\.pointer)
        for r in 0..<rows {   // row-major so each output row stays in L1 while the V inputs are added
            let o = op + r * d
            for i in 0..<v {
                let w = wp[r * v + i], xr = pointers[i] + r * d
                for k in 0..<d { o[k] += w * xr[k] }
            }
        }
        for value in values { withExtendedLifetime(value) {} }   // one call each (a collection argument leaked in -O builds)
        return record(out, inputs: xs + [weights], rule: WeightedSumBackward(xs: xs, weights: weights, rows: rows, d: d))
    }
}

struct WeightedSumBackward: BackwardRule {
    let xs: [Var], weights: Var
    let rows: Int, d: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let dp = dOut.pointer, wp = weights.value.pointer, v = xs.count
        let dw = g.needsGrad(weights) ? g.gradBuffer(weights) : nil
        for (i, x) in xs.enumerated() {
            let xp = x.value.pointer
            if let dw {
                for r in 0..<rows {
                    dw[r * v + i] += WeightedSumBackward.dot(dp + r * d, xp + r * d, d)
                }
            }
            guard g.needsGrad(x) else { continue }
            let dx = g.gradBuffer(x)
            for r in 0..<rows {
                let w = wp[r * v + i], o = dp + r * d, dxr = dx + r * d
                for k in 0..<d { dxr[k] += w * o[k] }
            }
        }
    }

    /// Σ a[k]·b[k] with one register of partial sums (`KernelISA.Vector`; a reassociated sum).
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        typealias V = KernelISA.Vector
        var acc = V()
        var k = 0
        while k + V.scalarCount <= n {
            acc += UnsafeRawPointer(a + k).loadUnaligned(as: V.self) * UnsafeRawPointer(b + k).loadUnaligned(as: V.self)
            k += V.scalarCount
        }
        var s = acc.sum()
        while k < n { s += a[k] * b[k]; k += 1 }
        return s
    }
}
