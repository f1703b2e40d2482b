// The paper's findings (PhysioSeq2Seq section 4.3, issue 5 "What must hold"), checked on a small cohort of
// the built-in simulator with small but real models trained in process:
//
//   simulate (24 T1D subjects × 3 days, seed 11) → prepare (DatasetPreparer, one rank, real HDF5,
//   data.ode_states: true, the physio_seq2seq preset: L = 37, H = 48, stride 6, subjects 60/20/20) → train
//   seq2seq, physio_seq2seq and recursive_lstm (hidden 32 each) with the real Trainer (Adam 0.01, batch 32,
//   20 epochs, ReduceLROnPlateau ×0.5 after 2, best.h5 by validation Huber loss) → forecast the test split →
//   per-horizon MAE / ME (ErrorSummary) against naive persistence.
//
//   (a) every learned model beats naive persistence in MAE at 60, 120 and 240 min;
//   (b) seq2seq has a smaller |ME| at 240 min than the recursive LSTM (the paper's central finding);
//   (c) physio_seq2seq is not worse than seq2seq: MAE at 240 min ≤ 1.05 × seq2seq's (5 % tolerance: the
//       paper's gain is 0.26 mg/dL of 39.5, far below what a cohort this small resolves).
//
// What was found (seed study, 24–36 subjects × 2–3 days, seeds 11–13, same budget): the between-model
// differences at these sizes are of the order of the seed-to-seed variation. Each of (a) at 60 min, (b) and
// (c) failed for at least one seed/size and held for others; the recursive LSTM's 240-min bias had either
// sign (−40 … +19 mg/dL), not the paper's systematic under-prediction; physio_seq2seq overfits the ~14
// training subjects (validation loss minimal after a few epochs, train loss still falling). The default
// configuration was fixed before looking at its outcome; the findings that do not hold there are marked as
// known issues (Swift Testing `withKnownIssue`), every other expectation fails normally. PHYSIO_FINDINGS_*
// environment variables (SUBJECTS, DAYS, SEED, HIDDEN, EPOCHS, LR, STRIDE, PLATEAU) rerun it at other sizes,
// with plain expectations. Budget: ~30 s CPU in a debug build (Models/Training are compiled with -O).
//
// A second suite measures the meal-aware twin (data.twin.future_inputs: announced) against the basal-only
// twin on windows with a logged meal in the first 2 h of the horizon.

import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Foundation
import Models
import Physiology
import Testing
import XCTest
@testable import Evaluation
@testable import Training

/// The findings cohort, its preparation, training and scoring (shared by the Swift Testing suites below).
enum PhysioFindings {
    static let env = ProcessInfo.processInfo.environment
    /// Cohort and budget; PHYSIO_FINDINGS_* environment variables override them for investigation runs (the
    /// measured known issues below then do not apply: every finding is a plain expectation).
    static let subjects = Int(env["PHYSIO_FINDINGS_SUBJECTS"] ?? "") ?? 24
    static let days = Int(env["PHYSIO_FINDINGS_DAYS"] ?? "") ?? 3
    static let seed = UInt64(env["PHYSIO_FINDINGS_SEED"] ?? "") ?? 11
    static let hidden = Int(env["PHYSIO_FINDINGS_HIDDEN"] ?? "") ?? 32
    static let epochs = Int(env["PHYSIO_FINDINGS_EPOCHS"] ?? "") ?? 20
    static let lr = env["PHYSIO_FINDINGS_LR"] ?? "0.01"
    static let stride = Int(env["PHYSIO_FINDINGS_STRIDE"] ?? "") ?? 6
    static let plateau = env["PHYSIO_FINDINGS_PLATEAU"] ?? "2"
    static var overridden: Bool { env.keys.contains { $0.hasPrefix("PHYSIO_FINDINGS_") } }

    struct Scores {
        /// Per model (and "naive"), per horizon step h (0-based), ErrorSummary over the test windows.
        var byModel: [String: [ErrorSummary]] = [:]
        var testWindows = 0, trainWindows = 0
        var seconds: [String: Double] = [:]
    }

    static var dataYAML: String {
        """
        data:
          preset: physio_seq2seq
          stride: \(stride)
          fractions: [0.6, 0.2, 0.2]
          ode_states: true
        """
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// The simulated cohort (T1D only: the paper's population) in `directory` (cgm.csv, subjects.csv).
    static func simulate(to directory: String) throws {
        _ = try CohortSimulator.run(CohortConfig(subjects: subjects, days: days, seed: seed, groupMix: [(.t1d, 1)]),
                                    to: directory, truth: false)
    }

    /// Trains `model` (a YAML mapping) with the real Trainer on `data`; returns its best checkpoint's forecasts.
    static func trainAndForecast(_ model: String, name: String, data: String, run: String, manifest: Manifest,
                                 test: Batch) throws -> [Float] {
        let yaml = dataYAML + "\nmodel: \(model)\ntrain:\n  seed: 1\n  batch_size: 32\n  max_epochs: \(epochs)\n"
            + "  optimizer: {name: adam, lr: \(lr)}\n  top_k: 1\n  log_every_seconds: 1000\n"
            + (plateau == "0" ? "" : "  scheduler: {name: reduce_on_plateau, factor: 0.5, patience: \(plateau), min_lr: 1.0e-4}\n")
        let config = try RunConfig.parse(yaml: yaml, source: "\(name).yaml", overrides: [])
        let trainer = Trainer(config: config, options: TrainOptions(dataDirectory: data, runDirectory: run),
                              comm: SingleProcessCommunicator(), stop: StopSignal(),
                              progress: Progress(enabled: false, every: 1000, isTerminal: false))
        _ = try trainer.run()
        let best = try CheckpointModel(checkpoint: run + "/best.h5", shape: DatasetShape(manifest))
        precondition(best.model.name == name, "checkpoint of \(best.model.name), expected \(name)")
        return best.model.forecast(test, Graph(training: false, recording: false)).point.scalars
    }

    /// Per-step error summaries of forecasts (B × H) against the batch's targets.
    static func summaries(_ forecast: [Float], _ batch: Batch) -> [ErrorSummary] {
        (0 ..< batch.horizon).map { h in
            ErrorSummary(errors: (0 ..< batch.count).map { b in
                Double(forecast[b * batch.horizon + h]) - Double(batch.target[b * batch.horizon + h])
            })
        }
    }

    /// simulate → prepare (one rank, ODE states) → train the three models → score the test split, in `dir`.
    static func scores(in dir: URL) throws -> Scores {
        var s = Scores()
        var t0 = now()
        let cohort = dir.appendingPathComponent("cohort").path
        try simulate(to: cohort)
        let config = try RunConfig.parse(yaml: dataYAML + "\nmodel: {name: seq2seq}\n", source: "findings.yaml", overrides: [])
        let data = dir.appendingPathComponent("prepared").path
        let manifest = try DatasetPreparer.run(
            PrepareOptions(cgmPath: cohort + "/cgm.csv", subjectsPath: cohort + "/subjects.csv", outDir: data),
            comm: SingleProcessCommunicator(), loadConfig: { config.data! }).manifest
        s.seconds["simulate+prepare"] = now() - t0
        let ds = try ShardDataset(directory: data)
        let test = try ShardReader(dataset: ds, split: .test).read(indices: Array(0 ..< ds.count(.test)))
        s.testWindows = test.count
        s.trainWindows = ds.count(.train)
        let naive = try LastObservedGlucose(pastFeatures: manifest.pastFeatures, spec: nil).values(test)
        s.byModel["naive"] = summaries(test.target.indices.map { naive[$0 / test.horizon] }, test)
        for name in ["seq2seq", "physio_seq2seq", "recursive_lstm"] {
            t0 = now()
            // The paper's heads (absolute eq. 11 targets): these are the paper's findings, not this project's defaults.
            let forecast = try trainAndForecast("{name: \(name), hidden: \(hidden), residual: false}", name: name, data: data,
                                                run: dir.appendingPathComponent("run-\(name)").path, manifest: manifest, test: test)
            s.byModel[name] = summaries(forecast, test)
            s.seconds[name] = now() - t0
        }
        return s
    }

    static func report(_ s: Scores) -> String {
        var lines = ["PhysioFindings: \(subjects) T1D subjects × \(days) days (seed \(seed)), \(s.trainWindows) train / "
                     + "\(s.testWindows) test windows, stride \(stride), hidden \(hidden), \(epochs) epochs, lr \(lr), "
                     + "plateau patience \(plateau)"]
        lines.append("model            " + [30, 60, 120, 240].map { "  MAE@\($0) ME@\($0)" }.joined())
        for name in ["naive", "seq2seq", "physio_seq2seq", "recursive_lstm"] {
            guard let m = s.byModel[name] else { continue }
            lines.append(name.padding(toLength: 17, withPad: " ", startingAt: 0) + [6, 12, 24, 48].map {
                String(format: "  %6.2f %6.2f", m[$0 - 1].mae, m[$0 - 1].me)
            }.joined())
        }
        lines.append("seconds: " + s.seconds.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.1f", $0.value))" }
            .joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}

/// The three findings as expectations in the paper's direction. Findings that did not hold at the fixed
/// configuration when this was written are `withKnownIssue` (measured, not tuned: see the file header and
/// the README's "Choices and known gaps"); Swift Testing fails the test if one of them starts to hold, so
/// the note gets revisited, and every other expectation fails normally.
@Suite struct PhysioFindingsTests {
    /// Findings measured NOT to hold at the default configuration (seed 11, 24 × 3 days).
    static let knownFailures: Set<String> = ["physio_seq2seq beats naive at 60 min", "seq2seq |ME| < recursive_lstm |ME| at 240 min"]

    func check(_ finding: String, _ holds: Bool, _ report: String) {
        if Self.knownFailures.contains(finding) && !PhysioFindings.overridden {
            withKnownIssue("\(finding) does not hold on the small simulated cohort (seed-level noise, see README)") {
                #expect(holds, "\(finding)\n\(report)")
            }
        } else {
            #expect(holds, "\(finding)\n\(report)")
        }
    }

    @Test func paperFindingsOnTheSimulatedCohort() throws {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("physio-findings-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { if PhysioFindings.env["CGMTRAIN_KEEP_TEST_DIRS"] == nil { try? FileManager.default.removeItem(at: dir) } }
        let s = try PhysioFindings.scores(in: dir)
        let report = PhysioFindings.report(s)
        print(report)
        #expect(s.testWindows >= 100, "\(report)")
        // (a) every learned model beats naive persistence in MAE at 60 min and beyond.
        let naive = s.byModel["naive"]!
        for name in ["seq2seq", "physio_seq2seq", "recursive_lstm"] {
            for step in [12, 24, 48] {
                check("\(name) beats naive at \(step * 5) min", s.byModel[name]![step - 1].mae < naive[step - 1].mae, report)
            }
        }
        // (b) the paper's central finding: Seq2Seq decoding has less long-horizon bias than recursion.
        check("seq2seq |ME| < recursive_lstm |ME| at 240 min",
              abs(s.byModel["seq2seq"]![47].me) < abs(s.byModel["recursive_lstm"]![47].me), report)
        // (c) ODE states do not make Seq2Seq worse: MAE at 240 min within 5 % of Seq2Seq − ODE, or better.
        check("physio_seq2seq MAE at 240 min ≤ 1.05 × seq2seq",
              s.byModel["physio_seq2seq"]![47].mae <= 1.05 * s.byModel["seq2seq"]![47].mae, report)
    }
}

/// The meal-aware twin (data.twin.future_inputs: announced) against the paper's basal-only twin, on the windows
/// of the findings cohort with a logged meal in the first 2 h of the horizon (all splits: nothing is trained).
enum MealAwareTwinMeasurement {
    struct Result {
        var windows = 0, mealWindows = 0, sameTwin = true
        /// Mean over the 48 steps of the per-step MAE: basal_only, announced, future inputs only.
        var meanMAE: [Double] = []
        var report = ""
    }

    static func run() throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meal-twin-\(getpid())-\(UUID().uuidString.prefix(6))")
        defer { try? FileManager.default.removeItem(at: dir) }
        try PhysioFindings.simulate(to: dir.path)
        let csv = dir.appendingPathComponent("cgm.csv").path
        let config = try DataConfig.parse(["preset": "physio_seq2seq", "stride": PhysioFindings.stride, "ode_states": true,
                                           "twin": ["future_inputs": "announced"]])
        let plan = try CohortPipeline.plan(config: config, cgmPath: csv)
        let check = TwinMatchingCheck()
        let (l, h) = (config.history, config.horizon)
        var r = Result()
        // basal_only (the paper), announced (history meals in matching + future meals/boluses: what prepare
        // stores), and, for the investigation, the future inputs alone on the paper's insulin-only match.
        var errors = [[[Double]]](repeating: [[Double]](repeating: [], count: h), count: 3)
        for ref in plan.windows {
            let f = plan.features[ref.subject], t = ref.decision
            r.windows += 1
            guard !f.carbs.isEmpty, (t + 1 ... t + 24).contains(where: { f.carbs[$0] > 0 }) else { continue }
            var hint: Int?
            let futureOnly = check.matcher.match(TwinMatchingCheck.window(f, decision: t, length: l),
                                                 future: TwinMatchingCheck.futureInputs(f, decision: t, horizon: h, policy: .announced),
                                                 horizon: h)
            guard let b = check.match(f, decision: t, history: l, horizon: h, future: .basalOnly, hint: &hint),
                  let a = check.match(f, decision: t, history: l, horizon: h, future: .announced, hint: &hint),
                  let af = futureOnly else { continue }
            r.sameTwin = r.sameTwin && af.twinIndex == b.twinIndex   // pass 1 does not see the future inputs
            r.mealWindows += 1
            for (i, m) in [b, a, af].enumerated() {
                for k in 0 ..< h { errors[i][k].append(Double(m.glucoseFut[k]) - Double(f.cgm[t + 1 + k])) }
            }
        }
        let summaries = errors.map { $0.map { ErrorSummary(errors: $0) } }
        r.meanMAE = summaries.map { m in m.reduce(0) { $0 + $1.mae } / Double(h) }
        var lines = ["Meal-aware twin: \(r.mealWindows) of \(r.windows) windows have a logged meal in the first 2 h of the horizon"]
        lines.append("twin                   MAE@60 ME@60  MAE@120 ME@120  MAE@240 ME@240  MAE mean over 48 steps")
        for (i, name) in ["basal_only", "announced", "future inputs only"].enumerated() {
            lines.append(name.padding(toLength: 21, withPad: " ", startingAt: 0)
                + [12, 24, 48].map { String(format: "  %6.2f %6.2f", summaries[i][$0 - 1].mae, summaries[i][$0 - 1].me) }.joined()
                + String(format: "  %6.2f", r.meanMAE[i]))
        }
        r.report = lines.joined(separator: "\n")
        return r
    }
}

/// The meal-aware twin finding, in Swift Testing for `withKnownIssue`: the assertion is the expected
/// direction (announcing meals and boluses lowers the twin's post-meal error), and on the simulated cohort it
/// does NOT hold — the announced twin over-predicts after meals (see the report printed and the README's
/// "Choices and known gaps"). The known issue keeps CI green while the measurement runs; if the direction ever
/// starts to hold (a better twin population or meal model), Swift Testing fails the test ("known issue was not
/// recorded") so the note gets revisited.
@Suite struct MealAwareTwinFindings {
    @Test func mealAwareTwinReducesPostMealError() throws {
        let r = try MealAwareTwinMeasurement.run()
        print(r.report)
        #expect(r.mealWindows >= 20, "\(r.report)")
        #expect(r.sameTwin, "the basal-only and future-only matches must pick the same twin")
        withKnownIssue("announced twin over-predicts after meals on the simulated cohort (twin/simulator mismatch)") {
            #expect(r.meanMAE[1] < r.meanMAE[0], "\(r.report)")
        }
    }
}
