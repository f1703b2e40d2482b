// Stochastic gradient descent with momentum, dampening, L2 weight decay and Nesterov momentum,
// with torch.optim.SGD's exact semantics (single-tensor path):
//
//   g ← ∇θ + λ θ                                   (λ = weightDecay; entries flagged weightDecay only)
//   b ← g                       on the first momentum step
//   b ← μ b + (1 − τ) g         afterwards          (μ = momentum, τ = dampening)
//   g ← g + μ b  (Nesterov)  or  g ← b
//   θ ← θ − γ g                                    (γ = learningRate)
//
// Every `add(…, alpha:)` is one fused multiply-add, as PyTorch's CPU kernel (bit-identical to
// torch 2.15 on the fixtures).
//
// values, gradients, momentum_buffer: (store.count,)

import CGMTensor
import Layers

/// SGD over a `ParameterStore` (PyTorch `torch.optim.SGD`).
public final class SGD: Optimizer {
    /// The parameters updated in place.
    public let store: ParameterStore
    /// γ.
    public var learningRate: Double
    /// μ. May be changed between steps (OneCycleLR cycles it via `beta1`).
    public var momentum: Double
    /// τ: the gradient enters the momentum buffer scaled by 1 − τ.
    public var dampening: Double
    /// λ (L2 added to the gradient); applies to entries flagged weightDecay.
    public var weightDecay: Double
    /// Nesterov momentum: step along g + μ b instead of b.
    public let nesterov: Bool
    /// Completed steps.
    public private(set) var stepCount = 0

    /// The momentum buffer b; meaningful once `hasMomentumBuffer` (PyTorch creates it lazily on the
    /// first step with momentum ≠ 0, as a copy of the gradient). A live buffer; `exportState()` copies.
    public private(set) var momentumBuffer: Tensor
    /// Whether the momentum buffer exists yet.
    public private(set) var hasMomentumBuffer = false

    /// Creates the optimizer; register every parameter in `store` first.
    public init(_ store: ParameterStore, lr: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) {
        precondition(lr >= 0, "SGD: invalid learning rate \(lr)")
        precondition(momentum >= 0, "SGD: invalid momentum \(momentum)")
        precondition(weightDecay >= 0, "SGD: invalid weight decay \(weightDecay)")
        precondition(!nesterov || (momentum > 0 && dampening == 0),
                     "SGD: Nesterov momentum requires momentum > 0 and zero dampening (momentum \(momentum), dampening \(dampening))")
        self.store = store
        self.learningRate = lr
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.momentumBuffer = makeStateBuffer(store.count)
    }

    /// SGD's momentum coefficient μ (what OneCycleLR cycles for SGD).
    public var beta1: Double? {
        get { momentum }
        set { if let newValue { momentum = newValue } }
    }

    /// One SGD update of every parameter from the store's gradients.
    public func step() {
        checkLayout(store, momentumBuffer.count, "SGD")
        let p = store.values.pointer, g = UnsafePointer(store.gradients.pointer)
        let buf = momentumBuffer.sharedMutablePointer
        let negLR = Float(-learningRate)
        let mu = Float(momentum), oneMinusDampening = Float(1 - dampening)
        let useMomentum = momentum != 0, firstMomentumStep = useMomentum && !hasMomentumBuffer
        for run in store.decayRuns() {
            let wd = run.decays ? Float(weightDecay) : 0
            let useDecay = run.decays && weightDecay != 0
            let end = run.start + run.count
            for i in run.start..<end {
                var d = g[i]
                if useDecay { d = fusedMultiplyAdd(wd, p[i], d) }            // grad.add(param, alpha=λ)
                if useMomentum {                                               // buf.mul_(μ).add_(grad, alpha=1−τ)
                    let b = firstMomentumStep ? d : fusedMultiplyAdd(oneMinusDampening, d, buf[i] * mu)
                    buf[i] = b
                    d = nesterov ? fusedMultiplyAdd(mu, b, d) : b              // grad.add(buf, alpha=μ)
                }
                p[i] = fusedMultiplyAdd(negLR, d, p[i])                        // param.add_(grad, alpha=−γ)
            }
        }
        if useMomentum { hasMomentumBuffer = true }
        stepCount += 1
    }

    /// `"step"`, and `"momentum_buffer"` once it exists.
    public func exportState() -> [String: Tensor] {
        var state = ["step": stepTensor(stepCount)]
        if hasMomentumBuffer { state["momentum_buffer"] = momentumBuffer.copy() }
        return state
    }

    /// Restores `exportState()` output (same store layout).
    public func importState(_ state: [String: Tensor]) throws {
        checkLayout(store, momentumBuffer.count, "SGD")
        let step = try importStep(state)
        if state["momentum_buffer"] != nil {
            try importBuffer(state, "momentum_buffer", into: momentumBuffer)
            hasMomentumBuffer = true
        } else {
            momentumBuffer.sharedMutablePointer.update(repeating: 0, count: momentumBuffer.count)
            hasMomentumBuffer = false
        }
        stepCount = step
    }
}
