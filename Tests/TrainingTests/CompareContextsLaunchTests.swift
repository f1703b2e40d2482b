// `cgmtrain compare-contexts` (SSM-CGM Table 1) end to end with the built binary: a simulated cohort prepared
// at two history lengths ("2 h" and "3 h"), a 1-epoch ssm_cgm and tft per dataset; then
//   • one process and real `mpirun -np 2` write identical table1.csv / table1.json;
//   • each context has the naive row first and both models, on the same windows; naive's QL equals its MAE
//     (a point forecast counts as every quantile) and every CI brackets its value;
//   • --check-beats-naive exits 3 exactly when some model's MAE is not below naive's in the written table
//     (0 otherwise), after writing the table;
//   • a missing checkpoint is an error naming it, with a non-zero exit and no table written.

@testable import Evaluation
import Foundation
import XCTest
@testable import Training

extension TrainLaunchTests {
    static func compareContextsYAML(model: String, history: Int) -> String {
        let sizes = model == "tft" ? "hidden: 8\n  heads: 2\n  lstm_layers: 1"
            : "d_model: 8\n  depth: 1\n  d_state: 4\n  expand: 2\n  heads: 2\n  chunk: 16\n  d_conv: 3"
        return """
            data:
              preset: custom
              history: \(history)
              horizon: 6
              stride: 6
              split: temporal
              past_features: [cgm_scaled, "@time"]
              future_features: ["@time"]
              static_features: [subject_id, glucose_centre, glucose_scale]
            model:
              name: \(model)
              \(sizes)
            train:
              seed: 1
              batch_size: 16
              max_epochs: 1
              optimizer: {name: adam, lr: 0.003}
              log_every_seconds: 1000
            """
    }

    func testCompareContextsLaunch() throws {
        let cohort = dir + "/cohort"
        var r = try cgmtrain("simulate", ["--subjects", "6", "--days", "2", "--seed", "5", "--out", cohort, "--no-truth"])
        XCTAssertEqual(r.status, 0, r.log)
        var entries: [String] = []
        for (label, history) in [("2 h", 24), ("3 h", 36)] {
            let prepared = dir + "/data-\(history)"
            for model in ["ssm_cgm", "tft"] {
                let config = dir + "/\(model)-\(history).yaml", run = dir + "/run-\(model)-\(history)"
                try Self.compareContextsYAML(model: model, history: history).write(toFile: config, atomically: true, encoding: .utf8)
                if model == "ssm_cgm" {
                    r = try cgmtrain("prepare", ["--cgm", cohort + "/cgm.csv", "--subjects", cohort + "/subjects.csv",
                                                 "--config", config, "--out", prepared])
                    XCTAssertEqual(r.status, 0, r.log)
                }
                r = try cgmtrain("train", ["--config", config, "--data", prepared, "--run", run])
                XCTAssertEqual(r.status, 0, r.log)
                if r.status != 0 { return }
                entries += ["--entry", "\(label),\(run)/best.h5,\(prepared)"]
            }
        }
        func compare(np: Int, _ args: [String]) throws -> Outcome {
            try launch("compare-contexts", np: np, ["--bootstrap", "50"] + args).wait(timeout: Self.timeout)
        }

        // 1. One process and two ranks: identical files.
        var files: [[String]] = []
        for np in [0, 2] {
            let out = dir + "/table-np\(np)"
            let result = try compare(np: np, entries + ["--out", out])
            XCTAssertEqual(result.status, 0, result.log)
            files.append(try ["table1.csv", "table1.json"].map { try String(contentsOfFile: out + "/" + $0, encoding: .utf8) })
        }
        XCTAssertEqual(files[0], files[1], "1 process and 2 ranks differ")

        // 2. Row structure and internal consistency.
        let table = try JSONDecoder().decode(ContextComparison.self, from: Data(files[0][1].utf8))
        XCTAssertEqual(table.rows.map(\.context), ["2 h", "2 h", "2 h", "3 h", "3 h", "3 h"])
        XCTAssertEqual(table.rows.map(\.model), [ModelComparison.naiveLabel, "ssm_cgm", "tft", ModelComparison.naiveLabel, "ssm_cgm", "tft"])
        for context in stride(from: 0, to: 6, by: 3) {
            let rows = Array(table.rows[context..<(context + 3)])
            XCTAssertGreaterThan(rows[0].segments, 0)
            XCTAssertEqual(Set(rows.map(\.segments)).count, 1, "models of one context on different windows: \(rows)")
            XCTAssertEqual(rows[0].quantileLoss.value, rows[0].mae.value, accuracy: 1e-6 * rows[0].mae.value, "naive QL = MAE (QL summed in Float)")
            for row in rows {
                for m in [row.quantileLoss, row.mae, row.rmse] {
                    XCTAssertLessThanOrEqual(m.interval.lower, m.value + 1e-9, "\(row.model) \(row.context)")
                    XCTAssertGreaterThanOrEqual(m.interval.upper, m.value - 1e-9, "\(row.model) \(row.context)")
                }
                XCTAssertGreaterThanOrEqual(row.rmse.value, row.mae.value - 1e-9)
            }
        }

        // 3. --check-beats-naive agrees with the table it writes.
        let checked = try compare(np: 2, entries + ["--out", dir + "/table-check", "--check-beats-naive"])
        let beaten = stride(from: 0, to: 6, by: 3).allSatisfy { c in
            table.rows[(c + 1)..<(c + 3)].allSatisfy { $0.mae.value < table.rows[c].mae.value }
        }
        XCTAssertEqual(checked.status, beaten ? 0 : 3, checked.log)
        XCTAssert(checked.stdout.contains(beaten ? "check passed" : "check failed"), checked.log)
        XCTAssert(FileManager.default.fileExists(atPath: dir + "/table-check/table1.csv"), "the table is written either way")

        // 4. A missing checkpoint: error naming it, nothing written.
        let missing = dir + "/no-such-run/best.h5"
        let bad = try compare(np: 2, ["--entry", "2 h,\(missing),\(dir)/data-24", "--out", dir + "/table-bad"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssert(bad.stderr.contains(missing) && bad.stderr.contains("compare-contexts: error"), bad.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/table-bad/table1.csv"))
    }
}
