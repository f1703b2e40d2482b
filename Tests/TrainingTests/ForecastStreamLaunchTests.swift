// `cgmtrain forecast --stream FILE` with a trained tiny ssm_cgm (simulate → prepare → train, the built
// binary), on a growing CSV as a live feed gives it (call 1 sees the readings up to T0, call 2 those up to
// T1 = T0 + 3 readings): the second call forecasts what the checkpoint's model gives on the window of
// L + 3 past rows ending at T1 built from the T1 file by the inference pipeline (so the rows consumed at
// T0 did not change when later data arrived); a repeated call at T1 consumes nothing and repeats the
// forecast; another subject or an earlier time is refused naming the file, which is left as it was.

import CGMData
import CGMTensor
import Foundation
@testable import Inference
import Models
import XCTest
@testable import Training

extension TrainLaunchTests {
    func testForecastStreamEqualsForwardSinceStart() throws {
        let cohort = dir + "/cohort", prepared = dir + "/prepared", run = dir + "/run", config = dir + "/stream.yaml"
        try (Self.forecastDataYAML + "\nmodel:\n  name: ssm_cgm\n  d_model: 8\n  depth: 1\n  d_state: 4\n  d_conv: 3\n"
             + "  expand: 2\n  headdim: 4\n  chunk: 8\n  hidden_continuous: 3\n  dropout: 0.1\ntrain:\n  seed: 1\n  batch_size: 32\n"
             + "  max_epochs: 1\n  optimizer: {name: adam, lr: 0.01}\n  log_every_seconds: 1000\n")
            .write(toFile: config, atomically: true, encoding: .utf8)
        for (command, args) in [
            ("simulate", ["--subjects", "6", "--days", "2", "--seed", "5", "--out", cohort, "--no-truth"]),
            ("prepare", ["--cgm", cohort + "/cgm.csv", "--subjects", cohort + "/subjects.csv", "--config", config, "--out", prepared]),
            ("train", ["--config", config, "--data", prepared, "--run", run]),
        ] {
            let r = try cgmtrain(command, args)
            XCTAssertEqual(r.status, 0, "\(command)\n\(r.log)")
            if r.status != 0 { return }
        }
        let checkpoint = run + "/best.h5", cgm = cohort + "/cgm.csv", subjectsCSV = cohort + "/subjects.csv"
        let forecaster = try CheckpointForecaster(checkpoint: checkpoint)
        let (L, H, k) = (forecaster.recipe.history, forecaster.recipe.horizon, 3)
        let dataset = try ShardDataset(directory: prepared)
        let shard = try ShardReader(dataset: dataset, split: .test).read(indices: [0])
        let subject = dataset.manifest.subjects[Int(shard.subject[0])], t1 = shard.decisionTime[0] + 3600
        let t0 = t1 - Int64(300 * k), state = dir + "/stream-state.h5"
        // The feed up to each time (timestamps are ISO 8601 UTC, so they compare as strings).
        let lines = try String(contentsOfFile: cgm, encoding: .utf8).split(separator: "\n")
        func feed(_ t: Int64) throws -> String {
            let path = dir + "/cgm-\(t).csv", last = GridTime.iso8601(t)
            let kept = lines.dropFirst().filter { $0.split(separator: ",", maxSplits: 2)[1] <= last }
            XCTAssert(kept.count > 0 && kept.count < lines.count - 1, "feed up to \(last): \(kept.count) of \(lines.count - 1) rows")
            try ([lines[0]] + kept).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let feeds = [t0: try feed(t0), t1: try feed(t1)]
        func stream(_ t: Int64, _ who: String = subject) throws -> Outcome {
            try cgmtrain("forecast", ["--checkpoint", checkpoint, "--cgm", feeds[t]!, "--subjects", subjectsCSV, "--subject", who,
                                      "--at", "\(t)", "--stream", state])
        }
        func points(_ r: Outcome) throws -> [Double] {
            let rows = readForecastCSV(r.stdout).rows
            XCTAssertEqual(rows.count, H, r.log)
            return try rows.map { try XCTUnwrap(Double($0["forecast_mg_dl"] ?? ""), "\($0)") }
        }

        let first = try stream(t0)
        XCTAssertEqual(first.status, 0, first.log)
        XCTAssert(first.stderr.contains("started with \(L) readings"), first.log)
        let second = try stream(t1)
        XCTAssertEqual(second.status, 0, second.log)
        XCTAssert(second.stderr.contains("\(k) new reading(s), \(L + k) consumed"), second.log)

        // The reference: the model's forward over the L + k past rows ending at t1 (the T1 feed).
        let cohortData = try CohortReader().read(cgmPath: feeds[t1]!, subjectsPath: subjectsCSV)
        let recipe = try InferenceRecipe(spec: forecaster.recipe.spec, history: L + k, horizon: H)
        let longer = try InferencePipeline(recipe: recipe).windows(cohort: cohortData, subject: subject, at: .at(t1))
        let model = forecaster.restored.model
        let want = model.forecast(longer.batch, Graph(training: false, recording: false)).point.scalars
        let got = try points(second)
        for h in 0..<H {
            // The CSV has 4 decimals; scan vs recurrence rounding is ~1e-6 relative (measured < 1e-3 mg/dL).
            XCTAssertEqual(got[h], Double(want[h]), accuracy: 2e-3, "step \(h + 1)")
        }
        // The plain forecast at t1 reads only L rows: a different context, a different forecast.
        let plain = try cgmtrain("forecast", ["--checkpoint", checkpoint, "--cgm", feeds[t1]!, "--subjects", subjectsCSV,
                                              "--subject", subject, "--at", "\(t1)"])
        XCTAssertEqual(plain.status, 0, plain.log)
        XCTAssertNotEqual(try points(plain), got, "the stream's context (L + k rows) should change the forecast")

        // Again at t1: nothing new, the same forecast.
        let again = try stream(t1)
        XCTAssertEqual(again.status, 0, again.log)
        XCTAssert(again.stderr.contains("0 new reading(s)"), again.log)
        XCTAssertEqual(try points(again), got)

        // Refusals name the file and leave it unchanged.
        let before = try Data(contentsOf: URL(fileURLWithPath: state))
        let other = dataset.manifest.subjects.first { $0 != subject }!
        for (r, message) in [(try stream(t1, other), "follows subject"), (try stream(t0), "before the stream's last reading")] {
            XCTAssertNotEqual(r.status, 0, r.log)
            XCTAssert(r.stderr.contains(message) && r.stderr.contains("stream-state.h5"), r.log)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: state)), before)
    }
}
