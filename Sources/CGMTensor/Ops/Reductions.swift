// Sum and mean over axes.
//
//   x (d0, …, dn-1), axes R → y with dk = 1 for k ∈ R (keepDims) or those axes removed
//   y[j] = f · Σ_{i ↦ j} x[i]     (f = 1 for sum, 1 / Π_{k∈R} dk for mean)
//   dx[i] = f · dy[j(i)]          (the gradient broadcasts back over the reduced axes)
//
// A reduction is the transpose of a broadcast, so it reuses `StridedPlan` with x as operand A
// (contiguous) and y as operand B (stride 0 on reduced axes). Full and row-wise reductions
// accumulate in Double; the other layouts accumulate in Float into the output.

extension Graph {
    /// Sum over `axes` (negative axes count from the end; an empty list reduces nothing, as NumPy).
    public func sum(_ x: Var, axes: [Int], keepDims: Bool = false) -> Var {
        reduceSum(x, axes: axes, keepDims: keepDims, mean: false)
    }

    /// Mean over `axes` (negative axes count from the end; an empty list reduces nothing, as NumPy).
    public func mean(_ x: Var, axes: [Int], keepDims: Bool = false) -> Var {
        reduceSum(x, axes: axes, keepDims: keepDims, mean: true)
    }

    /// Sum of all elements, shape `[]`.
    public func sum(_ x: Var) -> Var { sum(x, axes: Array(0..<x.shape.count)) }

    /// Mean of all elements, shape `[]`.
    public func mean(_ x: Var) -> Var { mean(x, axes: Array(0..<x.shape.count)) }

    func reduceSum(_ x: Var, axes: [Int], keepDims: Bool, mean: Bool) -> Var {
        let op = mean ? "mean" : "sum"
        let xs = x.shape
        var reduced = [Bool](repeating: false, count: xs.count)
        for a in axes {
            let k = Shape.axis(a, rank: xs.count, op)
            precondition(!reduced[k], "\(op): axis \(a) repeated in \(axes) for shape \(xs)")
            reduced[k] = true
        }
        let keptShape = xs.indices.map { reduced[$0] ? 1 : xs[$0] }
        let outShape = keepDims ? keptShape : xs.indices.filter { !reduced[$0] }.map { xs[$0] }
        let reducedCount = Shape.count(xs) / max(Shape.count(keptShape), 1)
        let factor: Float = mean ? 1 / Float(reducedCount) : 1

        let plan = StridedPlan(shape: xs, stridesA: Shape.strides(xs),
                               stridesB: broadcastStrides(keptShape, in: xs))
        let out = Tensor(zeros: outShape)
        let y = out.sharedMutablePointer, px = x.value.pointer
        switch plan.kind {
        case .bScalar:
            y[0] = Float(sumInDouble(plan.count) { px[$0] } * Double(factor))
        case .bColumn:
            for r in 0..<plan.rows {
                let row = px + r * plan.cols
                y[r] = Float(sumInDouble(plan.cols) { row[$0] } * Double(factor))
            }
        default:
            plan.forEach { i, _, ib in y[ib] += px[i] }
            if mean { for j in 0..<out.count { y[j] *= factor } }
        }
        return record(out, inputs: [x], rule: ReduceSumBackward(x: x, plan: plan, factor: factor))
    }
}

struct ReduceSumBackward: BackwardRule {
    let x: Var
    let plan: StridedPlan
    let factor: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        let gx = g.gradBuffer(x), d = dY.pointer, f = factor
        plan.forEach { i, _, ib in gx[i] += f * d[ib] }
    }
}
