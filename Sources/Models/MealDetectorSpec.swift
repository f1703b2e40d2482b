// `model.name: meal_detector`: SSM-CGM Appendix A.2's meal detector (MealDetector.swift).
//
//   model:
//     name: meal_detector
//     channels: 16          # CNN channels (A.2: cout = 16); kernels 15/3/3, dilations 1/2/4 are fixed
//     hidden: 64            # BiLSTM hidden units per direction (A.2: h = 64)
//     layers: 2             # BiLSTM layers
//     dropout: 0.4          # after LayerNorm
//     pos_weight: 5.0       # α of the weighted BCE-with-logits
//
// The dataset must carry the per-step targets (`data.preset: meal_detection` or `data.meal_labels: true`).
// Its validation loss is that BCE; `cgmtrain evaluate` (glucose metrics) does not apply — event-level
// recall/precision come from `cgmtrain detect-meals --data DIR --split test` (and `--tune` on val).

import CGMSchema
import Config

/// The hyperparameters of `meal_detector` (SSM-CGM A.2).
public struct MealDetectorSpec: ModelSpec {
    public static let name = "meal_detector"
    /// Every default.
    public static let defaults = MealDetectorSpec()
    /// CNN channels (A.2: cout = 16).
    public var channels = 16
    /// BiLSTM hidden units per direction (A.2: h = 64).
    public var hidden = 64
    /// BiLSTM layers.
    public var layers = 2
    /// Dropout after the LayerNorm.
    public var dropout = 0.4
    /// α of the weighted BCE-with-logits.
    public var posWeight = 5.0

    public var keys: [ConfigKey<MealDetectorSpec>] {
        [.int("channels", \.channels, 1...1024), .int("hidden", \.hidden, 1...4096), .int("layers", \.layers, 1...8),
         .dropout(\.dropout), .double("pos_weight", \.posWeight, "> 0") { $0 > 0 }]
    }

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        let name = WindowExtras.mealLabels
        guard shape.extras[name] == [shape.history] else {
            throw ModelBuildError("model meal_detector needs extras/\(name) of per-window shape [\(shape.history)] in the "
                                  + "dataset (got " + (shape.extras[name].map { "\($0)" } ?? "none")
                                  + "); prepare it with data.preset: meal_detection (or data.meal_labels: true)")
        }
        return MealDetector(MealDetector.Config(inputs: shape.pastFeatures.count, spec: self), seed: seed)
    }
}
