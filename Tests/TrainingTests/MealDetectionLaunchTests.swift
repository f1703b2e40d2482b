// Meal detection end to end with the built binary under real mpirun: a tiny simulated cohort prepared with the
// meal_detection preset (L = 72, trapezoid labels, diabetes-stratified split), `train` of a small meal_detector
// for one epoch on 2 ranks, then `detect-meals` writes the flags CSV (columns, one row per grid point, flags and
// events consistent with the vote ratios), `--tune` writes the (θ, ρ) sweep CSV and heatmap, and
// `prepare --meal-detector` fills meal_flag from the detector and records it in the manifest.

import CGMData
import CGMSchema
import Foundation
import _TestSupport
import XCTest
@testable import Training

final class MealDetectionLaunchTests: XCTestCase {
    static let timeout: TimeInterval = 120

    private func run(_ args: [String], np: Int? = nil) throws -> LaunchOutcome {
        let r = try CGMTrainLauncher.run(args, np: np, timeout: Self.timeout)
        XCTAssertEqual(r.status, 0, "cgmtrain \(args.joined(separator: " "))\n\(r.log)")
        XCTAssertFalse(r.timedOut)
        if r.status != 0 { throw XCTSkip("cgmtrain \(args.first ?? "") failed") }
        return r
    }

    func testTrainDetectTuneAndPrepareWithPredictedFlags() throws {
        let dir = try temporaryDirectory(self)
        let cohort = dir + "/cohort", prepared = dir + "/meals", runDir = dir + "/run", config = dir + "/meal.yaml"
        try """
            data:
              preset: meal_detection
              stride: 12
            model:
              name: meal_detector
              channels: 4
              hidden: 8
            train:
              seed: 1
              batch_size: 16
              max_epochs: 1
              optimizer: {name: adam, lr: 1.0e-3, weight_decay: 1.0e-4}
              scheduler: {name: one_cycle}
              log_every_seconds: 1000
            """.write(toFile: config, atomically: true, encoding: .utf8)
        _ = try run(["simulate", "--subjects", "6", "--days", "2", "--seed", "5", "--out", cohort, "--no-truth"])
        _ = try run(["prepare", "--cgm", cohort + "/cgm.csv", "--subjects", cohort + "/subjects.csv", "--config", config,
                     "--out", prepared])
        let manifest = try Manifest.load(prepared)
        XCTAssertEqual(manifest.extras[WindowExtras.mealLabels], [72])
        XCTAssertEqual(manifest.history, 72)
        _ = try run(["train", "--config", config, "--data", prepared, "--run", runDir], np: 2)
        let checkpoint = runDir + "/best.h5"
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint))

        // evaluate refuses it (its outputs are probabilities, not glucose), pointing to detect-meals.
        let refused = try CGMTrainLauncher.run(["evaluate", "--checkpoint", checkpoint, "--data", prepared, "--out", dir + "/eval"],
                                               timeout: Self.timeout)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("detect-meals"), refused.log)

        // detect-meals: one row per grid point of every subject, consistent columns.
        let flags = dir + "/flags.csv"
        _ = try run(["detect-meals", "--checkpoint", checkpoint, "--cgm", cohort + "/cgm.csv", "--out", flags,
                     "--theta", "0.4", "--rho", "0.5"])
        let lines = try String(contentsOfFile: flags, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "subject_id,timestamp,glucose_mg_dl,probability,vote_ratio,meal_flag,event")
        XCTAssertGreaterThan(lines.count, 6 * 500, "2 days of 5-minute grid for each of 6 subjects")
        var subjects = Set<String>(), covered = 0
        for line in lines.dropFirst() {
            let c = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(c.count, 7, line)
            subjects.insert(c[0])
            let flag = c[5]
            XCTAssertTrue(flag == "0" || flag == "1", line)
            if let ratio = Float(c[4]) {
                covered += 1
                let p = try XCTUnwrap(Float(c[3]), line)
                XCTAssertTrue((0...1).contains(p) && (0...1).contains(ratio), line)
                XCTAssertEqual(flag == "1", ratio >= 0.5, line)
            } else {
                XCTAssertEqual(flag, "0", "an uncovered time is never flagged: \(line)")
            }
            XCTAssertEqual(c[6].isEmpty, flag == "0", "event index exactly on flagged rows: \(line)")
        }
        XCTAssertEqual(subjects.count, 6)
        XCTAssertGreaterThan(covered, lines.count / 2)

        // --tune on validation: sweep CSV (19 × 19 + header), heatmap, metrics.
        let report = dir + "/report"
        let tuned = try run(["detect-meals", "--checkpoint", checkpoint, "--cgm", cohort + "/cgm.csv", "--data", prepared,
                             "--split", "val", "--tune", "--report", report])
        XCTAssertTrue(tuned.stdout.contains("best θ ="), tuned.log)
        let sweep = try String(contentsOfFile: report + "/meal-sweep.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(sweep.count, 1 + 19 * 19)
        XCTAssertTrue(try String(contentsOfFile: report + "/meal-sweep.svg", encoding: .utf8).contains("<svg"))
        XCTAssertTrue(try String(contentsOfFile: report + "/meal-metrics.json", encoding: .utf8).contains("\"recall\""))

        // prepare --meal-detector: meal_flag from the detector, recorded in the manifest.
        let forecastConfig = dir + "/forecast.yaml", withFlags = dir + "/predicted"
        try """
            data:
              preset: custom
              history: 24
              horizon: 12
              stride: 24
              past_features: [cgm_scaled, meal_flag]
              future_features: [meal_flag]
            """.write(toFile: forecastConfig, atomically: true, encoding: .utf8)
        // Default causal flags: meal_flag as a known-future covariate is refused, naming data.future_features.
        let refusedFuture = try CGMTrainLauncher.run(["prepare", "--cgm", cohort + "/cgm.csv", "--config", forecastConfig,
                                                "--out", withFlags, "--meal-detector", checkpoint, "--meal-theta", "0.4"],
                                               np: 2, timeout: Self.timeout)
        XCTAssertNotEqual(refusedFuture.status, 0, refusedFuture.log)
        XCTAssertTrue(refusedFuture.log.contains("data.future_features"), refusedFuture.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: withFlags + "/manifest.json"))
        // Past-only meal_flag, causal (default).
        let pastConfig = dir + "/forecast-past.yaml", causal = dir + "/causal"
        try String(contentsOfFile: forecastConfig, encoding: .utf8)
            .replacingOccurrences(of: "future_features: [meal_flag]", with: "future_features: []")
            .write(toFile: pastConfig, atomically: true, encoding: .utf8)
        _ = try run(["prepare", "--cgm", cohort + "/cgm.csv", "--config", pastConfig, "--out", causal,
                     "--meal-detector", checkpoint, "--meal-theta", "0.4"], np: 2)
        let c = try Manifest.load(causal)
        XCTAssertEqual(c.pastFeatures, ["cgm_scaled", "meal_flag"])
        XCTAssertTrue(c.mealFlagSource?.contains("mode causal") == true, "\(c.mealFlagSource ?? "no meal_flag_source")")
        // The 2 ranks split the detector's work (subject i on rank i mod 2): one process writes the same windows.
        let single = dir + "/causal-np1"
        _ = try run(["prepare", "--cgm", cohort + "/cgm.csv", "--config", pastConfig, "--out", single,
                     "--meal-detector", checkpoint, "--meal-theta", "0.4"])
        let (two, one) = (try ShardDataset(directory: causal), try ShardDataset(directory: single))
        var flagged = 0
        for split in [ShardSplit.train, .val, .test] {
            let n = one.count(split)
            XCTAssertEqual(two.count(split), n, "\(split)")
            guard n > 0 else { continue }
            let a = try ShardReader(dataset: two, split: split, rank: 0).read(indices: Array(0..<n))
            let b = try ShardReader(dataset: one, split: split, rank: 0).read(indices: Array(0..<n))
            XCTAssertEqual(a.past, b.past, "\(split): np 2 and np 1 differ")
            flagged += stride(from: 1, to: b.past.count, by: 2).filter { b.past[$0] == 1 }.count   // meal_flag column
        }
        XCTAssertGreaterThan(flagged, 0, "the detector flagged nothing: the comparison would be vacuous")
        // Smoothed (offline annotation) may still be used as a future covariate; the manifest says so.
        _ = try run(["prepare", "--cgm", cohort + "/cgm.csv", "--config", forecastConfig, "--out", withFlags,
                     "--meal-detector", checkpoint, "--meal-theta", "0.4", "--meal-rho", "0.5", "--meal-flags", "smoothed"], np: 2)
        let m = try Manifest.load(withFlags)
        XCTAssertEqual(m.pastFeatures, ["cgm_scaled", "meal_flag"])
        XCTAssertTrue(m.mealFlagSource?.contains("mode smoothed") == true && m.mealFlagSource?.contains("rho 0.5") == true,
                      "\(m.mealFlagSource ?? "no meal_flag_source")")
    }
}
