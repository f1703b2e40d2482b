// A hyperparameter sweep file (`cgmtrain sweep run SWEEP.yaml`): a base training config, a search space
// over its key paths, the number of random trials, a seed, the selection rule and optional pruning.
//
//   name: seq2seq-demo              # optional; default: the file's name without .yaml (SLURM job name)
//   base: seq2seq.yaml              # the base training config (paths are relative to this file)
//   data: ../data/prepared          # optional prepared dataset (`--data` overrides it)
//   trials: 25                      # random configurations
//   seed: 0                         # the trial list is a pure function of (seed, space, trials)
//   unique: true                    # redraw a configuration equal to an earlier trial's (default true)
//   fixed:                          # optional overrides applied to every trial (like --set)
//     train.max_epochs: 30
//   space:                          # key path → distribution (see SweepSpace.swift)
//     model.hidden: [64, 128]
//     train.optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]}
//   select:                         # all metrics are minimized
//     metric: val_loss              # val_loss (the training objective at the best checkpoint) | val_ql |
//     tie_breakers: [val_mae, val_rmse, params]     # val_mae | val_rmse | params | wall_s
//     tolerance: 0.0                # relative: values within tolerance × best count as tied (0 = exact ties)
//   pruning: off                    # or `median`, or {rule: median, warmup_checks: 2, min_trials: 3}
//
// Parsing is strict like RunConfig: unknown keys, wrong types and bad ranges are errors naming the file and
// the key path (`configs/sweep.yaml: space.model.hidden[1] ...`). Whether the space's key paths exist is
// checked against the base config when the trial list is resolved (SweepPlan), not here.

import Config
import Foundation
import Training

/// A metric trials are ranked by (smaller is better).
public enum SweepMetric: String, CaseIterable, Equatable {
    /// Best validation loss of the run (the training objective, e.g. QuantileLoss for quantile models).
    case valLoss = "val_loss"
    /// Mean pinball loss (mg/dL) of the best checkpoint on the validation split (quantile models only).
    case valQL = "val_ql"
    /// MAE (mg/dL) of the best checkpoint's point forecast on the validation split.
    case valMAE = "val_mae"
    /// RMSE (mg/dL) of the best checkpoint's point forecast on the validation split.
    case valRMSE = "val_rmse"
    /// Trainable parameter count.
    case params
    /// Training wall time (seconds, summed over resumed attempts).
    case wallTime = "wall_s"
}

/// How the best trial is chosen: smallest `metric`, ties broken by each of `tieBreakers` in turn.
public struct SweepSelection: Equatable {
    public var metric: SweepMetric = .valLoss
    /// SSM-CGM A.9: ties break by MAE, then RMSE, then parameter count.
    public var tieBreakers: [SweepMetric] = [.valMAE, .valRMSE, .params]
    /// Relative tolerance: values ≤ best × (1 + tolerance) (best + tolerance·|best|) count as tied.
    public var tolerance = 0.0

    public init(metric: SweepMetric = .valLoss, tieBreakers: [SweepMetric] = [.valMAE, .valRMSE, .params],
                tolerance: Double = 0) {
        self.metric = metric
        self.tieBreakers = tieBreakers
        self.tolerance = tolerance
    }
}

/// The median stopping rule (Golovin et al. 2017, Google Vizier): at validation check c ≥ `warmupChecks`,
/// a trial stops if its best validation loss so far is worse than the median, over at least `minTrials`
/// completed trials that reached check c, of their running-average validation loss up to check c.
public struct SweepPruning: Equatable {
    public var warmupChecks = 2
    public var minTrials = 3
}

/// A parsed sweep file.
public struct SweepConfig: Equatable {
    /// The sweep file as named (errors cite it).
    public var source: String
    public var name: String
    /// Base training config path, resolved against the sweep file's directory.
    public var base: String
    /// Prepared dataset path from the file (resolved), if given.
    public var data: String?
    public var trials: Int
    public var seed: UInt64
    public var unique: Bool
    /// Overrides applied to every trial, sorted by key path.
    public var fixed: [SweepOverride]
    /// Searched keys, sorted by key path (so the file's key order does not change the trials).
    public var space: [SweepDimension]
    public var selection: SweepSelection
    /// Nil when pruning is off (the default).
    public var pruning: SweepPruning?

    /// Reads and parses `path`.
    public static func load(path: String) throws -> SweepConfig {
        try parse(yaml: try YAMLDocument.text(path: path, what: "the sweep file"), source: path)
    }

    /// Parses sweep YAML; relative paths are resolved against `source`'s directory.
    public static func parse(yaml: String, source: String) throws -> SweepConfig {
        let root = try YAMLDocument.mapping(yaml, source: source,
                                            expected: "a mapping with base:, trials:, space: (see configs/sweep-seq2seq.yaml)")
        let m = ConfigMap(root, path: "", source: source)
        try m.rejectUnknown(["name", "base", "data", "trials", "seed", "unique", "fixed", "space", "select", "pruning"])
        let directory = (source as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String {
            p.hasPrefix("/") || directory.isEmpty ? p : (directory as NSString).appendingPathComponent(p)
        }
        guard let base = try m.string("base"), !base.isEmpty else {
            throw m.error("base", "is required: the base training config, e.g. base: seq2seq.yaml (relative to the sweep file)")
        }
        let stem = ((source as NSString).lastPathComponent as NSString).deletingPathExtension
        let name = try m.string("name") ?? stem
        guard name.range(of: "^[A-Za-z0-9_.-]+$", options: .regularExpression) != nil else {
            throw m.error("name", "may only contain letters, digits, '_', '.' and '-' (got '\(name)')")
        }
        guard let trials = try m.int("trials", in: 1...100_000) else { throw m.error("trials", "is required (number of random configurations)") }
        let seed = UInt64(try m.int("seed", in: 0...Int.max) ?? 0)
        let unique = try m.bool("unique") ?? true

        var fixed: [SweepOverride] = []
        if let f = try m.map("fixed") {
            let fm = ConfigMap(f, path: "fixed", source: source)
            for key in f.keys.sorted() {
                guard let text = SweepDimension.yamlText(f[key]!) else {
                    throw fm.error(key, "must be a number, string, boolean or flat list")
                }
                fixed.append(SweepOverride(key: key, value: text))
            }
        }
        guard let spaceMap = try m.map("space"), !spaceMap.isEmpty else {
            throw m.error("space", "is required: key paths with their values, e.g. space: {model.hidden: [64, 128]}")
        }
        let sm = ConfigMap(spaceMap, path: "space", source: source)
        let space = try spaceMap.keys.sorted().map { try SweepDimension.parse(key: $0, value: spaceMap[$0]!, in: sm) }
        for o in fixed where space.contains(where: { $0.key == o.key }) {
            throw ConfigError(source: source, key: "fixed.\(o.key)", "is also searched in space:")
        }
        if unique, let size = space.reduce(Optional(1), { acc, d in
            guard let a = acc, let c = d.distribution.cardinality else { return nil }
            return a.multipliedReportingOverflow(by: c).overflow ? Int.max : a * c
        }), trials > size {
            throw m.error("trials", "= \(trials) exceeds the \(size) distinct configurations of the space (set unique: false to allow repeats)")
        }

        var selection = SweepSelection()
        let sel = try m.sub("select")
        try sel.rejectUnknown(["metric", "tie_breakers", "tolerance"])
        let names = SweepMetric.allCases.map(\.rawValue)
        if let metric = try sel.choice("metric", names) { selection.metric = SweepMetric(rawValue: metric)! }
        if sel.has("tie_breakers") {
            guard let list = sel.dict["tie_breakers"] as? [Any] else { throw sel.error("tie_breakers", "must be a list of metrics") }
            selection.tieBreakers = try list.enumerated().map { i, item in
                guard let s = item as? String, let metric = SweepMetric(rawValue: s) else {
                    throw sel.error("tie_breakers[\(i)]", "must be one of \(names.joined(separator: ", ")) (got \(ConfigMap.describe(item)))")
                }
                return metric
            }
        }
        selection.tolerance = try sel.double("tolerance", "≥ 0", { $0 >= 0 }) ?? 0

        var pruning: SweepPruning?
        if let p = m.dict["pruning"] {
            if let s = p as? String {
                guard ["median", "off", "none"].contains(s) else { throw m.error("pruning", "must be off, median or a mapping (got '\(s)')") }
                if s == "median" { pruning = SweepPruning() }
            } else if p is Bool, (p as! Bool) == false {
                pruning = nil           // YAML `off` loads as false
            } else if let pm = try m.map("pruning") {
                let pr = ConfigMap(pm, path: "pruning", source: source)
                try pr.rejectUnknown(["rule", "warmup_checks", "min_trials"])
                let rule = try pr.choice("rule", ["median", "off", "none"]) ?? "median"
                if rule == "median" {
                    pruning = SweepPruning(warmupChecks: try pr.int("warmup_checks", in: 0...1_000_000) ?? 2,
                                           minTrials: try pr.int("min_trials", in: 1...100_000) ?? 3)
                }
            } else if !(p is NSNull) {
                throw m.error("pruning", "must be off, median or a mapping {rule: median, warmup_checks: N, min_trials: M}")
            }
        }
        return SweepConfig(source: source, name: name, base: resolve(base), data: try m.string("data").map(resolve),
                           trials: trials, seed: seed, unique: unique, fixed: fixed, space: space,
                           selection: selection, pruning: pruning)
    }
}

/// One `key=value` override of a trial (value as YAML text).
public struct SweepOverride: Equatable, Codable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// "key=value", the `--set` argument.
    public var argument: String { "\(key)=\(value)" }
}
