// Global gradient-norm clipping, as torch.nn.utils.clip_grad_norm_ (norm_type 2):
//
//   ‖g‖ = √(Σᵢ gᵢ²)                 over every gradient of the store, accumulated in Double
//   c   = maxNorm / (‖g‖ + 1e-6)
//   g  ← g · c                       only when c < 1
//
// gradients: (store.count,)

import CGMTensor
import Layers

/// Scales all gradients of `store` so their global L2 norm is at most `maxNorm` and returns the norm
/// measured before clipping. A non-finite norm is returned as is and leaves the gradients untouched
/// (the caller should skip the step), where PyTorch would propagate NaN into every gradient.
@discardableResult
public func clipGradientNorm(_ store: ParameterStore, maxNorm: Double) -> Float {
    precondition(maxNorm >= 0, "clipGradientNorm: maxNorm \(maxNorm) must be non-negative")
    let g = store.gradients.pointer, n = store.count
    var sumSquares = 0.0
    for i in 0..<n {
        let x = Double(g[i])
        sumSquares += x * x
    }
    let norm = sumSquares.squareRoot()
    let coefficient = maxNorm / (norm + 1e-6)
    if norm.isFinite && coefficient < 1 {
        let c = Float(coefficient)
        for i in 0..<n { g[i] *= c }
    }
    return Float(norm)
}
