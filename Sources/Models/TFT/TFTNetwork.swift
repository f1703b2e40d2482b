// The Temporal Fusion Transformer (Lim et al. 2021) as pytorch-forecasting builds it: the SSM-CGM
// baseline (A.9). Shapes for a batch of B windows, L past steps, H horizon steps, d = hidden:
//
//   statics (B, S) → embeddings / prescalers → static VSN → s: (B, d), α_static (B, S)          (A.6 eqs. 7–10)
//   c_sel, c_h, c_c, c_enr = GRN_sel(s), GRN_h(s), GRN_c(s), GRN_enr(s): (B, d)  (static covariate encoders)
//   past (B, L, P) → prescalers → encoder VSN(· | c_sel) → ξ_enc (B, L, d), α_enc (B, L, P)      (eqs. 11–14)
//   future (B, H, F) → prescalers → decoder VSN(· | c_sel) → ξ_dec (B, H, d), α_dec (B, H, F)
//   LSTM_enc(ξ_enc; h0 = c_h, c0 = c_c in every layer) → LSTM_dec(ξ_dec; encoder's final states)
//   φ = AddNorm(GLU(dropout([enc; dec])), [ξ_enc; ξ_dec]): (B, L + H, d)        (post-LSTM gate, shared)
//   θ = GRN_enrich(φ | c_enr): (B, L + H, d)                                       (static enrichment)
//   β, A = InterpretableMHA(q = θ[:, L:], k = v = θ; causal decoder mask): (B, H, d), (B, H, L + H)
//   δ = GateAddNorm(β, θ[:, L:]),  ψ = GRN_ff(δ),  ψ̃ = GateAddNorm(ψ, φ[:, L:]) (no dropout)
//   ŷ = Linear(ψ̃): (B, H, Q) quantiles of the scaled target
// No statics: s = 0 (pytorch-forecasting's zeros static embedding). No future features: ξ_dec = 0.
// The inputs, the gated skip with static enrichment and the head are the scaffold TFT shares with SSM-CGM
// (Models/TemporalFusion).

import CGMTensor
import Layers

/// Everything a TFT forward pass produces.
public struct TFTOutput: TemporalFusionOutput {
    /// Quantile predictions of the scaled target (B, H, Q).
    public var prediction: Var
    /// Static selection weights (B, S) (S = 0 without statics).
    public var staticWeights: Var
    /// Encoder selection weights (B, L, P).
    public var encoderWeights: Var
    /// Decoder selection weights (B, H, F).
    public var decoderWeights: Var
    /// Head-averaged attention of each decoder step over [encoder; decoder] steps (B, H, L + H).
    public var attention: Var
}

/// The TFT network over a `ParameterStore` with pytorch-forecasting's parameter names.
public struct TFTNetwork: TemporalFusionNetwork {
    /// Registry name of the model.
    public static let modelName = "tft"
    /// Sizes and inputs.
    public let config: TFTConfig
    /// The parts: inputs with the static encoders c_sel, c_h, c_c, c_enr; core = `lstm_encoder` and `lstm_decoder`
    /// (`lstmLayers` layers each); `post_lstm_gate_encoder` and `post_lstm_add_norm_encoder` (shared by encoder and
    /// decoder, as in pytorch-forecasting) with `static_enrichment`; mixer = `multihead_attn`; the head after
    /// `post_attn_gate_norm`.
    public let scaffold: TemporalFusionScaffold<(encoder: TFTLSTMStack, decoder: TFTLSTMStack), InterpretableMultiHeadAttention>

    /// Builds and initializes the network (parameters registered in pytorch-forecasting's module order).
    public init(_ config: TFTConfig, seed: UInt64) {
        self.config = config
        let d = config.width, dropout = config.dropout
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        scaffold = TemporalFusionScaffold(
            config: config, model: "TFT",
            names: (["static_context_initial_hidden_lstm", "static_context_initial_cell_lstm"], "post_lstm_gate_encoder",
                    "post_lstm_add_norm_encoder", "post_attn_gate_norm"),
            rng: &rng,
            core: { store, rng in
                (TFTLSTMStack(store, "lstm_encoder", inputSize: d, hiddenSize: d, layers: config.lstmLayers, dropout: dropout, rng: &rng),
                 TFTLSTMStack(store, "lstm_decoder", inputSize: d, hiddenSize: d, layers: config.lstmLayers, dropout: dropout, rng: &rng))
            },
            mixer: { store, rng in
                InterpretableMultiHeadAttention(store, "multihead_attn", heads: config.heads, modelSize: d, dropout: dropout, rng: &rng)
            })
    }

    /// The forward pass: past (B, L, P), future (B, H, F), statics (B, S) (categorical columns hold
    /// category indices; no gradient flows into them).
    public func callAsFunction(past: Var, future: Var, statics: Var, _ p: BoundParameters) -> TFTOutput {
        let g = past.graph, (inputs, enrichment) = (scaffold.inputs, scaffold.enrichment)
        let (b, l, h) = inputs.checkShapes(past: past, future: future, statics: statics), d = config.width

        // Static covariates → s (B, d) and the static contexts; variable selection over time.
        let (staticEmbedding, staticWeights) = inputs.staticEmbedding(statics, p)
        let contextSelection = inputs.staticContextVariableSelection(staticEmbedding, p)
        let (encoderEmbedding, encoderWeights) = inputs.selectEncoder(past, context: contextSelection, p)
        let (decoderEmbedding, decoderWeights) = inputs.selectDecoder(future, context: contextSelection, p)
            ?? (g.constant(Tensor(zeros: [b, h, d])), g.constant(Tensor(zeros: [b, h, 0])))

        // LSTM encoder–decoder, initialized from the static encoders in every layer.
        let layers = config.lstmLayers
        let h0 = inputs.staticContexts[0](staticEmbedding, p), c0 = inputs.staticContexts[1](staticEmbedding, p)
        let encoder = scaffold.core.encoder(encoderEmbedding, h0: Array(repeating: h0, count: layers),
                                            c0: Array(repeating: c0, count: layers), p)
        let decoder = scaffold.core.decoder(decoderEmbedding, h0: encoder.h, c0: encoder.c, p)

        // Gated skip over the LSTMs, static enrichment, attention with decoder queries, head.
        let lstmOutput = enrichment.temporal(g.concat([encoder.output, decoder.output], axis: 1),
                                             skip: g.concat([encoderEmbedding, decoderEmbedding], axis: 1), p)
        let enriched = enrichment.enrich(lstmOutput, context: inputs.staticContextEnrichment(staticEmbedding, p), p)
        let queries = g.slice(enriched, axis: 1, range: l..<(l + h))
        let attended = scaffold.mixer(q: queries, k: enriched, v: enriched, mask: config.attentionMask, p)
        let prediction = scaffold.head(attended.output, enriched: queries,
                                       temporal: g.slice(lstmOutput, axis: 1, range: l..<(l + h)), p)
        return TFTOutput(prediction: prediction, staticWeights: staticWeights, encoderWeights: encoderWeights,
                         decoderWeights: decoderWeights, attention: attended.weights)
    }
}
