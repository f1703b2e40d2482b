// Clamp to a closed interval, as Mamba-2 limits its step size Δ to dt_limit (SSM-CGM Table 4: (1e-3, 10)).
//   x (any shape) → y (same shape):   y = min(max(x, lo), hi)
//   dx = dy · [lo ≤ x ≤ hi]   (PyTorch `clamp`: the boundary passes the gradient, outside gets 0)
// NaN stays NaN (and its gradient is 0).

extension Graph {
    /// Element-wise clamp to [`min`, `max`]; the gradient is 1 inside the closed interval and 0 outside.
    public func clamp(_ x: Var, min lo: Float, max hi: Float) -> Var {
        precondition(lo <= hi, "clamp: min \(lo) > max \(hi) for input \(x.shape)")
        let xv = x.value, n = xv.count
        let out = Tensor(uninitialized: xv.shape)
        let p = xv.pointer, y = out.sharedMutablePointer
        for i in 0..<n {
            let v = p[i]
            y[i] = v < lo ? lo : (v > hi ? hi : v)   // NaN fails both tests and passes through
        }
        return record(out, inputs: [x], rule: ClampBackward(x: x, lo: lo, hi: hi))
    }
}

struct ClampBackward: BackwardRule {
    let x: Var
    let lo: Float, hi: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        let gx = g.gradBuffer(x), d = dY.pointer, p = x.value.pointer
        for i in 0..<dY.count where p[i] >= lo && p[i] <= hi { gx[i] += d[i] }
    }
}
