// Gated Residual Network (TFT, Lim et al. 2021 eqs. 2–4; SSM-CGM A.5 eqs. 4–6), pytorch-forecasting layout.
//
//   x: (…, In), optional context c: (…, C) or (B, C) for x (B, T, In) (broadcast over time)
//   η₂ = ELU(fc1(x) + context(c))               fc1: In → Hd,  context: C → Hd without bias
//   η₁ = fc2(η₂)                                fc2: Hd → Hd                           (eq. 4: ẑ)
//   z  = LayerNorm(skip(x) + GLU(dropout(η₁)))  GLU: Hd → Out                          (eqs. 5–6)
//   skip(x) = x when In == Out; otherwise ResampleNorm(In → Out) (pytorch-forecasting: interpolation,
//   2σ(mask) gate, LayerNorm) or a learned Linear W_skip (the paper's projected skip; original TFT).
// A narrow GRN without context and with the ResampleNorm skip (a VSN's per-variable GRNs, 8 → 128) runs as
// one fused op, `Graph.narrowGRN` (CGMTensor/Ops/NarrowGRN.swift): same parameters, values and dropout bits.

import CGMTensor
import Layers

/// A GRN: fc1 → (+ context) → ELU → fc2 → GateAddNorm with the (projected) input as the residual.
///
/// Parameters (pytorch-forecasting names): `name.resample_norm.*` or `name.skip_layer.*` (when In ≠ Out),
/// `name.fc1.*` (kaiming-normal, bias 0), `name.context.weight` (xavier, no bias; with a context),
/// `name.fc2.*` (kaiming-normal, bias 0), `name.gate_norm.glu.fc.*`, `name.gate_norm.add_norm.norm.*`.
public struct GatedResidualNetwork {
    /// The skip path used when the input and output widths differ.
    public enum Skip: Equatable, Sendable {
        /// pytorch-forecasting's `ResampleNorm`: linear interpolation In → Out, 2σ(mask) gate, LayerNorm.
        case resampleNorm
        /// A learned projection W_skip x + b (SSM-CGM A.5, the original TFT): xavier weight, zero bias.
        case linear
    }

    /// Widths: input In, hidden Hd (fc1/fc2), output Out.
    public let inputSize: Int, hiddenSize: Int, outputSize: Int
    /// Context width, nil without a context input.
    public let contextSize: Int?
    /// `name.resample_norm`: the skip when In ≠ Out and `skip == .resampleNorm`.
    public let resampleNorm: ResampleNorm?
    /// `name.skip_layer`: the skip when In ≠ Out and `skip == .linear`.
    public let skipLayer: Linear?
    /// `name.fc1` (In → Hd) and `name.fc2` (Hd → Hd).
    public let fc1: Linear, fc2: Linear
    /// `name.context` (no bias).
    public let context: Linear?
    /// `name.gate_norm`: dropout, GLU Hd → Out, add the skip, LayerNorm.
    public let gateNorm: GateAddNorm

    /// Registers the GRN's parameters under `name`.
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, hiddenSize: Int, outputSize: Int,
                dropout: Float?, contextSize: Int? = nil, skip: Skip = .resampleNorm, rng: inout PhiloxGenerator) {
        precondition(inputSize > 0 && hiddenSize > 0 && outputSize > 0,
                     "GRN '\(name)': sizes must be positive (in \(inputSize), hidden \(hiddenSize), out \(outputSize))")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.outputSize = outputSize
        self.contextSize = contextSize
        if inputSize != outputSize && skip == .resampleNorm {
            resampleNorm = ResampleNorm(store, "\(name).resample_norm", inputSize: inputSize, outputSize: outputSize)
        } else {
            resampleNorm = nil
        }
        skipLayer = inputSize != outputSize && skip == .linear
            ? TFTInit.linear(store, "\(name).skip_layer", inFeatures: inputSize, outFeatures: outputSize,
                             .xavierUniform, rng: &rng)
            : nil
        fc1 = TFTInit.linear(store, "\(name).fc1", inFeatures: inputSize, outFeatures: hiddenSize, .kaimingNormal, rng: &rng)
        context = contextSize.map {
            TFTInit.linear(store, "\(name).context", inFeatures: $0, outFeatures: hiddenSize, bias: false,
                           .xavierUniform, rng: &rng)
        }
        fc2 = TFTInit.linear(store, "\(name).fc2", inFeatures: hiddenSize, outFeatures: hiddenSize, .kaimingNormal, rng: &rng)
        gateNorm = GateAddNorm(store, "\(name).gate_norm", inputSize: hiddenSize, hiddenSize: outputSize,
                               skipSize: outputSize, trainableAdd: false, dropout: dropout, rng: &rng)
    }

    /// x (…, In) → (…, Out). `context` is (…, C) with x's leading axes, or (B, C) for x (B, T, In): the
    /// projected context is then broadcast over time (as pytorch-forecasting's expanded static context).
    public func callAsFunction(_ x: Var, context c: Var? = nil, _ p: BoundParameters) -> Var {
        precondition(x.shape.last == inputSize, "GRN: input \(x.shape) does not end in inputSize \(inputSize)")
        let g = x.graph
        if c == nil, let fused = narrowLayer(p) {
            return g.narrowGRN(x, fused.parameters, skipProjection: fused.skipProjection, dropout: fused.dropout,
                               skipEps: fused.skipEps, eps: fused.eps)
        }
        var residual = x
        if let resampleNorm { residual = resampleNorm(x, p) }
        if let skipLayer { residual = skipLayer(x, p) }
        var h = fc1(x, p)
        if let c {
            guard let context else { preconditionFailure("GRN: a context \(c.shape) was given to a GRN built without one") }
            var projected = context(c, p)
            precondition(c.shape.count <= x.shape.count && c.shape.first == x.shape.first,
                         "GRN: context \(c.shape) does not match input \(x.shape)")
            while projected.shape.count < x.shape.count { projected = g.unsqueeze(projected, axis: 1) }
            h = h + projected
        }
        h = fc2(g.elu(h), p)
        return gateNorm(h, skip: residual, p)
    }

    /// The fused single-op form (`Graph.narrowGRN`, or a VSN's `Graph.narrowGRNs`) when this GRN is a
    /// narrow one without context with a ResampleNorm skip (In ≠ Out, In and Hd ≤ 32: a VSN's per-variable
    /// GRNs); nil otherwise. Same parameters, values and dropout bits as the unfused composition; nothing
    /// (…, Out)-wide but the output is stored. A context given at call time always takes the unfused path.
    func narrowLayer(_ p: BoundParameters) -> NarrowGRNLayer? {
        guard isNarrow, let resampleNorm, let projection = resampleNorm.interpolation, let fc1Bias = fc1.bias,
              let fc2Bias = fc2.bias, let gluBias = gateNorm.glu.fc.bias else { return nil }
        let g = p.graph
        let parameters = NarrowGRNParameters(
            fc1Weight: p[fc1.weight], fc1Bias: p[fc1Bias], fc2Weight: p[fc2.weight], fc2Bias: p[fc2Bias],
            gluWeight: p[gateNorm.glu.fc.weight], gluBias: p[gluBias],
            skipGate: resampleNorm.mask.map { g.sigmoid(p[$0]) * 2 },   // 2σ(mask), as ResampleNorm
            skipNormWeight: p[resampleNorm.norm.weight], skipNormBias: p[resampleNorm.norm.bias],
            normWeight: p[gateNorm.addNorm.norm.weight], normBias: p[gateNorm.addNorm.norm.bias])
        return NarrowGRNLayer(parameters, skipProjection: projection, dropout: gateNorm.glu.dropout,
                              skipEps: resampleNorm.norm.eps, eps: gateNorm.addNorm.norm.eps)
    }

    /// True when `narrowLayer` applies (checked without adding anything to a graph).
    var isNarrow: Bool {
        inputSize <= 32 && hiddenSize <= 32 && resampleNorm?.interpolation != nil && fc1.bias != nil
            && fc2.bias != nil && gateNorm.glu.fc.bias != nil && gateNorm.addNorm.mask == nil
            && gateNorm.addNorm.interpolation == nil
    }
}
