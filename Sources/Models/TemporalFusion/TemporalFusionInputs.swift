// The input side TFT and SSM-CGM share (SSM-CGM Figure 1 / A.4 keeps TFT's inputs): static categorical
// embeddings, one prescaler Linear(1 → hiddenContinuous) per real variable, the static, encoder and decoder
// Variable Selection Networks (eqs. 7–14) and the static covariate encoders, registered in pytorch-forecasting's
// module order so both networks draw their initial values from the generator in the same sequence:
//
//   statics (B, S) → embeddings (categoricals) / prescalers (reals) → static VSN → s (B, d), α_static (B, S)
//   c_sel = GRN_sel(s), the model's own encoders (TFT: c_h, c_c; SSM-CGM: c_seq), c_enr = GRN_enr(s)
//   past (B, L, P) → encoder VSN(· | c_sel) → ξ_enc (B, L, d), α_enc (B, L, P);  future likewise → ξ_dec
//
// No statics: s = 0 (pytorch-forecasting's zeros static embedding). A categorical static column holds
// category indices; no gradient flows into them.

import CGMSchema
import CGMTensor
import Layers

/// Static embeddings, prescalers, the three Variable Selection Networks and the static covariate encoders of
/// a TFT-style network.
public struct TemporalFusionInputs {
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
    /// The model's own static encoders, in the order their names were given.
    public let staticContexts: [GatedResidualNetwork]
    /// `static_context_enrichment`: s → c_enr.
    public let staticContextEnrichment: GatedResidualNetwork
    /// The static columns, the model width and the model's name (for messages).
    let statics: [StaticInput], width: Int, model: String
    /// The past and future feature names (for messages and column counts).
    let pastNames: [String], futureNames: [String]

    /// Registers the layers in `store`: inputs, c_sel, the encoders named `staticContexts`, c_enr.
    public init(_ store: ParameterStore, config: some TemporalFusionConfig, staticContexts names: [String], model: String,
                rng: inout PhiloxGenerator) {
        let (d, hc, dropout, skip) = (config.width, config.hiddenContinuous, config.dropout, config.grnSkip)
        (statics, width, self.model) = (config.statics, d, model)
        (pastNames, futureNames) = (config.pastNames, config.futureNames)
        staticEmbeddings = config.statics.map { s in
            s.cardinality.map {
                Embedding(store, "input_embeddings.embeddings.\(s.name)", count: $0, dimension: config.embeddingSize(of: s)!,
                          rng: &rng)
            }
        }
        var scalers: [String: Linear] = [:]
        for name in config.statics.filter({ $0.cardinality == nil }).map(\.name) + config.pastNames + config.futureNames
        where scalers[name] == nil {
            scalers[name] = Linear(store, "prescalers.\(name)", inFeatures: 1, outFeatures: hc, rng: &rng)
        }
        prescalers = scalers

        let staticInputs: [VariableSelectionNetwork.Input] = config.statics.map {
            $0.cardinality == nil ? .real($0.name, size: hc) : .embedding($0.name, size: config.embeddingSize(of: $0)!)
        }
        staticVariableSelection = staticInputs.isEmpty ? nil : VariableSelectionNetwork(
            store, "static_variable_selection", inputs: staticInputs, hiddenSize: d, dropout: dropout,
            prescalers: scalers, skip: skip, rng: &rng)
        encoderVariableSelection = VariableSelectionNetwork(
            store, "encoder_variable_selection", inputs: config.pastNames.map { .real($0, size: hc) }, hiddenSize: d,
            dropout: dropout, contextSize: d, prescalers: scalers, skip: skip, rng: &rng)
        decoderVariableSelection = config.futureNames.isEmpty ? nil : VariableSelectionNetwork(
            store, "decoder_variable_selection", inputs: config.futureNames.map { .real($0, size: hc) }, hiddenSize: d,
            dropout: dropout, contextSize: d, prescalers: scalers, skip: skip, rng: &rng)

        func grn(_ name: String) -> GatedResidualNetwork {
            GatedResidualNetwork(store, name, inputSize: d, hiddenSize: d, outputSize: d, dropout: dropout, skip: skip, rng: &rng)
        }
        staticContextVariableSelection = grn("static_context_variable_selection")
        staticContexts = names.map(grn)
        staticContextEnrichment = grn("static_context_enrichment")
    }

    // MARK: Forward

    /// Checks a forward pass's inputs past (B, L ≥ 1, P), future (B, H ≥ 1, F), statics (B, S) against the
    /// config; returns B, L, H.
    public func checkShapes(past: Var, future: Var, statics: Var) -> (b: Int, l: Int, h: Int) {
        let (sp, sf, ss) = (past.shape, future.shape, statics.shape)
        let (P, F, S) = (pastNames.count, futureNames.count, self.statics.count)
        precondition(sp.count == 3 && sp[2] == P && sp[1] >= 1,
                     "\(model): past \(sp) must be (B, L ≥ 1, \(P)) for past features \(pastNames)")
        let b = sp[0]
        precondition(sf.count == 3 && sf[0] == b && sf[2] == F && sf[1] >= 1,
                     "\(model): future \(sf) must be (B = \(b), H ≥ 1, \(F)) for future features \(futureNames)")
        precondition(ss == [b, S], "\(model): statics \(ss) must be (B = \(b), \(S)) for static features \(self.statics.map(\.name))")
        return (b, sp[1], sf[1])
    }

    /// Static covariates (B, S) → s (B, d) and α_static (B, S) (no statics: zeros).
    public func staticEmbedding(_ statics: Var, _ p: BoundParameters) -> (embedding: Var, weights: Var) {
        guard let vsn = staticVariableSelection else {
            let g = statics.graph, b = statics.shape[0]
            return (g.constant(Tensor(zeros: [b, width])), g.constant(Tensor(zeros: [b, 0])))
        }
        let (embedding, weights) = vsn(staticColumns(statics, p), p)
        return (embedding, weights)
    }

    /// Encoder VSN over past rows (B, n, P) → ξ_enc (B, n, d), α_enc (B, n, P); position-wise.
    public func selectEncoder(_ past: Var, context: Var, _ p: BoundParameters) -> (Var, Var) {
        encoderVariableSelection(Self.columns(past), context: context, p)
    }

    /// Decoder VSN over future rows (B, H, F) → ξ_dec (B, H, d), α_dec (B, H, F); nil without future features.
    public func selectDecoder(_ future: Var, context: Var, _ p: BoundParameters) -> (Var, Var)? {
        decoderVariableSelection.map { $0(Self.columns(future), context: context, p) }
    }

    /// The columns of x (B, T, n) as n inputs (B, T, 1).
    static func columns(_ x: Var) -> [Var] {
        (0..<x.shape[2]).map { x.graph.slice(x, axis: 2, range: $0..<($0 + 1)) }
    }

    /// The static VSN's inputs from a (B, S) statics tensor (SSM-CGM A.6 eq. 7): a categorical column (category
    /// indices) → its embedding (B, E); a real column → the column (B, 1), which the VSN prescales.
    func staticColumns(_ x: Var, _ p: BoundParameters) -> [Var] {
        let g = x.graph, values = x.value
        let (b, s) = (x.shape[0], statics.count)
        return statics.enumerated().map { j, input in
            guard let embedding = staticEmbeddings[j], let cardinality = input.cardinality else {
                return g.slice(x, axis: 1, range: j..<(j + 1))   // (B, 1)
            }
            let indices = (0..<b).map { row -> Int in
                let v = values.pointer[row * s + j]
                precondition(v.rounded() == v && v >= 0 && Int(v) < cardinality,
                             "\(model): static '\(input.name)' (column \(j)) of batch row \(row) is \(v), not a category index in 0..<\(cardinality)")
                return Int(v)
            }
            return embedding(indices, p)   // (B, E)
        }
    }
}

extension Batch {
    /// The past (B, L, P), future (B, H, F) and static (B, S) inputs of a TFT-style network on `g`, after checking
    /// the batch's column counts against `config`'s (`model` names it in the message).
    func temporalFusionInputs(_ g: Graph, _ config: some TemporalFusionConfig, model: String)
        -> (past: Var, future: Var, statics: Var) {
        let (past, future, statics) = (config.pastNames.count, config.futureNames.count, config.statics.count)
        precondition(pastFeatureCount == past && futureFeatureCount == future && staticFeatureCount == statics,
                     "\(model): batch has \(pastFeatureCount) past, \(futureFeatureCount) future and "
                     + "\(staticFeatureCount) static features; the model was built for \(past), \(future) and \(statics)")
        return (g.constant(pastTensor), g.constant(futureTensor), g.constant(Tensor(shape: staticsShape, scalars: self.statics)))
    }
}
