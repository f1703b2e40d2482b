// Point and quantile metrics of a trial's best checkpoint on the validation split, for the sweep report
// and tie-breaking (SSM-CGM A.9 reports QuantileLoss, MAE and RMSE). One forecast pass over the split
// after training, on the trial group's rank 0 (the split is small next to training, and this needs no
// collective, so an error here cannot leave another rank waiting). With e = ŷ − y (mg/dL) over all
// windows × horizon steps: MAE = mean |e|, RMSE = sqrt(mean e²), QL = mean over elements and levels of the
// pinball loss (as `evaluate`'s HorizonMetrics). Sums run in window order in Double.

import CGMData
import CGMTensor
import Evaluation
import Foundation
import Models

/// Validation-split metrics of one model.
public struct SweepValidationMetrics: Equatable {
    public var mae: Double
    public var rmse: Double
    /// Nil for models without a quantile head.
    public var quantileLoss: Double?
    public var windows: Int

    /// Forecasts every validation window of `dataset` with `model` in batches of `batchSize`.
    public static func compute(model: any ForecastModel, dataset: ShardDataset, batchSize: Int) throws -> SweepValidationMetrics {
        let n = dataset.count(.val)
        guard n > 0 else { throw EvaluationError("the dataset \(dataset.directory) has no validation windows") }
        let reader = ShardReader(dataset: dataset, split: .val)
        defer { reader.close() }
        var absSum = 0.0, sqSum = 0.0, pinSum = 0.0, elements = 0.0, pinCount = 0.0
        var hasQuantiles = false
        for start in stride(from: 0, to: n, by: max(1, batchSize)) {
            let batch = try reader.read(indices: Array(start..<min(start + batchSize, n)))
            let f = model.forecast(batch, Graph(training: false, recording: false))
            let point = f.point.pointer
            for i in 0..<batch.target.count {
                let e = Double(point[i]) - Double(batch.target[i])
                absSum += Swift.abs(e)
                sqSum += e * e
            }
            elements += Double(batch.target.count)
            if let q = f.quantiles, !f.quantileLevels.isEmpty {
                hasQuantiles = true
                let levels = f.quantileLevels.map(Double.init), Q = levels.count, p = q.pointer
                for i in 0..<batch.target.count {
                    let y = Double(batch.target[i])
                    for k in 0..<Q { pinSum += HorizonMetrics.pinball(y: y, q: Double(p[i * Q + k]), level: levels[k]) }
                }
                pinCount += Double(batch.target.count * Q)
            }
        }
        return SweepValidationMetrics(mae: absSum / elements, rmse: (sqSum / elements).squareRoot(),
                                      quantileLoss: hasQuantiles ? pinSum / pinCount : nil, windows: n)
    }
}
