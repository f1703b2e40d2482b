// Row kernels of the fused narrow GRN (NarrowGRN.swift), shared by its forward and backward passes so
// that backward recomputes exactly the forward's values:
//   skip:   u = M x,  s = gate ⊙ u                          (ResampleNorm: interpolation and 2σ(mask) gate)
//   hidden: h₁ = W₁x + b₁,  e = ELU(h₁),  d = dropout(W₂e + b₂)   (TFT eqs. 3–4)
//   glu:    y = W_g d + b_g,  then y[Out..<2·Out] ← σ(y[Out..<2·Out])   (eq. 5)

import Foundation

/// The parameters of one narrow GRN call in the layouts its row kernels want (Mᵀ and W_gᵀ transposed so
/// that products run along the wide Out axis), with the tensors kept alive for the backward pass.
struct NarrowGRNRow {
    let dims: NarrowGRNDims
    /// Mᵀ (In, Out) and W_gᵀ (Hd, 2·Out).
    let projectionT: Tensor, gluWeightT: Tensor
    /// Values read by the kernels (kept so that their storage outlives the raw pointers below).
    let held: [Tensor]
    let mt: UnsafePointer<Float>, gate: UnsafePointer<Float>?
    let w1: UnsafePointer<Float>, b1: UnsafePointer<Float>, w2: UnsafePointer<Float>, b2: UnsafePointer<Float>
    let wgt: UnsafePointer<Float>, bg: UnsafePointer<Float>

    init(_ w: NarrowGRNParameters, skipProjection m: Tensor, dims: NarrowGRNDims) {
        self.dims = dims
        projectionT = GLULinearKernels.transpose(m)
        gluWeightT = GLULinearKernels.transpose(w.gluWeight.value)
        let gateValue = w.skipGate?.value
        held = [w.fc1Weight.value, w.fc1Bias.value, w.fc2Weight.value, w.fc2Bias.value, w.gluBias.value]
            + (gateValue.map { [$0] } ?? [])
        mt = projectionT.pointer
        gate = gateValue?.pointer
        w1 = held[0].pointer; b1 = held[1].pointer; w2 = held[2].pointer; b2 = held[3].pointer
        wgt = gluWeightT.pointer; bg = held[4].pointer
    }

    /// scratch.u = M x and scratch.s = gate ⊙ u (s = u without a gate).
    @inline(__always)
    func skip(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch) {
        let n = dims.n
        LinearLayerNormKernels.project(x: x, wt: mt, k: dims.k, n: n, y: t.u)
        if let gate {
            for i in 0..<n { t.s[i] = t.u[i] * gate[i] }
        } else {
            t.s.update(from: t.u, count: n)
        }
    }

    /// scratch.h1 = W₁x + b₁, scratch.e = ELU(h₁), scratch.d = (W₂e + b₂) ⊙ mask · scale (no mask: unscaled).
    @inline(__always)
    func hidden(_ x: UnsafePointer<Float>, mask: UnsafePointer<UInt8>?, scale: Float, _ t: NarrowGRNScratch) {
        let k = dims.k, hd = dims.hd
        for j in 0..<hd {
            var a = b1[j]
            let row = w1 + j * k
            for c in 0..<k { a += row[c] * x[c] }
            t.h1[j] = a
            t.e[j] = a > 0 ? a : Foundation.expm1(a)
        }
        for j in 0..<hd {
            var a = b2[j]
            let row = w2 + j * hd
            for i in 0..<hd { a += row[i] * t.e[i] }
            if let mask { a = mask[j] != 0 ? a * scale : 0 }
            t.d[j] = a
        }
    }

    /// scratch.y = [a; σ(b)] with [a; b] = W_g d + b_g.
    @inline(__always)
    func glu(_ t: NarrowGRNScratch) {
        let n = dims.n
        GLULinearKernels.preactivation(x: t.d, wt: wgt, bias: bg, k: dims.hd, n: 2 * n, y: t.y)
        FastMath.sigmoid(t.y + n, t.y + n, count: n)
    }
}
