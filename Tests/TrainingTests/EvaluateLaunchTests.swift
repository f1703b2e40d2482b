// The built `cgmtrain evaluate` on a checkpoint trained by `cgmtrain train`: one process and real
// `mpirun -np 2` give identical metrics (records are gathered and ordered by window), the outputs
// exist, and a bad checkpoint path is an error naming it.

import Foundation
import XCTest
@testable import Training

extension TrainLaunchTests {
    func evaluate(np: Int, _ args: [String]) throws -> Outcome {
        try launch("evaluate", np: np, args).wait(timeout: Self.timeout)
    }

    /// The commands that run a checkpoint on a split (CheckpointOnSplit) refuse an unknown split by name.
    func testUnknownSplitIsRefusedByName() throws {
        for command in ["evaluate", "explain", "counterfactual"] {
            let extra = command == "counterfactual" ? ["--shift", "steps=+1sd"] : []
            let r = try launch(command, np: 0, ["--checkpoint", "x.h5", "--data", "d", "--split", "tset"] + extra)
                .wait(timeout: Self.timeout)
            XCTAssertNotEqual(r.status, 0, "\(command)\n\(r.log)")
            XCTAssert(r.stderr.contains("--split must be train, val or test, got 'tset'"), "\(command)\n\(r.log)")
        }
    }

    func testEvaluateIsIndependentOfTheNumberOfRanks() throws {
        let run = dir + "/run"
        let trained = try train(np: 0, try args(run))
        assertTrainingRegistered(trained)
        XCTAssertEqual(trained.status, 0, trained.log)
        var outputs: [String] = []
        for np in [0, 2] {
            let out = dir + "/eval-np\(np)"
            let r = try evaluate(np: np, ["--checkpoint", run + "/best.h5", "--data", data, "--split", "val",
                                          "--out", out, "--bootstrap", "50"])
            XCTAssertEqual(r.status, 0, r.log)
            XCTAssert(r.stdout.contains("naive"), "the table compares against the naive baseline:\n\(r.log)")
            for f in ["metrics.json", "per_horizon.csv", "error_vs_horizon.svg"] {
                XCTAssert(FileManager.default.fileExists(atPath: out + "/" + f), "missing \(f)\n\(r.log)")
            }
            outputs.append(try String(contentsOfFile: out + "/per_horizon.csv", encoding: .utf8))
        }
        XCTAssertEqual(outputs[0], outputs[1], "per-horizon metrics differ between 1 and 2 ranks")
        XCTAssertEqual(outputs[0].split(separator: "\n").count, 1 + 6, "a header and one row per horizon step")
    }

    func testEvaluateNamesAMissingCheckpoint() throws {
        let r = try evaluate(np: 0, ["--checkpoint", dir + "/nope.h5", "--data", data, "--out", dir + "/e"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssert(r.stderr.contains("nope.h5"), r.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/e"), "nothing is written on failure")
    }
}
