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

import CGMData
import Models

extension ModelRegistry {
    /// The keys of `model.name: gluformer`.
    static let gluformerKeys = ["name", "d_model", "heads", "layers", "feed_forward", "dropout", "norm", "activation", "diet_tokens",
                                "residual"]

    /// GluFormer's spec.
    static let gluformer = ModelSpec(
        name: "gluformer",
        summary: "GluFormer decoder-only transformer over glucose tokens (next-token pretraining; data.preset: gluformer)",
        parse: { m in
            try m.rejectUnknown(gluformerKeys, context: " for model gluformer")
            let d = try m.int("d_model", in: 1 ... 16384) ?? 64
            let heads = try m.int("heads", in: 1 ... 1024) ?? 4
            guard d % heads == 0 else { throw m.error("heads", "must divide d_model = \(d) (got \(heads))") }
            let layers = try m.int("layers", in: 1 ... 256) ?? 2
            let ff = try m.int("feed_forward", in: 1 ... 65536) ?? 128
            let dropout = try m.double("dropout", "in [0, 1)", { (0 ..< 1).contains($0) }) ?? 0.1
            let norm = try m.string("norm") ?? "post"
            guard let n = GluFormerConfig.Norm(rawValue: norm) else { throw m.error("norm", "must be post or pre (got '\(norm)')") }
            let activation = try m.string("activation") ?? "relu"
            guard let a = GluFormerConfig.Activation(rawValue: activation) else {
                throw m.error("activation", "must be relu or gelu (got '\(activation)')")
            }
            let diet = try m.bool("diet_tokens") ?? true
            let residual = try m.bool("residual") ?? true
            return ModelConfig(
                name: "gluformer",
                node: .map([("name", .string("gluformer")), ("d_model", .int(d)), ("heads", .int(heads)),
                            ("layers", .int(layers)), ("feed_forward", .int(ff)), ("dropout", .double(dropout)),
                            ("norm", .string(norm)), ("activation", .string(activation)),
                            ("diet_tokens", .scalar(diet ? "true" : "false")), ("residual", .bool(residual))]),
                values: ["d_model": Double(d), "heads": Double(heads), "layers": Double(layers), "feed_forward": Double(ff),
                         "dropout": dropout, "norm": n == .pre ? 1 : 0, "activation": a == .gelu ? 1 : 0,
                         "diet_tokens": diet ? 1 : 0, "residual": residual ? 1 : 0])
        },
        build: { config, shape, seed in
            let want = [shape.history + shape.horizon]
            guard shape.extras["tokens"] == want else {
                throw ModelBuildError(description: "model gluformer needs extras/tokens of per-window shape \(want) in the "
                    + "dataset (got " + (shape.extras["tokens"].map { "\($0)" } ?? "none")
                    + "); prepare it with data.preset: gluformer")
            }
            var network = gluformerConfig(config, maxLength: want[0])
            if let diet = shape.extras["diet"], config.values["diet_tokens"] != 0 {
                guard diet.count == 2, diet[0] == want[0], diet[1] >= 1 else {
                    throw ModelBuildError(description: "model gluformer: extras/diet must have per-window shape [\(want[0]), N] (got \(diet))")
                }
                network.dietSlots = diet[1]
                network.dietVocabulary = diet[1] * DietBins.binsPerNutrient
            }
            return GluFormerForecaster(network, history: shape.history,
                                       horizon: shape.horizon,
                                       scaledCGMColumn: shape.pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled), seed: seed)
        })

    /// The network settings of a parsed `model:` section for sequences of `maxLength` tokens.
    public static func gluformerConfig(_ config: ModelConfig, maxLength: Int) -> GluFormerConfig {
        let v = config.values
        var network = GluFormerConfig(dModel: Int(v["d_model"]!), heads: Int(v["heads"]!), layers: Int(v["layers"]!),
                                      feedForward: Int(v["feed_forward"]!), dropout: Float(v["dropout"]!),
                                      norm: v["norm"] == 1 ? .pre : .post, activation: v["activation"] == 1 ? .gelu : .relu,
                                      maxLength: maxLength)
        network.residual = v["residual"] == 1
        return network
    }
}
