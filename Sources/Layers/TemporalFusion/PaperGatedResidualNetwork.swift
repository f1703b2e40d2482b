// Gated Residual Network as SSM-CGM A.5 prints it (eqs. 4–6), beside pytorch-forecasting's form
// (GatedResidualNetwork.swift). The gate reads the block's input, not its hidden layer:
//
//   u: (…, In), optional context c: (…, C) or (B, C) for u (B, T, In) (broadcast over time)
//   ẑ = W₂ φ(W₁[u; c] + b₁) + b₂            fc1: In → Hd, fc1_context: C → Hd (no bias), fc2: Hd → Out   (eq. 4)
//   g = σ(W_g[u; c] + b_g)                   gate: In → Out, gate_context: C → Out (no bias)              (eq. 5)
//   z = LN(skip(u) + g ⊙ dropout(ẑ))         skip(u) = u when In == Out, else W_skip u (skip_layer)        (eq. 6)
// W[u; c] is written W_u u + W_c c so a (B, C) context broadcasts over time. φ = ELU. Dropout after eq. 4
// ("can be inserted after (4) without changing the form"). Not yet selectable in a model (issue 18: the
// SSM-CGM `model.variant: paper` wires it in a later step); golden values come from
// Tests/LayersTests/Fixtures/ssm_cgm_paper_golden.py, written from the equations.

import CGMTensor

/// SSM-CGM A.5's GRN: z = LN(skip(u) + σ(W_g[u; c] + b_g) ⊙ (W₂ ELU(W₁[u; c] + b₁) + b₂)).
///
/// Parameters: `name.fc1.*` (kaiming-normal, bias 0), `name.fc1_context.weight` (xavier; with a context),
/// `name.fc2.*` (kaiming-normal, bias 0), `name.gate.*` (xavier, bias 0), `name.gate_context.weight`
/// (xavier; with a context), `name.skip_layer.*` (xavier, bias 0; when In ≠ Out), `name.norm.*`.
public struct PaperGatedResidualNetwork {
    /// Widths: input In, hidden Hd, output Out.
    public let inputSize: Int, hiddenSize: Int, outputSize: Int
    /// Context width, nil without a context input.
    public let contextSize: Int?
    /// W₁'s input part (In → Hd) and context part (C → Hd, no bias).
    public let fc1: Linear, fc1Context: Linear?
    /// W₂ (Hd → Out).
    public let fc2: Linear
    /// W_g's input part (In → Out) and context part (C → Out, no bias).
    public let gate: Linear, gateContext: Linear?
    /// W_skip (In → Out) when In ≠ Out.
    public let skipLayer: Linear?
    /// The LayerNorm of eq. 6.
    public let norm: LayerNorm
    /// Dropout on ẑ; nil means no dropout call at all.
    public let dropout: Float?

    /// Registers the block's parameters under `name`.
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, hiddenSize: Int, outputSize: Int,
                dropout: Float?, contextSize: Int? = nil, rng: inout PhiloxGenerator) {
        precondition(inputSize > 0 && hiddenSize > 0 && outputSize > 0 && (contextSize ?? 1) > 0,
                     "paper GRN '\(name)': sizes must be positive (in \(inputSize), hidden \(hiddenSize), out \(outputSize))")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.outputSize = outputSize
        self.contextSize = contextSize
        self.dropout = dropout
        fc1 = TFTInit.linear(store, "\(name).fc1", inFeatures: inputSize, outFeatures: hiddenSize, .kaimingNormal, rng: &rng)
        fc1Context = contextSize.map {
            TFTInit.linear(store, "\(name).fc1_context", inFeatures: $0, outFeatures: hiddenSize, bias: false,
                           .xavierUniform, rng: &rng)
        }
        fc2 = TFTInit.linear(store, "\(name).fc2", inFeatures: hiddenSize, outFeatures: outputSize, .kaimingNormal, rng: &rng)
        gate = TFTInit.linear(store, "\(name).gate", inFeatures: inputSize, outFeatures: outputSize, .xavierUniform, rng: &rng)
        gateContext = contextSize.map {
            TFTInit.linear(store, "\(name).gate_context", inFeatures: $0, outFeatures: outputSize, bias: false,
                           .xavierUniform, rng: &rng)
        }
        skipLayer = inputSize == outputSize ? nil
            : TFTInit.linear(store, "\(name).skip_layer", inFeatures: inputSize, outFeatures: outputSize,
                             .xavierUniform, rng: &rng)
        norm = LayerNorm(store, "\(name).norm", dimension: outputSize)
    }

    /// u (…, In) → (…, Out). `context` is (…, C) with u's leading axes, or (B, C) for u (B, T, In).
    public func callAsFunction(_ u: Var, context c: Var? = nil, _ p: BoundParameters) -> Var {
        precondition(u.shape.last == inputSize, "paper GRN: input \(u.shape) does not end in inputSize \(inputSize)")
        precondition((c == nil) == (contextSize == nil),
                     "paper GRN: built with context width \(contextSize.map(String.init) ?? "none"), called with "
                     + (c.map { "context \($0.shape)" } ?? "none"))
        let g = u.graph
        var hidden = fc1(u, p)                                  // W₁[u; c] + b₁
        var gateLogit = gate(u, p)                              // W_g[u; c] + b_g
        if let c, let fc1Context, let gateContext {
            precondition(c.shape.count <= u.shape.count && c.shape.first == u.shape.first && c.shape.last == contextSize,
                         "paper GRN: context \(c.shape) does not match input \(u.shape)")
            hidden = hidden + broadcast(fc1Context(c, p), like: u)
            gateLogit = gateLogit + broadcast(gateContext(c, p), like: u)
        }
        var zHat = fc2(g.elu(hidden), p)                        // eq. 4
        if let dropout { zHat = g.dropout(zHat, p: dropout) }
        let skip = skipLayer.map { $0(u, p) } ?? u
        return norm(skip + g.sigmoid(gateLogit) * zHat, p)      // eqs. 5–6
    }

    /// A (B, W) projection of a per-sample context, unsqueezed over u's middle axes.
    private func broadcast(_ projected: Var, like u: Var) -> Var {
        var v = projected
        while v.shape.count < u.shape.count { v = u.graph.unsqueeze(v, axis: 1) }
        return v
    }
}
