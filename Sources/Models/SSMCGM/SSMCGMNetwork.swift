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
public struct SSMCGMOutput: TemporalFusionOutput {
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
public struct SSMCGMNetwork: TemporalFusionNetwork {
    /// Registry name of the model.
    public static let modelName = "ssm_cgm"
    /// Sizes and inputs.
    public let config: SSMCGMConfig
    /// The parts: inputs with the static encoders c_sel, c_seq, c_enr; core = `mamba_stack` (`depth` pre-LayerNorm
    /// residual Mamba-2 blocks with dropout and a final LayerNorm); `post_mamba_gate` and `post_mamba_add_norm`
    /// (TFT's post-LSTM gate over the stack) with `static_enrichment`; mixer = `light_mamba`, the Mamba-2 block in
    /// place of the attention; the head after `post_light_mamba_gate_norm`.
    public let scaffold: TemporalFusionScaffold<MambaStack, Mamba2Block>
    /// `decoder_query` (d): the decoder-step input when there are no future features (nil otherwise).
    public let decoderQuery: ParameterID?

    /// Builds and initializes the network (TFT parts initialized as pytorch-forecasting, Mamba parts as mamba_ssm).
    public init(_ config: SSMCGMConfig, seed: UInt64) {
        self.config = config
        var rng = PhiloxGenerator(seed: seed, stream: 1)
        scaffold = TemporalFusionScaffold(
            config: config, model: "SSM-CGM",
            names: (["static_context_sequence"], "post_mamba_gate", "post_mamba_add_norm", "post_light_mamba_gate_norm"),
            rng: &rng,
            core: { store, rng in
                MambaStack(store, "mamba_stack", config: config.stackMamba, depth: config.depth, norm: .layerNorm,
                           dropout: config.dropout, finalNorm: true, rng: &rng)
            },
            mixer: { store, rng in Mamba2Block(store, "light_mamba", config: config.lightMamba, rng: &rng) })
        // Drawn last, so models with future features keep every other draw.
        decoderQuery = config.futureNames.isEmpty
            ? scaffold.store.add("decoder_query", Initializers.normal([config.width], rng: &rng)) : nil
    }

    /// The Mamba stack (the scaffold's core).
    public var stack: MambaStack { scaffold.core }
    /// The light Mamba (the scaffold's mixer).
    public var lightMamba: Mamba2Block { scaffold.mixer }
    /// `static_context_sequence`: s → c_seq, added to the stack's inputs.
    public var staticContextSequence: GatedResidualNetwork { scaffold.inputs.staticContexts[0] }

    /// The forward pass: past (B, L, P), future (B, H, F), statics (B, S) (categorical columns hold
    /// category indices; no gradient flows into them).
    public func callAsFunction(past: Var, future: Var, statics: Var, _ p: BoundParameters) -> SSMCGMOutput {
        let g = past.graph
        let (_, l, h) = scaffold.inputs.checkShapes(past: past, future: future, statics: statics)

        let c = staticContexts(statics, p)
        let (encoderEmbedding, encoderWeights) = selectEncoder(past, c)
        let (decoderEmbedding, decoderWeights) = selectDecoder(future, c)

        // Mamba stack over encoder + decoder positions, the static context added to every step's input.
        let selected = g.concat([encoderEmbedding, decoderEmbedding], axis: 1)          // ξ (B, L + H, d)
        let stackInput = selected + g.unsqueeze(staticContextSequence(c.embedding, p), axis: 1)
        let stackOutput = stack(stackInput, p)
        let temporal = scaffold.enrichment.temporal(stackOutput, skip: selected, p)   // φ
        let enriched = scaffold.enrichment.enrich(temporal, context: scaffold.inputs.staticContextEnrichment(c.embedding, p), p)   // θ

        // Light Mamba over all steps (read at the decoder steps), gated skips, head.
        let mixed = g.slice(lightMamba(enriched, p), axis: 1, range: l..<(l + h))
        let prediction = scaffold.head(mixed, enriched: g.slice(enriched, axis: 1, range: l..<(l + h)),
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
        let inputs = scaffold.inputs, (embedding, weights) = inputs.staticEmbedding(statics, p)
        return SSMCGMStaticContexts(embedding: embedding, weights: weights,
                                    selection: inputs.staticContextVariableSelection(embedding, p), parameters: p)
    }

    /// Encoder VSN over past rows (B, n, P) → ξ_enc (B, n, d), α_enc (B, n, P); position-wise.
    public func selectEncoder(_ past: Var, _ c: SSMCGMStaticContexts) -> (Var, Var) {
        scaffold.inputs.selectEncoder(past, context: c.selection, c.parameters)
    }

    /// Decoder VSN over future rows (B, H, F) → ξ_dec (B, H, d), α_dec (B, H, F) (no future features: the
    /// learned query at every step, no weights).
    public func selectDecoder(_ future: Var, _ c: SSMCGMStaticContexts) -> (Var, Var) {
        if let selected = scaffold.inputs.selectDecoder(future, context: c.selection, c.parameters) { return selected }
        let (g, b, h) = (future.graph, future.shape[0], future.shape[1])
        let query = g.add(g.constant(Tensor(zeros: [b, h, config.width])), c.parameters[decoderQuery!])
        return (query, g.constant(Tensor(zeros: [b, h, 0])))
    }
}
