// `cgmtrain detect-meals`: meal flags from CGM with a trained meal_detector checkpoint (SSM-CGM A.2).
//
//   cgmtrain detect-meals --checkpoint RUN/best.h5 --cgm data/cohort/cgm.csv --out flags.csv [--theta 0.36 --rho 0.77]
//   cgmtrain detect-meals --checkpoint RUN/best.h5 --cgm data/cohort/cgm.csv --data data/meals --split val --tune \
//                         --report reports/meals        # (θ, ρ) sweep: meal-sweep.csv, meal-sweep.svg (Figure 6)
//   cgmtrain detect-meals ... --data data/meals --split test --theta θ* --rho ρ*   # held-out event recall/precision
//
// Every stride-1 window of L glucose points inside each CGM segment is scored; per-window threshold θ and
// ratio voting with ρ give one flag timeline per subject (MealDetection.swift). With --data/--split only that
// split's subjects (from the prepared dataset's manifest) are processed and event-level recall, precision and
// F1 against the data's meal events are printed (and written to REPORT/meal-metrics.json with --report).
// --causal flags t from the last step of the window ending at t only (CGM ≤ t; ρ unused; the sweep is over θ
// alone), as `prepare --meal-detector` does by default; without it the A.2 ratio voting (looks up to 6 h ahead).
// One process, no MPI. Errors print `cgmtrain detect-meals: error: …` and exit 1; outputs are written to a
// temporary file and renamed.

import ArgumentParser
import CGMData
import CGMTensor
import Foundation
import Inference
import Training

struct DetectMealsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect-meals",
        abstract: "Detect meals in CGM data with a trained meal_detector (sliding windows + ratio voting); tune θ, ρ.",
        discussion: """
        --out columns: subject_id, timestamp, glucose_mg_dl, probability (mean over the windows covering the time), \
        vote_ratio (fraction of covering windows with p ≥ θ), meal_flag (vote_ratio ≥ ρ), event (1-based index of \
        the detected event within the subject, empty when not flagged). Grid times without a covering window have \
        empty probability and vote_ratio and meal_flag 0.
        """)

    @Option(help: "meal_detector checkpoint written by `cgmtrain train` (e.g. RUN/best.h5).")
    var checkpoint: String
    @Option(help: "Measurements CSV in the canonical format (carbs_g / meal_flag give the truth for metrics).")
    var cgm: String
    @Option(help: "Flags CSV to write (see the discussion for the columns).")
    var out: String?
    @Option(help: "Per-window probability threshold θ (A.2 selected 0.36).")
    var theta: Float = 0.36
    @Option(help: "Ratio-voting consensus ρ (A.2 selected 0.77).")
    var rho: Float = 0.77
    @Option(help: "Prepared dataset whose split selects the subjects (its manifest lists them).")
    var data: String?
    @Option(help: "Split of --data: train, val or test.")
    var split: String = "val"
    @Flag(help: "Sweep θ, ρ ∈ {0.05, …, 0.95} maximizing event-level F1 (needs --data); the best pair is used for --out.")
    var tune = false
    @Option(help: "Directory for meal-metrics.json and, with --tune, meal-sweep.csv and meal-sweep.svg.")
    var report: String?
    @Flag(help: "Causal flags: the last step of the window ending at t, p ≥ θ (CGM at times ≤ t only; ρ unused), as prepare --meal-detector uses by default. Without it: A.2 ratio voting, which uses CGM up to 6 h after t.")
    var causal = false
    @Option(help: "With --causal: read the window ending at t at step L − 1 − lag (a fixed latency of lag steps, still CGM ≤ t only).")
    var lag: Int = 0
    @Option(help: "With --tune: only (θ, ρ) flagging at most this fraction of covered time compete (e.g. 0.2; the causal read-out otherwise wins F1 by flagging nearly everything).")
    var maxFlagged: Double = 1
    @Option(help: "What --tune maximizes: paper (A.2 event F1) or one_to_one (F1 of a one-to-one event matching, which long predicted events cannot inflate).")
    var objective: String = "paper"

    func validate() throws {
        guard (0...1).contains(theta), (0...1).contains(rho) else {
            throw ValidationError("--theta and --rho must be in [0, 1] (got \(theta), \(rho))")
        }
        if tune && data == nil { throw ValidationError("--tune needs --data DIR (the split whose labels it tunes on)") }
        guard ShardSplit(rawValue: split) != nil else { throw ValidationError("--split must be train, val or test (got \(split))") }
        if lag < 0 || (lag > 0 && !causal) { throw ValidationError("--lag needs --causal and must be ≥ 0 (got \(lag))") }
        guard MealThresholdSweep.Objective(rawValue: objective) != nil else {
            throw ValidationError("--objective must be paper or one_to_one (got \(objective))")
        }
    }

    func run() throws {
        CommandRanks.useOneBLASThreadUnlessSet()
        do {
            let runner = try MealDetectorRunner(checkpoint: checkpoint)
            var subjects: Set<String>?
            if let data {
                let m = try Manifest.load(data)
                subjects = Set(m.split(ShardSplit(rawValue: split)!).subjects)
                if subjects!.isEmpty { throw ValidationError("\(data): split \(split) has no subjects") }
            }
            let timelines = try runner.timelines(cgmPath: cgm, subjects: subjects)
            guard !timelines.isEmpty else { throw ValidationError("\(cgm): none of the requested subjects is in the file") }
            var theta = self.theta, rho = self.rho
            let mode: MealFlagMode = causal ? .causal : .smoothed
            if causal { rho = 1 }
            if let report { try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true) }
            if tune {
                let goal = MealThresholdSweep.Objective(rawValue: objective)!
                let sweep = causal ? MealThresholdSweep(timelines, rhos: [1], mode: .causal, lag: lag) : MealThresholdSweep(timelines)
                let best = sweep.best(goal, maxFlagged: maxFlagged)
                (theta, rho) = (best.theta, best.rho)
                if let report {
                    try Self.atomicWrite(sweep.csv, to: (report as NSString).appendingPathComponent("meal-sweep.csv"))
                    try Self.atomicWrite(sweep.heatmap(goal).render(), to: (report as NSString).appendingPathComponent("meal-sweep.svg"))
                }
                let pair = "θ = " + String(format: "%.2f", theta) + ", ρ = " + String(format: "%.2f", rho)
                let scores = "event F1 " + String(format: "%.3f", best.counts.f1) + ", one-to-one F1 "
                    + String(format: "%.3f", best.counts.matchedF1)
                print("sweep on \(split) (\(timelines.count) subjects, objective \(objective), \(mode.rawValue)): best \(pair) (\(scores))")
            }
            if data != nil {
                let c = timelines.reduce(EventCounts()) { $0 + $1.counts(theta: theta, rho: rho, mode: mode, lag: lag) }
                print(Self.metricsLine(split: split, subjects: timelines.count, theta: theta, rho: rho, c) + " (\(mode.rawValue)\(causal ? ", lag \(lag)" : ""))")
                if let report {
                    let fields: [(String, String)] = [
                        ("split", "\"\(split)\""), ("subjects", "\(timelines.count)"), ("theta", "\(theta)"), ("rho", "\(rho)"),
                        ("mode", "\"\(mode.rawValue)\""), ("lag", "\(lag)"),
                        ("recall", "\(c.recall)"), ("precision", "\(c.precision)"), ("f1", "\(c.f1)"),
                        ("truth_events", "\(c.truth)"), ("truth_detected", "\(c.truthDetected)"),
                        ("predicted_events", "\(c.predicted)"), ("predicted_correct", "\(c.predictedCorrect)"),
                        ("matched_1to1", "\(c.matched)"), ("recall_1to1", "\(c.matchedRecall)"),
                        ("precision_1to1", "\(c.matchedPrecision)"), ("f1_1to1", "\(c.matchedF1)"),
                        ("flagged_fraction", "\(c.flaggedFraction)"),
                    ]
                    let json = "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}\n"
                    try Self.atomicWrite(json, to: (report as NSString).appendingPathComponent("meal-metrics.json"))
                }
            }
            if let out {
                var events = 0
                let csv = Self.flagsCSV(timelines, theta: theta, rho: rho, mode: mode, lag: lag, events: &events)
                try Self.atomicWrite(csv, to: out)
                FileHandle.standardError.write(Data(("cgmtrain detect-meals: wrote \(out): \(timelines.count) subject(s), "
                    + "\(events) detected meal event(s), θ = \(theta), ρ = \(rho)\n").utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("cgmtrain detect-meals: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The printed metrics: the A.2 event recall/precision/F1, the one-to-one ones and the flagged fraction.
    static func metricsLine(split: String, subjects: Int, theta: Float, rho: Float, _ c: EventCounts) -> String {
        func f(_ x: Double) -> String { String(format: "%.3f", x) }
        let paper = "event recall \(f(c.recall)) (\(c.truthDetected)/\(c.truth)), precision \(f(c.precision)) "
            + "(\(c.predictedCorrect)/\(c.predicted)), F1 \(f(c.f1))"
        let strict = "one-to-one recall \(f(c.matchedRecall)), precision \(f(c.matchedPrecision)), F1 \(f(c.matchedF1)) "
            + "(\(c.matched) pairs)"
        let flagged = String(format: "%.1f", 100 * c.flaggedFraction)
        return "\(split): \(subjects) subjects, θ = \(String(format: "%.2f", theta)), ρ = \(String(format: "%.2f", rho)): "
            + paper + "; " + strict + "; flagged \(flagged) % of covered time"
    }

    static let header = "subject_id,timestamp,glucose_mg_dl,probability,vote_ratio,meal_flag,event"

    /// The flags table (see the discussion).
    /// Causal: probability is that of the last step of the window ending at t, vote_ratio 0/1.
    static func flagsCSV(_ timelines: [MealTimeline], theta: Float, rho: Float, mode: MealFlagMode = .smoothed,
                         lag: Int = 0, events: inout Int) -> String {
        var lines = [header]
        for t in timelines {
            let (ratio, flags) = t.vote(theta: theta, rho: rho, mode: mode, lag: lag)
            let p = mode == .causal ? t.causalProbability(lag: lag) : t.meanProbability
            var eventOf = [Int](repeating: 0, count: t.count)
            for (k, seg) in MealEvents.segments(flags).enumerated() {
                for i in seg { eventOf[i] = k + 1 }
                events += 1
            }
            for i in 0 ..< t.count {
                let time = GridTime.iso8601(t.start + Int64(i) * ResampledSubject.gridSeconds)
                let g = t.glucose[i].isNaN ? "" : String(format: "%.1f", t.glucose[i])
                let prob = p[i].isNaN ? "" : String(format: "%.4f", p[i])
                let r = ratio[i].isNaN ? "" : String(format: "%.4f", ratio[i])
                lines.append("\(t.subject),\(time),\(g),\(prob),\(r),\(flags[i] ? 1 : 0),\(eventOf[i] == 0 ? "" : String(eventOf[i]))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes `text` to `path` through a temporary file in the same directory.
    static func atomicWrite(_ text: String, to path: String) throws {
        let tmp = path + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: tmp))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: tmp, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: tmp)
            throw ValidationError("\(path): cannot write: \(error)")
        }
    }
}
