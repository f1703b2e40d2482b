// `model.name: gluformer` (GluFormer, gluformer-readme): decoder-only transformer over glucose tokens, for
// datasets prepared with `data.preset: gluformer` (token windows, extras["tokens"] of L + H tokens).
//
//   model:
//     name: gluformer
//     d_model: 64          # paper 1024
//     heads: 4             # paper 16 (must divide d_model)
//     layers: 2            # paper 16
//     feed_forward: 128    # paper 2048
//     dropout: 0.1         # paper 0.1
//     norm: post           # post (nn.TransformerEncoderLayer default, the reference) | pre
//     activation: relu     # relu (nn.TransformerEncoderLayer default) | gelu
//     diet_tokens: true    # use the dataset's diet tokens when it has them (data.diet_tokens); false: glucose only
//     residual: true       # next-token logits biased by the offset from the current token, head zero-initialized
//                          # (untrained = persistence; GluFormerRelativeBias.swift); false: the reference's head
// The trained length (max_length) is the dataset's token window L + H; generation keeps its window within it.

import CGMSchema
import Config

/// The hyperparameters of `gluformer` (defaults: a small model that trains on 2 cores in minutes).
public struct GluFormerSpec: ModelSpec {
    public static let name = "gluformer"
    /// Every default.
    public static let defaults = GluFormerSpec()
    /// Model width d_model.
    public var dModel = 64
    /// Attention heads (must divide d_model).
    public var heads = 4
    /// Transformer blocks.
    public var layers = 2
    /// MLP hidden width.
    public var feedForward = 128
    /// Dropout probability.
    public var dropout = 0.1
    /// LayerNorm placement.
    public var norm = GluFormerConfig.Norm.post
    /// MLP activation.
    public var activation = GluFormerConfig.Activation.relu
    /// Use the dataset's diet tokens when it has them (data.diet_tokens); false: glucose only.
    public var dietTokens = true
    /// Residual head: a learned bias over the offset from the current token and a zero-initialized head, so an
    /// untrained model continues the last value (GluFormerRelativeBias.swift); false: the reference's head.
    public var residual = true

    public var keys: [ConfigKey<GluFormerSpec>] {
        [.int("d_model", \.dModel, 1 ... 16384), .int("heads", \.heads, 1 ... 1024), .int("layers", \.layers, 1 ... 256),
         .int("feed_forward", \.feedForward, 1 ... 65536), .dropout(\.dropout), .choice("norm", \.norm),
         .choice("activation", \.activation), .bool("diet_tokens", \.dietTokens), .bool("residual", \.residual)]
    }

    public func validate(_ m: ConfigMap) throws {
        guard dModel % heads == 0 else { throw m.error("heads", "must divide d_model = \(dModel) (got \(heads))") }
    }

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        let want = [shape.history + shape.horizon]
        guard shape.extras["tokens"] == want else {
            throw ModelBuildError("model gluformer needs extras/tokens of per-window shape \(want) in the dataset (got "
                                  + (shape.extras["tokens"].map { "\($0)" } ?? "none") + "); prepare it with data.preset: gluformer")
        }
        var network = GluFormerConfig(spec: self, maxLength: want[0])
        if let diet = shape.extras["diet"], dietTokens {
            guard diet.count == 2, diet[0] == want[0], diet[1] >= 1 else {
                throw ModelBuildError("model gluformer: extras/diet must have per-window shape [\(want[0]), N] (got \(diet))")
            }
            network.dietSlots = diet[1]
            network.dietVocabulary = diet[1] * DietBins.binsPerNutrient
        }
        return GluFormerForecaster(network, history: shape.history, horizon: shape.horizon,
                                   scaledCGMColumn: shape.pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled), seed: seed)
    }
}
