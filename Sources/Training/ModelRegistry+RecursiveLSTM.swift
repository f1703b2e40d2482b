// `model.name: recursive_lstm`, the "Recursive LSTM" baseline of PhysioSeq2Seq (section 4.2): one LSTM
// layer over [scaled CGM, scaled IOB] predicting the next step, trained one step ahead over an expanding
// window (teacher forcing), forecasting H steps by feeding its own predictions back (RecursiveLSTMForecaster).
//
//   model:
//     name: recursive_lstm
//     hidden: 300         # LSTM units (the paper's 300)
//     dropout: 0.0        # on the LSTM outputs before the head, training only (the paper states none)
//     huber_delta: 1.0    # δ of the Huber loss in eq. 11-scaled space (as eq. 15)
//     residual: true      # the head predicts the one-step change / σ₁ (TargetSpace); false: the next value itself
//
// The dataset's past features must include cgm_scaled, and its future features must be the other past
// features in the same order (the physio_seq2seq preset: [cgm_scaled, iob_scaled] / [iob_scaled]): over the
// horizon the model's input is [its own prediction, the known-future features].

import CGMData
import Models

extension ModelRegistry {
    /// The paper's recursive LSTM baseline (section 4.2).
    static let recursiveLSTM = ModelSpec(
        name: "recursive_lstm",
        summary: "recursive LSTM baseline (section 4.2): next-step LSTM fed back its own predictions over the horizon",
        parse: { m in
            try m.rejectUnknown(["name", "hidden", "dropout", "huber_delta", "residual"], context: " for model recursive_lstm")
            let hidden = try m.int("hidden", in: 1...4096) ?? 300
            let dropout = try m.double("dropout", "in [0, 1)", { (0..<1).contains($0) }) ?? 0.0
            let delta = try m.double("huber_delta", "> 0", { $0 > 0 }) ?? 1.0
            let residual = try m.bool("residual") ?? true
            return ModelConfig(name: "recursive_lstm",
                               node: .map([("name", .string("recursive_lstm")), ("hidden", .int(hidden)),
                                           ("dropout", .double(dropout)), ("huber_delta", .double(delta)),
                                           ("residual", .bool(residual))]),
                               values: ["hidden": Double(hidden), "dropout": dropout, "huber_delta": delta,
                                        "residual": residual ? 1 : 0])
        },
        build: { config, shape, seed in
            let c = try recursiveInputs(shape)
            return RecursiveLSTMForecaster(inputs: shape.pastFeatures.count, cgmIndex: c,
                                           hidden: Int(config.values["hidden"]!), dropout: Float(config.values["dropout"]!),
                                           huberDelta: Float(config.values["huber_delta"]!),
                                           targetSpace: try shape.targetSpace(residual: config.values["residual"]! != 0,
                                                                              model: "recursive_lstm"),
                                           seed: seed)
        })

    /// The index of cgm_scaled among the past features, after checking that the future features are the
    /// other past features in order (what the recursion feeds beside its own prediction).
    static func recursiveInputs(_ shape: DatasetShape) throws -> Int {
        guard let c = shape.pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled) else {
            throw ModelBuildError(description: "model recursive_lstm predicts and feeds back cgm_scaled, but the dataset's "
                                  + "past features \(shape.pastFeatures) do not include it; prepare it with e.g. "
                                  + "past_features: [cgm_scaled, iob_scaled]")
        }
        var others = shape.pastFeatures
        others.remove(at: c)
        guard shape.futureFeatures == others else {
            throw ModelBuildError(description: "model recursive_lstm needs the dataset's future features to be its past "
                                  + "features without cgm_scaled, in order (\(others)), to continue its input over the "
                                  + "horizon; the dataset has future features \(shape.futureFeatures)")
        }
        return c
    }
}
