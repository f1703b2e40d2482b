// Next-hour forecast error after meals (gluformer-readme §9: diet tokens "reduce the Mean Absolute Error"): over
// token windows with a diet extra, a window is post-meal when a carbohydrate token (slot 0) lies in the last
// `mealSteps` steps of its context (default 6: the meal was logged in the 30 min up to the decision time), so the
// horizon is the postprandial hour. The forecast is `GluFormerForecaster.forecast` (median decoding; a diet model
// also sees the context's and the horizon's logged meals, a glucose-only model none), the error the mean absolute
// difference to the window's target over all H steps (mg/dL).

import CGMSchema
import CGMTensor

/// Forecast MAE on post-meal windows and on all windows.
public struct GluFormerMealEvaluation: Equatable, Sendable {
    public var postMealMAE: Double
    public var postMealWindows: Int
    public var allMAE: Double
    public var allWindows: Int

    /// Evaluates `model` on `batch` (token windows with `extras["diet"]`).
    /// - Precondition: the batch has tokens and diet extras.
    public init(model: GluFormerForecaster, batch: Batch, mealSteps: Int = 6) {
        precondition(batch.extras["diet"] != nil, "GluFormerMealEvaluation: the windows have no diet extra (data.diet_tokens)")
        let tokens = GluFormerTokenBatch(batch), n = tokens.slots, h = batch.horizon, l = model.history
        let point = model.forecast(batch, Graph(training: false, recording: false)).point.scalars
        var post = 0.0, postN = 0, all = 0.0, allN = 0
        for w in 0 ..< batch.count {
            let afterMeal = (max(0, l - mealSteps) ..< l).contains { tokens.diet![(w * tokens.length + $0) * n] >= 0 }
            var e = 0.0
            for k in 0 ..< h { e += Double(abs(point[w * h + k] - batch.target[w * h + k])) }
            all += e
            allN += h
            if afterMeal {
                post += e
                postN += h
            }
        }
        postMealMAE = postN > 0 ? post / Double(postN) : .nan
        postMealWindows = postN / max(h, 1)
        allMAE = allN > 0 ? all / Double(allN) : .nan
        allWindows = batch.count
    }
}
