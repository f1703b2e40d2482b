// `model.name: tft`: the Temporal Fusion Transformer baseline of SSM-CGM (A.9), pytorch-forecasting's
// architecture, built for a prepared dataset's feature lists and static kinds (DatasetShape). Defaults are
// SSM-CGM Table 4:
//
//   model:
//     name: tft
//     hidden: 128                 # d_model (hidden_size)
//     heads: 8                    # attention heads (attention_head_size)
//     lstm_layers: 4              # layers of each of the encoder and decoder LSTMs
//     dropout: 0.2
//     hidden_continuous: 8        # prescaled width of each real variable (pytorch-forecasting default)
//     quantiles: [0.1, 0.5, 0.9]  # QuantileLoss levels; the median is the point forecast
//     residual: true              # quantiles of the standardized change from the last glucose (TargetSpace);
//                                 # false: of eq. 11-scaled glucose, as SSM-CGM's TFT

import CGMData
import Foundation
import Models

extension ModelRegistry {
    /// SSM-CGM's TFT baseline (A.9, Table 4).
    static let tft = ModelSpec(
        name: "tft",
        summary: "Temporal Fusion Transformer (pytorch-forecasting architecture), SSM-CGM's baseline; QuantileLoss",
        parse: { m in
            try m.rejectUnknown(["name", "hidden", "heads", "lstm_layers", "dropout", "hidden_continuous", "quantiles", "residual"],
                                context: " for model tft")
            let hidden = try m.int("hidden", in: 1...4096) ?? 128
            let heads = try m.int("heads", in: 1...hidden) ?? min(8, hidden)
            let layers = try m.int("lstm_layers", in: 1...64) ?? 4
            let dropout = try m.double("dropout", "in [0, 1)", { (0..<1).contains($0) }) ?? 0.2
            let continuous = try m.int("hidden_continuous", in: 1...4096) ?? 8
            let quantiles = try parseQuantiles(m)
            let residual = try m.bool("residual") ?? true
            return ModelConfig(
                name: "tft",
                node: .map([("name", .string("tft")), ("hidden", .int(hidden)), ("heads", .int(heads)),
                            ("lstm_layers", .int(layers)), ("dropout", .double(dropout)),
                            ("hidden_continuous", .int(continuous)),
                            ("quantiles", .list(quantiles.map(YAMLNode.formatDouble))), ("residual", .bool(residual))]),
                values: quantileValues(quantiles).merging(
                    ["hidden": Double(hidden), "heads": Double(heads), "lstm_layers": Double(layers), "dropout": dropout,
                     "hidden_continuous": Double(continuous), "residual": residual ? 1 : 0]) { a, _ in a })
        },
        build: { config, shape, seed in
            let v = config.values
            let c = TFTConfig(pastNames: shape.pastFeatures, futureNames: shape.futureFeatures,
                              statics: try staticInputs(shape, model: "tft"),
                              hidden: Int(v["hidden"]!), heads: Int(v["heads"]!), lstmLayers: Int(v["lstm_layers"]!),
                              dropout: Float(v["dropout"]!), hiddenContinuous: Int(v["hidden_continuous"]!),
                              quantiles: quantiles(v))
            let errors = c.validationErrors()
            guard errors.isEmpty else {
                throw ModelBuildError(description: "model tft cannot be built for this dataset: " + errors.joined(separator: "; "))
            }
            return TFTModel(c, targetSpace: try shape.targetSpace(residual: v["residual"]! != 0, model: "tft"), seed: seed)
        })

    // MARK: shared by the quantile models

    /// `quantiles`: a non-empty list of distinct levels in (0, 1), ascending; default [0.1, 0.5, 0.9].
    static func parseQuantiles(_ m: RunConfigMap) throws -> [Double] {
        guard m.has("quantiles") else { return [0.1, 0.5, 0.9] }
        guard let list = m.dict["quantiles"] as? [Any], !list.isEmpty else {
            throw m.error("quantiles", "must be a non-empty list of levels in (0, 1), e.g. [0.1, 0.5, 0.9]")
        }
        let levels = try list.enumerated().map { i, item -> Double in
            guard let q = RunConfigMap.number(item), q > 0, q < 1 else {
                throw m.error("quantiles", "item \(i) must be a number in (0, 1) (got \(RunConfigMap.describe(item)))")
            }
            return q
        }
        guard zip(levels, levels.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw m.error("quantiles", "must be strictly ascending (got \(levels.map(YAMLNode.formatDouble)))")
        }
        return levels
    }

    /// Quantile levels stored in `ModelConfig.values` as "quantile.0", "quantile.1", … (values are numbers only).
    static func quantileValues(_ levels: [Double]) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: levels.enumerated().map { ("quantile.\($0.offset)", $0.element) })
    }

    /// The levels stored by `quantileValues`.
    static func quantiles(_ values: [String: Double]) -> [Float] {
        (0...).lazy.map { values["quantile.\($0)"] }.prefix { $0 != nil }.map { Float($0!) }
    }

    /// The static inputs of a dataset (categorical with the spec's cardinality, or real); an error when the
    /// dataset records no feature spec for its statics.
    static func staticInputs(_ shape: DatasetShape, model: String) throws -> [TFTConfig.StaticInput] {
        if shape.staticFeatures.isEmpty { return [] }
        guard shape.staticCardinalities.count == shape.staticFeatures.count else {
            throw ModelBuildError(description: "model \(model) needs the kinds of the static features "
                                  + "\(shape.staticFeatures) (categorical cardinalities), but the dataset's manifest "
                                  + "records no matching feature spec; prepare it again with this cgmtrain version")
        }
        return zip(shape.staticFeatures, shape.staticCardinalities).map { name, cardinality in
            cardinality.map { .categorical(name, cardinality: $0) } ?? .real(name)
        }
    }
}
