// Multi-model comparison (PhysioSeq2Seq §4.3 and Appendices D–E): every model and the naive baseline on
// the intersection of segments all models can evaluate — Table 2 (RMSE/MAE/ME at selected horizons),
// Table 7 (IQR and [min, max] of the errors), Table 4 (independent and shared worst-K) — plus the data and
// SVG plots of error against horizon (Figure 3).

import Foundation

/// Several models evaluated on their common segments.
public struct ModelComparison: Codable, Equatable, Sendable {
    /// Row label of the naive baseline in tables and CSVs.
    public static let naiveLabel = "Naive Baseline"

    /// Model names, in the order given (table row order after the naive baseline).
    public var models: [String]
    /// Minutes between steps.
    public var stepMinutes: Int
    /// Horizon H.
    public var horizon: Int
    /// Segments evaluable by every model (the shared test set).
    public var segments: Int
    /// Subjects among them.
    public var subjects: Int
    /// Per model, its segments left out of the shared set (absent from another model, or non-finite).
    public var excludedSegments: [String: Int]
    /// Per model, metrics on the shared set (each includes the naive baseline on the same segments).
    public var metrics: [String: HorizonMetrics]
    /// Per model, its own worst-K segments within the shared set.
    public var worstIndependent: [String: WorstSegments]
    /// The shared worst-K (mean per-segment RMSE across models), every model and the naive baseline on it.
    public var worstShared: WorstSegments
    /// Horizons shown in the tables.
    public var selectedMinutes: [Int]

    /// Compares `models` on their common evaluable segments. Throws when names repeat, when no segment is
    /// common, or when the models' records disagree on a shared segment's data.
    public static func compute(_ models: [(name: String, records: ForecastRecords)], stepMinutes: Int = 5,
                               k: Int = 100, selectedMinutes: [Int]? = nil) throws -> ModelComparison {
        try WorstSegments.checkNames(models.map(\.name))
        let common = ForecastRecords.commonSegments(models.map(\.records))
        guard !common.isEmpty else {
            throw EvaluationError("models \(models.map(\.name).joined(separator: ", ")) have no evaluable segment in common")
        }
        let restricted = models.map { (name: $0.name, records: $0.records.restricted(to: common)) }
        try WorstSegments.checkSameData(restricted.map(\.records), names: restricted.map(\.name))
        let horizon = restricted[0].records.horizon
        let minutes = selectedMinutes ?? HorizonMetrics.defaultSelectedMinutes(horizon: horizon, stepMinutes: stepMinutes)
        var metrics = [String: HorizonMetrics](), worst = [String: WorstSegments](), excluded = [String: Int]()
        for (m, r) in zip(models, restricted) {
            metrics[m.name] = HorizonMetrics.compute(r.records, stepMinutes: stepMinutes, selectedMinutes: minutes)
            worst[m.name] = WorstSegments.select(r.records, k: k)
            excluded[m.name] = m.records.count - r.records.count
        }
        return ModelComparison(
            models: models.map(\.name), stepMinutes: stepMinutes, horizon: horizon, segments: common.count,
            subjects: restricted[0].records.subjects.count, excludedSegments: excluded, metrics: metrics,
            worstIndependent: worst, worstShared: try WorstSegments.shared(restricted, k: k),
            selectedMinutes: minutes)
    }

    /// Rows of the tables: the naive baseline, then the models; each with its per-step summaries.
    private var rows: [(label: String, steps: [ErrorSummary])] {
        guard let first = models.first, let reference = metrics[first] else { return [] }
        return [(Self.naiveLabel, reference.steps.map(\.naive))]
            + models.map { name in (name, metrics[name]?.steps.map(\.model) ?? []) }
    }

    private var selectedIndices: [Int] {
        selectedMinutes.compactMap { m in m % stepMinutes == 0 && m / stepMinutes >= 1 && m / stepMinutes <= horizon
            ? m / stepMinutes - 1 : nil }
    }

    /// Table 2 (RMSE, MAE, ME at the selected horizons), Table 7 (IQR, [min, max]) and Table 4 (worst-K)
    /// as fixed-width text.
    public func table() -> String {
        let idx = selectedIndices
        let groups = idx.map { (label: "\((($0 + 1) * stepMinutes)) min", span: 3) }
        var out = "Model comparison on \(segments) shared segments (\(subjects) subjects)\n"
        out += EvalTextTable.render(
            header: ["Model"] + idx.flatMap { _ in ["RMSE", "MAE", "ME"] },
            rows: rows.map { r in [r.label] + idx.flatMap { i in
                [EvalTextTable.fixed(r.steps[i].rmse), EvalTextTable.fixed(r.steps[i].mae), EvalTextTable.fixed(r.steps[i].me)]
            } },
            groups: groups)
        out += "\nError dispersion: IQR and [min, max]\n"
        out += EvalTextTable.render(
            header: ["Model"] + idx.flatMap { _ in ["IQR", "[Min, Max]"] },
            rows: rows.map { r in [r.label] + idx.flatMap { i in
                [EvalTextTable.fixed(r.steps[i].iqr),
                 "[\(EvalTextTable.fixed(r.steps[i].min, 1)), \(EvalTextTable.fixed(r.steps[i].max, 1))]"]
            } },
            groups: idx.map { (label: "\((($0 + 1) * stepMinutes)) min", span: 2) })
        out += "\nWorst-\(worstShared.k) segments (RMSE = mean per-segment RMSE)\n"
        let worstRows = models.map { name -> [String] in
            let own = worstIndependent[name]?.summaries[WorstSegments.modelName]
            let shared = worstShared.summaries[name]
            return [name] + [own?.rmse, own?.mae, own?.me, shared?.rmse, shared?.mae, shared?.me]
                .map { EvalTextTable.fixed($0 ?? .nan) }
        } + [[Self.naiveLabel, "", "", ""] + [worstShared.summaries[WorstSegments.naiveName]].flatMap {
            [$0?.rmse, $0?.mae, $0?.me].map { EvalTextTable.fixed($0 ?? .nan) }
        }]
        out += EvalTextTable.render(header: ["Model", "RMSE", "MAE", "ME", "RMSE", "MAE", "ME"], rows: worstRows,
                                groups: [("Independent", 3), ("Shared", 3)])
        return out
    }

    /// Table 2 as CSV: `model`, then `rmse_<m>min, mae_<m>min, me_<m>min, iqr_<m>min, min_<m>min,
    /// max_<m>min` per selected horizon; the naive baseline first.
    public func tableCSV() -> String {
        let idx = selectedIndices
        var header = ["model"]
        for i in idx {
            let m = (i + 1) * stepMinutes
            header += ["rmse", "mae", "me", "iqr", "min", "max"].map { "\($0)_\(m)min" }
        }
        var lines = [header.joined(separator: ",")]
        for r in rows {
            lines.append(([EvalCSV.field(r.label)] + idx.flatMap { i -> [String] in
                let s = r.steps[i]
                return [s.rmse, s.mae, s.me, s.iqr, s.min, s.max].map(EvalCSV.number)
            }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Figure 3's data: `minutes_ahead`, then `<label>_rmse, <label>_mae, <label>_me` for the naive
    /// baseline and each model (labels lower-cased, non-alphanumerics as "_").
    public func perHorizonCSV() -> String {
        func key(_ label: String) -> String {
            String(label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
        }
        let table = rows
        var lines = [(["minutes_ahead"] + table.flatMap { r in ["rmse", "mae", "me"].map { "\(key(r.label))_\($0)" } })
            .map(EvalCSV.field).joined(separator: ",")]
        for i in 0..<horizon {
            lines.append(([String((i + 1) * stepMinutes)] + table.flatMap { r in
                [r.steps[i].rmse, r.steps[i].mae, r.steps[i].me].map(EvalCSV.number)
            }).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One error-against-horizon chart per metric (Figure 3), naive baseline dashed.
    public func plots() -> [ErrorMetric: SVGLineChart] {
        let minutes = (1...horizon).map { $0 * stepMinutes }
        var result = [ErrorMetric: SVGLineChart]()
        for metric in ErrorMetric.allCases {
            var chart = SVGLineChart.errorVersusHorizon(
                metric: metric.label, minutes: minutes,
                series: rows.map { ($0.label, $0.steps.map(metric.value)) },
                title: "\(metric.label) by forecast horizon (\(segments) shared segments)")
            if !chart.series.isEmpty {
                chart.series[0].dashed = true
                chart.series[0].color = "#7f7f7f"
                for i in 1..<chart.series.count { chart.series[i].color = SVGPalette.color(i - 1) }
            }
            result[metric] = chart
        }
        return result
    }

    /// Writes `compare.json`, `compare.csv` (Table 2), `compare_per_horizon.csv` (Figure 3 data) and
    /// `compare_rmse.svg`, `compare_mae.svg`, `compare_me.svg` into `dir`, atomically.
    public func write(toDirectory dir: String) throws {
        try EvaluationFiles.ensureDirectory(dir)
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        try EvaluationFiles.writeAtomically(EvaluationJSON.encode(self), to: path("compare.json"))
        try EvaluationFiles.writeAtomically(tableCSV(), to: path("compare.csv"))
        try EvaluationFiles.writeAtomically(perHorizonCSV(), to: path("compare_per_horizon.csv"))
        for (metric, chart) in plots() { try chart.write(to: path("compare_\(metric.rawValue).svg")) }
    }
}
