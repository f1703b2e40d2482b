// Fully connected layer (PyTorch nn.Linear layout and initialization).
//   x: (..., In) → y: (..., Out),   y = x Wᵀ + b,   W: (Out, In), b: (Out)

import CGMTensor

/// A linear layer whose weight "name.weight" (Out, In) and bias "name.bias" (Out) live in a
/// `ParameterStore`, initialized as PyTorch's nn.Linear (weight first, then bias, from one generator).
public struct Linear {
    /// "name.weight", (Out, In).
    public let weight: ParameterID
    /// "name.bias", (Out); nil without bias.
    public let bias: ParameterID?
    /// In.
    public let inFeatures: Int
    /// Out.
    public let outFeatures: Int

    /// Registers the parameters under `name` and draws their initial values from `rng`.
    public init(_ store: ParameterStore, _ name: String, inFeatures: Int, outFeatures: Int, bias: Bool = true,
                rng: inout PhiloxGenerator) {
        precondition(inFeatures > 0 && outFeatures > 0,
                     "Linear '\(name)': features must be positive (in \(inFeatures), out \(outFeatures))")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = store.add("\(name).weight",
                                Initializers.linearWeight(outFeatures: outFeatures, inFeatures: inFeatures, rng: &rng))
        self.bias = bias
            ? store.add("\(name).bias", Initializers.linearBias(outFeatures: outFeatures, inFeatures: inFeatures, rng: &rng))
            : nil
    }

    /// Sets W and b to zero: a head whose output starts at 0 (a residual forecaster then starts at persistence).
    public func zeroInitialize(_ store: ParameterStore) {
        store.setValue(weight, Tensor(zeros: [outFeatures, inFeatures]))
        if let bias { store.setValue(bias, Tensor(zeros: [outFeatures])) }
    }

    /// y = x Wᵀ + b for x of shape (..., In).
    public func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
        precondition(x.shape.last == inFeatures,
                     "Linear: input \(x.shape) does not end in inFeatures \(inFeatures) (weight [\(outFeatures), \(inFeatures)])")
        return p.graph.linear(x, weight: p[weight], bias: bias.map { p[$0] })
    }
}
