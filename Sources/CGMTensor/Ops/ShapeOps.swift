// Shape ops: views and data movement; every backward is the matching scatter-add.
//
//   reshape    x (…) → (new…), same elements (no copy)            dx = reshape(dy)
//   permute    x (d0, …, dn-1) → (d_p0, …, d_pn-1)                 dx = inverse permutation of dy
//   transpose  permute swapping two axes
//   slice      x (…, D, …) → (…, range.count, …)                   dx[range] += dy
//   concat     xᵢ (…, Dᵢ, …) → (…, Σ Dᵢ, …)                        dxᵢ += its block of dy
//   gather     table (V, D), indices (S…) → (S…, D)                dtable[idx] += dy row (repeats add up)
//   unsqueeze / squeeze: reshape adding or removing a size-1 axis

extension Graph {
    /// The same elements under `shape` (no copy). One entry may be -1 and is then inferred.
    public func reshape(_ x: Var, to shape: [Int]) -> Var {
        let xs = x.shape, n = Shape.count(xs)
        var newShape = shape
        let inferred = shape.indices.filter { shape[$0] == -1 }
        precondition(inferred.count <= 1 && shape.allSatisfy { $0 >= -1 },
                     "reshape: invalid target \(shape) for \(xs)")
        if let k = inferred.first {
            let known = Shape.count(shape.enumerated().filter { $0.offset != k }.map(\.element))
            precondition(known > 0 && n % known == 0, "reshape: cannot reshape \(xs) to \(shape)")
            newShape[k] = n / known
        }
        precondition(Shape.count(newShape) == n,
                     "reshape: cannot reshape \(xs) (\(n) elements) to \(shape) (\(Shape.count(newShape)) elements)")
        return record(x.value.reshaped(newShape), inputs: [x], rule: ReshapeBackward(x: x))
    }

    /// Inserts a size-1 axis at `axis` (in 0...rank; negative counts from the end of the result).
    public func unsqueeze(_ x: Var, axis: Int) -> Var {
        var s = x.shape
        let k = Shape.axis(axis, rank: s.count + 1, "unsqueeze")
        s.insert(1, at: k)
        return reshape(x, to: s)
    }

    /// Removes the size-1 axis `axis`.
    public func squeeze(_ x: Var, axis: Int) -> Var {
        var s = x.shape
        let k = Shape.axis(axis, rank: s.count, "squeeze")
        precondition(s[k] == 1, "squeeze: axis \(axis) of \(x.shape) has size \(s[k]), not 1")
        s.remove(at: k)
        return reshape(x, to: s)
    }

    /// Swaps axes `a` and `b` (negative axes count from the end).
    public func transpose(_ x: Var, _ a: Int, _ b: Int) -> Var {
        let r = x.shape.count
        var p = Array(0..<r)
        p.swapAt(Shape.axis(a, rank: r, "transpose"), Shape.axis(b, rank: r, "transpose"))
        return permute(x, p)
    }

    /// Reorders axes: output axis `i` is input axis `axes[i]` (negative axes count from the end).
    public func permute(_ x: Var, _ axes: [Int]) -> Var {
        let xs = x.shape
        precondition(axes.count == xs.count, "permute: \(axes) is not a permutation of the axes of \(xs)")
        let p = axes.map { Shape.axis($0, rank: xs.count, "permute") }
        precondition(Set(p).count == p.count, "permute: \(axes) is not a permutation of the axes of \(xs)")
        let inStrides = Shape.strides(xs)
        let outShape = p.map { xs[$0] }
        let plan = StridedPlan(shape: outShape, stridesA: p.map { inStrides[$0] },
                               stridesB: [Int](repeating: 0, count: p.count))
        let out = Tensor(uninitialized: outShape)
        let y = out.sharedMutablePointer, px = x.value.pointer
        plan.forEach { i, ia, _ in y[i] = px[ia] }
        return record(out, inputs: [x], rule: PermuteBackward(x: x, plan: plan))
    }

    /// Elements `range` along `axis` (negative axis counts from the end).
    public func slice(_ x: Var, axis: Int, range: Range<Int>) -> Var {
        let xs = x.shape
        let k = Shape.axis(axis, rank: xs.count, "slice")
        precondition(range.lowerBound >= 0 && range.upperBound <= xs[k],
                     "slice: range \(range) out of bounds for axis \(axis) of size \(xs[k]) in \(xs)")
        var outShape = xs
        outShape[k] = range.count
        let outer = Shape.count(Array(xs[..<k])), inner = Shape.count(Array(xs[(k + 1)...]))
        let block = range.count * inner, rowIn = xs[k] * inner, start = range.lowerBound * inner
        let out = Tensor(uninitialized: outShape)
        let y = out.sharedMutablePointer, px = x.value.pointer
        for o in 0..<outer { (y + o * block).update(from: px + o * rowIn + start, count: block) }
        return record(out, inputs: [x], rule: SliceBackward(
            x: x, outer: outer, block: block, rowIn: rowIn, start: start))
    }

    /// Joins `xs` along `axis`; all other dimensions must agree (negative axis counts from the end).
    public func concat(_ xs: [Var], axis: Int) -> Var {
        precondition(!xs.isEmpty, "concat: no inputs")
        let s0 = xs[0].shape
        let k = Shape.axis(axis, rank: s0.count, "concat")
        for x in xs {
            precondition(x.graph === self, "concat: an input of shape \(x.shape) comes from another Graph")
            precondition(x.shape.count == s0.count
                         && x.shape.indices.allSatisfy { $0 == k || x.shape[$0] == s0[$0] },
                         "concat: shapes \(s0) and \(x.shape) differ outside axis \(axis)")
        }
        let outer = Shape.count(Array(s0[..<k])), inner = Shape.count(Array(s0[(k + 1)...]))
        let blocks = xs.map { $0.shape[k] * inner }
        let rowOut = blocks.reduce(0, +)
        var outShape = s0
        outShape[k] = xs.reduce(0) { $0 + $1.shape[k] }
        let out = Tensor(uninitialized: outShape)
        let y = out.sharedMutablePointer
        var column = 0
        for (x, block) in zip(xs, blocks) {
            let px = x.value.pointer
            for o in 0..<outer { (y + o * rowOut + column).update(from: px + o * block, count: block) }
            column += block
        }
        return record(out, inputs: xs, rule: ConcatBackward(inputs: xs, blocks: blocks, outer: outer))
    }

    /// Embedding lookup: rows of `table` (V, D) at `indices`, laid out with shape `shape`
    /// (default `[indices.count]`); the result has shape `shape + [D]`.
    /// Every index must lie in `0..<V`.
    public func gather(table: Var, indices: [Int], shape: [Int]? = nil) -> Var {
        let ts = table.shape
        precondition(ts.count == 2, "gather: table must be (V, D), got \(ts)")
        let indexShape = shape ?? [indices.count]
        precondition(Shape.count(indexShape) == indices.count,
                     "gather: \(indices.count) indices do not fill index shape \(indexShape)")
        let v = ts[0], dim = ts[1]
        let out = Tensor(uninitialized: indexShape + [dim])
        let y = out.sharedMutablePointer, pt = table.value.pointer
        for (p, idx) in indices.enumerated() {
            precondition(idx >= 0 && idx < v,
                         "gather: index \(idx) at position \(p) is out of range for a table of \(v) rows (\(ts))")
            (y + p * dim).update(from: pt + idx * dim, count: dim)
        }
        return record(out, inputs: [table], rule: GatherBackward(table: table, indices: indices))
    }
}

struct ReshapeBackward: BackwardRule {
    let x: Var
    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        let gx = g.gradBuffer(x), d = dY.pointer
        for i in 0..<dY.count { gx[i] += d[i] }
    }
}

struct PermuteBackward: BackwardRule {
    let x: Var
    let plan: StridedPlan
    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        let gx = g.gradBuffer(x), d = dY.pointer
        plan.forEach { i, ia, _ in gx[ia] += d[i] }
    }
}

struct SliceBackward: BackwardRule {
    let x: Var
    let outer: Int, block: Int, rowIn: Int, start: Int
    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(x) else { return }
        let gx = g.gradBuffer(x), d = dY.pointer
        for o in 0..<outer {
            let dst = gx + o * rowIn + start, src = d + o * block
            for j in 0..<block { dst[j] += src[j] }
        }
    }
}

struct ConcatBackward: BackwardRule {
    let inputs: [Var]
    let blocks: [Int]
    let outer: Int
    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0] else { return }
        let d = dY.pointer, rowOut = blocks.reduce(0, +)
        var column = 0
        for (x, block) in zip(inputs, blocks) {
            defer { column += block }
            guard g.needsGrad(x) else { continue }
            let gx = g.gradBuffer(x)
            for o in 0..<outer {
                let dst = gx + o * block, src = d + o * rowOut + column
                for j in 0..<block { dst[j] += src[j] }
            }
        }
    }
}

struct GatherBackward: BackwardRule {
    let table: Var
    let indices: [Int]
    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(table) else { return }
        let gt = g.gradBuffer(table), d = dY.pointer, dim = table.shape[1]
        for (p, idx) in indices.enumerated() {
            let dst = gt + idx * dim, src = d + p * dim
            for j in 0..<dim { dst[j] += src[j] }
        }
    }
}
