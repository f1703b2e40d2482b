// `cgmtrain compare` end to end with the built binary under real mpirun: a tiny cohort from `cgmtrain
// simulate`, prepared on 2 ranks with data.ode_states (twin matching, ODE states, twin forecast in the
// shards), a 1-epoch Seq2Seq and the parameter-less naive and digital-twin "trainings" (config.yaml,
// best.h5/last.h5, no steps); then compare on 1 and 2 ranks: every model in the table, the naive checkpoint
// folded into the built-in baseline row, and byte-identical CSVs for np = 1 and np = 2. `forecast` accepts the
// seq2seq and naive checkpoints trained on the ODE dataset and refuses the twin (raw data has no twin forecast).

@testable import Evaluation
import Foundation
import _TestSupport
import XCTest
@testable import Training

final class CompareLaunchTests: XCTestCase {
    static let timeout: TimeInterval = 120

    private func run(_ args: [String], np: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws
        -> LaunchOutcome {
        let r = try CGMTrainLauncher.run(args, np: np, timeout: Self.timeout, file: file, line: line)
        XCTAssertEqual(r.status, 0, "cgmtrain \(args.prefix(1).joined()) (np \(np ?? 1))\n\(r.log)", file: file, line: line)
        if r.status != 0 { throw XCTSkip("cgmtrain \(args[0]) failed") }
        return r
    }

    func testCompareOnSharedWindowsIsIndependentOfRanks() throws {
        let dir = try temporaryDirectory(self)
        let cohort = dir + "/cohort", data = dir + "/prepared", config = dir + "/cfg.yaml"
        try """
            data:
              preset: physio_seq2seq
              ode_states: true
            model: {name: seq2seq, hidden: 8}
            train: {seed: 1, batch_size: 32, max_epochs: 1, optimizer: {name: adam, lr: 0.01}, log_every_seconds: 1000}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        _ = try run(["simulate", "--subjects", "6", "--days", "2", "--seed", "5", "--no-truth", "--out", cohort])
        _ = try run(["prepare", "--cgm", cohort + "/cgm.csv", "--subjects", cohort + "/subjects.csv", "--config", config,
                     "--out", data], np: 2)
        let common = ["--config", config, "--data", data]
        _ = try run(["train"] + common + ["--run", dir + "/seq2seq"], np: 2)
        for (name, np) in [("naive", 1), ("digital_twin", 2)] {
            let r = try run(["train"] + common + ["--run", dir + "/" + name, "--set", "model={name: \(name)}"], np: np)
            XCTAssertTrue(r.stdout.contains("nothing to train"), r.log)
            for f in ["config.yaml", "best.h5", "last.h5"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/\(name)/\(f)"), "\(name): missing \(f)")
            }
            let state = try Checkpoint.read("\(dir)/\(name)/best.h5").state
            XCTAssertEqual(state.globalStep, 0, "\(name) takes no optimizer step")
            XCTAssertTrue(state.lastValLoss.isFinite && state.lastValLoss > 0, "\(name): validation loss \(state.lastValLoss)")
        }

        // forecast from raw data: models that ignore the shards' ODE extras work; the twin needs them and is refused.
        for name in ["seq2seq", "naive"] {
            let r = try run(["forecast", "--checkpoint", "\(dir)/\(name)/best.h5", "--cgm", cohort + "/cgm.csv",
                             "--subjects", cohort + "/subjects.csv", "--out", "\(dir)/forecast-\(name).csv"])
            XCTAssertTrue(r.stderr.contains("model \(name)"), r.log)
        }
        let twin = try CGMTrainLauncher.run(["forecast", "--checkpoint", "\(dir)/digital_twin/best.h5", "--cgm", cohort + "/cgm.csv"],
                                            timeout: Self.timeout)
        XCTAssertNotEqual(twin.status, 0)
        XCTAssertTrue(twin.stderr.contains("twin_forecast") && twin.stderr.contains("digital_twin/best.h5"), twin.log)

        var outputs: [[String: String]] = []
        for np in [1, 2] {
            let out = "\(dir)/compare-np\(np)"
            let r = try run(["compare", "--data", data, "--split", "test", "--out", out, "--worst-k", "10",
                             "--subjects", cohort + "/subjects.csv",
                             "--checkpoint", "Seq2Seq - ODE=\(dir)/seq2seq/best.h5",
                             "--checkpoint", "\(dir)/naive/best.h5",
                             "--checkpoint", "Digital Twin=\(dir)/digital_twin/best.h5"], np: np)
            XCTAssertTrue(r.stdout.contains("identical to the built-in baseline"), r.log)
            var files: [String: String] = [:]
            for f in ["compare.csv", "compare_per_horizon.csv", "compare_worst_shared.csv", "compare_worst_independent.csv"] {
                files[f] = try String(contentsOfFile: "\(out)/\(f)", encoding: .utf8)
            }
            for f in ["compare.json", "compare_rmse.svg", "compare_mae.svg", "compare_me.svg"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/\(f)"), "missing \(f)\n\(r.log)")
            }
            outputs.append(files)
        }
        for (f, text) in outputs[0] { XCTAssertEqual(text, outputs[1][f], "\(f) differs between 1 and 2 ranks") }

        let table = outputs[0]["compare.csv"]!.split(separator: "\n").map(String.init)
        XCTAssertEqual(table.map { String($0.prefix { $0 != "," }) }, ["model", "Naive Baseline", "Seq2Seq - ODE", "Digital Twin"])
        XCTAssertTrue(table[0].contains("rmse_30min") && table[0].contains("me_240min") && table[0].contains("max_240min"), table[0])
        // Error metrics (the first 6 columns per horizon) are finite; skill CIs exist for models, not for naive itself.
        let errorColumns = table[0].split(separator: ",").dropFirst().enumerated()
            .filter { ["rmse", "mae", "me", "iqr", "min", "max"].contains(String($0.element.prefix { $0 != "_" })) }.map(\.offset)
        XCTAssertEqual(errorColumns.count, 6 * 4)
        let all = table.dropFirst().map { $0.split(separator: ",").dropFirst().map { Double($0) } }
        let rows = all.map { r in errorColumns.map { r[$0] } }
        XCTAssertTrue(rows.allSatisfy { $0.allSatisfy { $0?.isFinite == true } }, "every metric is finite:\n\(table)")
        XCTAssertTrue(table[0].contains("skill_30min") && table[0].contains("clarke_ab_240min"), table[0])
        XCTAssertNotEqual(rows[0], rows[2], "the digital twin is not the naive forecast")
        XCTAssertEqual(outputs[0]["compare_per_horizon.csv"]!.split(separator: "\n").count, 1 + 48)
        let shared = outputs[0]["compare_worst_shared.csv"]!.split(separator: "\n")
        XCTAssertEqual(shared.count, 1 + 10)
        XCTAssertEqual(outputs[0]["compare_worst_independent.csv"]!.split(separator: "\n").count, 1 + 2 * 10)
        let report = try JSONDecoder().decode(ModelComparison.self,
                                              from: Data(contentsOf: URL(fileURLWithPath: "\(dir)/compare-np1/compare.json")))
        XCTAssertEqual(report.models, ["Seq2Seq - ODE", "Digital Twin"])
        XCTAssertEqual(report.segments + report.droppedSegments, report.totalSegments)
        XCTAssertGreaterThan(report.segments, 10)
    }
}
