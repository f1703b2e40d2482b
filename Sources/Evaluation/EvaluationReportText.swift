// Text outputs of an evaluation: per_horizon.csv (one row per step) and the fixed-width table printed by
// `cgmtrain evaluate`.

import Foundation

extension EvaluationReport {
    /// Column names of per_horizon.csv for a report with or without quantile metrics.
    public static func perHorizonColumns(quantiles: Bool) -> [String] {
        let stats = ["mae", "rmse", "me", "iqr", "min", "max"]
        return ["minutes_ahead"] + stats.map { "model_\($0)" }
            + (quantiles ? ["model_ql", "model_coverage_10_90"] : []) + stats.map { "naive_\($0)" }
            + ["skill"] + clinicalColumns.flatMap { c in ["model_\(c)", "naive_\(c)"] }
    }

    /// Clinical columns of per_horizon.csv, each for the model and the naive baseline.
    static let clinicalColumns = ["clarke_a", "clarke_ab", "parkes_ab", "mard", "lag_minutes", "hypo_sensitivity",
                                  "hypo_precision", "hyper_sensitivity", "hyper_precision"]

    /// The clinical columns' values of one summary (NaN without one).
    static func clinicalValues(_ c: ClinicalSummary?) -> [Double] {
        guard let c else { return [Double](repeating: .nan, count: clinicalColumns.count) }
        return [c.clarkeA, c.clarkeAB, c.parkesAB, c.mard, Double(c.lagMinutes), c.hypo.sensitivity, c.hypo.precision,
                c.hyper.sensitivity, c.hyper.precision]
    }

    /// per_horizon.csv: a header, then one row per horizon step (minutes ahead, model columns, naive columns, the skill
    /// 1 − RMSE/RMSE_naive, clinical columns for the model and naive). Numbers in shortest round-trip form; non-finite
    /// as "nan".
    public func perHorizonCSV() -> String {
        let quantiles = !metrics.quantileLevels.isEmpty
        var lines = [Self.perHorizonColumns(quantiles: quantiles).joined(separator: ",")]
        for s in metrics.steps {
            func stats(_ e: ErrorSummary) -> [Double] { [e.mae, e.rmse, e.me, e.iqr, e.min, e.max] }
            var row = [String(s.minutes)] + stats(s.model).map(EvalCSV.number)
            if quantiles {
                row += [s.model.quantile?.quantileLoss ?? .nan, s.model.quantile?.coverage10_90 ?? .nan]
                    .map(EvalCSV.number)
            }
            row += stats(s.naive).map(EvalCSV.number)
            row.append(EvalCSV.number(1 - s.model.rmse / s.naive.rmse))
            let c = clinical?.step(atMinutes: s.minutes)
            for (a, b) in zip(Self.clinicalValues(c?.model), Self.clinicalValues(c?.naive)) {
                row += [EvalCSV.number(a), EvalCSV.number(b)]
            }
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The printed summary: metrics at the selected horizons and overall (with the paired difference from naive and
    /// the skill 1 − RMSE/RMSE_naive, and their CIs), clinical accuracy, the subgroups and the worst-K.
    public func table() -> String {
        let m = metrics
        var out = "Evaluation of \(model): \(m.segments) segments, \(m.subjects) subjects, horizon \(m.horizon) × "
            + "\(m.stepMinutes) min"
        out += excludedSegments > 0 ? " (\(excludedSegments) segments with non-finite values excluded)\n" : "\n"
        let quantiles = !m.quantileLevels.isEmpty
        let level = bootstrap.map { " \(SubjectBootstrap.percent($0.confidence)) CI" }
        var header = ["horizon", "MAE", "naive MAE"] + (level.map { ["ΔMAE\($0)"] } ?? [])
            + ["RMSE", "naive RMSE"] + (level.map { ["RMSE\($0)"] } ?? []) + ["skill"] + (level.map { ["skill\($0)"] } ?? [])
            + ["ME", "naive ME"]
        if quantiles { header += ["QL", "cov 10-90"] }
        var rows: [[String]] = []
        func row(_ label: String, _ model: ErrorSummary, _ naive: ErrorSummary, _ interval: BootstrapIntervals?) {
            var r = [label, EvalTextTable.fixed(model.mae), EvalTextTable.fixed(naive.mae)]
            if bootstrap != nil { r.append(interval.map { EvalTextTable.interval($0.difference.mae) } ?? "") }
            r += [EvalTextTable.fixed(model.rmse), EvalTextTable.fixed(naive.rmse)]
            if bootstrap != nil { r.append(interval.map { EvalTextTable.interval($0.model.rmse) } ?? "") }
            r.append(EvalTextTable.fixed(1 - model.rmse / naive.rmse, 3))
            if bootstrap != nil { r.append(interval.flatMap(\.skill).map { EvalTextTable.interval($0, 3) } ?? "") }
            r += [EvalTextTable.fixed(model.me), EvalTextTable.fixed(naive.me)]
            if quantiles {
                r += [EvalTextTable.fixed(model.quantile?.quantileLoss ?? .nan),
                      EvalTextTable.fixed(model.quantile?.coverage10_90 ?? .nan, 3)]
            }
            rows.append(r)
        }
        for s in m.selectedSteps { row("\(s.minutes) min", s.model, s.naive, bootstrap?.step(atMinutes: s.minutes)) }
        row("all", m.overall.model, m.overall.naive, bootstrap?.overall)
        out += EvalTextTable.render(header: header, rows: rows)
        if let clinical {
            out += "\nClinical accuracy (model | naive): Clarke and Parkes (type 1) zones, MARD, time lag, "
                + "hypo < 70 / hyper > 180 mg/dL detection\n"
            let clinicalRows = m.selectedSteps.compactMap { s -> [String]? in
                guard let c = clinical.step(atMinutes: s.minutes) else { return nil }
                func pair(_ a: Double, _ b: Double, _ d: Int = 1) -> String { "\(EvalTextTable.fixed(a, d)) | \(EvalTextTable.fixed(b, d))" }
                func events(_ e: EventDetection) -> String {
                    "\(EvalTextTable.fixed(e.sensitivity, 2))/\(EvalTextTable.fixed(e.precision, 2))"
                }
                return ["\(s.minutes) min", pair(c.model.clarkeA, c.naive.clarkeA), pair(c.model.clarkeAB, c.naive.clarkeAB),
                        pair(c.model.parkesAB, c.naive.parkesAB), pair(c.model.mard, c.naive.mard),
                        "\(c.model.lagMinutes) | \(c.naive.lagMinutes)",
                        "\(events(c.model.hypo)) | \(events(c.naive.hypo)) (\(c.model.hypo.events))",
                        "\(events(c.model.hyper)) | \(events(c.naive.hyper)) (\(c.model.hyper.events))"]
            }
            out += EvalTextTable.render(header: ["horizon", "Clarke A %", "Clarke A+B %", "Parkes A+B %", "MARD %", "lag min",
                                                 "hypo sens/prec (events)", "hyper sens/prec (events)"], rows: clinicalRows)
        }
        if !subgroups.isEmpty {
            out += "\nBy diabetes_status (all horizons pooled)\n"
            let groupRows = subgroups.keys.sorted().map { name -> [String] in
                let g = subgroups[name]!
                return [name, String(g.segments), String(g.subjects), EvalTextTable.fixed(g.overall.model.mae),
                        EvalTextTable.fixed(g.overall.model.rmse), EvalTextTable.fixed(g.overall.model.me),
                        EvalTextTable.fixed(g.overall.naive.mae), EvalTextTable.fixed(g.overall.naive.rmse)]
            }
            out += EvalTextTable.render(header: ["group", "segments", "subjects", "MAE", "RMSE", "ME", "naive MAE",
                                             "naive RMSE"], rows: groupRows)
        }
        if let worst {
            out += "\nWorst \(worst.segments.count) segments (\(worst.criterion); RMSE = mean per-segment RMSE)\n"
            let worstRows = [(model, WorstSegments.modelName), ("naive", WorstSegments.naiveName)].compactMap {
                label, key -> [String]? in
                guard let s = worst.summaries[key] else { return nil }
                return [label, EvalTextTable.fixed(s.rmse), EvalTextTable.fixed(s.mae), EvalTextTable.fixed(s.me)]
            }
            out += EvalTextTable.render(header: ["forecaster", "RMSE", "MAE", "ME"], rows: worstRows)
        }
        if let bootstrap {
            out += "\nCIs: \(bootstrap.method) (\(bootstrap.subjects) subjects, seed \(bootstrap.seed)).\n"
        }
        return out
    }
}

/// CSV number formatting.
public enum EvalCSV {
    /// Shortest round-trip decimal; "nan" for non-finite values.
    public static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "nan" }

    /// Quotes a field when it contains a comma, quote or newline.
    public static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// Fixed-width text tables: first column left-aligned, the others right-aligned, two spaces apart.
enum EvalTextTable {
    /// `x` with `decimals` decimals, or "n/a" when not finite.
    static func fixed(_ x: Double, _ decimals: Int = 2) -> String {
        x.isFinite ? String(format: "%.\(decimals)f", x) : "n/a"
    }

    /// "[lo, hi]" with `decimals` decimals.
    static func interval(_ ci: ConfidenceInterval, _ decimals: Int = 2) -> String {
        "[\(fixed(ci.lower, decimals)), \(fixed(ci.upper, decimals))]"
    }

    /// Renders a header line, a rule, and the rows; `groups` optionally labels column spans above the header
    /// (e.g. "30 min" over RMSE, MAE, ME).
    static func render(header: [String], rows: [[String]], groups: [(label: String, span: Int)] = []) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, cell) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func pad(_ s: String, _ w: Int, left: Bool) -> String {
            let fill = String(repeating: " ", count: max(0, w - s.count))
            return left ? s + fill : fill + s
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { pad($1, widths[$0], left: $0 == 0) }.joined(separator: "  ")
        }
        var out = ""
        if !groups.isEmpty {
            var cells: [String] = [String(repeating: " ", count: widths[0])]
            var column = 1
            for g in groups {
                let span = widths[column..<min(column + g.span, widths.count)].reduce(0, +) + 2 * (g.span - 1)
                let text = g.label.count >= span ? g.label : {
                    let left = (span - g.label.count) / 2
                    return String(repeating: " ", count: left) + g.label
                        + String(repeating: " ", count: span - g.label.count - left)
                }()
                cells.append(text)
                column += g.span
            }
            out += cells.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
                + "\n"
        }
        let head = line(header)
        out += head + "\n" + String(repeating: "-", count: head.count) + "\n"
        for r in rows { out += line(r) + "\n" }
        return out
    }
}
