// `cgmtrain sweep` end to end with the built binary under real mpirun, on the tiny prepared dataset of
// TrainerTests (real HDF5 shards), seq2seq trials of one or two epochs:
//   • np = 2 with --group-size 1: two groups train trials concurrently (their status records name
//     different ranks and pids, and the two first trials' time intervals overlap); a trial whose training
//     fails (val_check_interval beyond the epoch) is recorded as failed with the trainer's error and its
//     group goes on with its next trial; the report selects the trial with the smallest validation loss
//     read independently from the trials' metrics.jsonl, and best-config.yaml is that trial's config;
//   • the SLURM array script from `sweep launch` passes `bash -n`, and running it as array task N
//     (LAUNCHER=none) reproduces trial N: same resolved config, bit-identical best checkpoint;
//   • SIGKILL of the whole job in the middle of a trial (2-rank group), then the same command again:
//     the finished trial's files are untouched, the interrupted one resumes from its last.h5, all finish.
// Every launch has a hard timeout.

import Foundation
@testable import Sweep
import _TestSupport
import XCTest
@testable import Training

final class SweepLaunchTests: XCTestCase {
    static let timeout: TimeInterval = 120
    var dir = "", data = ""

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self, name)
        data = dir + "/data"
        try TestDataset.make(data)
        try TestDataset.config().write(toFile: dir + "/base.yaml", atomically: true, encoding: .utf8)
    }

    typealias Job = TrainLaunchTests.Job

    func binary() throws -> String { try CGMTrainLauncher.binary().path }

    /// Starts `cgmtrain ARGS` under `mpirun -np N` (np 0: alone, no mpirun).
    func start(np: Int, _ args: [String], env: [String: String] = [:]) throws -> Job {
        var environment = CGMTrainLauncher.environment
        for (k, v) in env { environment[k] = v }
        if np == 0 { return try Job(executable: try binary(), arguments: args, environment: environment, in: dir) }
        return try Job(executable: try CGMTrainLauncher.mpirun(),
                       arguments: ["--allow-run-as-root", "--oversubscribe", "-np", "\(np)", try binary()] + args,
                       environment: environment, in: dir)
    }

    func run(np: Int, _ args: [String], env: [String: String] = [:]) throws -> TrainLaunchTests.Outcome {
        try start(np: np, args, env: env).wait(timeout: Self.timeout)
    }

    func writeSweep(_ body: String, name: String = "sweep.yaml") throws -> String {
        let path = dir + "/" + name
        try ("base: base.yaml\ndata: data\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Best validation loss of a trial read straight from its metrics.jsonl.
    func bestValLoss(_ trialDir: String) throws -> Double {
        let text = try String(contentsOfFile: trialDir + "/metrics.jsonl", encoding: .utf8)
        return text.split(separator: "\n").compactMap { line -> Double? in
            let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return obj?["kind"] as? String == "val" ? obj?["val_loss"] as? Double : nil
        }.min() ?? .nan
    }

    func testConcurrentGroupsFailedTrialReportAndSLURMReplay() throws {
        let sweepFile = try writeSweep("""
            trials: 5
            seed: 10
            fixed: {train.max_epochs: 1}
            space:
              model.hidden: [4, 8]
              train.optimizer.lr: {log_uniform: [3.0e-3, 3.0e-2]}
              train.val_check_interval: [1.0, 1000]
            """)
        // The seed was chosen so that trial 2 (group 0's second) asks for validation every 1000 steps, which the
        // trainer refuses for a 12-step epoch, and the other trials are fine.
        let plan = try SweepPlan(config: try SweepConfig.load(path: sweepFile), baseText: TestDataset.config())
        XCTAssertEqual(plan.trials.map { $0.value("train.val_check_interval")! }, ["1.0", "1.0", "1000", "1.0", "1.0"],
                       "test precondition: the sampled trial list changed")

        let out = dir + "/out"
        let r = try run(np: 2, ["sweep", "run", sweepFile, "--out", out, "--group-size", "1", "--debug-step-delay", "0.1"])
        XCTAssertEqual(r.status, 0, r.log)
        XCTAssertFalse(r.timedOut, r.log)
        let sweepDir = SweepDirectory(out)
        let s = try (0..<5).map { i -> SweepTrialStatus in
            guard let st = try sweepDir.readStatus(i) else { throw XCTSkip("trial \(i) has no status.json\n\(r.log)") }
            return st
        }
        // The failure is recorded with the trainer's error and does not stop the sweep.
        XCTAssertEqual(s.map(\.state), [.finished, .finished, .failed, .finished, .finished], r.log)
        XCTAssertTrue(s[2].error?.contains("train.val_check_interval") == true, "\(s[2].error ?? "no error")")
        XCTAssertTrue(r.stdout.contains("trial-002 failed"), r.log)
        // Round-robin over two groups of one rank; trial 4 ran on group 0 after its failed trial 2.
        XCTAssertEqual(s.map(\.group), [0, 1, 0, 1, 0])
        XCTAssertEqual(s.map(\.ranks), [[0], [1], [0], [1], [0]])
        XCTAssertNotEqual(s[0].pids, s[1].pids)
        XCTAssertGreaterThanOrEqual(s[4].startedAt!, s[2].endedAt!)
        // Concurrency: the first trials of the two groups overlap in time.
        XCTAssertLessThan(s[0].startedAt!, s[1].endedAt!, "trials 0 and 1 did not run concurrently")
        XCTAssertLessThan(s[1].startedAt!, s[0].endedAt!, "trials 0 and 1 did not run concurrently")
        for i in [0, 1, 3, 4] {
            XCTAssertEqual(s[i].epochs, 1)
            XCTAssertEqual(s[i].steps, 12)
            XCTAssertNotNil(s[i].valMAE)
            XCTAssertNotNil(s[i].valRMSE)
            XCTAssertNil(s[i].valQL, "seq2seq has no quantile head")
            XCTAssertGreaterThan(s[i].params ?? 0, 0)
        }
        // Parameter counts follow the hidden size.
        let byHidden = Dictionary([0, 1, 3, 4].map { (s[$0].overrides.first { $0.key == "model.hidden" }!.value, s[$0].params!) },
                                  uniquingKeysWith: { a, b in a == b ? a : -1 })
        if let p4 = byHidden["4"], let p8 = byHidden["8"] { XCTAssertTrue(p4 > 0 && p8 > p4, "\(byHidden)") }

        // The report's choice equals the smallest validation loss in the metrics files.
        let losses = try [0, 1, 3, 4].map { ($0, try bestValLoss(sweepDir.trialDirectory($0))) }
        let expected = losses.min { $0.1 < $1.1 }!.0
        XCTAssertEqual(Set(losses.map(\.1)).count, 4, "losses tie, the check below would be ambiguous")
        let rep = try run(np: 0, ["sweep", "report", out])
        XCTAssertEqual(rep.status, 0, rep.log)
        XCTAssertTrue(rep.stdout.contains("best: \(SweepTrial.name(expected))"), "expected \(SweepTrial.name(expected))\n\(rep.log)")
        let csv = try String(contentsOfFile: out + "/report.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 6)
        XCTAssertTrue(csv[0].hasPrefix("trial,status,rank,model.hidden,train.optimizer.lr,train.val_check_interval,best_val_loss,"))
        XCTAssertTrue(csv[3].hasPrefix("trial-002,failed,,"), String(csv[3]))
        XCTAssertTrue(csv[expected + 1].hasPrefix("\(SweepTrial.name(expected)),finished,1,"), String(csv[expected + 1]))
        let bestConfig = try String(contentsOfFile: out + "/best-config.yaml", encoding: .utf8)
        let trialConfig = try String(contentsOfFile: sweepDir.trialDirectory(expected) + "/config.yaml", encoding: .utf8)
        XCTAssertTrue(bestConfig.hasSuffix(trialConfig), "best-config.yaml must end with the trial's resolved config")
        XCTAssertTrue(bestConfig.contains("--set data.history="), "the transfer hint is missing")
        XCTAssertEqual(try RunConfig.parse(yaml: bestConfig), try RunConfig.parse(yaml: trialConfig))

        // SLURM array script: valid bash; task N reproduces trial N bit for bit.
        let out2 = dir + "/slurm"
        let template = TrainLaunchTests.packageRoot.appendingPathComponent("launch/sweep-array.sbatch").path
        let launch = try run(np: 0, ["sweep", "launch", sweepFile, "--out", out2, "--scheduler", "slurm", "--template", template,
                                     "--cgmtrain", try binary()])
        XCTAssertEqual(launch.status, 0, launch.log)
        let script = out2 + "/launch/sweep-array.sbatch"
        let check = try Job(executable: "/bin/bash", arguments: ["-n", script], environment: CGMTrainLauncher.environment, in: dir)
            .wait(timeout: 30)
        XCTAssertEqual(check.status, 0, "bash -n: \(check.log)")
        let task = try Job(executable: "/bin/bash", arguments: [script],
                           environment: CGMTrainLauncher.environment.merging(["LAUNCHER": "none", "SLURM_ARRAY_TASK_ID": "\(expected)"]) { $1 },
                           in: dir).wait(timeout: Self.timeout)
        XCTAssertEqual(task.status, 0, task.log)
        let replay = SweepDirectory(out2).trialDirectory(expected)
        XCTAssertEqual(try String(contentsOfFile: replay + "/config.yaml", encoding: .utf8), trialConfig)
        let a = try checkpointParameters(sweepDir.trialDirectory(expected) + "/best.h5")
        let b = try checkpointParameters(replay + "/best.h5")
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for (name, v) in a { XCTAssertEqual(bits(v), bits(b[name] ?? []), "parameter \(name) differs between the sweep and the array task") }
        XCTAssertEqual(try SweepDirectory(out2).readStatus(expected)?.state, .finished)
    }

    func testKilledSweepResumesWithoutRetrainingFinishedTrials() throws {
        let sweepFile = try writeSweep("""
            trials: 3
            seed: 1
            fixed: {train.max_epochs: 2}
            space:
              model.hidden: [4, 8, 12]
            """)
        let out = dir + "/out", sweepDir = SweepDirectory(out)
        let args = ["sweep", "run", sweepFile, "--out", out, "--group-size", "2"]
        let job = try start(np: 2, args + ["--debug-step-delay", "0.15"])
        // Wait until trial 0 is finished and trial 1 has written last.h5 (end of its first epoch) but not ended.
        let deadline = Date().addingTimeInterval(90)
        var killed = false
        while Date() < deadline && job.process.isRunning {
            if (try? sweepDir.readStatus(0))??.state == .finished, let s1 = (try? sweepDir.readStatus(1)) ?? nil, s1.state == .running,
               FileManager.default.fileExists(atPath: sweepDir.trialDirectory(1) + "/last.h5") {
                for p in s1.pids { kill(p, SIGKILL) }
                kill(job.process.processIdentifier, SIGKILL)
                killed = true
                break
            }
            usleep(20_000)
        }
        let first = job.wait(timeout: 30)
        XCTAssertTrue(killed, "never saw trial 0 finished with trial 1 mid-way\n\(first.log)")
        if !killed { return }
        XCTAssertEqual(try sweepDir.readStatus(1)?.state, .running, "the killed trial's status stays 'running'")
        XCTAssertNotEqual(try sweepDir.readStatus(2)?.state, .finished)
        let resumeStep = try Checkpoint.read(sweepDir.trialDirectory(1) + "/last.h5").state.globalStep
        XCTAssertGreaterThan(resumeStep, 0)
        // Snapshot of the finished trial: every file's bytes and modification time.
        func snapshot(_ d: String) throws -> [String: (Data, Date)] {
            var out: [String: (Data, Date)] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: d) {
                let p = d + "/" + name
                out[name] = (FileManager.default.contents(atPath: p) ?? Data(),
                             (try FileManager.default.attributesOfItem(atPath: p)[.modificationDate] as? Date) ?? .distantPast)
            }
            return out
        }
        let before = try snapshot(sweepDir.trialDirectory(0))
        XCTAssertNotNil(before["best.h5"])

        let second = try run(np: 2, args)
        XCTAssertEqual(second.status, 0, second.log)
        XCTAssertTrue(second.stdout.contains("trial-000: finished, skipped"), second.log)
        XCTAssertTrue(second.stdout.contains("trial-001: was running; resuming from its last.h5"), second.log)
        let after = try snapshot(sweepDir.trialDirectory(0))
        XCTAssertEqual(before.keys.sorted(), after.keys.sorted(), "files of the finished trial changed")
        for (name, (data, date)) in before {
            XCTAssertEqual(after[name]?.0, data, "\(name) of the finished trial was rewritten")
            XCTAssertEqual(after[name]?.1, date, "\(name) of the finished trial was touched")
        }
        let s = try (0..<3).map { try sweepDir.readStatus($0) }
        XCTAssertEqual(s.map { $0?.state }, [.finished, .finished, .finished], second.log)
        XCTAssertEqual(s[0]?.attempts, 1)
        XCTAssertEqual(s[1]?.attempts, 2)
        XCTAssertEqual(s[1]?.resumedFromStep, resumeStep, "trial 1 must resume from its last.h5")
        XCTAssertEqual(s[1]?.ranks, [0, 1])
        XCTAssertEqual(s[1]?.epochs, 2)
        // One consistent history: epoch records at steps 6 and 12, once each.
        let text = try String(contentsOfFile: sweepDir.trialDirectory(1) + "/metrics.jsonl", encoding: .utf8)
        let epochSteps = text.split(separator: "\n").compactMap { line -> Int? in
            let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return obj?["kind"] as? String == "epoch" ? obj?["step"] as? Int : nil
        }
        XCTAssertEqual(epochSteps, [6, 12])
    }
}
