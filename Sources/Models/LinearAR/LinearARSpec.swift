// `model.name: linear_ar`: the classical baseline of issue 14 (LinearARForecaster): ridge regression from the last N
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

import CGMSchema
import Config

/// The settings of `linear_ar` (issue 14).
public struct LinearARSpec: ModelSpec {
    public static let name = "linear_ar"
    /// Every default.
    public static let defaults = LinearARSpec()
    /// N lagged glucose values; nil: L − 1, the whole history.
    public var lags: Int?
    /// Also the other past features at t and the future features over the horizon.
    public var covariates = true
    /// Ridge penalties tried (a log grid wide enough for 2 rows per feature or 10,000).
    public var l2 = [0.001, 0.01, 0.1, 1.0, 10.0, 100.0]
    /// δ of the reported validation loss.
    public var huberDelta = 1.0

    public var keys: [ConfigKey<LinearARSpec>] {
        [ConfigKey("lags", read: { m, s in if let v = try m.int("lags", in: 1...100_000) { s.lags = v } },
                   write: { s in s.lags.map(YAMLNode.int) }),
         .bool("covariates", \.covariates),
         ConfigKey("l2", read: { m, s in
             guard m.has("l2") else { return }
             let items = m.dict["l2"] as? [Any] ?? [m.dict["l2"] as Any]
             guard !items.isEmpty else { throw m.error("l2", "must be a number ≥ 0 or a non-empty list of them") }
             s.l2 = try items.enumerated().map { i, item in
                 guard let p = ConfigMap.number(item), p >= 0, p.isFinite else {
                     throw m.error("l2", "item \(i) must be a number ≥ 0 (got \(ConfigMap.describe(item)))")
                 }
                 return p
             }
         }, write: { .doubles($0.l2) }),
         .huberDelta(\.huberDelta)]
    }

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        let lags = self.lags ?? shape.history - 1
        guard lags >= 1, lags <= shape.history - 1 else {
            throw ModelBuildError("model linear_ar: lags \(lags) must be between 1 and the history length − 1 = \(shape.history - 1)")
        }
        return LinearARForecaster(lags: lags, covariates: covariates, pastFeatures: shape.pastFeatures.count,
                                  futureFeatures: shape.futureFeatures.count, horizon: shape.horizon,
                                  targetSpace: try shape.targetSpace(residual: true, model: Self.name), penalties: l2,
                                  huberDelta: Float(huberDelta))
    }
}
