// Backward of the fused narrow GRN (NarrowGRN.swift): each row through `NarrowGRNPacked.backwardRow`
// (NarrowGRNRowBackward.swift, the equations) with weight 1; the GLU weight's gradient is flushed every
// `NarrowGRNScratch.tile` rows and all parameter gradients are added to the graph's once at the end.

/// Recomputing backward rule of `Graph.narrowGRN`.
struct NarrowGRNBackward: BackwardRule {
    let x: Var
    let w: NarrowGRNParameters
    let packed: NarrowGRNPacked
    /// μ₁, 1/σ₁, μ₂, 1/σ₂ per row.
    let stats: Tensor
    let mask: DropoutMask?
    let scale: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let p = packed, (k, hd, n) = (p.k, p.hd, p.n)
        let rows = stats.shape[0]
        let grads = NarrowGRNGradients(p)
        defer { grads.deallocate() }
        let t = NarrowGRNScratch(p)
        defer { t.deallocate() }
        let xp = x.value.pointer, dp = dOut.pointer, sp = stats.pointer
        let dx = g.needsGrad(x) ? g.gradBuffer(x) : nil
        let maskBase = mask.map { UnsafePointer($0.bytes.baseAddress!) }
        var filled = 0
        for r in 0..<rows {
            _ = p.backwardRow(xp + r * k, dOut: dp + r * n, weight: 1, stats: sp + 4 * r,
                              mask: maskBase.map { $0 + r * hd }, scale: scale, t, grads, slot: filled,
                              dx: dx.map { $0 + r * k })
            filled += 1
            if filled == NarrowGRNScratch.tile || r == rows - 1 {
                p.flushTile(filled, t, grads)
                filled = 0
            }
        }
        grads.accumulate(into: g, w)
    }
}
