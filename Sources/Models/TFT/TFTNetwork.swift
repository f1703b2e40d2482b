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

import CGMTensor
import Layers

/// Everything a TFT forward pass produces.
public struct TFTOutput {
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
public struct TFTNetwork {
    /// Sizes and inputs.
    public let config: TFTConfig
    /// Every parameter, under pytorch-forecasting's dotted names.
    public let store: ParameterStore
    /// `input_embeddings.embeddings.<name>`, one per static column (nil for reals).
    public let staticEmbeddings: [Embedding?]
    /// `prescalers.<name>`: Linear(1 → hiddenContinuous) per real variable name.
    public let prescalers: [String: Linear]
    /// `static_variable_selection` (nil without statics).
    public let staticVariableSelection: VariableSelectionNetwork?
    /// `encoder_variable_selection` over the past features, conditioned on c_sel.
    public let encoderVariableSelection: VariableSelectionNetwork
    /// `decoder_variable_selection` over the future features (nil without any).
    public let decoderVariableSelection: VariableSelectionNetwork?
    /// `static_context_variable_selection`: s → c_sel.
    public let staticContextVariableSelection: GatedResidualNetwork
    /// `static_context_initial_hidden_lstm`: s → h0 of every LSTM layer.
    public let staticContextInitialHidden: GatedResidualNetwork
    /// `static_context_initial_cell_lstm`: s → c0 of every LSTM layer.
    public let staticContextInitialCell: GatedResidualNetwork
    /// `static_context_enrichment`: s → c_enr.
    public let staticContextEnrichment: GatedResidualNetwork
    /// `lstm_encoder` and `lstm_decoder` (`lstmLayers` layers each).
    public let lstmEncoder: TFTLSTMStack, lstmDecoder: TFTLSTMStack
    /// Shared by encoder and decoder outputs (as in pytorch-forecasting).
    public let postLSTMGate: GatedLinearUnit
    /// `post_lstm_add_norm_encoder` (shared by encoder and decoder).
    public let postLSTMAddNorm: AddNorm
    /// `static_enrichment`: GRN over every step with context c_enr.
    public let staticEnrichment: GatedResidualNetwork
    /// `multihead_attn`.
    public let attention: InterpretableMultiHeadAttention
    /// `post_attn_gate_norm`.
    public let postAttentionGateNorm: GateAddNorm
    /// `pos_wise_ff`.
    public let positionWiseFeedForward: GatedResidualNetwork
    /// `pre_output_gate_norm` (no dropout).
    public let preOutputGateNorm: GateAddNorm
    /// `output_layer`: d → Q quantiles.
    public let outputLayer: Linear

    /// Builds and initializes the network (parameters registered in pytorch-forecasting's module order).
    public init(_ config: TFTConfig, seed: UInt64) {
        let errors = config.validationErrors()
        precondition(errors.isEmpty, "TFT config: " + errors.joined(separator: "; "))
        self.config = config
        let store = ParameterStore()
        self.store = store
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        let d = config.hidden, hc = config.hiddenContinuous, dropout = config.dropout

        let inputs = TFTInputLayers(store, statics: config.statics, pastNames: config.pastNames,
                                    futureNames: config.futureNames, hidden: d, hiddenContinuous: hc, dropout: dropout,
                                    skip: config.grnSkip, embeddingSize: { config.embeddingSize(of: $0) }, rng: &rng)
        (staticEmbeddings, prescalers) = (inputs.staticEmbeddings, inputs.prescalers)
        staticVariableSelection = inputs.staticVariableSelection
        encoderVariableSelection = inputs.encoderVariableSelection
        decoderVariableSelection = inputs.decoderVariableSelection

        func grn(_ name: String, context: Int? = nil) -> GatedResidualNetwork {
            GatedResidualNetwork(store, name, inputSize: d, hiddenSize: d, outputSize: d, dropout: dropout,
                                 contextSize: context, skip: config.grnSkip, rng: &rng)
        }
        staticContextVariableSelection = grn("static_context_variable_selection")
        staticContextInitialHidden = grn("static_context_initial_hidden_lstm")
        staticContextInitialCell = grn("static_context_initial_cell_lstm")
        staticContextEnrichment = grn("static_context_enrichment")
        lstmEncoder = TFTLSTMStack(store, "lstm_encoder", inputSize: d, hiddenSize: d, layers: config.lstmLayers,
                                   dropout: dropout, rng: &rng)
        lstmDecoder = TFTLSTMStack(store, "lstm_decoder", inputSize: d, hiddenSize: d, layers: config.lstmLayers,
                                   dropout: dropout, rng: &rng)
        postLSTMGate = GatedLinearUnit(store, "post_lstm_gate_encoder", inputSize: d, dropout: dropout, rng: &rng)
        postLSTMAddNorm = AddNorm(store, "post_lstm_add_norm_encoder", inputSize: d, trainableAdd: false)
        staticEnrichment = grn("static_enrichment", context: d)
        attention = InterpretableMultiHeadAttention(store, "multihead_attn", heads: config.heads, modelSize: d,
                                                    dropout: dropout, rng: &rng)
        postAttentionGateNorm = GateAddNorm(store, "post_attn_gate_norm", inputSize: d, trainableAdd: false,
                                            dropout: dropout, rng: &rng)
        positionWiseFeedForward = grn("pos_wise_ff")
        preOutputGateNorm = GateAddNorm(store, "pre_output_gate_norm", inputSize: d, trainableAdd: false,
                                        dropout: nil, rng: &rng)
        outputLayer = Linear(store, "output_layer", inFeatures: d, outFeatures: config.quantiles.count, rng: &rng)
    }

    /// The forward pass: past (B, L, P), future (B, H, F), statics (B, S) (categorical columns hold
    /// category indices; no gradient flows into them).
    public func callAsFunction(past: Var, future: Var, statics: Var, _ p: BoundParameters) -> TFTOutput {
        let g = past.graph
        let (sp, sf, ss) = (past.shape, future.shape, statics.shape)
        let (P, F, S) = (config.pastNames.count, config.futureNames.count, config.statics.count)
        precondition(sp.count == 3 && sp[2] == P && sp[1] >= 1,
                     "TFT: past \(sp) must be (B, L ≥ 1, \(P)) for past features \(config.pastNames)")
        let (b, l) = (sp[0], sp[1])
        precondition(sf.count == 3 && sf[0] == b && sf[2] == F && sf[1] >= 1,
                     "TFT: future \(sf) must be (B = \(b), H ≥ 1, \(F)) for future features \(config.futureNames)")
        precondition(ss == [b, S], "TFT: statics \(ss) must be (B = \(b), \(S)) for static features \(config.statics.map(\.name))")
        let h = sf[1], d = config.hidden

        // Static covariates → s (B, d) and the four static contexts.
        let staticEmbedding: Var, staticWeights: Var
        if let vsn = staticVariableSelection {
            let xs = TFTStaticInputs.columns(statics, inputs: config.statics, embeddings: staticEmbeddings, model: "TFT", p)
            (staticEmbedding, staticWeights) = vsn(xs, p)
        } else {
            staticEmbedding = g.constant(Tensor(zeros: [b, d]))
            staticWeights = g.constant(Tensor(zeros: [b, 0]))
        }
        let contextSelection = staticContextVariableSelection(staticEmbedding, p)

        // Variable selection over time (static context broadcast over steps).
        func columns(_ x: Var, _ n: Int) -> [Var] { (0..<n).map { g.slice(x, axis: 2, range: $0..<($0 + 1)) } }
        let (encoderEmbedding, encoderWeights) = encoderVariableSelection(columns(past, P), context: contextSelection, p)
        let decoderEmbedding: Var, decoderWeights: Var
        if let vsn = decoderVariableSelection {
            (decoderEmbedding, decoderWeights) = vsn(columns(future, F), context: contextSelection, p)
        } else {
            decoderEmbedding = g.constant(Tensor(zeros: [b, h, d]))
            decoderWeights = g.constant(Tensor(zeros: [b, h, 0]))
        }

        // LSTM encoder–decoder, initialized from the static encoders in every layer.
        let layers = config.lstmLayers
        let h0 = staticContextInitialHidden(staticEmbedding, p), c0 = staticContextInitialCell(staticEmbedding, p)
        let encoder = lstmEncoder(encoderEmbedding, h0: Array(repeating: h0, count: layers),
                                  c0: Array(repeating: c0, count: layers), p)
        let decoder = lstmDecoder(decoderEmbedding, h0: encoder.h, c0: encoder.c, p)

        // Gated skip over the LSTMs, static enrichment, attention with decoder queries.
        let lstmOutput = postLSTMAddNorm(postLSTMGate(g.concat([encoder.output, decoder.output], axis: 1), p),
                                         skip: g.concat([encoderEmbedding, decoderEmbedding], axis: 1), p)
        let enriched = staticEnrichment(lstmOutput, context: staticContextEnrichment(staticEmbedding, p), p)
        let queries = g.slice(enriched, axis: 1, range: l..<(l + h))
        let attended = attention(q: queries, k: enriched, v: enriched, mask: config.attentionMask, p)
        let gated = postAttentionGateNorm(attended.output, skip: queries, p)
        let output = preOutputGateNorm(positionWiseFeedForward(gated, p), skip: g.slice(lstmOutput, axis: 1, range: l..<(l + h)), p)
        return TFTOutput(prediction: outputLayer(output, p), staticWeights: staticWeights, encoderWeights: encoderWeights,
                         decoderWeights: decoderWeights, attention: attended.weights)
    }
}
