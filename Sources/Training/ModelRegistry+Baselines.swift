// The parameter-less baselines of PhysioSeq2Seq (section 4.2) as registered models, so `cgmtrain train`,
// `evaluate`, `compare` and `forecast` treat them like any other model:
//
//   model:
//     name: naive          # last observed glucose carried forward, ĝ(t+h) = g(t); needs cgm_scaled in past_features
//     huber_delta: 1.0     # δ of the (reported, not optimized) validation loss, eq. 15
//
//   model:
//     name: digital_twin   # the matched Hovorka twin under basal-only inputs (Algorithm 1 pass 3), the stored
//     huber_delta: 1.0     # twin_forecast extra; needs a dataset prepared with data.ode_states: true
//
// Neither has parameters: `train` validates once, writes config.yaml, best.h5 and last.h5 and takes no
// optimizer step (Trainer+Parameterless.swift).

import CGMSchema
import Config
import Models

extension ModelRegistry {
    /// Parses the only key of a parameter-less baseline, `huber_delta`.
    static func parseBaselineKeys(_ m: ConfigMap, name: String) throws -> ModelConfig {
        try m.rejectUnknown(["name", "huber_delta"], context: " for model \(name) (it has no parameters)")
        let delta = try m.double("huber_delta", "> 0", { $0 > 0 }) ?? 1.0
        return ModelConfig(name: name, node: .map([("name", .string(name)), ("huber_delta", .double(delta))]),
                           values: ["huber_delta": delta])
    }

    /// "Naive Baseline" (section 4.2): the last observed glucose carried forward over the horizon.
    static let naive = ModelSpec(
        name: "naive",
        summary: "naive baseline: last observed glucose carried forward (no parameters)",
        parse: { m in try parseBaselineKeys(m, name: "naive") },
        build: { config, shape, _ in
            guard let i = shape.pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled) else {
                throw ModelBuildError(description: "model naive reads the last observed glucose from the past feature "
                                      + "'\(FeatureCatalog.cgmScaled)', which the dataset does not have (past features: "
                                      + "\(shape.pastFeatures)); prepare it with cgm_scaled in past_features")
            }
            return NaiveForecaster(cgmScaledIndex: i, huberDelta: Float(config.values["huber_delta"]!))
        })

    /// "Digital Twin" (section 4.2): the matched twin's stored basal-only glucose forecast.
    static let digitalTwinModel = ModelSpec(
        name: "digital_twin",
        summary: "digital twin baseline: the matched Hovorka twin under basal-only inputs (no parameters; data.ode_states)",
        parse: { m in try parseBaselineKeys(m, name: "digital_twin") },
        build: { config, shape, _ in
            try digitalTwin(shape: shape, huberDelta: Float(config.values["huber_delta"]!))
        })
}
