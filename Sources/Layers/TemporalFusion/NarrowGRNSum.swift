// The fusion step of a variable selection network over narrow GRNs as one op (TFT, Lim et al. 2021
// eqs. 7–8 and 10; SSM-CGM A.6 eqs. 12 and 14): out = Σᵢ αᵢ ẽᵢ with ẽᵢ = GRNᵢ(xᵢ) the narrow GRN of
// NarrowGRN.swift (a VSN's per-variable GRNs, 8 → 128).
//
//   xs: V inputs (…, Inᵢ),  weights α: (…, V)  →  out: (…, Out)   (every GRN maps to the same Out)
//
// Two calls: `narrowGRNs(_:_:)` packs the V GRNs' weights and draws their dropout masks in variable order
// (the draws of V `narrowGRN` calls, same shapes, same order); `weightedSum(_:weights:)` then runs them.
// The split lets a VSN compute α in between: its flattened GRN draws its own mask after the per-variable
// GRNs, so the bits equal those of the unfused VSN.
// Forward, per tile of `rowTile` rows and per variable (that GRN's packed weights stay in L1 over the tile,
// the tile's output rows too): each row's GRN runs in the scratch buffers and αᵢ ẽᵢ is added to the output
// row (stored for i = 0); ẽᵢ itself is never written to memory, only the GRN's four LayerNorm statistics
// per row. Backward (below) recomputes ẽᵢ per row: dαᵢ = ⟨dout, ẽᵢ⟩, dẽᵢ = αᵢ dout.
// This replaces V (…, Out) outputs, their V zero-filled gradient buffers and the weighted sum's passes
// over both (for the TFT benchmark's encoder: 10 × 2 × 4.7 MB written and read back per step).
// Values: the row kernels are narrowGRN's, so each ẽᵢ is bitwise narrowGRN's; the products αᵢ ẽᵢ are
// summed in variable order as `weightedSum(_:weights:)` does (equal to rounding).

import CGMTensor

/// One narrow GRN of a fused selection sum: its parameters and fixed configuration (see `Graph.narrowGRN`).
public struct NarrowGRNLayer {
    /// The GRN's parameters as graph values.
    public var parameters: NarrowGRNParameters
    /// The fixed (Out, In) interpolation matrix of the ResampleNorm skip.
    public var skipProjection: Tensor
    /// The GLU's input dropout probability (nil: no dropout call at all).
    public var dropout: Float?
    /// The skip and output LayerNorms' ε.
    public var skipEps: Float, eps: Float

    /// Groups one narrow GRN's parameters and configuration.
    public init(_ parameters: NarrowGRNParameters, skipProjection: Tensor, dropout: Float?,
                skipEps: Float = 1e-5, eps: Float = 1e-5) {
        self.parameters = parameters
        self.skipProjection = skipProjection
        self.dropout = dropout
        self.skipEps = skipEps
        self.eps = eps
    }
}

/// V narrow GRNs bound to their inputs, with their weights packed and their dropout masks drawn
/// (`Graph.narrowGRNs`); consumed by `Graph.weightedSum(_:weights:)`.
public struct PreparedNarrowGRNs {
    let graph: Graph
    let xs: [Var], layers: [NarrowGRNLayer], packed: [NarrowGRNPacked]
    /// Per variable: the keep mask (nil without dropout) and 1/(1 − p).
    let masks: [DropoutMask?], scales: [Float]
    /// The inputs' leading axes (…), their row count, and Out.
    let lead: [Int], rows: Int, n: Int
    /// Rows per tile of the forward and backward loops (a multiple of `NarrowGRNScratch.tile`).
    static let rowTile = 32
}

extension Graph {
    /// Binds V narrow GRNs to their inputs xs (…, Inᵢ) (same leading axes, same Out), packs their weights
    /// and draws their dropout masks, in order, exactly as V `narrowGRN` calls would. Pass the result to
    /// `weightedSum(_:weights:)`.
    public func narrowGRNs(_ xs: [Var], _ layers: [NarrowGRNLayer]) -> PreparedNarrowGRNs {
        precondition(!xs.isEmpty && xs.count == layers.count,
                     "narrowGRNs: \(xs.count) inputs for \(layers.count) GRNs (need one each, at least one)")
        let lead = Array(xs[0].shape.dropLast())
        let dims = zip(xs, layers).map { NarrowGRNDims(x: $0, $1.parameters, skipProjection: $1.skipProjection) }
        for (i, x) in xs.enumerated() {
            precondition(Array(x.shape.dropLast()) == lead && dims[i].n == dims[0].n,
                         "narrowGRNs: input \(i) \(x.shape) → Out \(dims[i].n) does not match input 0 \(xs[0].shape) → Out \(dims[0].n)")
        }
        var masks: [DropoutMask?] = [], scales: [Float] = []
        for (layer, d) in zip(layers, dims) {
            let drop = layer.dropout.flatMap { dropoutMask(shape: lead + [d.hd], p: $0) }
            masks.append(drop?.mask)
            scales.append(drop?.scale ?? 1)
        }
        let packed = zip(layers, dims).map {
            NarrowGRNPacked($0.parameters, skipProjection: $0.skipProjection, dims: $1, skipEps: $0.skipEps, eps: $0.eps)
        }
        return PreparedNarrowGRNs(graph: self, xs: xs, layers: layers, packed: packed, masks: masks, scales: scales,
                                  lead: lead, rows: dims[0].rows, n: dims[0].n)
    }

    /// Σᵢ weights[…, i] · GRNᵢ(xᵢ)[…, :] for the prepared GRNs and weights (…, V): (…, Out), without
    /// materializing any GRNᵢ(xᵢ) (see the file header).
    public func weightedSum(_ grns: PreparedNarrowGRNs, weights: Var) -> Var {
        precondition(grns.graph === self, "weightedSum: the narrow GRNs were prepared on another Graph")
        let v = grns.xs.count, (rows, n) = (grns.rows, grns.n)
        precondition(weights.shape == grns.lead + [v],
                     "weightedSum: weights \(weights.shape) must be \(grns.lead + [v]) for \(v) narrow GRNs")
        let out = Tensor(uninitialized: grns.lead + [n])
        let stats = Tensor(uninitialized: [v, rows, 4])   // per variable and row: μ₁, 1/σ₁, μ₂, 1/σ₂
        let op = out.sharedMutablePointer, sp = stats.sharedMutablePointer, wp = weights.value.pointer
        let t = NarrowGRNScratch(grns.packed)
        defer { t.deallocate() }
        let xps = grns.xs.map(\.value.pointer)
        let maskBases = grns.masks.map { $0.map { UnsafePointer($0.bytes.baseAddress!) } }
        for start in stride(from: 0, to: rows, by: PreparedNarrowGRNs.rowTile) {
            let end = min(start + PreparedNarrowGRNs.rowTile, rows)
            for i in 0..<v {
                let p = grns.packed[i], (k, hd) = (p.k, p.hd), xp = xps[i], st = sp + i * rows * 4
                let mask = maskBases[i], scale = grns.scales[i]
                for r in start..<end {   // out[r] (+)= αᵢ ẽᵢ[r]
                    p.forwardRow(xp + r * k, mask: mask.map { $0 + r * hd }, scale: scale, t, out: op + r * n,
                                 weight: wp[r * v + i], accumulate: i > 0, stats: st + 4 * r)
                }
            }
        }
        return record(out, inputs: grns.xs + grns.layers.flatMap(\.parameters.vars) + [weights],
                      rule: NarrowGRNSumBackward(grns: grns, weights: weights, stats: stats))
    }
}

// MARK: - Backward
//
// Backward of the fused selection sum out = Σᵢ αᵢ GRNᵢ(xᵢ) (TFT eq. 10):
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
