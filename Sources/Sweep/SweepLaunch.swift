// `cgmtrain sweep launch`: the sweep as separate cluster jobs, one per trial.
//
//   --scheduler slurm    DIR/launch/sweep-array.sbatch, the template launch/sweep-array.sbatch filled in: a
//                        job array whose task N runs `cgmtrain sweep run-trial SWEEP --trial N ...`
//   --scheduler mpirun   DIR/launch/run-trials.sh: one `mpirun -n K cgmtrain sweep run-trial ...` per trial
//   both                 DIR/launch/trial-commands.txt: for each trial the plain `cgmtrain train --config
//                        BASE --set ...` that trains the same configuration (for reading, or by hand)
//
// Paths are made absolute so the scripts work from any directory; run-trial resolves the same plan from
// the sweep file (same seed → same trials), writes plan.json and the trial's status like `sweep run`.

import Foundation
import Training

/// Generated launch files of a sweep.
public struct SweepLaunch {
    public enum Scheduler: String, CaseIterable { case slurm, mpirun }

    public let plan: SweepPlan
    /// Absolute paths.
    public let sweepFile: String, outDirectory: String, dataDirectory: String
    /// Ranks per trial.
    public let ranks: Int
    /// The cgmtrain binary the scripts call (overridable with $CGMTRAIN in the SLURM script).
    public let binary: String

    public init(plan: SweepPlan, sweepFile: String, outDirectory: String, dataDirectory: String, ranks: Int, binary: String) {
        self.plan = plan
        self.sweepFile = Self.absolute(sweepFile)
        self.outDirectory = Self.absolute(outDirectory)
        self.dataDirectory = Self.absolute(dataDirectory)
        self.ranks = ranks
        self.binary = binary
    }

    /// `path` made absolute against the current directory (normalized).
    public static func absolute(_ path: String) -> String {
        let p = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        return (p as NSString).standardizingPath
    }

    /// A shell word: bare when safe, else single-quoted.
    public static func quote(_ s: String) -> String {
        if !s.isEmpty, s.range(of: "^[A-Za-z0-9_./=,:@%+-]+$", options: .regularExpression) != nil { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `cgmtrain sweep run-trial` arguments of trial `n`.
    public func runTrialArguments(_ n: Int) -> [String] {
        ["sweep", "run-trial", sweepFile, "--trial", "\(n)", "--out", outDirectory, "--data", dataDirectory]
    }

    /// The mpirun command of trial `n`.
    public func mpirunCommand(_ n: Int) -> String {
        (["mpirun", "-n", "\(ranks)", binary] + runTrialArguments(n)).map(Self.quote).joined(separator: " ")
    }

    /// The plain `cgmtrain train` command that trains trial `n`'s configuration.
    public func trainCommand(_ n: Int) -> String {
        var args = [binary, "train", "--config", Self.absolute(plan.config.base)]
        for a in plan.arguments(n) { args += ["--set", a] }
        args += ["--data", dataDirectory, "--run", (outDirectory as NSString).appendingPathComponent(SweepTrial.name(n))]
        return (ranks > 1 ? "mpirun -n \(ranks) " : "") + args.map(Self.quote).joined(separator: " ")
    }

    /// trial-commands.txt.
    public var trainCommandsText: String {
        "# \(plan.config.name): the `cgmtrain train` command of each trial (same configuration as run-trial)\n"
            + plan.trials.map { "# \($0.name)\n" + trainCommand($0.index) }.joined(separator: "\n") + "\n"
    }

    /// run-trials.sh for --scheduler mpirun: the trials one after the other; a failing trial does not stop the rest.
    public var mpirunScript: String {
        var s = "#!/usr/bin/env bash\n# Sweep \(plan.config.name): every trial with mpirun, one after the other (written by "
            + "`cgmtrain sweep launch`).\n# A finished trial is skipped and an interrupted one resumed, so rerunning this script continues the sweep.\n"
            + "set -uo pipefail\nstatus=0\n"
        for t in plan.trials {
            s += "\(mpirunCommand(t.index)) || { echo \"\(t.name) exited $?\" >&2; status=1; }\n"
        }
        s += "\(Self.quote(binary)) sweep report \(Self.quote(outDirectory))\nexit $status\n"
        return s
    }

    /// The SLURM array script: `template` (launch/sweep-array.sbatch) with its @...@ fields filled in.
    public func slurmScript(template: String) throws -> String {
        let fields: [(String, String)] = [
            ("@JOB_NAME@", plan.config.name), ("@ARRAY@", "0-\(plan.trials.count - 1)"), ("@RANKS@", "\(ranks)"),
            ("@LOG_DIR@", (outDirectory as NSString).appendingPathComponent("launch/logs")),
            ("@SWEEP@", Self.quote(sweepFile)), ("@OUT@", Self.quote(outDirectory)), ("@DATA@", Self.quote(dataDirectory)),
            ("@CGMTRAIN@", binary),
        ]
        var s = template
        for (k, v) in fields {
            guard s.contains(k) else { throw RunDirectoryError("the SLURM template has no \(k) field (is it launch/sweep-array.sbatch?)") }
            s = s.replacingOccurrences(of: k, with: v)
        }
        return s.replacingOccurrences(of: "# This is a template: `cgmtrain sweep launch", with: "# Generated from the template launch/sweep-array.sbatch by `cgmtrain sweep launch")
    }

    /// Finds launch/sweep-array.sbatch: next to the working directory, or above the binary (a checkout's .build).
    public static func findTemplate(binary: String) -> String? {
        var candidates = [absolute("launch/sweep-array.sbatch")]
        var d = ((binary as NSString).resolvingSymlinksInPath as NSString).deletingLastPathComponent
        for _ in 0..<6 {
            candidates.append((d as NSString).appendingPathComponent("launch/sweep-array.sbatch"))
            d = (d as NSString).deletingLastPathComponent
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }
}
