// Gated linear unit over the last axis as one fused op (Dauphin et al. 2017; PyTorch `F.glu(y, dim=-1)`).
//
//   y: (…, 2D) = [a; b]  →  out = a ⊙ σ(b): (…, D)
//   backward: da = dout ⊙ σ(b),   db = (dout ⊙ a) ⊙ σ(b)(1 − σ(b))
//
// σ is `FastMath.sigmoid` (vectorized, max relative error ≈ 1.5e-7, the same σ as the fused LSTM
// gates) instead of the libm-based `Graph.sigmoid`: values agree with slice → sigmoid → multiply to
// within that error; the multiply and the backward formulas are the unfused graph's. The op saves the two
// slice copies, the σ node and the zero-filled slice gradients. σ(b) is cached for backward.

extension Graph {
    /// `a ⊙ σ(b)` where `y = [a; b]` is split in half along its last axis (PyTorch `F.glu(y, dim=-1)`).
    public func glu(_ y: Var) -> Var {
        let sy = y.shape
        precondition(sy.count >= 1 && sy.last! % 2 == 0 && sy.last! > 0,
                     "glu: input \(sy) needs an even, non-zero last axis")
        let d = sy.last! / 2, rows = y.value.count / (2 * d)
        let out = Tensor(uninitialized: Array(sy.dropLast()) + [d])
        let gate = Tensor(uninitialized: [rows, d])
        let yp = y.value.pointer, op = out.sharedMutablePointer, sp = gate.sharedMutablePointer
        for r in 0..<rows {
            let a = yp + r * 2 * d, b = a + d, o = op + r * d, s = sp + r * d
            FastMath.sigmoid(b, s, count: d)
            for i in 0..<d { o[i] = a[i] * s[i] }
        }
        return record(out, inputs: [y], rule: GLUBackward(y: y, gate: gate, rows: rows, d: d))
    }
}

struct GLUBackward: BackwardRule {
    let y: Var
    /// σ(b) (rows, D).
    let gate: Tensor
    let rows: Int, d: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0], g.needsGrad(y) else { return }
        let dy = g.gradBuffer(y), yp = y.value.pointer, sp = gate.pointer, dp = dOut.pointer
        for r in 0..<rows {
            let a = yp + r * 2 * d, da = dy + r * 2 * d, db = da + d, s = sp + r * d, o = dp + r * d
            for i in 0..<d {
                let sig = s[i]
                da[i] += o[i] * sig
                db[i] += o[i] * a[i] * sig * (1 - sig)
            }
        }
    }
}
