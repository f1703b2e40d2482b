// `cgmtrain counterfactual` end to end with the built binary: a simulated cohort (heart rate and steps
// from the wearables, as decoder covariates), prepared, a 1-epoch seq2seq; then
//   • one process and real `mpirun -np 2` write identical CSVs (multivariate shift, --hours 6-22);
//   • the CSV columns; every listed window's horizon lies within 06:00–22:00 (the simulator's clocks are
//     UTC) and the windows left out do not; the shift moves the forecasts;
//   • a zero shift gives Δ = 0 exactly in every window and step (and ΔTIR 0);
//   • on the training split the SD source is `train`: SD_subj equals the population SD recomputed from the
//     shards' distinct times, and the scaled shift equals SD_subj / σ_c of the recorded FeatureSpec;
//   • an unknown covariate is an error naming it and listing the model's future features; nothing written.

import CGMData
import CGMSchema
import Foundation
import XCTest
@testable import Training

extension TrainLaunchTests {
    static let counterfactualYAML = """
        data:
          preset: custom
          history: 24
          horizon: 12
          stride: 6
          past_features: [cgm_scaled, "@time", heart_rate_bpm, steps]
          future_features: ["@time", heart_rate_bpm, steps]
          static_features: [subject_id, "?diabetes_status"]
        model:
          name: seq2seq
          hidden: 8
        train:
          seed: 1
          batch_size: 32
          max_epochs: 1
          optimizer: {name: adam, lr: 0.01}
          log_every_seconds: 1000
        """

    func counterfactual(np: Int, _ args: [String]) throws -> Outcome {
        try launch("counterfactual", np: np, args).wait(timeout: Self.timeout)
    }

    func testCounterfactualLaunch() throws {
        let cohort = dir + "/cohort", prepared = dir + "/prepared", run = dir + "/run", config = dir + "/cf.yaml"
        try Self.counterfactualYAML.write(toFile: config, atomically: true, encoding: .utf8)
        for (command, args) in [
            ("simulate", ["--subjects", "6", "--days", "2", "--seed", "5", "--out", cohort, "--no-truth"]),
            ("prepare", ["--cgm", cohort + "/cgm.csv", "--subjects", cohort + "/subjects.csv", "--config", config, "--out", prepared]),
            ("train", ["--config", config, "--data", prepared, "--run", run]),
        ] {
            let r = try cgmtrain(command, args)
            XCTAssertEqual(r.status, 0, "\(command)\n\(r.log)")
            if r.status != 0 { return }
        }
        let common = ["--checkpoint", run + "/best.h5", "--data", prepared, "--split", "test", "--subjects", cohort + "/subjects.csv"]

        // 1. Multivariate shift within 6–22 h: identical files for 1 process and 2 ranks.
        var texts: [[String]] = []
        for np in [0, 2] {
            let out = dir + "/cf-np\(np)"
            let r = try counterfactual(np: np, common + ["--shift", "heart_rate=+2sd,steps=+1sd", "--hours", "6-22", "--out", out])
            XCTAssertEqual(r.status, 0, r.log)
            XCTAssert(r.stdout.contains("Δ mean") && r.stdout.contains("all"), r.log)
            texts.append(try ["windows.csv", "subjects.csv", "groups.csv", "delta_by_horizon.csv"].map {
                try String(contentsOfFile: out + "/" + $0, encoding: .utf8)
            })
            XCTAssert(FileManager.default.fileExists(atPath: out + "/delta_vs_horizon.svg"))
        }
        XCTAssertEqual(texts[0], texts[1], "results differ between 1 process and 2 ranks")
        let windows = readForecastCSV(texts[0][0]), subjects = readForecastCSV(texts[0][1]), groups = readForecastCSV(texts[0][2])
        XCTAssertEqual(Array(windows.header.prefix(10)), ["window", "subject_id", "group", "decision_time",
                                                          "heart_rate_bpm_sd_source", "heart_rate_bpm_subject_sd",
                                                          "heart_rate_bpm_scaled_change", "steps_sd_source", "steps_subject_sd",
                                                          "steps_scaled_change"])
        XCTAssertEqual(subjects.header, ["subject_id", "group", "windows",
                                         "heart_rate_bpm_sd_source", "heart_rate_bpm_subject_sd", "heart_rate_bpm_scaled_change",
                                         "steps_sd_source", "steps_subject_sd", "steps_scaled_change",
                                         "delta_mean_mg_dl", "delta_end_mg_dl", "delta_auc_mg_dl_h", "delta_tir_pp",
                                         "factual_tir_pct", "counterfactual_tir_pct"])
        XCTAssertEqual(groups.header.first, "group")
        XCTAssert(groups.header.contains("delta_tir_pp_ci_high"))
        XCTAssertEqual(groups.rows.last?["group"], "all")
        XCTAssertFalse(windows.rows.isEmpty)
        // The subject split leaves test subjects without training data: their SD comes from the window history.
        XCTAssert(windows.rows.allSatisfy { $0["heart_rate_bpm_sd_source"] == "history" }, texts[0][0])
        XCTAssert(windows.rows.contains { abs(Double($0["delta_mean_mg_dl"] ?? "") ?? 0) > 1e-4 },
                  "a +2 SD heart-rate and +1 SD steps shift does not move any forecast")

        // The hours filter, checked against the decision times (UTC clocks): listed ⇔ t + 5 … 60 min in [6 h, 22 h).
        let dataset = try ShardDataset(directory: prepared)
        let n = dataset.count(.test)
        let all = try ShardReader(dataset: dataset, split: .test).read(indices: Array(0..<n))
        let listed = Set(windows.rows.compactMap { Int($0["window"] ?? "") })
        for w in 0..<n {
            let inside = (1...12).allSatisfy { s in
                let minute = Int((all.decisionTime[w] + Int64(300 * s)) % 86_400) / 60
                return minute >= 6 * 60 && minute < 22 * 60
            }
            XCTAssertEqual(listed.contains(w), inside, "window \(w) at \(GridTime.iso8601(all.decisionTime[w]))")
        }
        XCTAssertLessThan(listed.count, n, "the fixture has windows outside 6–22 h")

        // 2. A zero shift: Δ = 0 exactly everywhere.
        let zero = try counterfactual(np: 2, common + ["--shift", "heart_rate_bpm=+0sd", "--out", dir + "/cf-zero"])
        XCTAssertEqual(zero.status, 0, zero.log)
        let z = readForecastCSV(try String(contentsOfFile: dir + "/cf-zero/windows.csv", encoding: .utf8))
        XCTAssertEqual(z.rows.count, n, "without --hours every test window is used")
        for row in z.rows {
            for column in z.header where column.hasPrefix("delta_") {
                XCTAssertEqual(Double(row[column] ?? ""), 0, "\(column) of window \(row["window"] ?? "?")")
            }
        }

        // 3. On the training split every subject's SD comes from its training data: the population SD of its
        //    heart rate over the distinct 5-minute times of its windows (recomputed here from the shards), and
        //    the scaled shift of +1 SD is SD_subj / σ_c with the cohort σ_c of the recorded FeatureSpec.
        let trainRun = try counterfactual(np: 2, ["--checkpoint", run + "/best.h5", "--data", prepared, "--split", "train",
                                                  "--shift", "heart_rate_bpm=+1sd", "--out", dir + "/cf-train"])
        XCTAssertEqual(trainRun.status, 0, trainRun.log)
        let spec = try FeatureSpec(jsonString: dataset.manifest.featureSpecJSON)
        let zc = try XCTUnwrap(spec.standardization(of: "heart_rate_bpm"))
        let trainWindows = try ShardReader(dataset: dataset, split: .train).read(indices: Array(0..<dataset.count(.train)))
        let column = try XCTUnwrap(dataset.manifest.pastFeatures.firstIndex(of: "heart_rate_bpm"))
        let futureColumn = try XCTUnwrap(dataset.manifest.futureFeatures.firstIndex(of: "heart_rate_bpm"))
        let (L, P, H, F) = (trainWindows.history, trainWindows.pastFeatureCount, trainWindows.horizon, trainWindows.futureFeatureCount)
        var series: [String: [Int64: Double]] = [:]   // the past and the future rows: all of it is training data
        for w in 0..<trainWindows.count {
            let id = dataset.manifest.subjects[Int(trainWindows.subject[w])], t = trainWindows.decisionTime[w]
            for i in 0..<L {
                series[id, default: [:]][t - Int64(300 * (L - 1 - i))] = Double(trainWindows.past[(w * L + i) * P + column]) * zc.std + zc.mean
            }
            for s in 0..<H {
                series[id, default: [:]][t + Int64(300 * (s + 1))] = Double(trainWindows.future[(w * H + s) * F + futureColumn]) * zc.std + zc.mean
            }
        }
        let trainSubjects = readForecastCSV(try String(contentsOfFile: dir + "/cf-train/subjects.csv", encoding: .utf8))
        XCTAssertEqual(trainSubjects.rows.count, series.count)
        for row in trainSubjects.rows {
            let id = row["subject_id"] ?? ""
            XCTAssertEqual(row["heart_rate_bpm_sd_source"], "train", id)
            let values = Array(try XCTUnwrap(series[id], id).values)
            let mean = values.reduce(0, +) / Double(values.count)
            let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
            XCTAssertEqual(Double(row["heart_rate_bpm_subject_sd"] ?? "") ?? .nan, sd, accuracy: 1e-3, id)
            XCTAssertEqual(Double(row["heart_rate_bpm_scaled_change"] ?? "") ?? .nan, sd / zc.std, accuracy: 1e-5, id)
        }

        // 4. An unknown covariate: the error names it and lists the future features; nothing is written.
        let bad = try counterfactual(np: 0, common + ["--shift", "glucagon=+1sd", "--out", dir + "/cf-bad"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssert(bad.stderr.contains("'glucagon'") && bad.stderr.contains("minute_of_day, tod_sin, tod_cos, heart_rate_bpm, steps"),
                  bad.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/cf-bad"))

        // 5. `forecast --stream` needs a model with recurrent state: seq2seq is refused, no state file written.
        let streamed = try cgmtrain("forecast", ["--checkpoint", run + "/best.h5", "--cgm", cohort + "/cgm.csv", "--subjects",
                                                 cohort + "/subjects.csv", "--subject", "S0001", "--stream", dir + "/s.h5"])
        XCTAssertNotEqual(streamed.status, 0)
        XCTAssert(streamed.stderr.contains("cannot stream") && streamed.stderr.contains("best.h5"), streamed.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/s.h5"))
    }
}
