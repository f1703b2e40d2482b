// The gating and normalization blocks of the Temporal Fusion Transformer (Lim et al. 2021, eq. 5 GLU;
// SSM-CGM A.5 eqs. 5–6), with pytorch-forecasting's module and parameter names.
//
//   GatedLinearUnit  x (…, In) → dropout → fc: (…, 2·Out) = [a; b] → a ⊙ σ(b): (…, Out)
//   ResampleNorm     x (…, In) → interpolate to Out (if In ≠ Out) → x ⊙ 2σ(mask) (trainable add) → LayerNorm
//   AddNorm          x (…, D), skip (…, S) → LayerNorm(x + resample(skip) ⊙ 2σ(mask))   (mask optional)
//   GateAddNorm      x (…, In), skip (…, Out) → AddNorm(GLU(x), skip)                    (eq. 6)
// `mask` starts at 0, so 2σ(mask) = 1 at initialization.

import CGMTensor
import Layers

/// Gated linear unit (Dauphin et al. 2017): optional input dropout, one Linear to twice the output
/// width, then the first half gated by the sigmoid of the second (PyTorch `F.glu(·, dim=-1)`).
///
/// Parameters: `name.fc.weight` (2·Out, In) xavier-uniform, `name.fc.bias` (2·Out) zeros.
public struct GatedLinearUnit {
    /// `name.fc`: In → 2·Out.
    public let fc: Linear
    /// Output width Out.
    public let outputSize: Int
    /// Dropout on the input; nil means no dropout call at all.
    public let dropout: Float?

    /// Registers `name.fc`; `hiddenSize` (Out) defaults to `inputSize`.
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, hiddenSize: Int? = nil,
                dropout: Float? = nil, rng: inout PhiloxGenerator) {
        outputSize = hiddenSize ?? inputSize
        self.dropout = dropout
        fc = TFTInit.linear(store, "\(name).fc", inFeatures: inputSize, outFeatures: 2 * outputSize,
                            .xavierUniform, rng: &rng)
    }

    /// x (…, In) → (…, Out).
    public func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
        let g = x.graph
        let h = dropout.map { g.dropout(x, p: $0) } ?? x
        if fc.inFeatures <= 32, let bias = fc.bias {   // narrow input (VSN variables): Linear fused in too
            return g.gluLinear(h, weight: p[fc.weight], bias: p[bias])
        }
        return g.glu(fc(h, p))   // [a; b] → a ⊙ σ(b), fused
    }
}

/// pytorch-forecasting's `ResampleNorm`: linear interpolation of the last axis from In to Out points
/// (when they differ; a fixed matrix, no parameters), an optional trainable gate 2σ(mask), LayerNorm.
/// It is the GRN skip path when input and output widths differ, and the VSN transform of embeddings.
///
/// Parameters: `name.mask` (Out) zeros (when `trainableAdd`), `name.norm.weight`/`.bias` (Out).
public struct ResampleNorm {
    /// Input width In and output width Out.
    public let inputSize: Int, outputSize: Int
    /// `name.mask`, nil without trainable add.
    public let mask: ParameterID?
    /// `name.norm`.
    public let norm: LayerNorm
    /// (Out, In) interpolation matrix, nil when In == Out.
    public let interpolation: Tensor?

    /// Registers `name.mask` (if `trainableAdd`) and `name.norm`; `outputSize` defaults to `inputSize`.
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, outputSize: Int? = nil,
                trainableAdd: Bool = true) {
        self.inputSize = inputSize
        self.outputSize = outputSize ?? inputSize
        interpolation = inputSize == self.outputSize ? nil
            : TFTInit.interpolationMatrix(from: inputSize, to: self.outputSize)
        mask = trainableAdd ? store.add("\(name).mask", Tensor(zeros: [self.outputSize]), weightDecay: false) : nil
        norm = LayerNorm(store, "\(name).norm", dimension: self.outputSize)
    }

    /// x (…, In) → (…, Out).
    public func callAsFunction(_ x: Var, _ p: BoundParameters) -> Var {
        precondition(x.shape.last == inputSize, "ResampleNorm: input \(x.shape) does not end in \(inputSize)")
        let g = x.graph
        var h = x
        let gate = mask.map { g.sigmoid(p[$0]) * 2 }   // (Out)
        if let m = interpolation {
            // The gate scales output columns, so it is folded into the (Out, In) interpolation matrix:
            // x · (diag(gate) M)ᵀ instead of (x Mᵀ) ⊙ gate, which skips an (…, Out) product and its backward.
            let weight = gate.map { g.constant(m) * g.unsqueeze($0, axis: -1) } ?? g.constant(m)
            if inputSize <= 32 {   // narrow input (VSN variables): projection and norm fused, nothing (…, Out)-wide stored
                return g.linearLayerNorm(x, weight: weight, normWeight: p[norm.weight], normBias: p[norm.bias], eps: norm.eps)
            }
            h = g.linear(h, weight: weight, bias: nil)
        } else if let gate {
            h = h * gate
        }
        return norm(h, p)
    }
}

/// pytorch-forecasting's `AddNorm`: LayerNorm(x + skip), the skip interpolated to x's width when the
/// sizes differ and optionally gated by 2σ(mask).
///
/// Parameters: `name.mask` (D) when `trainableAdd`, `name.norm.weight`/`.bias` (D).
public struct AddNorm {
    /// Width D of x and the output, and width S of the skip.
    public let inputSize: Int, skipSize: Int
    /// `name.mask`, nil without trainable add.
    public let mask: ParameterID?
    /// `name.norm`.
    public let norm: LayerNorm
    /// (D, S) interpolation of the skip, nil when S == D.
    public let interpolation: Tensor?

    /// Registers `name.mask` (if `trainableAdd`) and `name.norm`; `skipSize` defaults to `inputSize`.
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, skipSize: Int? = nil, trainableAdd: Bool = true) {
        self.inputSize = inputSize
        self.skipSize = skipSize ?? inputSize
        interpolation = self.skipSize == inputSize ? nil
            : TFTInit.interpolationMatrix(from: self.skipSize, to: inputSize)
        mask = trainableAdd ? store.add("\(name).mask", Tensor(zeros: [inputSize]), weightDecay: false) : nil
        norm = LayerNorm(store, "\(name).norm", dimension: inputSize)
    }

    /// x (…, D), skip (…, S) → (…, D).
    public func callAsFunction(_ x: Var, skip: Var, _ p: BoundParameters) -> Var {
        precondition(x.shape.last == inputSize && skip.shape.last == skipSize,
                     "AddNorm: input \(x.shape) must end in \(inputSize) and skip \(skip.shape) in \(skipSize)")
        let g = x.graph
        var s = skip
        if let m = interpolation { s = g.linear(s, weight: g.constant(m), bias: nil) }
        if let mask { s = s * (g.sigmoid(p[mask]) * 2) }
        guard s.shape == x.shape else { return norm(x + s, p) }   // a broadcast skip
        return g.layerNorm(x, adding: s, weight: p[norm.weight], bias: p[norm.bias], eps: norm.eps)   // LN(x + s), fused
    }
}

/// pytorch-forecasting's `GateAddNorm`: LayerNorm(skip + GLU(dropout(x))) (TFT eq. 5; SSM-CGM eqs. 5–6).
///
/// Parameters: `name.glu.fc.*` and `name.add_norm.*`.
public struct GateAddNorm {
    /// `name.glu`.
    public let glu: GatedLinearUnit
    /// `name.add_norm`.
    public let addNorm: AddNorm

    /// Registers `name.glu` (In → Out, Out = `hiddenSize` ?? In) and `name.add_norm` (skip width
    /// `skipSize` ?? Out, no trainable add unless asked).
    public init(_ store: ParameterStore, _ name: String, inputSize: Int, hiddenSize: Int? = nil, skipSize: Int? = nil,
                trainableAdd: Bool = false, dropout: Float? = nil, rng: inout PhiloxGenerator) {
        let hidden = hiddenSize ?? inputSize
        glu = GatedLinearUnit(store, "\(name).glu", inputSize: inputSize, hiddenSize: hidden, dropout: dropout, rng: &rng)
        addNorm = AddNorm(store, "\(name).add_norm", inputSize: hidden, skipSize: skipSize ?? hidden,
                          trainableAdd: trainableAdd)
    }

    /// x (…, In), skip (…, S) → (…, Out).
    public func callAsFunction(_ x: Var, skip: Var, _ p: BoundParameters) -> Var {
        addNorm(glu(x, p), skip: skip, p)
    }
}
