// Backward of the fused selection sum out = Σᵢ αᵢ GRNᵢ(xᵢ) (NarrowGRNSum.swift; TFT eq. 10):
//   dαᵢ[r] += ⟨dout[r], ẽᵢ[r]⟩,  and GRNᵢ's row backward for dẽᵢ[r] = αᵢ[r] dout[r]
// both from one `NarrowGRNPacked.backwardRow` call per variable and row (weight αᵢ[r]; it recomputes
// ẽᵢ[r] from xᵢ and the stored statistics and returns the dot product). Loops as the forward: per tile
// of rows, per variable; each GRN's parameter gradients are summed in its own `NarrowGRNGradients` and
// added to the graph's once at the end.

/// Recomputing backward rule of `Graph.weightedSum(_: PreparedNarrowGRNs, weights:)`.
struct NarrowGRNSumBackward: BackwardRule {
    let grns: PreparedNarrowGRNs
    let weights: Var
    /// (V, rows, 4): μ₁, 1/σ₁, μ₂, 1/σ₂ per variable and row.
    let stats: Tensor

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let v = grns.xs.count, (rows, n) = (grns.rows, grns.n)
        let grads = grns.packed.map { NarrowGRNGradients($0) }
        defer { for grad in grads { grad.deallocate() } }
        let t = NarrowGRNScratch(grns.packed)
        defer { t.deallocate() }
        let dp = dOut.pointer, sp = stats.pointer, wp = weights.value.pointer
        let xps = grns.xs.map(\.value.pointer)
        let dxs = grns.xs.map { g.needsGrad($0) ? g.gradBuffer($0) : nil }
        let dw = g.needsGrad(weights) ? g.gradBuffer(weights) : nil
        let maskBases = grns.masks.map { $0.map { UnsafePointer($0.bytes.baseAddress!) } }
        for start in stride(from: 0, to: rows, by: PreparedNarrowGRNs.rowTile) {
            let end = min(start + PreparedNarrowGRNs.rowTile, rows)
            for i in 0..<v {
                let p = grns.packed[i], (k, hd) = (p.k, p.hd), xp = xps[i], st = sp + i * rows * 4
                let mask = maskBases[i], scale = grns.scales[i], dx = dxs[i], grad = grads[i]
                var filled = 0
                for r in start..<end {
                    let dot = p.backwardRow(xp + r * k, dOut: dp + r * n, weight: wp[r * v + i], stats: st + 4 * r,
                                            mask: mask.map { $0 + r * hd }, scale: scale, t, grad, slot: filled,
                                            dx: dx.map { $0 + r * k })
                    if let dw { dw[r * v + i] += dot }   // dαᵢ = ⟨dout, ẽᵢ⟩
                    filled += 1
                    if filled == NarrowGRNScratch.tile || r == end - 1 {
                        p.flushTile(filled, t, grad)
                        filled = 0
                    }
                }
            }
        }
        for (grad, layer) in zip(grads, grns.layers) { grad.accumulate(into: g, layer.parameters) }
    }
}
