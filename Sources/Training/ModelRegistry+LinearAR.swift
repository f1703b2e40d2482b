// `model.name: linear_ar`, the classical baseline of issue 14 (LinearARForecaster): ridge regression from the last N
// scaled glucose values relative to the last one (and the available covariates) to the standardized change at every
// horizon step, fitted in closed form by `train` (Trainer+ClosedForm.swift).
//
//   model:
//     name: linear_ar
//     lags: 36                    # N lagged glucose values (≤ L − 1; default L − 1, the whole history)
//     covariates: true            # also the other past features at t and the future features over the horizon
//     l2: [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]   # ridge penalties tried (on standardized features, intercept
//                                 # unpenalized); the one with the lowest validation MSE is kept
//     huber_delta: 1.0            # δ of the reported validation loss (residual units, like seq2seq's)

import CGMData
import Foundation
import Models

extension ModelRegistry {
    /// The penalties `l2` tries by default: a log grid wide enough for 2 rows per feature or 10,000.
    static let defaultRidgePenalties = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]

    /// Ridge regression on the recent glucose history (issue 14).
    static let linearAR = ModelSpec(
        name: "linear_ar",
        summary: "ridge regression from the recent glucose history and covariates to every horizon step (closed form)",
        parse: { m in
            try m.rejectUnknown(["name", "lags", "covariates", "l2", "huber_delta"], context: " for model linear_ar")
            let lags = try m.int("lags", in: 1...100_000)
            let covariates = try m.bool("covariates") ?? true
            let penalties = try parsePenalties(m)
            let delta = try m.double("huber_delta", "> 0", { $0 > 0 }) ?? 1.0
            var values: [String: Double] = ["covariates": covariates ? 1 : 0, "huber_delta": delta]
            if let lags { values["lags"] = Double(lags) }
            for (i, p) in penalties.enumerated() { values["l2.\(i)"] = p }
            return ModelConfig(
                name: "linear_ar",
                node: .map([("name", .string("linear_ar"))] + (lags.map { [("lags", YAMLNode.int($0))] } ?? [])
                           + [("covariates", .bool(covariates)), ("l2", .list(penalties.map(YAMLNode.formatDouble))),
                              ("huber_delta", .double(delta))]),
                values: values)
        },
        build: { config, shape, _ in
            let v = config.values
            let lags = v["lags"].map { Int($0) } ?? shape.history - 1
            guard lags >= 1, lags <= shape.history - 1 else {
                throw ModelBuildError(description: "model linear_ar: lags \(lags) must be between 1 and the history "
                                      + "length − 1 = \(shape.history - 1)")
            }
            let space = try shape.targetSpace(residual: true, model: "linear_ar")
            let penalties = (0...).lazy.map { v["l2.\($0)"] }.prefix { $0 != nil }.map { $0! }
            return LinearARForecaster(lags: lags, covariates: v["covariates"]! != 0, pastFeatures: shape.pastFeatures.count,
                                      futureFeatures: shape.futureFeatures.count, horizon: shape.horizon,
                                      targetSpace: space, penalties: Array(penalties), huberDelta: Float(v["huber_delta"]!))
        })

    /// `l2`: one penalty ≥ 0 or a non-empty list of them.
    static func parsePenalties(_ m: RunConfigMap) throws -> [Double] {
        guard m.has("l2") else { return defaultRidgePenalties }
        let items = m.dict["l2"] as? [Any] ?? [m.dict["l2"] as Any]
        guard !items.isEmpty else { throw m.error("l2", "must be a number ≥ 0 or a non-empty list of them") }
        return try items.enumerated().map { i, item in
            guard let p = RunConfigMap.number(item), p >= 0, p.isFinite else {
                throw m.error("l2", "item \(i) must be a number ≥ 0 (got \(RunConfigMap.describe(item)))")
            }
            return p
        }
    }
}
