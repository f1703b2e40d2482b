// SSM-CGM Table 1: quantile loss, MAE and RMSE over the whole horizon (all H steps pooled), with 95 %
// confidence intervals, for several models at several context lengths, plus the naive last-value forecast.
//
//   QL   = 2 · mean over (segments, steps, quantile levels) of the pinball loss ρ_q(y − ŷ_q), mg/dL —
//          pytorch-forecasting's QuantileLoss (the training objective the paper reports), here of the
//          forecasts in mg/dL. A point forecast (the naive baseline) counts as every quantile, so its QL
//          equals its MAE for levels symmetric about 0.5 (e.g. {0.1, 0.5, 0.9}).
//   MAE  = mean |ŷ − y|,  RMSE = sqrt(mean (ŷ − y)²)  of the point forecast (the median), mg/dL.
//   CI   = subject (cluster) percentile bootstrap, as `SubjectBootstrap`: B replicates, each drawing as
//          many subjects as evaluated with replacement (all of a subject's windows together), NumPy-linear
//          percentiles of the replicate metrics; the naive row of a context uses the windows of that
//          context's first entry.
// Only evaluable (finite) segments are used.

import Foundation

/// A metric with its confidence interval.
public struct MetricEstimate: Codable, Equatable, Sendable {
    /// Value on all evaluated windows.
    @NullIfNonFinite public var value: Double
    /// Bootstrap interval.
    public var interval: ConfidenceInterval
}

/// One row of the comparison: a model (or the naive baseline) at one context length.
public struct ContextComparisonRow: Codable, Equatable, Sendable {
    /// Context label (e.g. "12 h").
    public var context: String
    /// Model name, or `ModelComparison.naiveLabel`.
    public var model: String
    /// Evaluated windows and subjects.
    public var segments: Int, subjects: Int
    /// Pytorch-forecasting quantile loss (mg/dL).
    public var quantileLoss: MetricEstimate
    /// Mean absolute error (mg/dL).
    public var mae: MetricEstimate
    /// Root mean squared error (mg/dL).
    public var rmse: MetricEstimate
}

/// SSM-CGM Table 1 for models evaluated at several context lengths.
public struct ContextComparison: Codable, Equatable, Sendable {
    /// Rows, by context (first appearance order), the naive baseline first within a context.
    public var rows: [ContextComparisonRow]
    /// Bootstrap replicates, confidence level and seed.
    public var replicates: Int, confidence: Double, seed: UInt64
    /// Quantile levels of the QL (those of the first quantile model).
    public var quantileLevels: [Float]

    /// Computes the table. `entries` are (context label, model name, that model's records on the test split).
    public static func compute(_ entries: [(context: String, model: String, records: ForecastRecords)],
                               replicates: Int = 1000, confidence: Double = 0.95, seed: UInt64 = 0)
        throws -> ContextComparison {
        precondition(replicates >= 1 && confidence > 0 && confidence < 1, "ContextComparison: bad bootstrap settings")
        guard !entries.isEmpty else { throw EvaluationError("no model to tabulate") }
        let levels = entries.first { !$0.records.quantileLevels.isEmpty }?.records.quantileLevels ?? [0.1, 0.5, 0.9]
        var rows: [ContextComparisonRow] = []
        var contexts: [String] = []
        for e in entries where !contexts.contains(e.context) { contexts.append(e.context) }
        for context in contexts {
            let here = entries.filter { $0.context == context }
            var seen = Set<String>()
            for e in here where !seen.insert(e.model).inserted {
                throw EvaluationError("model '\(e.model)' appears twice at context '\(context)'")
            }
            let first = here[0].records.restricted(to: here[0].records.evaluableSegments)
            guard first.count > 0 else { throw EvaluationError("\(here[0].model) at \(context): no evaluable window") }
            rows.append(row(context: context, model: ModelComparison.naiveLabel, first, levels: levels, naive: true,
                            replicates: replicates, confidence: confidence, seed: seed))
            for e in here {
                let records = e.records.restricted(to: e.records.evaluableSegments)
                guard records.count > 0 else { throw EvaluationError("\(e.model) at \(context): no evaluable window") }
                rows.append(row(context: context, model: e.model, records, levels: levels, naive: false,
                                replicates: replicates, confidence: confidence, seed: seed))
            }
        }
        return ContextComparison(rows: rows, replicates: replicates, confidence: confidence, seed: seed,
                                 quantileLevels: levels)
    }

    /// Per-subject sums → values and bootstrap intervals of QL, MAE, RMSE.
    static func row(context: String, model: String, _ records: ForecastRecords, levels: [Float], naive: Bool,
                    replicates: Int, confidence: Double, seed: UInt64) -> ContextComparisonRow {
        let subjects = records.subjects
        let index = Dictionary(uniqueKeysWithValues: subjects.enumerated().map { ($1, $0) })
        // sums[s · 4 + k]: k = elements (windows · H), Σ|e|, Σe², Σ mean-over-levels pinball.
        var sums = [Double](repeating: 0, count: subjects.count * 4)
        let q = records.quantileCount, h = records.horizon
        let usesQuantiles = !naive && q > 0
        let lv = (usesQuantiles ? records.quantileLevels : levels).map(Double.init)
        for r in records.records {
            let s = index[r.subject]! * 4
            for j in 0..<h {
                let y = Double(r.target[j])
                let point = naive ? Double(r.naive) : Double(r.prediction[j])
                let e = point - y
                var pinball = 0.0
                for (k, level) in lv.enumerated() {
                    let forecast = usesQuantiles ? Double(r.quantiles[j * q + k]) : point
                    pinball += HorizonMetrics.pinball(y: y, q: forecast, level: level)
                }
                sums[s] += 1
                sums[s + 1] += Swift.abs(e)
                sums[s + 2] += e * e
                sums[s + 3] += pinball / Double(lv.count)
            }
        }
        func metrics(_ total: [Double]) -> [Double] {
            let n = total[0]
            return [2 * total[3] / n, total[1] / n, (total[2] / n).squareRoot()]
        }
        var all = [Double](repeating: 0, count: 4)
        for s in 0..<subjects.count { for k in 0..<4 { all[k] += sums[s * 4 + k] } }
        let values = metrics(all)
        var replicateValues = [[Double]](repeating: [], count: 3)
        var rng = BootstrapRNG(seed: seed)
        for _ in 0..<replicates {
            var total = [Double](repeating: 0, count: 4)
            for _ in 0..<subjects.count {
                let s = rng.index(below: subjects.count)
                for k in 0..<4 { total[k] += sums[s * 4 + k] }
            }
            for (m, v) in metrics(total).enumerated() { replicateValues[m].append(v) }
        }
        let (lo, hi) = ((1 - confidence) / 2, (1 + confidence) / 2)
        let estimates = (0..<3).map { m -> MetricEstimate in
            let p = Percentile.of(replicateValues[m], [lo, hi])
            return MetricEstimate(value: values[m], interval: ConfidenceInterval(lower: p[0], upper: p[1]))
        }
        return ContextComparisonRow(context: context, model: model, segments: records.count, subjects: subjects.count,
                                    quantileLoss: estimates[0], mae: estimates[1], rmse: estimates[2])
    }

    /// "model at context (MAE m ≥ naive n)" for every model whose MAE is not below its context's naive MAE.
    public func modelsNotBeatingNaive() -> [String] {
        var naive: [String: Double] = [:]
        var out: [String] = []
        for r in rows {
            if r.model == ModelComparison.naiveLabel { naive[r.context] = r.mae.value; continue }
            if let n = naive[r.context], !(r.mae.value < n) {
                out.append("\(r.model) at \(r.context) (MAE \(String(format: "%.2f", r.mae.value)) ≥ naive \(String(format: "%.2f", n)))")
            }
        }
        return out
    }

    /// "3.87 (3.81, 3.93)".
    static func format(_ e: MetricEstimate) -> String {
        func f(_ x: Double) -> String { x.isFinite ? String(format: "%.2f", x) : "nan" }
        return "\(f(e.value)) (\(f(e.interval.lower)), \(f(e.interval.upper)))"
    }

    /// One line per row: context, model, windows, subjects, then value, lower, upper of QL, MAE, RMSE.
    public func csv() -> String {
        func f(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "nan" }
        var out = "context,model,windows,subjects,ql,ql_lower,ql_upper,mae,mae_lower,mae_upper,rmse,rmse_lower,rmse_upper\n"
        for r in rows {
            let metrics = [r.quantileLoss, r.mae, r.rmse].flatMap { [f($0.value), f($0.interval.lower), f($0.interval.upper)] }
            out += ([EvalCSV.field(r.context), EvalCSV.field(r.model), "\(r.segments)", "\(r.subjects)"] + metrics)
                .joined(separator: ",") + "\n"
        }
        return out
    }

    /// The table in Markdown, the paper's layout: one line per context and model, "mean (lower, upper)".
    public func markdown() -> String {
        let percent = SubjectBootstrap.percent(confidence)
        var out = "| Context | Model | Windows | Subjects | Quantile loss ↓ | MAE ↓ | RMSE ↓ |\n"
        out += "|---|---|---:|---:|---|---|---|\n"
        for r in rows {
            out += "| \(r.context) | \(r.model) | \(r.segments) | \(r.subjects) | \(Self.format(r.quantileLoss)) | "
                + "\(Self.format(r.mae)) | \(Self.format(r.rmse)) |\n"
        }
        out += "\nMean (\(percent) CI), mg/dL, over all horizon steps; CI: subject bootstrap, \(replicates) replicates. "
            + "QL = pytorch-forecasting QuantileLoss (2 · mean pinball) at levels "
            + "\(quantileLevels.map { "\($0)" }.joined(separator: ", ")); "
            + "a point forecast counts as every quantile.\n"
        return out
    }
}
