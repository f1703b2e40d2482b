// SSM-CGM (Isaac, Collin & Patel 2025, Figure 1 and A.4): the Temporal Fusion Transformer's interface —
// embeddings, static covariate encoders, VSNs, GRNs, gating, static enrichment, quantile head — with its
// LSTM encoder–decoder replaced by a stack of residual Mamba-2 blocks over the encoder + decoder positions
// and its attention replaced by one light Mamba-2 block. Shapes for B windows, L past and H horizon steps,
// d = d_model:
//
//   statics (B, S) → embeddings / prescalers → static VSN → s: (B, d), α_static (B, S)          (A.6 eqs. 7–10)
//   c_sel, c_seq, c_enr = GRN_sel(s), GRN_seq(s), GRN_enr(s): (B, d)            (static covariate encoders)
//   past (B, L, P) → prescalers → encoder VSN(· | c_sel) → ξ_enc (B, L, d), α_enc (B, L, P)      (eqs. 11–14)
//   future (B, H, F) → prescalers → decoder VSN(· | c_sel) → ξ_dec (B, H, d), α_dec (B, H, F)
//   ξ = [ξ_enc; ξ_dec]: (B, L + H, d);   u = ξ + c_seq (broadcast over the L + H steps)
//   m = MambaStack(u): h ← h + Dropout(Mamba2(LayerNorm(h))) × depth, then LayerNorm      (eqs. 15–16, 19–21)
//   φ = AddNorm(GLU(dropout(m)), ξ): (B, L + H, d)                        (post-temporal gate, TFT's post-LSTM gate)
//   θ = GRN_enrich(φ | c_enr): (B, L + H, d)                                        (static enrichment)
//   β = LightMamba(θ)[:, L:]: (B, H, d)                                   (replaces the interpretable attention)
//   δ = GateAddNorm(β, θ[:, L:]),  ψ = GRN_ff(δ),  ψ̃ = GateAddNorm(ψ, φ[:, L:]) (no dropout)
//   ŷ = Linear(ψ̃): (B, H, Q) quantiles of the scaled target
//
// Static context in the temporal processor. TFT initializes its LSTMs' (h0, c0) from two static encoders;
// a Mamba block has no per-sample initial state of that kind (its learnable initial state, Table 4, is a
// parameter shared by all samples, and a map s → (heads, headdim, d_state) per layer would dwarf the model).
// So SSM-CGM here has ONE static encoder for the temporal processor, c_seq = GRN_seq(s), ADDED to the
// stack's input at every encoder and decoder step (the TFT/LSTM pair h0/c0 becomes one GRN: three static
// context encoders instead of four). Every block therefore reads the subject's context at every step.
//
// Causality. Decoder positions L…L+H−1 carry only known-future covariates (ξ_dec from `future`) plus the
// static context; the glucose targets never enter. The stack and the light Mamba are causal (causal
// depthwise convolution + forward scan), and every other stage acts per position (VSNs, GRNs, gates,
// LayerNorm), so the stack's output at step t depends on inputs at steps ≤ t only, and decoder step i
// sees the whole encoder and the decoder inputs up to step i — TFT's causal decoder attention includes
// step i itself only in the paper's mask, but a Mamba output always includes its own step.
// No statics: s = 0. No future features: ξ_dec = q, one learned query vector (d, N(0, 1) like an embedding)
// at every decoder step. TFT feeds zeros there, but a zero Mamba input makes the in-projection's gate z = 0,
// so SiLU(z) = 0 silences every block at the decoder steps and the forecast could not read the history.

import CGMTensor
import Layers

/// Everything an SSM-CGM forward pass produces.
public struct SSMCGMOutput {
    /// Quantile predictions of the scaled target (B, H, Q).
    public var prediction: Var
    /// Static selection weights (B, S).
    public var staticWeights: Var
    /// Encoder selection weights (B, L, P).
    public var encoderWeights: Var
    /// Decoder selection weights (B, H, F).
    public var decoderWeights: Var
    /// Input of the Mamba stack u = ξ + c_seq, (B, L + H, d) (what the stack's hidden attention is taken on).
    public var stackInput: Var
    /// Output of the Mamba stack m, (B, L + H, d).
    public var stackOutput: Var
    /// Static enrichment θ, the light Mamba's input, (B, L + H, d).
    public var enriched: Var
}

/// The SSM-CGM network over a `ParameterStore` (TFT parts under pytorch-forecasting's names).
public struct SSMCGMNetwork {
    /// Sizes and inputs.
    public let config: SSMCGMConfig
    /// Every parameter.
    public let store: ParameterStore
    /// `input_embeddings.embeddings.<name>`, one per static column (nil for reals).
    public let staticEmbeddings: [Embedding?]
    /// `prescalers.<name>`: Linear(1 → hiddenContinuous) per real variable name.
    public let prescalers: [String: Linear]
    /// `static_variable_selection` (nil without statics).
    public let staticVariableSelection: VariableSelectionNetwork?
    /// `encoder_variable_selection`, conditioned on c_sel.
    public let encoderVariableSelection: VariableSelectionNetwork
    /// `decoder_variable_selection` (nil without future features).
    public let decoderVariableSelection: VariableSelectionNetwork?
    /// `decoder_query` (d): the decoder-step input when there are no future features (nil otherwise).
    public let decoderQuery: ParameterID?
    /// `static_context_variable_selection`: s → c_sel.
    public let staticContextVariableSelection: GatedResidualNetwork
    /// `static_context_sequence`: s → c_seq, added to the stack's inputs.
    public let staticContextSequence: GatedResidualNetwork
    /// `static_context_enrichment`: s → c_enr.
    public let staticContextEnrichment: GatedResidualNetwork
    /// `mamba_stack`: `depth` pre-LayerNorm residual Mamba-2 blocks with dropout and a final LayerNorm.
    public let stack: MambaStack
    /// `post_mamba_gate` and `post_mamba_add_norm`: TFT's post-LSTM gate over the stack.
    public let postStackGate: GatedLinearUnit
    /// See `postStackGate`.
    public let postStackAddNorm: AddNorm
    /// `static_enrichment`: GRN over every step with context c_enr.
    public let staticEnrichment: GatedResidualNetwork
    /// `light_mamba`: the Mamba-2 block in place of the attention.
    public let lightMamba: Mamba2Block
    /// `post_light_mamba_gate_norm`.
    public let postLightGateNorm: GateAddNorm
    /// `pos_wise_ff`.
    public let positionWiseFeedForward: GatedResidualNetwork
    /// `pre_output_gate_norm` (no dropout).
    public let preOutputGateNorm: GateAddNorm
    /// `output_layer`: d → Q quantiles.
    public let outputLayer: Linear

    /// Builds and initializes the network (TFT parts initialized as pytorch-forecasting, Mamba parts as mamba_ssm).
    public init(_ config: SSMCGMConfig, seed: UInt64) {
        let errors = config.validationErrors()
        precondition(errors.isEmpty, "SSM-CGM config: " + errors.joined(separator: "; "))
        self.config = config
        let store = ParameterStore()
        self.store = store
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        let d = config.dModel, hc = config.hiddenContinuous, dropout = config.dropout

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
        staticContextSequence = grn("static_context_sequence")
        staticContextEnrichment = grn("static_context_enrichment")
        stack = MambaStack(store, "mamba_stack", config: config.stackMamba, depth: config.depth, norm: .layerNorm,
                           dropout: dropout, finalNorm: true, rng: &rng)
        postStackGate = GatedLinearUnit(store, "post_mamba_gate", inputSize: d, dropout: dropout, rng: &rng)
        postStackAddNorm = AddNorm(store, "post_mamba_add_norm", inputSize: d, trainableAdd: false)
        staticEnrichment = grn("static_enrichment", context: d)
        lightMamba = Mamba2Block(store, "light_mamba", config: config.lightMamba, rng: &rng)
        postLightGateNorm = GateAddNorm(store, "post_light_mamba_gate_norm", inputSize: d, trainableAdd: false,
                                        dropout: dropout, rng: &rng)
        positionWiseFeedForward = grn("pos_wise_ff")
        preOutputGateNorm = GateAddNorm(store, "pre_output_gate_norm", inputSize: d, trainableAdd: false,
                                        dropout: nil, rng: &rng)
        outputLayer = Linear(store, "output_layer", inFeatures: d, outFeatures: config.quantiles.count, rng: &rng)
        // Drawn last, so models with future features keep every other draw.
        decoderQuery = config.futureNames.isEmpty ? store.add("decoder_query", Initializers.normal([d], rng: &rng)) : nil
    }

    /// The forward pass: past (B, L, P), future (B, H, F), statics (B, S) (categorical columns hold
    /// category indices; no gradient flows into them).
    public func callAsFunction(past: Var, future: Var, statics: Var, _ p: BoundParameters) -> SSMCGMOutput {
        let g = past.graph
        let (sp, sf, ss) = (past.shape, future.shape, statics.shape)
        let (P, F, S) = (config.pastNames.count, config.futureNames.count, config.statics.count)
        precondition(sp.count == 3 && sp[2] == P && sp[1] >= 1,
                     "SSM-CGM: past \(sp) must be (B, L ≥ 1, \(P)) for past features \(config.pastNames)")
        let (b, l) = (sp[0], sp[1])
        precondition(sf.count == 3 && sf[0] == b && sf[2] == F && sf[1] >= 1,
                     "SSM-CGM: future \(sf) must be (B = \(b), H ≥ 1, \(F)) for future features \(config.futureNames)")
        precondition(ss == [b, S], "SSM-CGM: statics \(ss) must be (B = \(b), \(S)) for static features \(config.statics.map(\.name))")
        let h = sf[1]

        let c = staticContexts(statics, p)
        let (encoderEmbedding, encoderWeights) = selectEncoder(past, c)
        let (decoderEmbedding, decoderWeights) = selectDecoder(future, c)

        // Mamba stack over encoder + decoder positions, the static context added to every step's input.
        let selected = g.concat([encoderEmbedding, decoderEmbedding], axis: 1)          // ξ (B, L + H, d)
        let stackInput = selected + g.unsqueeze(staticContextSequence(c.embedding, p), axis: 1)
        let stackOutput = stack(stackInput, p)
        let temporal = postStackAddNorm(postStackGate(stackOutput, p), skip: selected, p)   // φ
        let enriched = staticEnrichment(temporal, context: staticContextEnrichment(c.embedding, p), p)   // θ

        // Light Mamba over all steps (read at the decoder steps), gated skips, head.
        let mixed = g.slice(lightMamba(enriched, p), axis: 1, range: l..<(l + h))
        let prediction = head(mixed, enriched: g.slice(enriched, axis: 1, range: l..<(l + h)),
                              temporal: g.slice(temporal, axis: 1, range: l..<(l + h)), p)
        return SSMCGMOutput(prediction: prediction, staticWeights: c.weights, encoderWeights: encoderWeights,
                            decoderWeights: decoderWeights, stackInput: stackInput, stackOutput: stackOutput,
                            enriched: enriched)
    }
}

/// The static side of a forward pass: s, its selection weights and c_sel (c_seq = GRN_seq(s) and
/// c_enr = GRN_enr(s) are taken where used, keeping the forward's op order and so its dropout draws).
public struct SSMCGMStaticContexts {
    /// s (B, d) and α_static (B, S).
    public var embedding: Var, weights: Var
    /// c_sel (B, d).
    public var selection: Var
    /// The bound parameters they were computed with.
    public var parameters: BoundParameters
}

extension SSMCGMNetwork {
    /// Static covariates → s (B, d) and c_sel (no statics: s = 0).
    public func staticContexts(_ statics: Var, _ p: BoundParameters) -> SSMCGMStaticContexts {
        let g = statics.graph, b = statics.shape[0], d = config.dModel
        let embedding: Var, weights: Var
        if let vsn = staticVariableSelection {
            let xs = TFTStaticInputs.columns(statics, inputs: config.statics, embeddings: staticEmbeddings, model: "SSM-CGM", p)
            (embedding, weights) = vsn(xs, p)
        } else {
            embedding = g.constant(Tensor(zeros: [b, d]))
            weights = g.constant(Tensor(zeros: [b, 0]))
        }
        return SSMCGMStaticContexts(embedding: embedding, weights: weights, selection: staticContextVariableSelection(embedding, p),
                                    parameters: p)
    }

    /// Encoder VSN over past rows (B, n, P) → ξ_enc (B, n, d), α_enc (B, n, P); position-wise.
    public func selectEncoder(_ past: Var, _ c: SSMCGMStaticContexts) -> (Var, Var) {
        encoderVariableSelection(columns(past, config.pastNames.count), context: c.selection, c.parameters)
    }

    /// Decoder VSN over future rows (B, H, F) → ξ_dec (B, H, d), α_dec (B, H, F) (no future features: the
    /// learned query at every step, no weights).
    public func selectDecoder(_ future: Var, _ c: SSMCGMStaticContexts) -> (Var, Var) {
        guard let vsn = decoderVariableSelection else {
            let (g, b, h) = (future.graph, future.shape[0], future.shape[1])
            let query = g.add(g.constant(Tensor(zeros: [b, h, config.dModel])), c.parameters[decoderQuery!])
            return (query, g.constant(Tensor(zeros: [b, h, 0])))
        }
        return vsn(columns(future, config.futureNames.count), context: c.selection, c.parameters)
    }

    /// The head at the decoder steps (position-wise): δ = GateAddNorm(β, θ), ψ = GRN_ff(δ),
    /// ψ̃ = GateAddNorm(ψ, φ), ŷ = Linear(ψ̃) (B, H, Q).
    public func head(_ mixed: Var, enriched: Var, temporal: Var, _ p: BoundParameters) -> Var {
        let gated = postLightGateNorm(mixed, skip: enriched, p)
        return outputLayer(preOutputGateNorm(positionWiseFeedForward(gated, p), skip: temporal, p), p)
    }

    private func columns(_ x: Var, _ n: Int) -> [Var] {
        (0..<n).map { x.graph.slice(x, axis: 2, range: $0..<($0 + 1)) }
    }
}
