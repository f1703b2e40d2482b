// `cgmtrain forecast` end to end with the built binary: a cohort simulated by `cgmtrain simulate`, prepared
// by `cgmtrain prepare` (time features, IOB in past and future, standardized CGM history and wearables,
// static covariates), a tiny model trained by `cgmtrain train`; then, for test-split windows read from the
// prepared shards,
//   • the inference pipeline rebuilds exactly the same input tensors from the raw CSV and the checkpoint
//     alone (bit-identical past, future and static covariates): the preprocessing recorded in the
//     checkpoint is the one training used;
//   • `forecast --at <decision time>` reproduces the model's forecast of the shard window (1e-4 relative);
//   • the default (latest complete history) forecasts every subject past the end of its data;
//   • errors: a gap in the history and a time outside the data name the subject and the time; an unknown
//     --subject is refused; a checkpoint without recorded preprocessing is refused naming the file.
// Plus the /preprocessing checkpoint group in-process: round trip, absence, corruption.

import CGMData
import CGMSchema
import CGMTensor
import Foundation
import HDF5IO
import Layers
@testable import Models
import Optim
import XCTest
@testable import DataParallel
@testable import Evaluation
@testable import Inference
@testable import Training

extension TrainLaunchTests {
    static let forecastDataYAML = """
        data:
          preset: custom
          history: 24
          horizon: 24
          stride: 12
          past_features: [cgm_scaled, iob_scaled, "@time", cgm_diff, cgm_roll_mean12, "?heart_rate_bpm"]
          future_features: [iob_scaled, "@time", "?meal_flag"]
          static_features: [subject_id, glucose_centre, glucose_scale, "?diabetes_status", "?age"]
        """

    /// Runs `cgmtrain COMMAND ARGS` alone (no mpirun).
    func cgmtrain(_ command: String, _ args: [String]) throws -> Outcome {
        try launch(command, np: 0, args).wait(timeout: Self.timeout)
    }

    /// simulate → prepare → train; returns (cohort directory, prepared directory, checkpoint).
    func forecastFixture() throws -> (cohort: String, prepared: String, checkpoint: String) {
        let cohort = dir + "/cohort", prepared = dir + "/prepared", run = dir + "/run", config = dir + "/forecast.yaml"
        try (Self.forecastDataYAML + "\nmodel:\n  name: seq2seq\n  hidden: 8\ntrain:\n  seed: 1\n  batch_size: 32\n"
             + "  max_epochs: 2\n  optimizer: {name: adam, lr: 0.01}\n  log_every_seconds: 1000\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        for (command, args) in [
            ("simulate", ["--subjects", "6", "--days", "2", "--seed", "5", "--out", cohort, "--no-truth"]),
            ("prepare", ["--cgm", cohort + "/cgm.csv", "--subjects", cohort + "/subjects.csv", "--config", config, "--out", prepared]),
            ("train", ["--config", config, "--data", prepared, "--run", run]),
        ] {
            let r = try cgmtrain(command, args)
            XCTAssertEqual(r.status, 0, "\(command)\n\(r.log)")
            if r.status != 0 { throw XCTSkip("cannot build the fixture: \(command) failed") }
        }
        return (cohort, prepared, run + "/best.h5")
    }

    /// Parses a forecast CSV: header and rows as [column: text].
    func readForecastCSV(_ text: String) -> (header: [String], rows: [[String: String]]) {
        let lines = text.split(separator: "\n").map(String.init)
        guard let first = lines.first else { return ([], []) }
        let header = first.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let rows = lines.dropFirst().map { line -> [String: String] in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return Dictionary(uniqueKeysWithValues: zip(header, fields))
        }
        return (header, rows)
    }

    /// Bit equality of row-major values with `columns` innermost; a failure names the first differing column.
    func assertSameBits(_ got: [Float], _ want: ArraySlice<Float>, columns: [String], _ context: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        let want = Array(want)
        guard got.count == want.count else {
            return XCTFail("\(context): \(got.count) values, expected \(want.count)", file: file, line: line)
        }
        let differing = got.indices.filter { got[$0].bitPattern != want[$0].bitPattern }
        if let i = differing.first {
            XCTFail("\(context): \(differing.count) of \(got.count) values differ; first at row \(i / columns.count), column "
                    + "\(columns[i % columns.count]): \(got[i]) vs \(want[i]) in the shard", file: file, line: line)
        }
    }

    func testForecastReproducesTheModelOnPreparedTestWindows() throws {
        let fx = try forecastFixture()
        let cgm = fx.cohort + "/cgm.csv", subjectsCSV = fx.cohort + "/subjects.csv"
        let dataset = try ShardDataset(directory: fx.prepared)
        let manifest = dataset.manifest
        let forecaster = try CheckpointForecaster(checkpoint: fx.checkpoint)
        XCTAssertEqual(forecaster.preprocessing, CheckpointPreprocessing(manifest: manifest),
                       "the checkpoint records the prepared dataset's preprocessing")
        XCTAssert(manifest.futureFeatures.contains("tod_sin") && manifest.pastFeatures.contains("heart_rate_bpm")
                  && manifest.staticFeatures.contains("diabetes_status"), "the fixture exercises the feature kinds: \(manifest)")

        // 1. Every prepared window of every split, rebuilt from the raw CSV and the checkpoint alone: the same
        //    input tensors, bit for bit. (With H = 24 decoder IOB depends on the future-IOB policy whenever
        //    insulin follows t within H − 13 steps; the fixture must contain such windows to test it.)
        let L = manifest.history, H = manifest.horizon, P = manifest.pastFeatures.count
        let F = manifest.futureFeatures.count, S = manifest.staticFeatures.count
        let pipeline = InferencePipeline(recipe: forecaster.recipe)
        var observedSpec = forecaster.recipe.spec
        observedSpec.futureIOB = .observed
        let observedPipeline = InferencePipeline(recipe: try InferenceRecipe(spec: observedSpec, history: L, horizon: H))
        let cohort = try CohortReader().read(cgmPath: cgm, subjectsPath: subjectsCSV)
        var compared = 0, policySensitive = 0
        var sensitive: (subject: String, t: Int64, past: [Float], future: [Float])?
        for split in ShardSplit.allCases where dataset.count(split) > 0 {
            let all = try ShardReader(dataset: dataset, split: split).read(indices: Array(0..<dataset.count(split)))
            for k in 0..<all.count {
                let subject = manifest.subjects[Int(all.subject[k])], t = all.decisionTime[k]
                let w = try pipeline.windows(cohort: cohort, subject: subject, at: .at(t))
                let context = "\(split) window \(k): \(subject) at \(GridTime.iso8601(t))"
                XCTAssertEqual(w.subjects, [subject])
                XCTAssertEqual(w.batch.decisionTime, [t])
                assertSameBits(w.batch.past, all.past[k * L * P ..< (k + 1) * L * P], columns: manifest.pastFeatures, "past, \(context)")
                assertSameBits(w.batch.future, all.future[k * H * F ..< (k + 1) * H * F], columns: manifest.futureFeatures,
                               "future, \(context)")
                assertSameBits(w.batch.statics, all.statics[k * S ..< (k + 1) * S], columns: manifest.staticFeatures,
                               "statics, \(context)")
                assertSameBits(w.actual, all.target[k * H ..< (k + 1) * H], columns: ["glucose"], "targets, \(context)")
                let observed = try observedPipeline.windows(cohort: cohort, subject: subject, at: .at(t))
                if observed.batch.future != w.batch.future {
                    policySensitive += 1
                    if sensitive == nil { sensitive = (subject, t, w.batch.past, w.batch.future) }
                }
                compared += 1
            }
        }
        XCTAssertEqual(compared, manifest.totals.windows)
        XCTAssertGreaterThan(policySensitive, 0, "no window's decoder IOB depends on the policy: the fixture does not test it")

        // 2. The CLI's forecast of test-split windows at their decision times (ISO for one, Unix seconds for
        //    the others) against the model's forecast of the shard windows.
        let n = dataset.count(.test)
        XCTAssertGreaterThanOrEqual(n, 3)
        let picks = Array(Set([0, n / 2, n - 1])).sorted()
        let shard = try ShardReader(dataset: dataset, split: .test).read(indices: picks)
        let expected = forecaster.restored.model.forecast(shard, Graph(training: false, recording: false)).point.scalars
        for k in picks.indices {
            let subject = manifest.subjects[Int(shard.subject[k])]
            let t = shard.decisionTime[k]
            let out = dir + "/forecast-\(k).csv"
            let at = k == 0 ? GridTime.iso8601(t) : "\(t)"
            let r = try cgmtrain("forecast", ["--checkpoint", fx.checkpoint, "--cgm", cgm, "--subjects", subjectsCSV,
                                              "--subject", subject, "--at", at, "--out", out])
            XCTAssertEqual(r.status, 0, r.log)
            let table = readForecastCSV(try String(contentsOfFile: out, encoding: .utf8))
            XCTAssertEqual(table.header, ["subject_id", "decision_time", "step", "minutes_ahead", "timestamp", "forecast_mg_dl",
                                          "last_glucose_mg_dl", "actual_mg_dl"])
            XCTAssertEqual(table.rows.count, H, r.log)
            for (h, row) in table.rows.enumerated() {
                XCTAssertEqual(row["subject_id"], subject)
                XCTAssertEqual(row["decision_time"], GridTime.iso8601(t))
                XCTAssertEqual(row["step"], "\(h + 1)")
                XCTAssertEqual(row["minutes_ahead"], "\(5 * (h + 1))")
                XCTAssertEqual(row["timestamp"], GridTime.iso8601(t + Int64(300 * (h + 1))))
                let got = try XCTUnwrap(Double(row["forecast_mg_dl"] ?? ""), "\(row)")
                let want = Double(expected[k * H + h])
                XCTAssertEqual(got, want, accuracy: 1e-4 * abs(want), "\(subject) at \(at), step \(h + 1)")
                let actual = try XCTUnwrap(Double(row["actual_mg_dl"] ?? ""))
                XCTAssertEqual(actual, Double(shard.target[k * H + h]), accuracy: 1e-4)
            }
            let last = try XCTUnwrap(Double(table.rows[0]["last_glucose_mg_dl"] ?? ""))
            let naive = try LastObservedGlucose(pastFeatures: manifest.pastFeatures, spec: nil).values(shard)[k]
            XCTAssertEqual(last, Double(naive), accuracy: 1e-3 * Double(naive), "the naive baseline's value (eq. 14 of the last cgm_scaled)")
        }

        // 3. Default decision times: every subject, at its latest complete history, forecast past the data's end.
        let all = try cgmtrain("forecast", ["--checkpoint", fx.checkpoint, "--cgm", cgm, "--subjects", subjectsCSV])
        XCTAssertEqual(all.status, 0, all.log)
        let table = readForecastCSV(all.stdout)
        let ids = Array(Set(table.rows.compactMap { $0["subject_id"] })).sorted()
        XCTAssertEqual(ids.count, 6, all.log)
        XCTAssertEqual(table.rows.count, 6 * H)
        for id in ids {
            let rows = table.rows.filter { $0["subject_id"] == id }
            let decision = try XCTUnwrap(TimestampParser.parse(rows[0]["decision_time"] ?? "")).seconds
            for row in rows { XCTAssertNotNil(Double(row["forecast_mg_dl"] ?? ""), "\(row)") }
            XCTAssertEqual(rows.last?["timestamp"], GridTime.iso8601(decision + Int64(300 * H)))
        }
        // The horizon past the end of the data: a window whose decoder IOB depends on insulin given after t,
        // forecast from data cut off 15 min after t (so glucose at t interpolates as in prepare). The history is
        // bit-identical to the shard's; the padded future has the clock's time of day and the basal-only IOB
        // prepare computed from the full data (to rounding: the post-t doses enter and leave its sum).
        let cut = try XCTUnwrap(sensitive)
        var truncated = cohort
        let index = try XCTUnwrap(truncated.series.firstIndex { $0.subject == cut.subject })
        var series = truncated.series[index]
        let keep = series.time.indices.filter { series.time[$0] <= cut.t + 900 }
        XCTAssertLessThan(keep.count, series.time.count, "the cut removes data after t")
        series.time = keep.map { series.time[$0] }
        series.utcOffsetMinutes = keep.map { series.utcOffsetMinutes[$0] }
        series.glucose = keep.map { series.glucose[$0] }
        series.values = series.values.map { v in keep.map { v[$0] } }
        truncated.series[index] = series
        let padded = try pipeline.windows(cohort: truncated, subject: cut.subject, at: .at(cut.t))
        assertSameBits(padded.batch.past, cut.past[...], columns: manifest.pastFeatures, "past of the cut-off data")
        XCTAssert(padded.actual.suffix(H - 3).allSatisfy(\.isNaN), "no glucose beyond the cut: \(padded.actual)")
        for (c, name) in manifest.futureFeatures.enumerated() where name != "meal_flag" {
            for h in 0..<H {
                XCTAssertEqual(padded.batch.future[h * F + c], cut.future[h * F + c], accuracy: name.hasPrefix("tod") ? 0 : 1e-5,
                               "future \(name) at step \(h + 1) of \(cut.subject) at \(GridTime.iso8601(cut.t))")
            }
        }

        // 4. A subject the model never saw: its own glucose centre up to t; subject_id unknown.
        var renamed = cohort
        let original = renamed.series[0].subject
        renamed.series[0].subject = "new-subject"
        let unseen = try pipeline.windows(cohort: renamed, subject: "new-subject")
        XCTAssert(unseen.notes.contains { $0.contains("'new-subject' is not in the training data") && $0.contains("glucose_centre") },
                  "\(unseen.notes)")
        let spec = forecaster.recipe.spec
        let idColumn = try XCTUnwrap(manifest.staticFeatures.firstIndex(of: "subject_id"))
        let centreColumn = try XCTUnwrap(manifest.staticFeatures.firstIndex(of: "glucose_centre"))
        XCTAssertEqual(unseen.batch.statics[idColumn], 0)
        let grid = try Resampler(maxInterpolationGapMinutes: spec.maxInterpolationGapMinutes).resample(renamed.series[0]).subject
        let ownGlucose = (0..<grid.count).filter { grid.time(at: $0) <= unseen.batch.decisionTime[0] && !grid.glucose[$0].isNaN }
            .map { Double(grid.glucose[$0]) }
        let ownMean = ownGlucose.reduce(0, +) / Double(ownGlucose.count)
        let z = try XCTUnwrap(spec.statics[centreColumn].standardization)
        XCTAssertEqual(Double(unseen.batch.statics[centreColumn]), (ownMean - z.mean) / z.std, accuracy: 1e-4)
        XCTAssertNotNil(spec.glucose(of: original), "known subjects use their recorded centre")

        // 5. Errors name the subject and the time.
        let k = 0, subject = manifest.subjects[Int(shard.subject[k])], t0 = shard.decisionTime[k]
        let gapCSV = dir + "/gap.csv"
        let lines = try String(contentsOfFile: cgm, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let kept = lines.enumerated().filter { i, line in
            guard i > 0, line.hasPrefix(subject + ","), let stamp = TimestampParser.parse(String(line.split(separator: ",")[1]))
            else { return true }
            return !(t0 - 3600 < stamp.seconds && stamp.seconds <= t0 - 1800)
        }.map(\.1)
        XCTAssertLessThan(kept.count, lines.count, "the gap removed rows")
        try kept.joined(separator: "\n").write(toFile: gapCSV, atomically: true, encoding: .utf8)
        let withTable = ["--subjects", subjectsCSV]
        let failures: [([String], [String])] = [
            (["--cgm", gapCSV, "--subject", subject, "--at", GridTime.iso8601(t0)] + withTable,
             ["subject '\(subject)'", GridTime.iso8601(t0), "gap in the history", GridTime.iso8601(t0 - 3300)]),
            (["--cgm", cgm, "--subject", subject, "--at", GridTime.iso8601(t0 - 10 * 86_400)] + withTable,
             ["subject '\(subject)'", GridTime.iso8601(t0 - 10 * 86_400), "before its data begins"]),
            (["--cgm", cgm, "--subject", subject, "--at", GridTime.iso8601(t0 + 10 * 86_400)] + withTable,
             ["subject '\(subject)'", GridTime.iso8601(t0 + 10 * 86_400), "after its data ends"]),
            (["--cgm", cgm, "--subject", "nobody"] + withTable, ["subject 'nobody'", "not in the measurements file", subject]),
            (["--cgm", cgm, "--at", "yesterday"] + withTable, ["--at: cannot parse 'yesterday'"]),
            (["--cgm", cgm], ["static feature(s) diabetes_status, age from subjects.csv", "--subjects"]),
        ]
        for (args, expected) in failures {
            let out = dir + "/failed.csv"
            let r = try cgmtrain("forecast", ["--checkpoint", fx.checkpoint, "--out", out] + args)
            XCTAssertEqual(r.status, 1, r.log)
            for text in expected { XCTAssert(r.stderr.contains(text), "expected '\(text)' for \(args)\n\(r.log)") }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written on failure")
        }

        // 6. A checkpoint written before preprocessing was recorded.
        var old = try Checkpoint.read(fx.checkpoint)
        old.preprocessing = nil
        let oldPath = dir + "/old.h5"
        try Checkpoint.write(old, to: oldPath)
        let r = try cgmtrain("forecast", ["--checkpoint", oldPath, "--cgm", cgm, "--subjects", subjectsCSV])
        XCTAssertEqual(r.status, 1, r.log)
        XCTAssert(r.stderr.contains("checkpoint \(oldPath): has no recorded data preprocessing"), r.log)
        XCTAssertEqual(r.stdout, "")
    }
}

/// The /preprocessing group of checkpoint files, in-process.
final class CheckpointPreprocessingTests: XCTestCase {
    func contents(_ preprocessing: CheckpointPreprocessing?) -> CheckpointContents {
        let model = Seq2SeqForecaster(pastFeatures: 2, futureFeatures: 1, spec: Seq2SeqSpec(hidden: 4), seed: 1)
        var c = CheckpointContents(
            modelName: model.name, layoutHash: hex16(ParameterFingerprint.hash(model.store)), configYAML: "model:\n  name: seq2seq\n",
            configHash: "0123456789abcdef", manifestHash: "fedcba9876543210", dataConfigHash: "cfg", seed: 1,
            parameters: CheckpointContents.parameters(of: model.store), optimizerName: "adam",
            optimizerState: Adam(model.store, lr: 0.01).exportState(), state: TrainingState(), valLoss: .nan)
        c.preprocessing = preprocessing
        return c
    }

    func testRoundTripAbsenceAndCorruption() throws {
        let dir = try temporaryDirectory(self, name)
        let empty = FeatureSpec(pastFeatures: ["cgm_scaled", "iob_scaled"], futureFeatures: ["iob_scaled"], staticFeatures: [])
        let spec = try FeatureSpec(jsonString: try empty.jsonString().replacingOccurrences(of: #""subjectGlucose":[]"#, with:
            #""subjectGlucose":[{"centre":140,"id":"s0","scale":30},{"centre":"nan","id":"s1","scale":0}]"#))
        XCTAssert(spec.glucose(of: "s1")!.centre.isNaN)
        let p = CheckpointPreprocessing(featureSpecJSON: try spec.jsonString(),
                                        shape: DatasetShape(history: 12, horizon: 6, pastFeatures: ["cgm_scaled", "iob_scaled"],
                                                            futureFeatures: ["iob_scaled"], staticFeatures: [], extras: [:]),
                                        dataConfigHash: "abc")
        try Checkpoint.write(contents(p), to: dir + "/with.h5")
        let back = try XCTUnwrap(try Checkpoint.read(dir + "/with.h5").preprocessing)
        XCTAssertEqual(back, p)
        XCTAssertEqual(try back.featureSpec(file: "x").jsonString(), try spec.jsonString(), "NaN centres survive")
        XCTAssertEqual(back.shape, DatasetShape(history: 12, horizon: 6, pastFeatures: ["cgm_scaled", "iob_scaled"],
                                                futureFeatures: ["iob_scaled"], staticFeatures: []))

        // Older checkpoints (no group) still read, with nil, and `CheckpointModel(checkpoint:)` refuses them.
        try Checkpoint.write(contents(nil), to: dir + "/without.h5")
        XCTAssertNil(try Checkpoint.read(dir + "/without.h5").preprocessing)
        XCTAssertThrowsError(try CheckpointModel(checkpoint: dir + "/without.h5")) { e in
            XCTAssert("\(e)".contains("without.h5: has no recorded data preprocessing"), "\(e)")
        }

        // A changed attribute is caught by the group's checksum.
        try HDF5Lock.withLock {
            let f = try H5File.open(path: dir + "/with.h5", readOnly: false)
            defer { f.discard() }
            try f.openGroup("preprocessing").setAttribute("history", .int64(13))
        }
        XCTAssertThrowsError(try Checkpoint.read(dir + "/with.h5")) { e in
            XCTAssert("\(e)".contains("/preprocessing fails its checksum"), "\(e)")
        }

        // Recorded lists that disagree with the spec are refused by name.
        var wrong = p
        wrong.shape.pastFeatures = ["cgm_scaled"]
        XCTAssertThrowsError(try wrong.featureSpec(file: "ck.h5")) { e in
            XCTAssert("\(e)".contains("ck.h5: its recorded feature spec disagrees"), "\(e)")
        }
    }
}

/// The CSV of `cgmtrain forecast` for a quantile model (no quantile model is registered for `train` yet).
final class ForecastTableTests: XCTestCase {
    func testQuantileColumnsAreNamedByLevelAndFilledInOrder() {
        var batch = Batch(count: 2, history: 3, horizon: 2, pastFeatureCount: 1, futureFeatureCount: 1, staticFeatureCount: 0)
        batch.subject = [1, 0]
        batch.decisionTime = [1_767_693_600, 1_767_694_200]   // 2026-01-06T10:00Z, 10:10Z
        let windows = InferenceWindows(batch: batch, subjects: ["a,b", "s2"], lastGlucose: [120, 98.5],
                                       actual: [121, .nan, .nan, .nan])
        let levels: [Float] = [0.025, 0.5, 0.9]
        let point: [Float] = [110, 111, 90, 91]
        let quantiles = (0..<12).map { Float(100 + $0) }   // (B, H, Q)
        let table = ForecastTable(windows: windows, point: point, quantiles: quantiles, quantileLevels: levels)
        XCTAssertEqual(ForecastTable.quantileColumn(0.1), "q10_mg_dl")
        let lines = table.csv().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, [
            "subject_id,decision_time,step,minutes_ahead,timestamp,forecast_mg_dl,q2.5_mg_dl,q50_mg_dl,q90_mg_dl,last_glucose_mg_dl,actual_mg_dl",
            "s2,2026-01-06T10:00:00Z,1,5,2026-01-06T10:05:00Z,110.0000,100.0000,101.0000,102.0000,120.0000,121.0000",
            "s2,2026-01-06T10:00:00Z,2,10,2026-01-06T10:10:00Z,111.0000,103.0000,104.0000,105.0000,120.0000,",
            "\"a,b\",2026-01-06T10:10:00Z,1,5,2026-01-06T10:15:00Z,90.0000,106.0000,107.0000,108.0000,98.5000,",
            "\"a,b\",2026-01-06T10:10:00Z,2,10,2026-01-06T10:20:00Z,91.0000,109.0000,110.0000,111.0000,98.5000,",
        ])
        let pointOnly = ForecastTable(windows: windows, point: point, quantiles: nil, quantileLevels: [])
        XCTAssertFalse(pointOnly.header.contains { $0.hasPrefix("q") })
    }
}
