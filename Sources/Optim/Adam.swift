// Adam (Kingma & Ba 2015, Algorithm 1) and AdamW (Loshchilov & Hutter 2019, decoupled weight decay),
// with torch.optim.Adam / AdamW's exact semantics (single-tensor path, amsgrad off):
//
//   t ← t + 1
//   θ ← θ (1 − γ λ)                         AdamW only (decoupled decay)
//   g ← ∇θ + λ θ                            Adam only (L2 decay added to the gradient)
//   m ← lerp(m, g, 1 − β₁)                  = β₁ m + (1 − β₁) g
//   v ← β₂ v + (1 − β₂) g²
//   θ ← θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//
// λ applies only to entries flagged weightDecay. β₁ may change between steps (OneCycleLR): as in
// PyTorch, the bias correction then uses the current β₁.
//
// Float arithmetic follows PyTorch's kernels (fused add-with-alpha and lerp; scalars cast from Double),
// within 2 ulp of torch 2.15 on the fixtures.
//
// values, gradients, exp_avg (m), exp_avg_sq (v): (store.count,)

import CGMTensor
import Foundation
import Layers

/// Adam over a `ParameterStore` (PyTorch `torch.optim.Adam`: weight decay is an L2 term in the gradient).
public class Adam: Optimizer {
    /// The parameters updated in place.
    public let store: ParameterStore
    /// γ.
    public var learningRate: Double
    /// (β₁, β₂), as PyTorch's `betas`.
    public var betas: (Double, Double)
    /// ε, added to √v̂ in the denominator.
    public var epsilon: Double
    /// λ (L2 for Adam, decoupled for AdamW); applies to entries flagged weightDecay.
    public var weightDecay: Double
    /// True for AdamW: θ ← θ(1 − γλ) before the Adam update instead of adding λθ to the gradient.
    public let decoupledWeightDecay: Bool
    /// Completed steps t (bias corrections use it).
    public private(set) var stepCount = 0

    /// First moment m ("exp_avg"); a live buffer that later steps update (`exportState()` copies).
    public let expAvg: Tensor
    /// Second moment v ("exp_avg_sq"); a live buffer that later steps update.
    public let expAvgSq: Tensor

    /// Creates Adam with PyTorch's defaults; register every parameter in `store` first.
    public init(_ store: ParameterStore, lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false) {
        precondition(lr >= 0, "Adam: invalid learning rate \(lr)")
        precondition(eps >= 0, "Adam: invalid epsilon \(eps)")
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam: invalid betas (\(beta1), \(beta2))")
        precondition(weightDecay >= 0, "Adam: invalid weight decay \(weightDecay)")
        self.store = store
        self.learningRate = lr
        self.betas = (beta1, beta2)
        self.epsilon = eps
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        self.expAvg = makeStateBuffer(store.count)
        self.expAvgSq = makeStateBuffer(store.count)
    }

    /// β₁ (what OneCycleLR cycles for Adam).
    public var beta1: Double? {
        get { betas.0 }
        set { if let newValue { betas.0 = newValue } }
    }

    /// One Adam(W) update of every parameter from the store's gradients.
    public func step() {
        checkLayout(store, expAvg.count, decoupledWeightDecay ? "AdamW" : "Adam")
        stepCount += 1
        let t = Double(stepCount)
        // Scalars as PyTorch computes them: in Double, then cast to Float by the float32 kernels.
        let (beta1, beta2) = betas
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2 = 1 - pow(beta2, t)
        let negStepSize = Float(-(learningRate / biasCorrection1))
        let bc2Sqrt = Float(biasCorrection2.squareRoot())
        let lerpWeight = Float(1 - beta1)
        let b2 = Float(beta2), oneMinusB2 = Float(1 - beta2), eps = Float(epsilon)
        let decayFactor = Float(1 - learningRate * weightDecay)

        let p = store.values.pointer, g = UnsafePointer(store.gradients.pointer)
        let m = expAvg.sharedMutablePointer, v = expAvgSq.sharedMutablePointer
        for run in store.decayRuns() {
            let decays = run.decays && weightDecay != 0
            let l2 = decays && !decoupledWeightDecay ? Float(weightDecay) : 0
            let decoupled = decays && decoupledWeightDecay
            let end = run.start + run.count
            for i in run.start..<end {
                if decoupled { p[i] = p[i] * decayFactor }
                var d = g[i]
                if l2 != 0 { d = fusedMultiplyAdd(l2, p[i], d) }             // grad.add(param, alpha=λ)
                m[i] = lerp(m[i], d, lerpWeight)
                v[i] = v[i] * b2 + oneMinusB2 * d * d
                let denom = v[i].squareRoot() / bc2Sqrt + eps
                p[i] = p[i] + negStepSize * m[i] / denom
            }
        }
    }

    /// `"exp_avg"`, `"exp_avg_sq"` (flat, the store's layout) and `"step"`.
    public func exportState() -> [String: Tensor] {
        ["exp_avg": expAvg.copy(), "exp_avg_sq": expAvgSq.copy(), "step": stepTensor(stepCount)]
    }

    /// Restores `exportState()` output (same store layout).
    public func importState(_ state: [String: Tensor]) throws {
        checkLayout(store, expAvg.count, decoupledWeightDecay ? "AdamW" : "Adam")
        let step = try importStep(state)
        try importBuffer(state, "exp_avg", into: expAvg)
        try importBuffer(state, "exp_avg_sq", into: expAvgSq)
        stepCount = step
    }
}

/// AdamW over a `ParameterStore` (PyTorch `torch.optim.AdamW`: decoupled weight decay, default 1e-2).
public final class AdamW: Adam {
    /// Creates AdamW with PyTorch's defaults; register every parameter in `store` first.
    public init(_ store: ParameterStore, lr: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 1e-2) {
        super.init(store, lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay,
                   decoupledWeightDecay: true)
    }
}

/// PyTorch's vectorized CPU lerp: start + w (end − start) for |w| < 0.5, else end + (w − 1)(end − start),
/// each one fused multiply-add.
@inline(__always)
func lerp(_ start: Float, _ end: Float, _ weight: Float) -> Float {
    abs(weight) < 0.5 ? fusedMultiplyAdd(weight, end - start, start) : fusedMultiplyAdd(weight - 1, end - start, end)
}
