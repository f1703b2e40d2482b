// Export → `cgmtrain import` → `prepare` → `train` (a few steps) → `evaluate`, with the built binary under real
// mpirun (2 ranks) for prepare, train and evaluate, on days of synthetic data written in the exports' layouts:
//   • Dexcom Clarity and LibreView (Libre 3) with meals and boluses → the shipped configs/seq2seq.yaml, unchanged
//     (its iob_scaled feature needs the insulin the exports carry);
//   • AI-READI (glucose + Garmin streams, no insulin) → the shipped configs/ssm-cgm-24h.yaml, its model shrunk
//     with --set for test time.
// And a failing import exits non-zero, names the file and line, and leaves no output directory.

import CGMData
import Foundation
import XCTest
import _TestSupport

final class RoundTripLaunchTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func run(_ args: [String], np: Int? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> LaunchOutcome {
        let r = try CGMTrainLauncher.run(args, np: np, timeout: 300, file: file, line: line)
        XCTAssertEqual(r.status, 0, "cgmtrain \(args.joined(separator: " "))\n\(r.log)", file: file, line: line)
        if r.status != 0 { throw XCTSkip("cgmtrain \(args[0]) failed") }
        return r
    }

    /// import → prepare (np 2) → train (np 2) → evaluate on the test split (np 2); returns the evaluation directory.
    func roundTrip(_ dir: String, inputs: [String], importArgs: [String], config: String, set: [String],
                   file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let cohort = dir + "/cohort", prepared = dir + "/prepared", runDir = dir + "/run", eval = dir + "/eval"
        let imported = try run(["import"] + inputs + importArgs + ["--out", cohort], file: file, line: line)
        XCTAssert(imported.stdout.contains("wrote \(cohort)/cgm.csv"), imported.log, file: file, line: line)
        let configPath = Self.packageRoot + "/configs/" + config
        let prep = try run(["prepare", "--cgm", cohort + "/cgm.csv", "--subjects", cohort + "/subjects.csv", "--config", configPath,
                            "--out", prepared], np: 2, file: file, line: line)
        XCTAssert(prep.stdout.contains("ingest cgm.csv"), prep.log, file: file, line: line)
        let dataset = try ShardDataset(directory: prepared)
        for split in ShardSplit.allCases { XCTAssertGreaterThan(dataset.count(split), 0, "\(split) windows\n\(prep.log)", file: file, line: line) }
        _ = try run(["train", "--config", configPath, "--data", prepared, "--run", runDir] + set.flatMap { ["--set", $0] }, np: 2,
                    file: file, line: line)
        XCTAssert(FileManager.default.fileExists(atPath: runDir + "/best.h5"), file: file, line: line)
        let e = try run(["evaluate", "--checkpoint", runDir + "/best.h5", "--data", prepared, "--split", "test", "--out", eval,
                         "--bootstrap", "20", "--subjects", cohort + "/subjects.csv"], np: 2, file: file, line: line)
        XCTAssert(e.stdout.contains("naive"), e.log, file: file, line: line)
        for f in ["metrics.json", "per_horizon.csv"] {
            XCTAssert(FileManager.default.fileExists(atPath: eval + "/" + f), "missing \(f)", file: file, line: line)
        }
        return eval
    }

    func subjects(_ n: Int, days: Int, start: Int64) -> [SyntheticSubject] {
        (0 ..< n).map { SyntheticSubject(index: $0, days: days, start: start) }
    }

    static let seq2seqSet = ["train.max_epochs=1", "model.hidden=16", "train.batch_size=32"]

    func testDexcomClarityRoundTrip() throws {
        let dir = try temporaryDirectory(self)
        var inputs: [String] = []
        for s in subjects(8, days: 2, start: 1_717_200_000) {   // 2024-06-01 00:00 as local clock times
            inputs.append(try write(ExportWriters.clarity(s), dir + "/exports", "clarity-\(s.index).csv"))
        }
        let eval = try roundTrip(dir, inputs: [dir + "/exports"], importArgs: ["--timezone", "Europe/Berlin", "--diabetes-status", "t1d"],
                                 config: "seq2seq.yaml", set: Self.seq2seqSet)
        let rows = try String(contentsOfFile: eval + "/per_horizon.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 1 + 48, "a header and one row per step of the 4-hour horizon")
    }

    func testLibreViewRoundTrip() throws {
        let dir = try temporaryDirectory(self)
        var inputs: [String] = []
        for s in subjects(8, days: 2, start: 1_736_294_400) {   // 2025-01-08 00:00 as local clock times
            inputs.append(try write(ExportWriters.libreView(s), dir + "/exports", "libre-\(s.index).csv"))
        }
        _ = try roundTrip(dir, inputs: inputs, importArgs: ["--timezone", "America/New_York"], config: "seq2seq.yaml", set: Self.seq2seqSet)
    }

    func testAIREADIRoundTrip() throws {
        let dir = try temporaryDirectory(self)
        try ExportWriters.aiReadi(subjects(4, days: 2, start: 1_690_873_200), root: dir + "/aireadi")   // 2023-08-01 07:00 UTC
        _ = try roundTrip(dir, inputs: [dir + "/aireadi"], importArgs: [], config: "ssm-cgm-24h.yaml", set: [
            "train.max_epochs=1", "train.batch_size=16", "train.val_check_interval=1.0", "model.d_model=16", "model.depth=1",
            "model.d_state=8", "model.expand=2", "model.heads=2", "model.chunk=64", "model.hidden_continuous=4",
        ])
    }

    func testFailedImportExitsNonZeroAndWritesNothing() throws {
        let dir = try temporaryDirectory(self)
        let text = try Fixture.text("dexcom/clarity_mgdl.csv").replacingLine(11, with: "10,2024-10-27T01:55:00,EGV,,,,Android G6,abc,,,,,,")
        let path = try write(text, dir, "export.csv")
        let r = try CGMTrainLauncher.run(["import", path, "--out", dir + "/out"], timeout: 60)
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssert(r.stderr.contains("export.csv:11: column 'Glucose Value (mg/dL)': cannot parse 'abc'"), r.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["export.csv"], "no temporary directory left behind")
        let usage = try CGMTrainLauncher.run(["import", path, "--out", dir + "/out", "--format", "dexcom"], timeout: 60)
        XCTAssertNotEqual(usage.status, 0)
        XCTAssert(usage.stderr.contains("--format must be auto or one of"), usage.log)
    }
}
