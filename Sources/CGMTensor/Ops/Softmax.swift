// Softmax and log-softmax along one axis, numerically stable (the row maximum is subtracted).
//
//   x (outer…, N, inner…) → y (same shape), normalized over the N axis
//   softmax:     y_j = e^{x_j − m} / Σ_k e^{x_k − m},   m = max_k x_k
//                dx_j = y_j (dy_j − Σ_k dy_k y_k)
//   logSoftmax:  y_j = x_j − m − ln Σ_k e^{x_k − m}
//                dx_j = dy_j − e^{y_j} Σ_k dy_k
//
// The N elements of one softmax are `inner` apart; for the last axis (inner = 1) they are contiguous.

extension Graph {
    /// Softmax over `axis` (default: the last).
    public func softmax(_ x: Var, axis: Int = -1) -> Var {
        softmaxOp(x, axis: axis, log: false)
    }

    /// Log-softmax over `axis` (default: the last); more accurate than `log(softmax(x))`.
    public func logSoftmax(_ x: Var, axis: Int = -1) -> Var {
        softmaxOp(x, axis: axis, log: true)
    }

    func softmaxOp(_ x: Var, axis: Int, log: Bool) -> Var {
        precondition(x.graph === self, "softmax: operand of shape \(x.shape) comes from another Graph")
        let xs = x.shape
        let k = Shape.axis(axis, rank: xs.count, log ? "logSoftmax" : "softmax")
        let layout = SoftmaxLayout(outer: Shape.count(Array(xs[..<k])), n: xs[k],
                                   inner: Shape.count(Array(xs[(k + 1)...])))
        let out = Tensor(uninitialized: xs)
        let px = x.value.pointer, y = out.sharedMutablePointer
        let n = layout.n, st = layout.inner
        layout.forEachRow { base in
            let xr = px + base, yr = y + base
            var m = -Float.infinity
            for j in 0..<n { m = Swift.max(m, xr[j * st]) }
            var s: Float = 0
            if log {
                for j in 0..<n { s += ActivationMath.exp(xr[j * st] - m) }
                let shift = m + ActivationMath.log(s)
                for j in 0..<n { yr[j * st] = xr[j * st] - shift }
            } else {
                for j in 0..<n {
                    let e = ActivationMath.exp(xr[j * st] - m)
                    yr[j * st] = e
                    s += e
                }
                let inv = 1 / s
                for j in 0..<n { yr[j * st] *= inv }
            }
        }
        return record(out, inputs: [x], rule: SoftmaxBackward(x: x, y: out, layout: layout, log: log))
    }
}

/// The N elements of softmax row (o, i) sit at o · N · inner + i + j · inner, j ∈ 0..<N.
struct SoftmaxLayout {
    let outer: Int, n: Int, inner: Int

    /// Calls `body` with the offset of the first element of every row.
    @inline(__always) func forEachRow(_ body: (Int) -> Void) {
        for o in 0..<outer {
            for i in 0..<inner { body(o * n * inner + i) }
        }
    }
}

struct SoftmaxBackward: BackwardRule {
    let x: Var
    let y: Tensor
    let layout: SoftmaxLayout
    let log: Bool

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        let gx = g.gradBuffer(x), d = dY.pointer, py = y.pointer
        let n = layout.n, st = layout.inner
        layout.forEachRow { base in
            let dr = d + base, yr = py + base, gr = gx + base
            var s: Float = 0
            if log {
                for j in 0..<n { s += dr[j * st] }
                for j in 0..<n { gr[j * st] += dr[j * st] - ActivationMath.exp(yr[j * st]) * s }
            } else {
                for j in 0..<n { s += dr[j * st] * yr[j * st] }
                for j in 0..<n { gr[j * st] += yr[j * st] * (dr[j * st] - s) }
            }
        }
    }
}
