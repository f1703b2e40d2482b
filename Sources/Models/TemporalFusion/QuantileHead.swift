// The head TFT and SSM-CGM share, position-wise at the H decoder steps (TFT eqs. 17–19; SSM-CGM A.4):
//
//   δ = GateAddNorm(β, θ),  ψ = GRN_ff(δ),  ψ̃ = GateAddNorm(ψ, φ) (no dropout),  ŷ = Linear(ψ̃): (B, H, Q)
//
// with β the output of the model's position mixer (TFT's interpretable attention, SSM-CGM's light Mamba), θ the
// enriched and φ the gated temporal features at those steps. The first gate carries the model's name (TFT:
// post_attn_gate_norm; SSM-CGM: post_light_mamba_gate_norm); the rest are pos_wise_ff, pre_output_gate_norm and
// output_layer in both.

import CGMTensor
import Layers

/// The gated quantile head of a TFT-style network.
public struct QuantileHead {
    /// GateAddNorm of the mixer's output with θ.
    public let gateNorm: GateAddNorm
    /// `pos_wise_ff`.
    public let positionWiseFeedForward: GatedResidualNetwork
    /// `pre_output_gate_norm` (no dropout).
    public let preOutputGateNorm: GateAddNorm
    /// `output_layer`: d → Q quantiles.
    public let outputLayer: Linear

    /// Registers the gate `gateNormName`, `pos_wise_ff`, `pre_output_gate_norm` and `output_layer` in `store`.
    public init(_ store: ParameterStore, gateNormName: String, config: some TemporalFusionConfig, rng: inout PhiloxGenerator) {
        let d = config.width
        gateNorm = GateAddNorm(store, gateNormName, inputSize: d, trainableAdd: false, dropout: config.dropout, rng: &rng)
        positionWiseFeedForward = GatedResidualNetwork(store, "pos_wise_ff", inputSize: d, hiddenSize: d, outputSize: d,
                                                       dropout: config.dropout, skip: config.grnSkip, rng: &rng)
        preOutputGateNorm = GateAddNorm(store, "pre_output_gate_norm", inputSize: d, trainableAdd: false, dropout: nil,
                                        rng: &rng)
        outputLayer = Linear(store, "output_layer", inFeatures: d, outFeatures: config.quantiles.count, rng: &rng)
    }

    /// ŷ (B, H, Q) from the mixer's output β, θ and φ at the decoder steps (each (B, H, d)).
    public func callAsFunction(_ mixed: Var, enriched: Var, temporal: Var, _ p: BoundParameters) -> Var {
        let gated = gateNorm(mixed, skip: enriched, p)
        return outputLayer(preOutputGateNorm(positionWiseFeedForward(gated, p), skip: temporal, p), p)
    }
}
