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

// GLU of a narrow Linear, fused: out = a ⊙ σ(b) with [a; b] = x Wᵀ + bias, for small In (a TFT
// variable selection network's per-variable GRNs map In = 8 prescaled features to 2·128 gate inputs).
// The (…, 2D) pre-activation is never stored: forward computes it row by row in a stack buffer, and
// backward recomputes it from x (2D·In multiply-adds per row, as cheap as reading it back), then forms
//   dy = [dout ⊙ σ(b); dout ⊙ a ⊙ σ(b)(1 − σ(b))],  dx = dy W,  dW += dyᵀ x,  dbias += dy
// in the same pass. Same values as `glu(linear(x, W, bias))` up to summation order (bias first, then
// the In products in order).

extension Graph {
    /// `glu(linear(x, weight, bias))` for x (…, In), weight (2D, In), bias (2D), without materializing the
    /// (…, 2D) pre-activation. Meant for narrow inputs (In ≤ 32); wide inputs belong on the GEMM path.
    public func gluLinear(_ x: Var, weight: Var, bias: Var) -> Var {
        let sx = x.shape, sw = weight.shape
        precondition(sx.count >= 1 && sw.count == 2 && sw[1] == sx.last! && sw[0] % 2 == 0 && sw[0] > 0,
                     "gluLinear: input \(sx) and weight \(sw) must be (…, In) and (2D, In)")
        precondition(bias.shape == [sw[0]], "gluLinear: bias \(bias.shape) for weight \(sw)")
        let k = sw[1], d = sw[0] / 2, rows = k == 0 ? 0 : x.value.count / k
        let out = Tensor(uninitialized: Array(sx.dropLast()) + [d])
        let wt = GLULinearKernels.transpose(weight.value)   // (In, 2D)
        let op = out.sharedMutablePointer, xp = x.value.pointer, bp = bias.value.pointer
        let y = UnsafeMutablePointer<Float>.allocate(capacity: 2 * d)
        defer { y.deallocate() }
        for r in 0..<rows {
            GLULinearKernels.preactivation(x: xp + r * k, wt: wt.pointer, bias: bp, k: k, n: 2 * d, y: y)
            FastMath.sigmoid(y + d, y + d, count: d)
            let o = op + r * d
            for i in 0..<d { o[i] = y[i] * y[d + i] }
        }
        return record(out, inputs: [x, weight, bias], rule: GLULinearBackward(x: x, weight: weight, bias: bias, wt: wt, rows: rows))
    }
}

struct GLULinearBackward: BackwardRule {
    let x: Var, weight: Var, bias: Var
    /// Wᵀ (In, 2D) from the forward pass.
    let wt: Tensor
    let rows: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let k = weight.shape[1], n = weight.shape[0], d = n / 2
        let needX = g.needsGrad(x), needW = g.needsGrad(weight), needB = g.needsGrad(bias)
        guard needX || needW || needB else { return }
        let xp = x.value.pointer, bp = bias.value.pointer, wtp = wt.pointer, dp = dOut.pointer
        let dx = needX ? g.gradBuffer(x) : nil
        let dWt = Tensor(zeros: [k, n]), dBias = Tensor(zeros: [n])   // Σ over rows, added once at the end
        let dwt = dWt.sharedMutablePointer, dbp = dBias.sharedMutablePointer
        let y = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n)
        defer { y.deallocate() }
        let dy = y + n
        for r in 0..<rows {
            let xr = xp + r * k, o = dp + r * d
            GLULinearKernels.preactivation(x: xr, wt: wtp, bias: bp, k: k, n: n, y: y)
            FastMath.sigmoid(y + d, y + d, count: d)
            for i in 0..<d {
                let s = y[d + i]
                dy[i] = o[i] * s
                dy[d + i] = o[i] * y[i] * s * (1 - s)
            }
            for j in 0..<n { dbp[j] += dy[j] }
            if needW { for c in 0..<k { GLULinearKernels.axpy(xr[c], dy, dwt + c * n, n) } }
            if let dx { for c in 0..<k { dx[r * k + c] += GLULinearKernels.dot(dy, wtp + c * n, n) } }
        }
        if needW {   // dW (2D, In) += dWtᵀ
            let gw = g.gradBuffer(weight)
            for j in 0..<n { for c in 0..<k { gw[j * k + c] += dwt[c * n + j] } }
        }
        if needB { let gb = g.gradBuffer(bias); for j in 0..<n { gb[j] += dbp[j] } }
        withExtendedLifetime(dWt) {}
        withExtendedLifetime(dBias) {}
    }
}

enum GLULinearKernels {
    typealias V = KernelISA.Vector

    /// (N, K) row-major → (K, N).
    static func transpose(_ w: Tensor) -> Tensor {
        let n = w.shape[0], k = w.shape[1]
        let t = Tensor(uninitialized: [k, n])
        let src = w.pointer, dst = t.sharedMutablePointer
        for j in 0..<n { for c in 0..<k { dst[c * n + j] = src[j * k + c] } }
        return t
    }

    /// y[j] = bias[j] + Σ_c x[c] · wt[c, j] for j in 0..<n (c ascending).
    @inline(__always)
    static func preactivation(x: UnsafePointer<Float>, wt: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                              k: Int, n: Int, y: UnsafeMutablePointer<Float>) {
        y.update(from: bias, count: n)
        for c in 0..<k { axpy(x[c], wt + c * n, y, n) }
    }

    /// y[j] += a · x[j].
    @inline(__always)
    static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var j = 0
        let av = V(repeating: a)
        while j + V.scalarCount <= n {
            let yv = UnsafeRawPointer(y + j).loadUnaligned(as: V.self) + av * UnsafeRawPointer(x + j).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(y + j).storeBytes(of: yv, as: V.self)
            j += V.scalarCount
        }
        while j < n { y[j] += a * x[j]; j += 1 }
    }

    /// Σ a[j] · b[j] on one register of partial sums.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        WeightedSumBackward.dot(a, b, n)
    }
}
