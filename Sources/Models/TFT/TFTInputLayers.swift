// The input side TFT and SSM-CGM share (SSM-CGM Figure 1 / A.4 keeps TFT's inputs): static categorical
// embeddings, one prescaler Linear(1 → hiddenContinuous) per real variable, and the static, encoder and
// decoder Variable Selection Networks (eqs. 7–14), registered in pytorch-forecasting's module order so both
// networks draw their initial values from the generator in the same sequence.

import CGMSchema
import CGMTensor
import Layers

/// Static embeddings, prescalers and the three Variable Selection Networks of a TFT-style network.
public struct TFTInputLayers {
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

    /// Registers the layers in `store`. `embeddingSize` gives a categorical static's embedding width.
    public init(_ store: ParameterStore, statics: [TFTConfig.StaticInput], pastNames: [String], futureNames: [String],
                hidden d: Int, hiddenContinuous hc: Int, dropout: Float, skip: GatedResidualNetwork.Skip,
                embeddingSize: (TFTConfig.StaticInput) -> Int?, rng: inout PhiloxGenerator) {
        staticEmbeddings = statics.map { s in
            s.cardinality.map {
                Embedding(store, "input_embeddings.embeddings.\(s.name)", count: $0, dimension: embeddingSize(s)!, rng: &rng)
            }
        }
        var scalers: [String: Linear] = [:]
        for name in statics.filter({ $0.cardinality == nil }).map(\.name) + pastNames + futureNames where scalers[name] == nil {
            scalers[name] = Linear(store, "prescalers.\(name)", inFeatures: 1, outFeatures: hc, rng: &rng)
        }
        prescalers = scalers

        let staticInputs: [VariableSelectionNetwork.Input] = statics.map {
            $0.cardinality == nil ? .real($0.name, size: hc) : .embedding($0.name, size: embeddingSize($0)!)
        }
        staticVariableSelection = staticInputs.isEmpty ? nil : VariableSelectionNetwork(
            store, "static_variable_selection", inputs: staticInputs, hiddenSize: d, dropout: dropout,
            prescalers: scalers, skip: skip, rng: &rng)
        encoderVariableSelection = VariableSelectionNetwork(
            store, "encoder_variable_selection", inputs: pastNames.map { .real($0, size: hc) }, hiddenSize: d,
            dropout: dropout, contextSize: d, prescalers: scalers, skip: skip, rng: &rng)
        decoderVariableSelection = futureNames.isEmpty ? nil : VariableSelectionNetwork(
            store, "decoder_variable_selection", inputs: futureNames.map { .real($0, size: hc) }, hiddenSize: d,
            dropout: dropout, contextSize: d, prescalers: scalers, skip: skip, rng: &rng)
    }
}

extension Batch {
    /// The past (B, L, P), future (B, H, F) and static (B, S) inputs of a TFT-style network on `g`, after checking
    /// the batch's column counts against those `model` was built for.
    func tftInputs(_ g: Graph, past: Int, future: Int, statics: Int, model: String) -> (past: Var, future: Var, statics: Var) {
        precondition(pastFeatureCount == past && futureFeatureCount == future && staticFeatureCount == statics,
                     "\(model): batch has \(pastFeatureCount) past, \(futureFeatureCount) future and "
                     + "\(staticFeatureCount) static features; the model was built for \(past), \(future) and \(statics)")
        return (g.constant(pastTensor), g.constant(futureTensor), g.constant(Tensor(shape: staticsShape, scalars: self.statics)))
    }
}
