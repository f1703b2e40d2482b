// Interpretable multi-head attention (TFT, Lim et al. 2021 eqs. 13–16), pytorch-forecasting layout.
//
//   q: (B, Tq, D), k, v: (B, Tk, D);  d = ⌊D / heads⌋
//   Q_h = q W_Q,hᵀ + b (D → d, per head),  K_h = k W_K,hᵀ + b (per head),  V = v W_Vᵀ + b (D → d, SHARED)
//   H_h = softmax(Q_h K_hᵀ / √d + mask) V                       (eq. 14: one value projection for all heads)
//   out = dropout(W_H · mean_h dropout(H_h)): (B, Tq, D)        (eqs. 15–16, W_H: d → D without bias)
//   weights = mean_h softmax(·): (B, Tq, Tk)                      (the interpretable attention pattern)
// All heads run as one batched attention: the per-head q/k weights are concatenated into one GEMM and
// the shared V is repeated over the head axis.
// Masks: `.causal` lets query i see key j ≤ i + Tk − Tq (the TFT paper: decoder steps see the encoder,
// earlier decoder steps and themselves); `.causalExcludingSelf` is pytorch-forecasting's decoder mask
// (j < i + Tk − Tq: earlier decoder steps only, not itself), run by dropping the last key — which no
// query may see — and reporting a zero weight for it.

import CGMTensor
import Layers

/// Interpretable multi-head attention with per-head query/key projections and one shared value projection.
///
/// Parameters (pytorch-forecasting names, all weights xavier-uniform, biases 0): `name.v_layer.*` (d, D),
/// `name.q_layers.<h>.*` (d, D), `name.k_layers.<h>.*` (d, D), `name.w_h.weight` (D, d).
public struct InterpretableMultiHeadAttention {
    /// Which keys each query may attend.
    public enum Mask: Equatable, Sendable {
        /// Every query sees every key.
        case none
        /// Query i sees key j iff j ≤ i + Tk − Tq (bottom-right aligned; includes the query's own step).
        case causal
        /// Query i sees key j iff j < i + Tk − Tq (pytorch-forecasting `causal_attention=True`).
        case causalExcludingSelf
    }

    /// Head count, model width D and per-head width d = ⌊D / heads⌋.
    public let heads: Int, modelSize: Int, headSize: Int
    /// Dropout on each head's output and on the final output.
    public let dropout: Float
    /// `name.v_layer`: the value projection shared by every head (D → d).
    public let vLayer: Linear
    /// `name.q_layers.<h>` and `name.k_layers.<h>`: per-head query and key projections (D → d).
    public let qLayers: [Linear], kLayers: [Linear]
    /// `name.w_h` (no bias).
    public let wH: Linear

    /// Registers the projections under `name`.
    public init(_ store: ParameterStore, _ name: String, heads: Int, modelSize: Int, dropout: Float = 0,
                rng: inout PhiloxGenerator) {
        precondition(heads > 0 && modelSize >= heads,
                     "InterpretableMultiHeadAttention '\(name)': need 1 ≤ heads (\(heads)) ≤ model size (\(modelSize))")
        self.heads = heads
        self.modelSize = modelSize
        let d = modelSize / heads
        headSize = d
        self.dropout = dropout
        vLayer = TFTInit.linear(store, "\(name).v_layer", inFeatures: modelSize, outFeatures: d, .xavierUniform, rng: &rng)
        var q: [Linear] = [], k: [Linear] = []
        for h in 0..<heads {
            q.append(TFTInit.linear(store, "\(name).q_layers.\(h)", inFeatures: modelSize, outFeatures: d, .xavierUniform, rng: &rng))
        }
        for h in 0..<heads {
            k.append(TFTInit.linear(store, "\(name).k_layers.\(h)", inFeatures: modelSize, outFeatures: d, .xavierUniform, rng: &rng))
        }
        qLayers = q
        kLayers = k
        wH = TFTInit.linear(store, "\(name).w_h", inFeatures: d, outFeatures: modelSize, bias: false,
                            .xavierUniform, rng: &rng)
    }

    /// q (B, Tq, D), k and v (B, Tk, D) → output (B, Tq, D) and head-averaged weights (B, Tq, Tk).
    /// A query that may see no key (e.g. the first one under `.causalExcludingSelf` when Tq == Tk) gets
    /// zero weights and a zero head output.
    public func callAsFunction(q: Var, k: Var, v: Var, mask: Mask, _ p: BoundParameters) -> (output: Var, weights: Var) {
        let g = q.graph
        let (sq, sk) = (q.shape, k.shape)
        precondition(sq.count == 3 && sk.count == 3 && v.shape == sk && sq[0] == sk[0] && sq[2] == modelSize
                     && sk[2] == modelSize,
                     "InterpretableMultiHeadAttention: q \(sq), k \(sk), v \(v.shape) must be (B, T, \(modelSize)) with one B")
        let (b, tq, tkAll) = (sq[0], sq[1], sk[1])
        var (keys, values) = (k, v)
        if mask == .causalExcludingSelf {
            precondition(tkAll >= 2, "InterpretableMultiHeadAttention: causalExcludingSelf needs at least 2 keys, got \(sk)")
            keys = g.slice(k, axis: 1, range: 0..<(tkAll - 1))
            values = g.slice(v, axis: 1, range: 0..<(tkAll - 1))
        }
        let tk = keys.shape[1]
        func project(_ x: Var, _ layers: [Linear], _ t: Int) -> Var {   // (B, t, D) → (B, heads, t, d)
            let w = layers.count == 1 ? p[layers[0].weight] : g.concat(layers.map { p[$0.weight] }, axis: 0)
            let bias = layers.count == 1 ? p[layers[0].bias!] : g.concat(layers.map { p[$0.bias!] }, axis: 0)
            let y = g.reshape(g.linear(x, weight: w, bias: bias), to: [b, t, heads, headSize])
            return g.permute(y, [0, 2, 1, 3])
        }
        let qs = project(q, qLayers, tq), ks = project(keys, kLayers, tk)
        let vs = g.unsqueeze(vLayer(values, p), axis: 1)   // (B, 1, Tk, d), shared by every head
        let vh = heads == 1 ? vs : g.concat(Array(repeating: vs, count: heads), axis: 1)
        let attention = g.scaledDotProductAttention(q: qs, k: ks, v: vh, causal: mask != .none, returnWeights: true)
        let headOutputs = g.dropout(attention.output, p: dropout)   // (B, heads, Tq, d)
        let averaged = heads == 1 ? g.squeeze(headOutputs, axis: 1) : g.mean(headOutputs, axes: [1])
        let output = g.dropout(wH(averaged, p), p: dropout)
        var weights = heads == 1 ? g.squeeze(attention.weights!, axis: 1) : g.mean(attention.weights!, axes: [1])
        if mask == .causalExcludingSelf {
            weights = g.concat([weights, g.constant(Tensor(zeros: [b, tq, 1]))], axis: -1)
        }
        return (output, weights)
    }
}
