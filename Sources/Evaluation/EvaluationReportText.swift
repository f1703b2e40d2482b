// Text outputs of an evaluation: per_horizon.csv (one row per step) and the fixed-width table printed by
// `cgmtrain evaluate`.

import Foundation

extension EvaluationReport {
    /// Column names of per_horizon.csv for a report with or without quantile metrics.
    public static func perHorizonColumns(quantiles: Bool) -> [String] {
        let stats = ["mae", "rmse", "me", "iqr", "min", "max"]
        return ["minutes_ahead"] + stats.map { "model_\($0)" }
            + (quantiles ? ["model_ql", "model_coverage_10_90"] : []) + stats.map { "naive_\($0)" }
    }

    /// per_horizon.csv: a header, then one row per horizon step (minutes ahead, model columns, naive
    /// columns). Numbers in shortest round-trip form; non-finite as "nan".
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
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The printed summary: metrics at the selected horizons and overall, the subgroups and the worst-K.
    public func table() -> String {
        let m = metrics
        var out = "Evaluation of \(model): \(m.segments) segments, \(m.subjects) subjects, horizon \(m.horizon) × "
            + "\(m.stepMinutes) min"
        out += excludedSegments > 0 ? " (\(excludedSegments) segments with non-finite values excluded)\n" : "\n"
        let quantiles = !m.quantileLevels.isEmpty
        let ci = bootstrap.map { "RMSE \(SubjectBootstrap.percent($0.confidence)) CI" }
        var header = ["horizon", "MAE", "RMSE"] + (ci.map { [$0] } ?? []) + ["ME", "IQR", "[min, max]"]
        if quantiles { header += ["QL", "cov 10-90"] }
        header += ["naive MAE", "naive RMSE", "naive ME"]
        var rows: [[String]] = []
        func row(_ label: String, _ model: ErrorSummary, _ naive: ErrorSummary, _ interval: BootstrapIntervals?) {
            var r = [label, EvalTextTable.fixed(model.mae), EvalTextTable.fixed(model.rmse)]
            if bootstrap != nil { r.append(interval.map { EvalTextTable.interval($0.model.rmse) } ?? "") }
            r += [EvalTextTable.fixed(model.me), EvalTextTable.fixed(model.iqr),
                  "[\(EvalTextTable.fixed(model.min, 1)), \(EvalTextTable.fixed(model.max, 1))]"]
            if quantiles {
                r += [EvalTextTable.fixed(model.quantile?.quantileLoss ?? .nan),
                      EvalTextTable.fixed(model.quantile?.coverage10_90 ?? .nan, 3)]
            }
            r += [EvalTextTable.fixed(naive.mae), EvalTextTable.fixed(naive.rmse), EvalTextTable.fixed(naive.me)]
            rows.append(r)
        }
        for s in m.selectedSteps { row("\(s.minutes) min", s.model, s.naive, bootstrap?.step(atMinutes: s.minutes)) }
        row("all", m.overall.model, m.overall.naive, bootstrap?.overall)
        out += EvalTextTable.render(header: header, rows: rows)
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

    /// "[lo, hi]" with two decimals.
    static func interval(_ ci: ConfidenceInterval) -> String { "[\(fixed(ci.lower)), \(fixed(ci.upper))]" }

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
