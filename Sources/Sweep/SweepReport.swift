// `cgmtrain sweep report DIR`: every trial of a sweep directory in one table — its hyperparameters, state,
// best validation loss, validation QL/MAE/RMSE of its best checkpoint, parameter count, epochs, training
// wall time — printed and written as DIR/report.csv; the best trial chosen by the sweep's selection rule
// (SweepRanking.swift) and its resolved configuration written as DIR/best-config.yaml, ready to train.
//
// Trials without a status (never started) are "pending"; for a trial whose status says running while no
// job runs it (the job died), the best validation loss so far is read from its metrics.jsonl.

import Foundation
import Training

/// A sweep's report.
public struct SweepReport {
    public let directory: SweepDirectory
    public let plan: SweepPlanFile
    public let selection: SweepSelection
    /// One status per planned trial (synthesized "pending" ones have state running and attempts 0).
    public let statuses: [SweepTrialStatus]
    /// Selection order (indices into `statuses`); the first is the best.
    public let ranking: [Int]
    /// Searched keys (table columns).
    public let keys: [String]

    /// Reads DIR/plan.json and every trial's status. `selection` defaults to the sweep's (stored in plan.json).
    public init(directory path: String, selection: SweepSelection? = nil) throws {
        directory = SweepDirectory(path)
        guard let plan = try directory.readPlan() else {
            throw RunDirectoryError("\(directory.planFile) does not exist: is \(path) the --out directory of a sweep?")
        }
        self.plan = plan
        self.selection = selection ?? plan.select.selection
        var statuses: [SweepTrialStatus] = []
        for entry in plan.trials {
            if var s = try directory.readStatus(entry.trial) {
                if s.state == .running, s.bestValLoss == nil {
                    s.bestValLoss = directory.validationLosses(entry.trial).filter(\.isFinite).min()
                }
                statuses.append(s)
            } else {
                var s = SweepTrialStatus(trial: entry.trial, state: .running, overrides: entry.overrides)
                s.error = entry.error
                statuses.append(s)
            }
        }
        self.statuses = statuses
        keys = plan.trials.first?.overrides.map(\.key) ?? []
        ranking = self.selection.rank(statuses)
    }

    /// The selected trial's status, if any trial qualifies.
    public var best: SweepTrialStatus? { ranking.first.map { statuses[$0] } }

    /// "pending" for trials never started, else the state.
    public func stateLabel(_ s: SweepTrialStatus) -> String {
        s.state == .running && s.attempts == 0 ? "pending" : s.state.rawValue
    }

    static let metricColumns = ["best_val_loss", "val_ql", "val_mae", "val_rmse", "params", "epochs", "wall_s"]

    /// Rows (trial order) as column → text; numbers with full precision for CSV, `short` for the table.
    func rows(short: Bool) -> [[String]] {
        let position = Dictionary(uniqueKeysWithValues: ranking.enumerated().map { ($1, $0 + 1) })
        return statuses.indices.map { i in
            let s = statuses[i]
            func num(_ v: Double?) -> String {
                guard let v, v.isFinite else { return "" }
                return short ? Self.short(v) : "\(v)"
            }
            let values = keys.map { k in s.overrides.first { $0.key == k }?.value ?? "" }
            return [SweepTrial.name(s.trial), stateLabel(s), position[i].map(String.init) ?? ""] + values.map { short ? Self.shortValue($0) : $0 }
                + [num(s.bestValLoss), num(s.valQL), num(s.valMAE), num(s.valRMSE), s.params.map(String.init) ?? "",
                   s.epochs.map(String.init) ?? "", s.wallSeconds.map { short ? String(format: "%.1f", $0) : "\($0)" } ?? ""]
        }
    }

    public var header: [String] { ["trial", "status", "rank"] + keys + Self.metricColumns }

    /// The CSV text (header + one row per trial; values quoted when they contain a comma or quote).
    public var csv: String {
        func field(_ s: String) -> String {
            s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        return ([header] + rows(short: false)).map { $0.map(field).joined(separator: ",") }
            .joined(separator: "\n") + "\n"
    }

    /// The printed table, the counts, the selection and its errors.
    public var text: String {
        let table = [header] + rows(short: true)
        let widths = header.indices.map { c in table.map { $0[c].count }.max() ?? 0 }
        var out = "sweep \(plan.name) (\(directory.path)): \(statuses.count) trials — "
        var counts: [String: Int] = [:]
        for s in statuses { counts[stateLabel(s), default: 0] += 1 }
        out += ["finished", "pruned", "failed", "interrupted", "running", "pending"].compactMap { k in
            counts[k].map { "\($0) \(k)" }
        }.joined(separator: ", ") + "\n"
        for row in table {
            out += row.enumerated().map { c, v in v.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        let failed = statuses.filter { $0.state == .failed }
        for s in failed { out += "\(SweepTrial.name(s.trial)) failed: \(s.error ?? "(no error recorded)")\n" }
        out += "selection: smallest \(selection.metric.rawValue)"
            + (selection.tieBreakers.isEmpty ? "" : ", ties by " + selection.tieBreakers.map(\.rawValue).joined(separator: ", "))
            + (selection.tolerance > 0 ? " (relative tolerance \(selection.tolerance))" : "") + "\n"
        if let b = best {
            out += "best: \(SweepTrial.name(b.trial)) — \(b.overrides.map(\.argument).joined(separator: " "))\n"
        } else {
            out += "best: none yet (no finished trial with a \(selection.metric.rawValue))\n"
        }
        return out
    }

    /// Writes report.csv and (when a trial qualifies) best-config.yaml; returns the paths written.
    @discardableResult
    public func write() throws -> [String] {
        var written = [directory.file("report.csv")]
        try SweepDirectory.writeAtomically(Data(csv.utf8), to: written[0])
        if let b = best {
            try SweepDirectory.writeAtomically(Data(try bestConfigText(b).utf8), to: directory.file("best-config.yaml"))
            written.append(directory.file("best-config.yaml"))
        }
        return written
    }

    /// best-config.yaml: the selected trial's resolved config.yaml behind a comment saying where it came
    /// from and how to train it on another context length (SSM-CGM A.9 transfers the 24 h best to 12 h, 48 h).
    func bestConfigText(_ b: SweepTrialStatus) throws -> String {
        let source = (directory.trialDirectory(b.trial) as NSString).appendingPathComponent("config.yaml")
        guard let config = try? String(contentsOfFile: source, encoding: .utf8) else {
            throw RunDirectoryError("cannot read \(source), the configuration of the selected trial")
        }
        let metrics = [("val_loss", b.bestValLoss), ("val_ql", b.valQL), ("val_mae", b.valMAE), ("val_rmse", b.valRMSE)]
            .compactMap { n, v in v.map { "\(n) \(Self.short($0))" } } + (b.params.map { ["params \($0)"] } ?? [])
        let history = config.components(separatedBy: "\n").first { $0.hasPrefix("  history:") }?
            .split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespaces) }
        var head = """
            # Best configuration of sweep \(plan.name) (\(directory.path)): \(SweepTrial.name(b.trial)), selected by smallest \
            \(selection.metric.rawValue)\(selection.tieBreakers.isEmpty ? "" : ", ties by " + selection.tieBreakers.map(\.rawValue).joined(separator: ", "))
            #   \(metrics.joined(separator: ", "))
            #   searched values: \(b.overrides.map(\.argument).joined(separator: " "))
            # Train it:  cgmtrain train --config best-config.yaml --data DATA --run RUN
            """
        if let history {
            head += """

                # Another context length (SSM-CGM A.9 transfers the 24 h best to 12 h and 48 h): prepare a dataset with
                #   data.history changed (now \(history) steps; at 5 min, 12 h = 144, 24 h = 288, 48 h = 576), then
                #   cgmtrain train --config best-config.yaml --set data.history=576 --data DATA_48H --run RUN
                """
        }
        return head + "\n" + config
    }

    static func short(_ v: Double) -> String {
        if v == v.rounded() && Swift.abs(v) < 1e9 { return String(Int(v)) }
        return String(format: "%.4g", v)
    }

    /// Compact form of a YAML value text (long decimals to 4 significant digits).
    static func shortValue(_ text: String) -> String {
        guard let d = Double(text), text.contains(".") || text.contains("e") else { return text }
        return String(format: "%.4g", d)
    }
}
