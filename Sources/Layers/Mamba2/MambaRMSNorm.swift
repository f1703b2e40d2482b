// RMS normalization module (`mamba_ssm.ops.triton.layer_norm.RMSNorm`, as the bench reference's RMSNorm):
//   x: (..., C) → y = x / √(mean(x²) + ε) ⊙ w,   w: (C) initialized to 1, no weight decay.

import CGMTensor
import Layers

/// RMSNorm over the last axis with a learned scale "name.weight" (C), initialized to ones.
public struct MambaRMSNorm {
    /// "name.weight", (C).
    public let weight: ParameterID
    /// Normalized width C.
    public let dimension: Int
    /// ε added to the mean square.
    public let eps: Float

    /// Registers "name.weight" (ones, excluded from weight decay).
    public init(_ store: ParameterStore, _ name: String, dimension: Int, eps: Float = 1e-5) {
        precondition(dimension > 0, "MambaRMSNorm '\(name)': dimension must be positive, got \(dimension)")
        weight = store.add("\(name).weight", Tensor(repeating: 1, shape: [dimension]), weightDecay: false)
        self.dimension = dimension
        self.eps = eps
    }

    /// y = rmsnorm(x) ⊙ w over the last axis of x (..., C).
    public func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
        precondition(x.shape.last == dimension,
                     "MambaRMSNorm: input \(x.shape) does not end in dimension \(dimension)")
        return x.graph.rmsNorm(x, weight: p[weight], eps: eps)
    }
}
