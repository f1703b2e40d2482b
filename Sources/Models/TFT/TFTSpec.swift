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

import CGMSchema
import Config

/// The hyperparameters of `tft` (SSM-CGM A.9, Table 4).
public struct TFTSpec: ModelSpec {
    public static let name = "tft"
    public static let summary = "Temporal Fusion Transformer (pytorch-forecasting architecture), SSM-CGM's baseline; QuantileLoss"
    /// Every default.
    public static let defaults = TFTSpec()
    /// Model width d_model (`hidden_size`).
    public var hidden = 128
    /// Attention heads (`attention_head_size`); when not given, min(this, hidden).
    public var heads = 8
    /// Layers of each of the encoder and decoder LSTMs (`lstm_layers`).
    public var lstmLayers = 4
    /// Dropout everywhere pytorch-forecasting applies it.
    public var dropout = 0.2
    /// Width of a real variable's prescaled embedding (`hidden_continuous_size`, pytorch-forecasting default 8).
    public var hiddenContinuous = 8
    /// QuantileLoss levels; the median is the point forecast.
    public var quantiles = [0.1, 0.5, 0.9]
    /// Quantiles of the standardized change from the last glucose (TargetSpace); false: of eq. 11-scaled glucose,
    /// as SSM-CGM's TFT.
    public var residual = true

    public var keys: [ConfigKey<TFTSpec>] {
        [.int("hidden", \.hidden, 1...4096), .int("heads", \.heads, 1...4096), .int("lstm_layers", \.lstmLayers, 1...64),
         .dropout(\.dropout), .int("hidden_continuous", \.hiddenContinuous, 1...4096), .quantiles(\.quantiles),
         .residual(\.residual)]
    }

    public mutating func validate(_ m: ConfigMap) throws {
        if !m.has("heads") { heads = min(heads, hidden) }
        if heads > hidden { throw m.error("heads", "must be ≤ \(hidden) (got \(heads))") }
    }

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        let c = TFTConfig(pastNames: shape.pastFeatures, futureNames: shape.futureFeatures,
                          statics: try TFTConfig.StaticInput.inputs(of: shape, model: Self.name), spec: self)
        let errors = c.validationErrors()
        guard errors.isEmpty else {
            throw ModelBuildError("model tft cannot be built for this dataset: " + errors.joined(separator: "; "))
        }
        return TFTModel(c, targetSpace: try shape.targetSpace(residual: residual, model: Self.name), seed: seed)
    }
}

extension TFTConfig.StaticInput {
    /// The static inputs of a dataset (categorical with the spec's cardinality, or real); an error when the
    /// dataset records no feature spec for its statics.
    public static func inputs(of shape: DatasetShape, model: String) throws -> [TFTConfig.StaticInput] {
        if shape.staticFeatures.isEmpty { return [] }
        guard shape.staticCardinalities.count == shape.staticFeatures.count else {
            throw ModelBuildError("model \(model) needs the kinds of the static features "
                                  + "\(shape.staticFeatures) (categorical cardinalities), but the dataset's manifest "
                                  + "records no matching feature spec; prepare it again with this cgmtrain version")
        }
        return zip(shape.staticFeatures, shape.staticCardinalities).map { name, cardinality in
            cardinality.map { .categorical(name, cardinality: $0) } ?? .real(name)
        }
    }
}
