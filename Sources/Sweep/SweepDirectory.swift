// The sweep directory (`--out DIR`), written by rank 0 of the job (plan) and by rank 0 of each trial's
// group (its trial directory). It must be on a filesystem every rank sees when trials run on several nodes.
//
//   plan.json              the trial list (overrides and config hash per trial); a rerun must agree with it
//                          on every trial both lists have (raising `trials:` extends a sweep)
//   trial-NNN/             a normal run directory (config.yaml, metrics.jsonl, last.h5, best.h5, …) plus
//     status.json          the trial's state (running, finished, failed, pruned, interrupted), its hyper-
//                          parameters, metrics, ranks, hosts, pids and timestamps; written atomically
//     train.log            the trial's progress lines
//   report.csv, best-config.yaml     written by `cgmtrain sweep report` (and at the end of `sweep run`)
//   launch/                written by `cgmtrain sweep launch` (SLURM array script, per-trial commands)

import Foundation
import Training

/// A trial's state in status.json.
public enum SweepTrialState: String, Codable, CaseIterable {
    /// Started and not ended (or the job died): resumed from last.h5 on rerun.
    case running
    /// Trained to the end (max_epochs or early stopping).
    case finished
    /// Its configuration was invalid or training raised an error on every rank of its group.
    case failed
    /// Stopped by the median stopping rule.
    case pruned
    /// Stopped by a signal after writing last.h5: resumed on rerun.
    case interrupted
}

/// status.json of one trial. Non-finite numbers are stored as null.
public struct SweepTrialStatus: Codable, Equatable {
    public var trial: Int
    public var state: SweepTrialState
    public var overrides: [SweepOverride]
    /// Index of the rank group that ran the last attempt (world rank / group size).
    public var group: Int?
    /// World ranks, hosts and process ids of that group.
    public var ranks: [Int] = []
    public var hosts: [String] = []
    public var pids: [Int32] = []
    /// Unix times (s) of the last attempt's start and end.
    public var startedAt: Double?
    public var endedAt: Double?
    /// Attempts so far (a resumed or retried trial has more than one).
    public var attempts = 0
    /// Global step the last attempt resumed from (nil: started fresh).
    public var resumedFromStep: Int?
    public var epochs: Int?
    public var steps: Int?
    public var bestValLoss: Double?
    public var valQL: Double?
    public var valMAE: Double?
    public var valRMSE: Double?
    public var params: Int?
    /// Training wall time (s), summed over attempts (the trainer's elapsed time).
    public var wallSeconds: Double?
    /// Why it ended: max_epochs, early_stopping, the pruning rule's note, the signal.
    public var reason: String?
    public var error: String?

    public init(trial: Int, state: SweepTrialState, overrides: [SweepOverride]) {
        self.trial = trial
        self.state = state
        self.overrides = overrides
    }

    enum CodingKeys: String, CodingKey {
        case trial, state, overrides, group, ranks, hosts, pids, attempts, epochs, steps, params, reason, error
        case startedAt = "started_at", endedAt = "ended_at", resumedFromStep = "resumed_from_step"
        case bestValLoss = "best_val_loss", valQL = "val_ql", valMAE = "val_mae", valRMSE = "val_rmse"
        case wallSeconds = "wall_s"
    }

    /// The value of a selection metric (nil when unknown or non-finite).
    public func value(_ metric: SweepMetric) -> Double? {
        let v: Double?
        switch metric {
        case .valLoss: v = bestValLoss
        case .valQL: v = valQL
        case .valMAE: v = valMAE
        case .valRMSE: v = valRMSE
        case .params: v = params.map(Double.init)
        case .wallTime: v = wallSeconds
        }
        return v.flatMap { $0.isFinite ? $0 : nil }
    }
}

/// One entry of plan.json.
public struct SweepPlanEntry: Codable, Equatable {
    public var trial: Int
    public var overrides: [SweepOverride]
    /// Hash of the resolved configuration; nil when it is invalid.
    public var configHash: String?
    public var error: String?

    enum CodingKeys: String, CodingKey { case trial, overrides, error, configHash = "config_hash" }
}

/// The selection rule as stored in plan.json (so `sweep report` needs only the sweep directory).
public struct SweepSelectionRecord: Codable, Equatable {
    public var metric: String
    public var tieBreakers: [String]
    public var tolerance: Double

    enum CodingKeys: String, CodingKey { case metric, tolerance, tieBreakers = "tie_breakers" }

    init(_ s: SweepSelection) {
        metric = s.metric.rawValue
        tieBreakers = s.tieBreakers.map(\.rawValue)
        tolerance = s.tolerance
    }

    /// The rule (unknown names fall back to the defaults).
    public var selection: SweepSelection {
        SweepSelection(metric: SweepMetric(rawValue: metric) ?? .valLoss,
                       tieBreakers: tieBreakers.compactMap(SweepMetric.init(rawValue:)), tolerance: tolerance)
    }
}

/// plan.json.
public struct SweepPlanFile: Codable, Equatable {
    public var name: String
    /// Absolute paths of the sweep file and base config when the plan was written.
    public var sweepFile: String
    public var base: String
    public var seed: UInt64
    public var select: SweepSelectionRecord
    public var trials: [SweepPlanEntry]

    enum CodingKeys: String, CodingKey { case name, seed, trials, base, select, sweepFile = "sweep_file" }

    public init(_ plan: SweepPlan) {
        name = plan.config.name
        sweepFile = SweepLaunch.absolute(plan.config.source)
        base = SweepLaunch.absolute(plan.config.base)
        seed = plan.config.seed
        select = SweepSelectionRecord(plan.config.selection)
        trials = plan.trials.map { t in
            switch plan.configs[t.index] {
            case .success(let c): return SweepPlanEntry(trial: t.index, overrides: t.overrides, configHash: c.hash, error: nil)
            case .failure(let e): return SweepPlanEntry(trial: t.index, overrides: t.overrides, configHash: nil, error: "\(e)")
            }
        }
    }
}

/// Paths and files of a sweep directory.
public struct SweepDirectory {
    public let path: String

    public init(_ path: String) {
        var p = path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        self.path = p
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    public var planFile: String { file("plan.json") }
    public func trialDirectory(_ index: Int) -> String { file(SweepTrial.name(index)) }
    public func statusFile(_ index: Int) -> String { (trialDirectory(index) as NSString).appendingPathComponent("status.json") }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }

    /// Writes `data` to `target` atomically (temporary file + rename), creating the parent directory.
    static func writeAtomically(_ data: Data, to target: String) throws {
        let parent = (target as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: target), options: .atomic)
        } catch {
            throw RunDirectoryError("cannot write \(target): \(error.localizedDescription)")
        }
    }

    /// Reads plan.json (nil when absent).
    public func readPlan() throws -> SweepPlanFile? {
        guard let data = FileManager.default.contents(atPath: planFile) else { return nil }
        do { return try JSONDecoder().decode(SweepPlanFile.self, from: data) } catch {
            throw RunDirectoryError("\(planFile) is not a sweep plan: \(error)")
        }
    }

    /// Creates the directory and writes plan.json, or checks an existing plan against `plan`: every trial both
    /// lists have must have the same overrides and configuration hash (a longer new list extends the sweep).
    public func preparePlan(_ plan: SweepPlan) throws {
        var new = SweepPlanFile(plan)
        if let old = try readPlan() {
            for (a, b) in zip(old.trials, new.trials) where a.overrides != b.overrides || a.configHash != b.configHash {
                let what = a.overrides != b.overrides
                    ? "its values differ (\(a.overrides.map(\.argument).joined(separator: " ")) there, "
                      + "\(b.overrides.map(\.argument).joined(separator: " ")) now)"
                    : "its resolved configuration differs (config hash \(a.configHash ?? "none") there, \(b.configHash ?? "none") now: "
                      + "was the base config or fixed: changed?)"
                throw RunDirectoryError("\(path) holds a different sweep (\(old.sweepFile)): trial \(a.trial) — \(what); "
                                        + "use a new --out directory, or restore the sweep file")
            }
            if old.trials.count > new.trials.count { new.trials += old.trials[new.trials.count...] }   // keep a longer list
            if old == new { return }
        }
        try Self.writeAtomically(try Self.encoder().encode(new), to: planFile)
    }

    /// Reads trial `index`'s status.json (nil when absent).
    public func readStatus(_ index: Int) throws -> SweepTrialStatus? {
        guard let data = FileManager.default.contents(atPath: statusFile(index)) else { return nil }
        do { return try JSONDecoder().decode(SweepTrialStatus.self, from: data) } catch {
            throw RunDirectoryError("\(statusFile(index)) is not a trial status: \(error)")
        }
    }

    /// Writes trial status atomically (non-finite numbers become null).
    public func writeStatus(_ status: SweepTrialStatus) throws {
        var s = status
        func finite(_ v: Double?) -> Double? { v.flatMap { $0.isFinite ? $0 : nil } }
        s.bestValLoss = finite(s.bestValLoss)
        s.valQL = finite(s.valQL)
        s.valMAE = finite(s.valMAE)
        s.valRMSE = finite(s.valRMSE)
        s.wallSeconds = finite(s.wallSeconds)
        try Self.writeAtomically(try Self.encoder().encode(s), to: statusFile(status.trial))
    }

    /// Validation losses of a trial's checks, in order (from its metrics.jsonl; empty when absent).
    public func validationLosses(_ index: Int) -> [Double] {
        let path = (trialDirectory(index) as NSString).appendingPathComponent("metrics.jsonl")
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var out: [Double] = []
        for line in text.split(separator: "\n") {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  obj["kind"] as? String == "val" else { continue }
            out.append((obj["val_loss"] as? Double) ?? .nan)
        }
        return out
    }

    /// Removes a trial directory's run files (checkpoints, metrics, curve, config) so the trial can start
    /// fresh; status.json and train.log are kept.
    public func clearRunFiles(_ index: Int) throws {
        let dir = trialDirectory(index)
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? []
        where name.hasSuffix(".h5") || name.hasSuffix(".tmp") || ["metrics.jsonl", "learning_curve.svg", "config.yaml"].contains(name) {
            try fm.removeItem(atPath: (dir as NSString).appendingPathComponent(name))
        }
    }
}
