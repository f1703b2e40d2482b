// `linear_ar`: the classical baseline of issue 14 — ridge regression from the recent glucose history (and the
// available covariates) to all H horizon steps, fitted in closed form (RidgeNormalEquations.swift), residual like the
// deep forecasters (`TargetSpace.residual`): it predicts z_h = (s(g_{t+h}) − s(g_t)) / σ_h.
//
//   x = [ s(g_{t−k}) − s(g_t), k = 1 … N          the last N scaled glucose values relative to the last one
//         other past features at t                  (P − 1 values, when `covariates`)
//         future features at t+1 … t+H, flattened ]  (H·F values, when `covariates`)       D = N + (P − 1) + H·F
//   ẑ = W x + b,   W: (H, D) "weight", b: (H) "bias"
//
// Published CGM benchmarks find such linear models hard to beat at 30 min; this one shows where the deep models
// win. Its parameters live in a `ParameterStore` like any model's, so checkpoints, `evaluate`, `compare` and
// `forecast` treat it as a trained model; `train` fits it by one pass over the training split (data-parallel:
// normal equations all-reduced once) instead of optimizer steps (Trainer+ClosedForm.swift).

import CGMSchema
import CGMTensor
import Layers

/// Ridge regression on the recent glucose history and covariates, residual targets (see the file header).
public final class LinearARForecaster: ForecastModel {
    public let name = "linear_ar"
    public let store = ParameterStore()
    /// (H, D).
    public let weight: ParameterID
    /// (H).
    public let bias: ParameterID
    /// N, lagged glucose values used (≤ L − 1).
    public let lags: Int
    /// Whether the other past features (at t) and the future features enter x.
    public let covariates: Bool
    /// Past features P, future features F, horizon H.
    public let pastFeatures: Int, futureFeatures: Int, horizon: Int
    /// Residual targets, anchored at the `cgm_scaled` past feature.
    public let targetSpace: TargetSpace
    /// Penalties tried by the fit, the one with the lowest validation error kept.
    public let penalties: [Double]
    public let huberDelta: Float

    /// Index of cgm_scaled among the past features.
    public var anchorIndex: Int {
        guard case let .residual(c, _) = targetSpace else { preconditionFailure("linear_ar: residual targets only") }
        return c
    }

    /// Features D of x.
    public var featureCount: Int { lags + (covariates ? pastFeatures - 1 + horizon * futureFeatures : 0) }

    /// A model for windows of `pastFeatures` / `futureFeatures` features and horizon `horizon`, its parameters zero
    /// (the zero model is persistence) until `setSolution`.
    public init(lags: Int, covariates: Bool, pastFeatures: Int, futureFeatures: Int, horizon: Int,
                targetSpace: TargetSpace, penalties: [Double], huberDelta: Float = 1) {
        guard case let .residual(c, scale) = targetSpace, c < pastFeatures, scale.count == horizon else {
            preconditionFailure("linear_ar: needs a residual target space over \(pastFeatures) past features and horizon \(horizon)")
        }
        precondition(lags >= 1 && !penalties.isEmpty, "linear_ar: lags must be ≥ 1 and penalties non-empty")
        self.lags = lags
        self.covariates = covariates
        self.pastFeatures = pastFeatures
        self.futureFeatures = futureFeatures
        self.horizon = horizon
        self.targetSpace = targetSpace
        self.penalties = penalties
        self.huberDelta = huberDelta
        let d = lags + (covariates ? pastFeatures - 1 + horizon * futureFeatures : 0)
        weight = store.add("weight", Tensor(zeros: [horizon, d]), weightDecay: false)
        bias = store.add("bias", Tensor(zeros: [horizon]), weightDecay: false)
    }

    /// x of every window (B, D), row-major (see the file header).
    public func design(_ batch: Batch) -> [Float] {
        let l = batch.history, p = batch.pastFeatureCount, f = batch.futureFeatureCount, h = batch.horizon
        precondition(p == pastFeatures && f == futureFeatures && h == horizon && lags <= l - 1,
                     "linear_ar: batch (L \(l), P \(p), F \(f), H \(h)) does not fit the model (P \(pastFeatures), "
                     + "F \(futureFeatures), H \(horizon), \(lags) lags)")
        let c = anchorIndex, d = featureCount
        var x = [Float](repeating: 0, count: batch.count * d)
        for b in 0 ..< batch.count {
            let row = b * d, base = b * l * p
            let last = batch.past[base + (l - 1) * p + c]
            for k in 1 ... lags { x[row + k - 1] = batch.past[base + (l - 1 - k) * p + c] - last }
            guard covariates else { continue }
            var o = row + lags
            for j in 0 ..< p where j != c {
                x[o] = batch.past[base + (l - 1) * p + j]
                o += 1
            }
            for i in 0 ..< h * f { x[o + i] = batch.future[b * h * f + i] }
        }
        return x
    }

    /// The head's output ẑ (B, H) on `g`.
    private func headOutput(_ batch: Batch, _ g: Graph) -> Var {
        let p = store.bind(g)
        let x = g.constant(Tensor(shape: [batch.count, featureCount], scalars: design(batch)))
        return g.linear(x, weight: p[weight], bias: p[bias])
    }

    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        g.huberLoss(headOutput(batch, g), g.constant(targetSpace.targets(batch)), delta: huberDelta)
    }

    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        Forecast(point: targetSpace.milligrams(headOutput(batch, g).value, batch))
    }

    /// Adds the windows of `batch` to `sums` (x and the residual targets z).
    public func accumulate(_ batch: Batch, into sums: inout RidgeNormalEquations) {
        sums.add(x: design(batch), z: targetSpace.targets(batch).scalars, count: batch.count)
    }

    /// Empty normal equations of this model's sizes.
    public func emptySums() -> RidgeNormalEquations { RidgeNormalEquations(features: featureCount, outputs: horizon) }

    /// Sets W and b from a solution (D+1, H) of `RidgeNormalEquations.solve`.
    public func setSolution(_ w: [Double]) {
        let d = featureCount, h = horizon
        precondition(w.count == (d + 1) * h, "linear_ar: solution has \(w.count) values, expected \((d + 1) * h)")
        var weights = [Float](repeating: 0, count: h * d)
        for k in 0 ..< h { for j in 0 ..< d { weights[k * d + j] = Float(w[j * h + k]) } }
        store.setValue(weight, Tensor(shape: [h, d], scalars: weights))
        store.setValue(bias, Tensor(shape: [h], scalars: (0 ..< h).map { Float(w[d * h + $0]) }))
    }
}
