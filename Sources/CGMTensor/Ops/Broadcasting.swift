// Broadcasting and strided iteration, shared by the element-wise, reduction and shape ops.
//
//   out (d0, …, dn-1); operand A and operand B are read at offsets Σ idx_k · stride_k, with
//   stride 0 on axes where the operand is broadcast (NumPy rules: shapes aligned on the right,
//   a size-1 or missing axis repeats).
//
// A `StridedPlan` first drops size-1 axes and merges adjacent axes that are contiguous for both
// operands, then classifies the result so the common layouts run as plain loops the compiler can
// vectorize:
//   same     x (N, C) ∘ y (N, C)                 offsets (i, i)
//   bScalar  x (N, C) ∘ s ()                     offsets (i, 0)        (aScalar mirrored)
//   bRow     x (N, C) ∘ b (C)                    offsets (i, i mod C)  (aRow mirrored)
//   bColumn  x (N, C) ∘ s (N, 1)                 offsets (i, i div C)  (aColumn mirrored)
//   general  anything else, e.g. (3, 1, 4) ∘ (2, 1) → (3, 2, 4), or a permutation.

/// NumPy broadcast strides of an operand of `shape` read inside an output of `outShape`:
/// the operand's contiguous strides, right-aligned, with 0 on axes where the operand has size 1
/// or is absent.
func broadcastStrides(_ shape: [Int], in outShape: [Int]) -> [Int] {
    precondition(shape.count <= outShape.count, "broadcast: operand \(shape) has more axes than \(outShape)")
    let own = Shape.strides(shape)
    let pad = outShape.count - shape.count
    var s = [Int](repeating: 0, count: outShape.count)
    for i in 0..<shape.count where shape[i] != 1 {
        precondition(shape[i] == outShape[pad + i], "broadcast: operand \(shape) does not fit \(outShape)")
        s[pad + i] = own[i]
    }
    return s
}

/// An iteration over every element of an output shape, yielding the matching offsets of two
/// operands with arbitrary (possibly zero) strides. Built once per op, reused by its backward.
struct StridedPlan {
    enum Kind { case empty, same, aScalar, bScalar, aRow, bRow, aColumn, bColumn, general }

    let kind: Kind
    /// Total number of output elements.
    let count: Int
    /// Collapsed output shape (rank ≥ 1) and operand strides over it.
    let shape: [Int], stridesA: [Int], stridesB: [Int]
    /// For the 2-D kinds: rows and columns of the collapsed shape (rows = 1 for the 1-D kinds).
    let rows: Int, cols: Int

    /// A plan for an output of `outShape` with operands of the given (broadcast) strides.
    init(shape outShape: [Int], stridesA: [Int], stridesB: [Int]) {
        precondition(stridesA.count == outShape.count && stridesB.count == outShape.count,
                     "StridedPlan: strides \(stridesA), \(stridesB) for shape \(outShape)")
        count = Shape.count(outShape)
        // Drop size-1 axes, then merge neighbours that are contiguous for both operands.
        var n: [Int] = [], sa: [Int] = [], sb: [Int] = []
        for i in 0..<outShape.count where outShape[i] != 1 {
            if let last = n.indices.last,
               sa[last] == stridesA[i] * outShape[i], sb[last] == stridesB[i] * outShape[i] {
                n[last] *= outShape[i]
                sa[last] = stridesA[i]
                sb[last] = stridesB[i]
            } else {
                n.append(outShape[i]); sa.append(stridesA[i]); sb.append(stridesB[i])
            }
        }
        if n.isEmpty { n = [1]; sa = [1]; sb = [1] }   // one element: offsets are all 0
        self.shape = n; self.stridesA = sa; self.stridesB = sb

        if count == 0 {
            kind = .empty; rows = 0; cols = 0
        } else if n.count == 1 {
            rows = 1; cols = n[0]
            switch (sa[0], sb[0]) {
            case (1, 1): kind = .same
            case (1, 0): kind = .bScalar
            case (0, 1): kind = .aScalar
            default: kind = .general
            }
        } else if n.count == 2 {
            rows = n[0]; cols = n[1]
            let c = n[1]
            switch (sa[0], sa[1], sb[0], sb[1]) {
            case (c, 1, 0, 1): kind = .bRow
            case (0, 1, c, 1): kind = .aRow
            case (c, 1, 1, 0): kind = .bColumn
            case (1, 0, c, 1): kind = .aColumn
            default: kind = .general
            }
        } else {
            rows = 0; cols = 0; kind = .general
        }
    }

    /// A plan broadcasting operands of shapes `a` and `b` to `outShape`.
    init(broadcasting a: [Int], _ b: [Int], to outShape: [Int]) {
        self.init(shape: outShape, stridesA: broadcastStrides(a, in: outShape),
                  stridesB: broadcastStrides(b, in: outShape))
    }

    /// Calls `body(i, ia, ib)` for every output element in row-major order: `i` is the flat output
    /// index, `ia`/`ib` the operands' element offsets. Inlined so each layout is a tight loop.
    @inline(__always)
    func forEach(_ body: (_ i: Int, _ ia: Int, _ ib: Int) -> Void) {
        switch kind {
        case .empty:
            return
        case .same:
            for i in 0..<count { body(i, i, i) }
        case .bScalar:
            for i in 0..<count { body(i, i, 0) }
        case .aScalar:
            for i in 0..<count { body(i, 0, i) }
        case .bRow:
            for r in 0..<rows {
                let base = r * cols
                for j in 0..<cols { body(base + j, base + j, j) }
            }
        case .aRow:
            for r in 0..<rows {
                let base = r * cols
                for j in 0..<cols { body(base + j, j, base + j) }
            }
        case .bColumn:
            for r in 0..<rows {
                let base = r * cols
                for j in 0..<cols { body(base + j, base + j, r) }
            }
        case .aColumn:
            for r in 0..<rows {
                let base = r * cols
                for j in 0..<cols { body(base + j, r, base + j) }
            }
        case .general:
            forEachGeneral(body)
        }
    }

    /// Odometer over the collapsed shape: the innermost axis is a strided loop, outer axes advance
    /// one step per row.
    @inline(__always)
    private func forEachGeneral(_ body: (_ i: Int, _ ia: Int, _ ib: Int) -> Void) {
        let rank = shape.count
        let inner = shape[rank - 1], ia1 = stridesA[rank - 1], ib1 = stridesB[rank - 1]
        var index = [Int](repeating: 0, count: rank)
        var offA = 0, offB = 0, i = 0
        for _ in 0..<(count / inner) {
            var ia = offA, ib = offB
            for j in 0..<inner {
                body(i + j, ia, ib)
                ia += ia1; ib += ib1
            }
            i += inner
            var d = rank - 2
            while d >= 0 {
                index[d] += 1; offA += stridesA[d]; offB += stridesB[d]
                if index[d] < shape[d] { break }
                offA -= stridesA[d] * shape[d]; offB -= stridesB[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
    }
}

/// Σ_{j < n} term(j) in Double with four independent accumulators (breaks the add latency chain).
@inline(__always)
func sumInDouble(_ n: Int, _ term: (Int) -> Float) -> Double {
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var j = 0
    while j + 4 <= n {
        s0 += Double(term(j)); s1 += Double(term(j + 1))
        s2 += Double(term(j + 2)); s3 += Double(term(j + 3))
        j += 4
    }
    while j < n { s0 += Double(term(j)); j += 1 }
    return (s0 + s1) + (s2 + s3)
}

/// Adds `term(i, ia, ib)` over `plan` into the gradient `g` of one operand (`isA` selects which),
/// summing over the axes along which that operand was broadcast. `operandCount` is its element count.
/// Reductions to a scalar or to a column (one value per row) accumulate in Double.
@inline(__always)
func accumulateBroadcast(
    into g: UnsafeMutablePointer<Float>, operandCount: Int, isA: Bool, plan: StridedPlan,
    _ term: (_ i: Int, _ ia: Int, _ ib: Int) -> Float
) {
    if operandCount == plan.count {
        // Not broadcast: its offset is the output index.
        plan.forEach { i, ia, ib in g[i] += term(i, ia, ib) }
    } else if isA ? plan.kind == .aScalar : plan.kind == .bScalar {
        let s = isA ? sumInDouble(plan.count) { i in term(i, 0, i) } : sumInDouble(plan.count) { i in term(i, i, 0) }
        g[0] += Float(s)
    } else if isA && plan.kind == .aColumn {
        for r in 0..<plan.rows {
            let base = r * plan.cols
            g[r] += Float(sumInDouble(plan.cols) { j in term(base + j, r, base + j) })
        }
    } else if !isA && plan.kind == .bColumn {
        for r in 0..<plan.rows {
            let base = r * plan.cols
            g[r] += Float(sumInDouble(plan.cols) { j in term(base + j, base + j, r) })
        }
    } else if isA {
        plan.forEach { i, ia, ib in g[ia] += term(i, ia, ib) }
    } else {
        plan.forEach { i, ia, ib in g[ib] += term(i, ia, ib) }
    }
}
