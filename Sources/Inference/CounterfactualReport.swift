// Summaries of counterfactual forecasts (SSM-CGM Figure 3A: Δglucose by diabetes status, mean ± 95 % CI).
//
// Per window, with Δ_s = counterfactual − factual forecast at horizon step s = 1 … H (5 min apart):
//   Δ mean   (1/H) Σ_s Δ_s                                          mg/dL
//   Δ end    Δ_H                                                     mg/dL
//   Δ area   trapezoid over [t, t + 5H min] with Δ = 0 at t (the last observation is not intervened on):
//            (5/60) · (Σ_{s=1}^{H} Δ_s − Δ_H / 2)                   mg/dL·h
//   ΔTIR     100 · (#{s: 70 ≤ cf_s ≤ 180} − #{s: 70 ≤ f_s ≤ 180}) / H   percentage points
// Per subject: the mean over its windows. Per group (diabetes_status; "all"): the mean over subjects —
// each subject counts once, as the paper stratifies individual-level effects — with a normal-approximation
// 95 % CI, mean ± 1.96 · s/√n (s the sample SD over subjects; none below 2 subjects).
// Files (written atomically): windows.csv, subjects.csv, groups.csv, delta_by_horizon.csv,
// delta_vs_horizon.svg.

import CGMData
import CGMSchema
import Charts
import Evaluation
import Foundation

/// Window-, subject- and group-level summaries of a counterfactual run.
public struct CounterfactualReport {
    /// The four effect measures, in column order.
    public static let measures = ["delta_mean_mg_dl", "delta_end_mg_dl", "delta_auc_mg_dl_h", "delta_tir_pp"]

    /// The effect measures of one window (`measures` order) and its factual / counterfactual TIR.
    public struct WindowEffect: Equatable {
        public var values: [Double]
        public var factualTIR: Double, counterfactualTIR: Double

        /// The measures of forecasts `factual` and `counterfactual` (mg/dL, H each; see the header).
        public init(factual: [Float], counterfactual: [Float], stepMinutes: Double = 5) {
            let h = factual.count
            let delta = zip(counterfactual, factual).map { Double($0) - Double($1) }
            func tir(_ x: [Float]) -> Double { 100 * Double(x.filter { $0 >= 70 && $0 <= 180 }.count) / Double(h) }
            factualTIR = tir(factual)
            counterfactualTIR = tir(counterfactual)
            let sum = delta.reduce(0, +)
            values = [sum / Double(h), delta[h - 1], stepMinutes / 60 * (sum - delta[h - 1] / 2),
                      counterfactualTIR - factualTIR]
        }
    }

    /// One subject's summary.
    public struct Subject {
        public var id: String, group: String, windows: Int
        /// Per intervention: SD source, mean SD_subj (raw units), mean change of the scaled input.
        public var sources: [String], subjectSD: [Double], scaledChange: [Double]
        /// Means over windows, `measures` order.
        public var values: [Double]
        public var factualTIR: Double, counterfactualTIR: Double
        /// Mean Δ per horizon step.
        public var deltaByStep: [Double]
    }

    /// One group's summary (means over subjects with 95 % CIs).
    public struct Group {
        public var name: String, subjects: Int, windows: Int
        public var mean: [Double], low: [Double], high: [Double]
        public var deltaByStep: [Double]
    }

    public let run: CounterfactualRunner.Result
    public let shifts: [CovariateShiftRequest]
    public let hours: HourWindow?
    public let split: String
    public let subjectIDs: [String]
    public let effects: [WindowEffect]
    public let subjects: [Subject]
    public let groups: [Group]
    public let horizon: Int

    /// Summarizes `run`; group labels come from the windows' diabetes_status static (decoded with the
    /// dataset's vocabulary) or else from `table` (subjects.csv), else "unknown".
    public init(run: CounterfactualRunner.Result, shifts: [CovariateShiftRequest], hours: HourWindow?, split: String,
                manifest: Manifest, table: SubjectTable?) {
        self.run = run
        self.shifts = shifts
        self.hours = hours
        self.split = split
        subjectIDs = manifest.subjects
        horizon = manifest.horizon
        let spec = try? FeatureSpec(jsonString: manifest.featureSpecJSON)
        let vocabulary = spec?.statics.first { $0.name == "diabetes_status" }?.vocabulary ?? []
        var label = [Int: String]()
        for r in run.records where label[r.subject] == nil {
            var g = table?.value("diabetes_status", for: manifest.subjects[r.subject]) ?? ""
            if r.statusCode >= 1 && r.statusCode <= vocabulary.count { g = vocabulary[r.statusCode - 1] }
            label[r.subject] = g.isEmpty ? "unknown" : g
        }
        let windowEffects = run.records.map { WindowEffect(factual: $0.factual, counterfactual: $0.counterfactual) }
        effects = windowEffects
        var summaries: [Subject] = []
        let bySubject = Dictionary(grouping: run.records.indices, by: { run.records[$0].subject })
        for s in bySubject.keys.sorted(by: { manifest.subjects[$0] < manifest.subjects[$1] }) {
            let rows = bySubject[s]!
            func mean(_ f: (Int) -> Double) -> Double { rows.map(f).reduce(0, +) / Double(rows.count) }
            let k = run.features.count
            summaries.append(Subject(
                id: manifest.subjects[s], group: label[s] ?? "unknown", windows: rows.count,
                sources: (0..<k).map { c in
                    let names = Set(rows.map { run.records[$0].sources[c].rawValue })
                    return names.count == 1 ? names.first! : names.sorted().joined(separator: "+")
                },
                subjectSD: (0..<k).map { c in mean { run.records[$0].subjectSD[c] } },
                scaledChange: (0..<k).map { c in mean { run.records[$0].scaledChange[c] } },
                values: (0..<Self.measures.count).map { j in mean { windowEffects[$0].values[j] } },
                factualTIR: mean { windowEffects[$0].factualTIR }, counterfactualTIR: mean { windowEffects[$0].counterfactualTIR },
                deltaByStep: (0..<manifest.horizon).map { h in mean { run.records[$0].delta[h] } }))
        }
        subjects = summaries
        let names = Array(Set(summaries.map(\.group))).sorted() + (summaries.isEmpty ? [] : ["all"])
        groups = names.map { name in
            let members = name == "all" ? summaries : summaries.filter { $0.group == name }
            let n = Double(members.count)
            var mean: [Double] = [], low: [Double] = [], high: [Double] = []
            for j in 0..<Self.measures.count {
                let x = members.map { $0.values[j] }, m = x.reduce(0, +) / n
                let half = members.count > 1 ? 1.96 * (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / (n - 1)).squareRoot() / n.squareRoot() : .nan
                mean.append(m); low.append(m - half); high.append(m + half)
            }
            return Group(name: name, subjects: members.count, windows: members.map(\.windows).reduce(0, +),
                         mean: mean, low: low, high: high,
                         deltaByStep: (0..<manifest.horizon).map { h in members.map { $0.deltaByStep[h] }.reduce(0, +) / n })
        }
    }

    /// "heart_rate_bpm +2 SD, steps mean+1 SD".
    public var interventionText: String {
        zip(run.features, shifts).map { f, s in
            "\(f) \(s.mode == .set ? "mean" : "")\(s.k >= 0 ? "+" : "")\(Self.number(s.k, 2)) SD"
        }.joined(separator: ", ")
    }

    // MARK: Text outputs

    /// Fixed decimals; "" for non-finite; no "-0.0" for values that round to zero.
    static func number(_ x: Double, _ digits: Int = 4) -> String {
        guard x.isFinite else { return "" }
        let s = String(format: "%.\(digits)f", x)
        return s.hasPrefix("-") && Double(s) == 0 ? String(s.dropFirst()) : s
    }

    /// Per-window CSV.
    public func windowsCSV() -> String {
        var header = ["window", "subject_id", "group", "decision_time"]
        for f in run.features { header += ["\(f)_sd_source", "\(f)_subject_sd", "\(f)_scaled_change"] }
        header += ["factual_mean_mg_dl", "counterfactual_mean_mg_dl"] + Self.measures
            + ["factual_tir_pct", "counterfactual_tir_pct"] + (1...horizon).map { "delta_step\($0)_mg_dl" }
        let groupOf = Dictionary(uniqueKeysWithValues: subjects.map { ($0.id, $0.group) })
        var lines = [header.joined(separator: ",")]
        for (r, e) in zip(run.records, effects) {
            let id = subjectIDs[r.subject]
            var row = ["\(r.index)", id, groupOf[id] ?? "unknown", GridTime.iso8601(r.decisionTime)]
            for c in run.features.indices {
                row += [r.sources[c].rawValue, Self.number(r.subjectSD[c]), Self.number(r.scaledChange[c], 6)]
            }
            let fm = r.factual.map(Double.init).reduce(0, +) / Double(horizon)
            let cm = r.counterfactual.map(Double.init).reduce(0, +) / Double(horizon)
            row += [Self.number(fm), Self.number(cm)] + e.values.map { Self.number($0) }
                + [Self.number(e.factualTIR, 2), Self.number(e.counterfactualTIR, 2)] + r.delta.map { Self.number($0) }
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Per-subject CSV.
    public func subjectsCSV() -> String {
        var header = ["subject_id", "group", "windows"]
        for f in run.features { header += ["\(f)_sd_source", "\(f)_subject_sd", "\(f)_scaled_change"] }
        header += Self.measures + ["factual_tir_pct", "counterfactual_tir_pct"]
        var lines = [header.joined(separator: ",")]
        for s in subjects {
            var row = [s.id, s.group, "\(s.windows)"]
            for c in run.features.indices { row += [s.sources[c], Self.number(s.subjectSD[c]), Self.number(s.scaledChange[c], 6)] }
            row += s.values.map { Self.number($0) } + [Self.number(s.factualTIR, 2), Self.number(s.counterfactualTIR, 2)]
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Per-group CSV: mean over subjects and the 95 % CI of every measure.
    public func groupsCSV() -> String {
        var header = ["group", "subjects", "windows"]
        for m in Self.measures { header += [m, "\(m)_ci_low", "\(m)_ci_high"] }
        var lines = [header.joined(separator: ",")]
        for g in groups {
            var row = [g.name, "\(g.subjects)", "\(g.windows)"]
            for j in Self.measures.indices { row += [Self.number(g.mean[j]), Self.number(g.low[j]), Self.number(g.high[j])] }
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mean Δ per horizon step by group (mean over subjects).
    public func horizonCSV() -> String {
        var lines = ["group,step,minutes_ahead,delta_mg_dl,subjects"]
        for g in groups {
            for h in 0..<horizon { lines.append("\(g.name),\(h + 1),\(5 * (h + 1)),\(Self.number(g.deltaByStep[h])),\(g.subjects)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Mean Δglucose against minutes ahead, one line per group ("all" dashed).
    public func chart() -> SVGLineChart {
        let minutes = (1...max(horizon, 1)).map { 5 * $0 }
        var c = SVGLineChart.errorVersusHorizon(metric: "Δ glucose", minutes: minutes,
                                                series: groups.map { ($0.name, $0.deltaByStep) },
                                                title: "Counterfactual Δ glucose: \(interventionText)")
        c.yLabel = "mean Δ glucose (mg/dL)"
        if let i = c.series.firstIndex(where: { $0.name == "all" }) { c.series[i].dashed = true }
        return c
    }

    /// The printed summary.
    public func table() -> String {
        let eligible = run.records.count
        var out = "counterfactual: \(interventionText) over the horizon; "
            + (hours.map { "horizons within \(Self.number($0.start, 0))–\(Self.number($0.end, 0)) h local (\(run.clockSource))" } ?? "all times of day")
            + "\n\(eligible) of \(run.windows) \(split) windows, \(subjects.count) subjects; SD source: "
        let sources = run.features.indices.map { c in
            let counts = Dictionary(grouping: run.records, by: { $0.sources[c].rawValue }).mapValues(\.count)
            return "\(run.features[c]) " + counts.keys.sorted().map { "\($0) \(counts[$0]!)" }.joined(separator: ", ")
        }
        out += sources.joined(separator: "; ") + " windows\n\n"
        let header = ["group", "subjects", "windows", "Δ mean mg/dL [95% CI]", "Δ end mg/dL", "Δ area mg/dL·h", "ΔTIR pp"]
        var rows = [header]
        for g in groups {
            func cell(_ j: Int, _ d: Int) -> String {
                let ci = g.low[j].isFinite ? " [\(Self.number(g.low[j], d)), \(Self.number(g.high[j], d))]" : ""
                return Self.number(g.mean[j], d) + ci
            }
            rows.append([g.name, "\(g.subjects)", "\(g.windows)", cell(0, 2), cell(1, 2), cell(2, 3), cell(3, 1)])
        }
        let widths = header.indices.map { i in rows.map { $0[i].count }.max()! }
        for (k, r) in rows.enumerated() {
            out += r.enumerated().map { i, c in
                i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[i] - c.count) + c
            }.joined(separator: "  ") + "\n"
            if k == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
        }
        return out
    }

    /// Writes the five files into `dir` (created if missing), each atomically.
    public func write(toDirectory dir: String) throws {
        try EvaluationFiles.ensureDirectory(dir)
        func path(_ f: String) -> String { (dir as NSString).appendingPathComponent(f) }
        try EvaluationFiles.writeAtomically(windowsCSV(), to: path("windows.csv"))
        try EvaluationFiles.writeAtomically(subjectsCSV(), to: path("subjects.csv"))
        try EvaluationFiles.writeAtomically(groupsCSV(), to: path("groups.csv"))
        try EvaluationFiles.writeAtomically(horizonCSV(), to: path("delta_by_horizon.csv"))
        try chart().write(to: path("delta_vs_horizon.svg"))
    }
}
