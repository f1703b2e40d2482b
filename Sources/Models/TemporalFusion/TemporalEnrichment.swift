// The stage after the temporal core that TFT and SSM-CGM share (TFT's post-LSTM gate and static enrichment;
// SSM-CGM keeps both around its Mamba stack):
//
//   φ = AddNorm(GLU(dropout(core)), ξ): (B, T, d)        gated skip over the core (LSTMs / Mamba stack)
//   θ = GRN_enrich(φ | c_enr): (B, T, d)                  static enrichment (TFT eq. 15)
//
// The gate and the AddNorm carry the model's own names (TFT: post_lstm_gate_encoder, post_lstm_add_norm_encoder;
// SSM-CGM: post_mamba_gate, post_mamba_add_norm); the enrichment GRN is `static_enrichment` in both.

import CGMTensor
import Layers

/// The gated skip over a temporal core and the static enrichment of its output.
public struct TemporalEnrichment {
    /// GLU over the core's output (with dropout on its input).
    public let gate: GatedLinearUnit
    /// AddNorm of the gated core output and the selected inputs ξ.
    public let addNorm: AddNorm
    /// `static_enrichment`: GRN over every step with context c_enr.
    public let enrichment: GatedResidualNetwork

    /// Registers the gate `gateName`, the AddNorm `addNormName` and `static_enrichment` in `store`.
    public init(_ store: ParameterStore, gateName: String, addNormName: String, config: some TemporalFusionConfig,
                rng: inout PhiloxGenerator) {
        let d = config.width
        gate = GatedLinearUnit(store, gateName, inputSize: d, dropout: config.dropout, rng: &rng)
        addNorm = AddNorm(store, addNormName, inputSize: d, trainableAdd: false)
        enrichment = GatedResidualNetwork(store, "static_enrichment", inputSize: d, hiddenSize: d, outputSize: d,
                                          dropout: config.dropout, contextSize: d, skip: config.grnSkip, rng: &rng)
    }

    /// φ = AddNorm(GLU(core), skip: ξ).
    public func temporal(_ core: Var, skip selected: Var, _ p: BoundParameters) -> Var {
        addNorm(gate(core, p), skip: selected, p)
    }

    /// θ = GRN_enrich(φ | c_enr).
    public func enrich(_ temporal: Var, context: Var, _ p: BoundParameters) -> Var {
        enrichment(temporal, context: context, p)
    }
}
