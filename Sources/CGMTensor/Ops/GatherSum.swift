// Summed embedding lookup with empty slots (GluFormer diet tokens: up to N nutrient tokens added to one position).
//   y[p] = Σ_{n < N, idx[p·N + n] ≥ 0} table[idx[p·N + n]]            (a negative index is an empty slot: adds 0)
//   ∂L/∂table[v] += Σ over (p, n) with idx[p·N + n] = v of ∂L/∂y[p]

extension Graph {
    /// For each of the `indices.count / slots` positions, the sum of the rows of `table` (V, D) at its `slots`
    /// indices, skipping negative ones; the result has shape `shape + [D]` (default `[positions]`).
    public func gatherSum(table: Var, indices: [Int], slots: Int, shape: [Int]? = nil) -> Var {
        let ts = table.shape
        precondition(ts.count == 2, "gatherSum: table must be (V, D), got \(ts)")
        precondition(slots >= 1 && indices.count % slots == 0, "gatherSum: \(indices.count) indices are not a multiple of \(slots) slots")
        let positions = indices.count / slots
        let indexShape = shape ?? [positions]
        precondition(Shape.count(indexShape) == positions, "gatherSum: \(positions) positions do not fill shape \(indexShape)")
        let v = ts[0], dim = ts[1]
        let out = Tensor(zeros: indexShape + [dim])
        let y = out.sharedMutablePointer, pt = table.value.pointer
        for p in 0 ..< positions {
            for n in 0 ..< slots {
                let idx = indices[p * slots + n]
                guard idx >= 0 else { continue }
                precondition(idx < v, "gatherSum: index \(idx) at position \(p) is out of range for a table of \(v) rows")
                let dst = y + p * dim, src = pt + idx * dim
                for j in 0 ..< dim { dst[j] += src[j] }
            }
        }
        return record(out, inputs: [table], rule: GatherSumBackward(table: table, indices: indices, slots: slots))
    }
}

struct GatherSumBackward: BackwardRule {
    let table: Var
    let indices: [Int]
    let slots: Int
    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0], g.needsGrad(table) else { return }
        let gt = g.gradBuffer(table), d = dY.pointer, dim = table.shape[1]
        for (k, idx) in indices.enumerated() where idx >= 0 {
            let dst = gt + idx * dim, src = d + (k / slots) * dim
            for j in 0 ..< dim { dst[j] += src[j] }
        }
    }
}
