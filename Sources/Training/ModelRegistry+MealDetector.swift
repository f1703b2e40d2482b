// model.name: meal_detector — SSM-CGM Appendix A.2's meal detector (Models/MealDetector.swift).
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

import Config
import CGMSchema
import Models

extension ModelRegistry {
    static let mealDetector = ModelSpec(
        name: "meal_detector",
        summary: "SSM-CGM A.2 meal detector: dilated CNN + 2-layer BiLSTM, per-step meal logits",
        parse: { m in
            try m.rejectUnknown(["name", "channels", "hidden", "layers", "dropout", "pos_weight"],
                                context: " for model meal_detector")
            let channels = try m.int("channels", in: 1...1024) ?? 16
            let hidden = try m.int("hidden", in: 1...4096) ?? 64
            let layers = try m.int("layers", in: 1...8) ?? 2
            let dropout = try m.double("dropout", "in [0, 1)", { (0..<1).contains($0) }) ?? 0.4
            let posWeight = try m.double("pos_weight", "> 0", { $0 > 0 }) ?? 5
            return ModelConfig(name: "meal_detector",
                               node: .map([("name", .string("meal_detector")), ("channels", .int(channels)),
                                           ("hidden", .int(hidden)), ("layers", .int(layers)),
                                           ("dropout", .double(dropout)), ("pos_weight", .double(posWeight))]),
                               values: ["channels": Double(channels), "hidden": Double(hidden), "layers": Double(layers),
                                        "dropout": dropout, "pos_weight": posWeight])
        },
        build: { config, shape, seed in
            let name = WindowExtras.mealLabels
            guard shape.extras[name] == [shape.history] else {
                throw ModelBuildError(description: "model meal_detector needs extras/\(name) of per-window shape "
                                      + "[\(shape.history)] in the dataset (got " + (shape.extras[name].map { "\($0)" } ?? "none")
                                      + "); prepare it with data.preset: meal_detection (or data.meal_labels: true)")
            }
            var c = MealDetector.Config(inputs: shape.pastFeatures.count)
            c.channels = Int(config.values["channels"]!)
            c.hidden = Int(config.values["hidden"]!)
            c.layers = Int(config.values["layers"]!)
            c.dropout = Float(config.values["dropout"]!)
            c.posWeight = Float(config.values["pos_weight"]!)
            return MealDetector(c, seed: seed)
        })
}
