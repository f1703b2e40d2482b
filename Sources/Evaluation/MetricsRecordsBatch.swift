// Filling ForecastRecords from a batch and its forecast (what `evaluate` does per batch on each rank).

import CGMSchema
import Models

extension ForecastRecords {
    /// Appends one record per window of `batch`.
    ///
    /// - Parameters:
    ///   - forecast: the model's forecast of `batch`: point (B, H), and quantiles (B, H, Q) at this set's
    ///     `quantileLevels` when it has any.
    ///   - naive: the last observed glucose value of each window (B), mg/dL.
    ///   - subjectIDs: subject names indexed by `batch.subject` (`Manifest.subjects`).
    ///   - groups: subgroup label (`diabetes_status`) indexed like `subjectIDs`; nil or "" gives "unknown".
    public mutating func append(batch: Batch, forecast: Forecast, naive: [Float], subjectIDs: [String],
                                groups: [String]? = nil) throws {
        let b = batch.count, h = horizon, q = quantileCount
        guard batch.horizon == h else {
            throw EvaluationError("batch horizon \(batch.horizon) differs from the records' horizon \(h)")
        }
        guard forecast.point.shape == [b, h] else {
            throw EvaluationError("forecast point shape \(forecast.point.shape), expected [\(b), \(h)]")
        }
        guard naive.count == b else { throw EvaluationError("\(naive.count) naive values for a batch of \(b)") }
        var quantiles: [Float] = []
        if q > 0 {
            guard let qt = forecast.quantiles, qt.shape == [b, h, q], forecast.quantileLevels == quantileLevels else {
                throw EvaluationError("forecast quantiles \(forecast.quantiles?.shape ?? []) at levels "
                    + "\(forecast.quantileLevels), expected [\(b), \(h), \(q)] at \(quantileLevels)")
            }
            quantiles = qt.scalars
        }
        let point = forecast.point.scalars
        var added: [ForecastRecord] = []
        added.reserveCapacity(b)
        for i in 0..<b {
            let s = Int(batch.subject[i])
            guard s >= 0 && s < subjectIDs.count else {
                throw EvaluationError("segment \(batch.indices[i]): subject index \(s) outside the "
                    + "\(subjectIDs.count) subject ids")
            }
            var group = "unknown"
            if let groups, s < groups.count, !groups[s].isEmpty { group = groups[s] }
            added.append(ForecastRecord(
                segment: batch.indices[i], subject: subjectIDs[s], group: group,
                decisionTime: batch.decisionTime[i],
                target: Array(batch.target[(i * h)..<((i + 1) * h)]),
                prediction: Array(point[(i * h)..<((i + 1) * h)]),
                naive: naive[i],
                quantiles: q > 0 ? Array(quantiles[(i * h * q)..<((i + 1) * h * q)]) : []))
        }
        try append(contentsOf: added)
    }
}
