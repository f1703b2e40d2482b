// Multi-model comparison (PhysioSeq2Seq §4.3 and Appendices D–E): every model and the naive baseline on
// the intersection of segments all models can evaluate — Table 2 (RMSE/MAE/ME at selected horizons),
// Table 7 (IQR and [min, max] of the errors), Table 4 (independent and shared worst-K) — plus the data and
// SVG plots of error against horizon (Figure 3). `cgmtrain compare` (CompareCommand.swift) fills it from
// checkpoints; the worst-K segment lists are written by EvaluationReportCompareWorst.swift.
//
// The shared set: a window is kept when every model has it and every value of every model's record is
// finite (target, forecast, naive value); `totalSegments − segments` windows are dropped, and
// `nonFiniteSegments` says, per model, how many of them were its own non-finite forecasts.

import Charts
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
    /// Distinct segments any model was evaluated on (the split's windows); `totalSegments − segments` were dropped.
    public var totalSegments: Int
    /// Per model, its segments with a non-finite value (its forecast, or the target / naive value).
    public var nonFiniteSegments: [String: Int]
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
    /// Free-form provenance (checkpoints, data directory, split, ranks, …).
    public var info: [String: String] = [:]
    /// Per model, clinical accuracy on the shared set (each with the naive baseline on the same segments).
    public var clinical: [String: ClinicalAccuracy]? = nil
    /// Per model, subject-bootstrap CIs on the shared set (skill, differences from naive); nil when skipped.
    public var bootstrap: [String: BootstrapResult]? = nil

    /// Segments left out of the shared set.
    public var droppedSegments: Int { totalSegments - segments }

    /// Compares `models` on their common evaluable segments. Throws when names repeat, when no segment is
    /// common, or when the models' records disagree on a shared segment's data.
    public static func compute(_ models: [(name: String, records: ForecastRecords)], stepMinutes: Int = 5,
                               k: Int = 100, selectedMinutes: [Int]? = nil,
                               bootstrapReplicates: Int = 0, seed: UInt64 = 0) throws -> ModelComparison {
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
        var nonFinite = [String: Int](), clinical = [String: ClinicalAccuracy](), bootstrap = [String: BootstrapResult]()
        for (m, r) in zip(models, restricted) {
            metrics[m.name] = HorizonMetrics.compute(r.records, stepMinutes: stepMinutes, selectedMinutes: minutes)
            clinical[m.name] = ClinicalAccuracy.compute(r.records, stepMinutes: stepMinutes)
            if bootstrapReplicates > 0 {
                bootstrap[m.name] = SubjectBootstrap.compute(r.records, replicates: bootstrapReplicates, seed: seed,
                                                             stepMinutes: stepMinutes)
            }
            worst[m.name] = WorstSegments.select(r.records, k: k)
            excluded[m.name] = m.records.count - r.records.count
            nonFinite[m.name] = m.records.records.lazy.filter { !$0.isFinite }.count
        }
        let all = models.reduce(into: Set<Int>()) { $0.formUnion($1.records.segmentIDs) }
        return ModelComparison(
            models: models.map(\.name), stepMinutes: stepMinutes, horizon: horizon, segments: common.count,
            totalSegments: all.count, nonFiniteSegments: nonFinite,
            subjects: restricted[0].records.subjects.count, excludedSegments: excluded, metrics: metrics,
            worstIndependent: worst, worstShared: try WorstSegments.shared(restricted, k: k),
            selectedMinutes: minutes, clinical: clinical, bootstrap: bootstrapReplicates > 0 ? bootstrap : nil)
    }

    /// Rows of the clinical tables: the naive baseline (from the first model's records), then the models.
    var clinicalRows: [(label: String, steps: [ClinicalSummary])] {
        guard let clinical, let first = models.first, let reference = clinical[first] else { return [] }
        return [(Self.naiveLabel, reference.steps.map(\.naive))]
            + models.map { name in (name, clinical[name]?.steps.map(\.model) ?? []) }
    }

    /// The skill 1 − RMSE/RMSE_naive of row `label` at step index `i`, with its CI when bootstrapped.
    func skill(_ label: String, step i: Int) -> (value: Double, interval: ConfidenceInterval?) {
        guard label != Self.naiveLabel, let m = metrics[label] else { return (0, nil) }
        return (1 - m.steps[i].model.rmse / m.steps[i].naive.rmse, bootstrap?[label]?.steps[i].skill)
    }

    /// Rows of the tables: the naive baseline, then the models; each with its per-step summaries.
    var rows: [(label: String, steps: [ErrorSummary])] {
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
        var out = "Model comparison on \(segments) shared segments (\(subjects) subjects)\n" + droppedLine + "\n"
        out += EvalTextTable.render(
            header: ["Model"] + idx.flatMap { _ in ["RMSE", "MAE", "ME"] },
            rows: rows.map { r in [r.label] + idx.flatMap { i in
                [EvalTextTable.fixed(r.steps[i].rmse), EvalTextTable.fixed(r.steps[i].mae), EvalTextTable.fixed(r.steps[i].me)]
            } },
            groups: groups)
        if !clinicalRows.isEmpty {
            out += "\nSkill 1 − RMSE/RMSE_naive" + (bootstrap != nil ? " [95% CI]" : "")
                + ", Clarke A+B %, Parkes A+B % (type 1), MARD %\n"
            out += EvalTextTable.render(
                header: ["Model"] + idx.flatMap { _ in ["skill", "Clarke A+B", "Parkes A+B", "MARD"] },
                rows: clinicalRows.map { r in [r.label] + idx.flatMap { i -> [String] in
                    let k = skill(r.label, step: i)
                    return [EvalTextTable.fixed(k.value, 3) + (k.interval.map { " " + EvalTextTable.interval($0, 3) } ?? ""),
                            EvalTextTable.fixed(r.steps[i].clarkeAB, 1), EvalTextTable.fixed(r.steps[i].parkesAB, 1),
                            EvalTextTable.fixed(r.steps[i].mard, 1)]
                } },
                groups: idx.map { (label: "\((($0 + 1) * stepMinutes)) min", span: 4) })
        }
        out += "\nError dispersion: IQR and [min, max]\n"
        out += EvalTextTable.render(
            header: ["Model"] + idx.flatMap { _ in ["IQR", "[Min, Max]"] },
            rows: rows.map { r in [r.label] + idx.flatMap { i in
                [EvalTextTable.fixed(r.steps[i].iqr),
                 "[\(EvalTextTable.fixed(r.steps[i].min, 1)), \(EvalTextTable.fixed(r.steps[i].max, 1))]"]
            } },
            groups: idx.map { (label: "\((($0 + 1) * stepMinutes)) min", span: 2) })
        let shown = worstShared.segments.count
        out += "\nWorst-\(shown) segments" + (shown < worstShared.k ? " (K = \(worstShared.k) requested)" : "")
            + " (RMSE = mean per-segment RMSE; shared: ranked by the mean across models)\n"
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

    /// "N of M windows dropped (…)": how the shared set was formed.
    public var droppedLine: String {
        guard droppedSegments > 0 else { return "all \(totalSegments) windows are evaluable by every model" }
        let causes = models.compactMap { name -> String? in
            guard let n = nonFiniteSegments[name], n > 0 else { return nil }
            return "\(name) \(n)"
        }
        return "\(droppedSegments) of \(totalSegments) windows dropped (not evaluable by every model"
            + (causes.isEmpty ? "" : "; non-finite values: " + causes.joined(separator: ", ")) + ")"
    }

    /// Table 2 as CSV: `model`, then `rmse_<m>min, mae_<m>min, me_<m>min, iqr_<m>min, min_<m>min,
    /// max_<m>min` per selected horizon, then (with clinical accuracy) `skill, skill_lower, skill_upper, clarke_ab,
    /// parkes_ab, mard, lag_minutes` per selected horizon; the naive baseline first.
    public func tableCSV() -> String {
        let idx = selectedIndices
        var header = ["model"]
        for i in idx {
            let m = (i + 1) * stepMinutes
            header += ["rmse", "mae", "me", "iqr", "min", "max"].map { "\($0)_\(m)min" }
        }
        let clinicalStats = ["skill", "skill_lower", "skill_upper", "clarke_ab", "parkes_ab", "mard", "lag_minutes"]
        if clinical != nil {
            for i in idx { header += clinicalStats.map { "\($0)_\((i + 1) * stepMinutes)min" } }
        }
        var lines = [header.joined(separator: ",")]
        let clinicalByLabel = Dictionary(clinicalRows.map { ($0.label, $0.steps) }, uniquingKeysWith: { a, _ in a })
        for r in rows {
            var fields = [EvalCSV.field(r.label)] + idx.flatMap { i -> [String] in
                let s = r.steps[i]
                return [s.rmse, s.mae, s.me, s.iqr, s.min, s.max].map(EvalCSV.number)
            }
            if let steps = clinicalByLabel[r.label] {
                fields += idx.flatMap { i -> [String] in
                    let k = skill(r.label, step: i), c = steps[i]
                    return [k.value, k.interval?.lower ?? .nan, k.interval?.upper ?? .nan, c.clarkeAB, c.parkesAB, c.mard,
                            Double(c.lagMinutes)].map(EvalCSV.number)
                }
            }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A row label as a CSV column prefix: lower-cased, non-alphanumerics as "_".
    static func key(_ label: String) -> String {
        String(label.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// Figure 3's data, every horizon step: `minutes_ahead`, then `<label>_rmse, <label>_mae, <label>_me`
    /// for the naive baseline and each model, then `<label>_iqr, <label>_min, <label>_max` likewise.
    public func perHorizonCSV() -> String {
        let table = rows
        let point: [(String, (ErrorSummary) -> Double)] = [("rmse", { $0.rmse }), ("mae", { $0.mae }), ("me", { $0.me })]
        let spread: [(String, (ErrorSummary) -> Double)] = [("iqr", { $0.iqr }), ("min", { $0.min }), ("max", { $0.max })]
        func header(_ stats: [(String, (ErrorSummary) -> Double)]) -> [String] {
            table.flatMap { r in stats.map { "\(Self.key(r.label))_\($0.0)" } }
        }
        var lines = [(["minutes_ahead"] + header(point) + header(spread)).map(EvalCSV.field).joined(separator: ",")]
        for i in 0..<horizon {
            let values = [point, spread].flatMap { stats in table.flatMap { r in stats.map { $0.1(r.steps[i]) } } }
            lines.append(([String((i + 1) * stepMinutes)] + values.map(EvalCSV.number)).joined(separator: ","))
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

    /// Writes `compare.json`, `compare.csv` (Table 2), `compare_per_horizon.csv` (Figure 3 data),
    /// `compare_rmse.svg`, `compare_mae.svg`, `compare_me.svg`, and the worst-K lists
    /// `compare_worst_shared.csv`, `compare_worst_independent.csv` (Appendix D) into `dir`, atomically.
    public func write(toDirectory dir: String) throws {
        try EvaluationFiles.ensureDirectory(dir)
        func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
        try EvaluationFiles.writeAtomically(EvaluationJSON.encode(self), to: path("compare.json"))
        try EvaluationFiles.writeAtomically(tableCSV(), to: path("compare.csv"))
        try EvaluationFiles.writeAtomically(perHorizonCSV(), to: path("compare_per_horizon.csv"))
        for (metric, chart) in plots() { try chart.write(to: path("compare_\(metric.rawValue).svg")) }
        try EvaluationFiles.writeAtomically(worstSharedCSV(), to: path("compare_worst_shared.csv"))
        try EvaluationFiles.writeAtomically(worstIndependentCSV(), to: path("compare_worst_independent.csv"))
    }
}
