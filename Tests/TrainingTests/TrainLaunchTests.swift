// The built `cgmtrain train` under real mpirun (2 and 4 ranks, --oversubscribe), on a tiny prepared
// dataset with real HDF5 shards:
//   • a job SIGKILLed after epoch 2 and resumed ends with parameters bit-identical to an uninterrupted run
//   • SIGTERM to one rank: every rank finishes the same step, last.h5 is written, exit 0 with a resume hint,
//     and resuming from that mid-epoch checkpoint is bit-identical too
//   • a SIGKILLed rank makes the job exit non-zero within 30 s, naming the rank
//   • truncated / corrupted checkpoints and checkpoints of another configuration are refused, naming them
//   • configuration errors name the key and are printed once
//   • the launch scripts parse (bash -n) and launch/mpirun.sh trains with 2 ranks
// Every mpirun gets a hard timeout, so a hang fails the test instead of blocking CI.

import Foundation
import XCTest
import _TestSupport
@testable import Training

final class TrainLaunchTests: XCTestCase {
    static let timeout: TimeInterval = 90
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    var dir = "", data = ""

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self, name)
        data = dir + "/data"
        try TestDataset.make(data)
    }

    // MARK: Launching

    /// The built cgmtrain (see `CGMTrainLauncher.binary`).
    func binary() throws -> String { try CGMTrainLauncher.binary().path }

    func which(_ tool: String) throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/usr/local/bin").split(separator: ":")
        guard let found = path.map({ "\($0)/\(tool)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            XCTFail("\(tool) not found on PATH")
            throw XCTSkip("\(tool) missing")
        }
        return found
    }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
        let timedOut: Bool
        let seconds: Double
        var log: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    }

    /// A running process with output captured in files (full pipes can never block the job).
    final class Job {
        let process = Process()
        let out: URL, err: URL
        let started = Date()
        private let done = DispatchSemaphore(value: 0)

        init(executable: String, arguments: [String], environment: [String: String], in dir: String) throws {
            let tag = UUID().uuidString.prefix(8)
            out = URL(fileURLWithPath: "\(dir)/job-\(tag).out")
            err = URL(fileURLWithPath: "\(dir)/job-\(tag).err")
            _ = FileManager.default.createFile(atPath: out.path, contents: nil)
            _ = FileManager.default.createFile(atPath: err.path, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = environment
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
            process.standardInput = FileHandle.nullDevice
            process.terminationHandler = { [done] _ in done.signal() }
            try process.run()
        }

        /// Waits for the exit (killing the job after `timeout`).
        func wait(timeout: TimeInterval) -> Outcome {
            var timedOut = false
            if done.wait(timeout: .now() + timeout) == .timedOut {
                timedOut = true
                process.terminate()
                if done.wait(timeout: .now() + 10) == .timedOut {
                    kill(process.processIdentifier, SIGKILL)
                    _ = done.wait(timeout: .now() + 5)
                }
            }
            let seconds = Date().timeIntervalSince(started)
            return Outcome(status: process.isRunning ? -1 : process.terminationStatus,
                           stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                           stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "", timedOut: timedOut, seconds: seconds)
        }
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        env["OPENBLAS_NUM_THREADS"] = "1"
        return env
    }

    /// Starts `mpirun -np N cgmtrain COMMAND ARGS` (np 0: the binary alone, no mpirun).
    func launch(_ command: String, np: Int, _ args: [String], env extra: [String: String] = [:]) throws -> Job {
        var env = environment
        for (k, v) in extra { env[k] = v }
        if np == 0 { return try Job(executable: try binary(), arguments: [command] + args, environment: env, in: dir) }
        return try Job(executable: try which("mpirun"),
                       arguments: ["--allow-run-as-root", "--oversubscribe", "-np", "\(np)", try binary(), command] + args,
                       environment: env, in: dir)
    }

    /// Starts `mpirun -np N cgmtrain train ARGS` (np 0: the binary alone, no mpirun).
    func start(np: Int, _ args: [String], env extra: [String: String] = [:]) throws -> Job {
        try launch("train", np: np, args, env: extra)
    }

    func train(np: Int, _ args: [String], env: [String: String] = [:]) throws -> Outcome {
        try start(np: np, args, env: env).wait(timeout: Self.timeout)
    }

    /// Writes a config file and returns the common arguments for a run in `run`.
    func args(_ run: String, trainLines: String = "", config name: String = "cfg.yaml") throws -> [String] {
        let path = dir + "/" + name
        try TestDataset.config(trainLines).write(toFile: path, atomically: true, encoding: .utf8)
        return ["--config", path, "--data", data, "--run", run]
    }

    func assertTrainingRegistered(_ r: Outcome, file: StaticString = #filePath, line: UInt = #line) {
        if r.stderr.contains("Unexpected argument 'train'") || r.stderr.contains("Error: Unknown") {
            XCTFail("cgmtrain has no `train` command: register TrainCommand in Sources/cgmtrain/main.swift\n\(r.log)",
                    file: file, line: line)
        }
    }

    /// Waits until `path` exists (polling), up to `timeout`.
    func waitForFile(_ path: String, _ job: Job, timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            if !job.process.isRunning { return FileManager.default.fileExists(atPath: path) }
            usleep(10_000)
        }
        return false
    }

    func pid(_ run: String, rank: Int) throws -> pid_t {
        let text = try String(contentsOfFile: "\(run)/pids/rank-\(rank).pid", encoding: .utf8)
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))!
    }

    /// An uninterrupted np-rank run of `trainLines` (the reference for the resume tests).
    func reference(np: Int, trainLines: String) throws -> String {
        let run = dir + "/reference-np\(np)"
        let r = try train(np: np, try args(run, trainLines: trainLines, config: "reference.yaml"))
        assertTrainingRegistered(r)
        XCTAssertEqual(r.status, 0, r.log)
        return run
    }

    func assertSameParameters(_ a: String, _ b: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let pa = try checkpointParameters(a).mapValues(bits), pb = try checkpointParameters(b).mapValues(bits)
        XCTAssertEqual(pa.keys.sorted(), pb.keys.sorted(), file: file, line: line)
        for (name, va) in pa.sorted(by: { $0.key < $1.key }) {
            let vb = pb[name] ?? []
            let differing = zip(va, vb).filter { $0 != $1 }.count
            XCTAssertTrue(va.count == vb.count && differing == 0,
                          "\(message): parameter \(name) differs in \(differing) of \(va.count) values", file: file, line: line)
        }
    }

    // MARK: Resume bit-identity

    /// Kill the whole job (every rank and mpirun, SIGKILL) once epoch-002.h5 exists, resume, compare.
    func checkKillAndResume(np: Int, trainLines: String, delay: Double) throws {
        let full = try reference(np: np, trainLines: trainLines)
        let run = dir + "/killed-np\(np)"
        let job = try start(np: np, try args(run, trainLines: trainLines) + ["--write-pids", "--debug-step-delay", "\(delay)"])
        XCTAssertTrue(waitForFile(run + "/epoch-002.h5", job), "epoch-002.h5 never appeared")
        for r in 0..<np { if let p = try? pid(run, rank: r) { kill(p, SIGKILL) } }
        kill(job.process.processIdentifier, SIGKILL)
        let killed = job.wait(timeout: 30)
        XCTAssertFalse(killed.timedOut, killed.log)
        // last.h5 is linked right after epoch-002.h5 is written: a kill in between leaves epoch 1's (and
        // epoch-002.h5 is then removed on resume as newer than the resume point).
        let saved = try Checkpoint.read(run + "/last.h5")
        XCTAssertGreaterThanOrEqual(saved.state.epoch, 1)
        XCTAssertLessThan(saved.state.globalStep, try Checkpoint.read(full + "/last.h5").state.globalStep,
                          "the kill came too late to test anything")
        let resumed = try train(np: np, try args(run, trainLines: trainLines) + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.log)
        XCTAssertTrue(resumed.stdout.contains("resuming from \(run)/last.h5"), resumed.log)
        try assertSameParameters(run + "/last.h5", full + "/last.h5", "np \(np), killed after epoch 2 and resumed")
        let a = try Checkpoint.read(run + "/last.h5"), b = try Checkpoint.read(full + "/last.h5")
        XCTAssertEqual(a.optimizerState.mapValues { bits($0.scalars) }, b.optimizerState.mapValues { bits($0.scalars) })
        XCTAssertEqual(a.state.globalStep, b.state.globalStep)
        XCTAssertEqual(a.state.topK, b.state.topK)
    }

    func testResumeAfterSIGKILLIsBitIdenticalTwoRanks() throws {
        // 192 windows, 2 ranks × 16: 6 steps per epoch; checks twice per epoch; plateau scheduler.
        try checkKillAndResume(np: 2, trainLines: "max_epochs: 4\nval_check_interval: 0.5\n"
                               + "scheduler: {name: reduce_on_plateau, factor: 0.5, patience: 0}", delay: 0.05)
    }

    func testResumeAfterSIGKILLIsBitIdenticalFourRanks() throws {
        // 4 ranks × 16: 3 steps per epoch; one-cycle schedule (per step) and gradient clipping.
        try checkKillAndResume(np: 4, trainLines: "max_epochs: 4\ngradient_clip: 1.0\nscheduler: {name: one_cycle}\ncheck_replicas: 2",
                               delay: 0.1)
    }

    func testSIGTERMToOneRankCheckpointsAndResumesBitIdentical() throws {
        let lines = "max_epochs: 3\nval_check_interval: 0.5"
        let full = try reference(np: 2, trainLines: lines)
        let run = dir + "/sigterm"
        let job = try start(np: 2, try args(run, trainLines: lines) + ["--write-pids", "--debug-step-delay", "0.05"])
        XCTAssertTrue(waitForFile(run + "/epoch-001.h5", job), "epoch-001.h5 never appeared")
        usleep(120_000)                                   // into epoch 2: a mid-epoch stop
        kill(try pid(run, rank: 1), SIGTERM)              // only rank 1 is signalled
        let r = job.wait(timeout: Self.timeout)
        XCTAssertFalse(r.timedOut, r.log)
        XCTAssertEqual(r.status, 0, "a SIGTERM stop exits 0\n\(r.log)")
        guard let match = r.stdout.range(of: #"stopped by SIGTERM/SIGINT on rank\(s\) 1 at step (\d+)"#, options: .regularExpression) else {
            return XCTFail("no stop message\n\(r.log)")
        }
        let step = Int(r.stdout[match].split(separator: " ").last!)!
        XCTAssertTrue(r.stdout.contains("resume with: mpirun -n 2 cgmtrain train --config") && r.stdout.contains("--resume"), r.log)
        XCTAssertFalse(r.stdout.contains("--write-pids") || r.stdout.contains("--debug-step-delay"), r.log)
        let saved = try Checkpoint.read(run + "/last.h5")
        XCTAssertEqual(saved.state.globalStep, step)
        XCTAssertEqual(saved.state.worldSize, 2)
        let resumed = try train(np: 2, try args(run, trainLines: lines) + ["--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.log)
        try assertSameParameters(run + "/last.h5", full + "/last.h5", "SIGTERM at step \(step) (position \(saved.state.position)) and resumed")
        // A mid-epoch checkpoint cannot be resumed with another number of ranks.
        if saved.state.position != 0 {
            let other = dir + "/sigterm-copy"
            try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: run + "/config.yaml", toPath: other + "/config.yaml")
            // Re-create the mid-epoch state: copy the checkpoint written at the stop is gone (overwritten
            // by the resumed run), so write the saved contents again.
            try Checkpoint.write(saved, to: other + "/last.h5")
            let wrongNP = try train(np: 0, ["--data", data, "--run", other, "--resume"])
            XCTAssertNotEqual(wrongNP.status, 0, wrongNP.log)
            XCTAssertTrue(wrongNP.stderr.contains("resume it with 2 rank(s)"), wrongNP.log)
        }
    }

    func testValidationLossIsExactForAnyNumberOfRanks() throws {
        // lr 0: the parameters stay at their (seeded) initial values, so every check sees the same model.
        // 40 validation windows over 3 ranks split 14/13/13: padding duplicates or missed windows would
        // move the mean by ~1/40; only rounding differs (each batch's mean loss is a Float, ~1e-7 relative).
        var losses: [Int: Double] = [:]
        for np in [0, 2, 3] {
            let run = dir + "/val-np\(np)"
            let r = try train(np: np, try args(run, trainLines: "max_epochs: 1\noptimizer: {name: sgd, lr: 0.0}", config: "val\(np).yaml"))
            assertTrainingRegistered(r)
            XCTAssertEqual(r.status, 0, r.log)
            let line = try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").first!
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            losses[np] = obj["val_loss"] as? Double
        }
        let one = try XCTUnwrap(losses[0])
        for np in [2, 3] { XCTAssertEqual(try XCTUnwrap(losses[np]), one, accuracy: 1e-5 * one, "np \(np) vs 1") }
    }

    // MARK: Failures

    func testKilledRankEndsTheJobWithinBoundedTime() throws {
        let run = dir + "/killrank"
        let job = try start(np: 2, try args(run, trainLines: "max_epochs: 100") + ["--write-pids", "--debug-step-delay", "0.02"])
        XCTAssertTrue(waitForFile(run + "/epoch-001.h5", job), "epoch-001.h5 never appeared")
        let killedAt = Date()
        kill(try pid(run, rank: 1), SIGKILL)
        let r = job.wait(timeout: 40)
        let seconds = Date().timeIntervalSince(killedAt)
        XCTAssertFalse(r.timedOut, "the job hung after rank 1 died\n\(r.log)")
        XCTAssertLessThan(seconds, 30, r.log)
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssertTrue((r.stdout + r.stderr).contains("rank 1"), "the output should name the dead rank\n\(r.log)")
    }

    func testKilledRankUnderLaunchScriptEndsWithinBoundedTime() throws {
        // launch/mpirun.sh raises mpirun's SIGTERM→SIGKILL delay to the stop grace + 5 s; the trainer's
        // watchdog must still end the surviving rank (stuck in a collective) after the grace.
        let run = dir + "/killrank-script"
        var env = environment
        env["CGMTRAIN"] = try binary()
        env["CGMTRAIN_STOP_GRACE_SECONDS"] = "3"
        env["MPIRUN_ARGS"] = "--allow-run-as-root"
        let job = try Job(executable: Self.packageRoot.appendingPathComponent("launch/mpirun.sh").path,
                          arguments: ["-n", "2", "--oversubscribe"] + (try args(run, trainLines: "max_epochs: 100"))
                              + ["--write-pids", "--debug-step-delay", "0.02"],
                          environment: env, in: dir)
        XCTAssertTrue(waitForFile(run + "/epoch-001.h5", job), "epoch-001.h5 never appeared")
        let killedAt = Date()
        kill(try pid(run, rank: 1), SIGKILL)
        let r = job.wait(timeout: 40)
        XCTAssertFalse(r.timedOut, r.log)
        XCTAssertLessThan(Date().timeIntervalSince(killedAt), 30, r.log)
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssertTrue((r.stdout + r.stderr).contains("rank 1"), r.log)
    }

    func testSIGTERMToLaunchScriptStopsCleanlyAndExitsZero() throws {
        // What `kill` or a scheduler does to launch/mpirun.sh: forwarded to every rank (SIGUSR1 via
        // mpirun); the ranks finish the step, last.h5 is written and the job exits 0.
        let run = dir + "/script-term"
        var env = environment
        env["CGMTRAIN"] = try binary()
        env["MPIRUN_ARGS"] = "--allow-run-as-root"
        let script = Self.packageRoot.appendingPathComponent("launch/mpirun.sh").path
        let job = try Job(executable: script, arguments: ["-n", "2", "--oversubscribe"] + (try args(run, trainLines: "max_epochs: 100"))
                              + ["--debug-step-delay", "0.02"], environment: env, in: dir)
        XCTAssertTrue(waitForFile(run + "/epoch-001.h5", job), "epoch-001.h5 never appeared")
        let signalledAt = Date()
        kill(job.process.processIdentifier, SIGTERM)
        let r = job.wait(timeout: 40)
        XCTAssertFalse(r.timedOut, r.log)
        XCTAssertEqual(r.status, 0, r.log)
        XCTAssertLessThan(Date().timeIntervalSince(signalledAt), 10, r.log)
        guard let match = r.stdout.range(of: #"stopped by SIGTERM on rank\(s\) [0-9, ]+ at step (\d+)"#, options: .regularExpression) else {
            return XCTFail("no stop message\n\(r.log)")
        }
        // (Both ranks are signalled; one may see it a step later than the other — the stop is agreed anyway.)
        XCTAssertEqual(try Checkpoint.read(run + "/last.h5").state.globalStep, Int(r.stdout[match].split(separator: " ").last!)!)
        XCTAssertTrue(r.stdout.contains("resume with: \(script) -n 2 --oversubscribe --config"), r.log)
    }

    func testTruncatedAndCorruptedCheckpointsAreRefused() throws {
        let run = dir + "/good"
        let first = try train(np: 2, try args(run, trainLines: "max_epochs: 1"))
        assertTrainingRegistered(first)
        XCTAssertEqual(first.status, 0, first.log)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: run + "/last.h5"))
        let params = try Checkpoint.read(run + "/last.h5").parameters

        // Truncated to half its size.
        let truncated = dir + "/truncated"
        try FileManager.default.copyItem(atPath: run, toPath: truncated)
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated + "/last.h5"))
        let t = try train(np: 2, try args(truncated, trainLines: "max_epochs: 2") + ["--resume"])
        XCTAssertNotEqual(t.status, 0, t.log)
        XCTAssertTrue(t.stderr.contains("checkpoint \(truncated)/last.h5"), t.log)
        XCTAssertEqual(t.stderr.components(separatedBy: "checkpoint \(truncated)/last.h5").count - 1, 1, "printed once\n\(t.log)")

        // One parameter's stored bytes changed (the HDF5 structure stays valid): caught by the checksum.
        let corrupted = dir + "/corrupted"
        try FileManager.default.copyItem(atPath: run, toPath: corrupted)
        let victim = params.max { $0.values.count < $1.values.count }!
        let needle = victim.values.prefix(8).withUnsafeBytes { Data($0) }
        guard let at = bytes.range(of: needle) else { return XCTFail("parameter bytes not found in the file") }
        var damaged = bytes
        damaged[at.lowerBound + 5] ^= 0x40
        try damaged.write(to: URL(fileURLWithPath: corrupted + "/last.h5"))
        let c = try train(np: 2, try args(corrupted, trainLines: "max_epochs: 2") + ["--resume"])
        XCTAssertNotEqual(c.status, 0, c.log)
        XCTAssertTrue(c.stderr.contains("checkpoint \(corrupted)/last.h5: parameter '\(victim.name)' fails its checksum"), c.log)
    }

    func testCheckpointOfAnotherConfigurationIsRefusedNamingTheMismatch() throws {
        let run = dir + "/other"
        let first = try train(np: 2, try args(run, trainLines: "max_epochs: 1"))
        assertTrainingRegistered(first)
        XCTAssertEqual(first.status, 0, first.log)
        let r = try train(np: 2, try args(run, trainLines: "max_epochs: 2") + ["--resume", "--set", "model.hidden=16",
                                                                                "--set", "train.optimizer.lr=0.02"])
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssertTrue(r.stderr.contains("different configuration"), r.log)
        XCTAssertTrue(r.stderr.contains("model.hidden: 8 in the checkpoint, 16 now"), r.log)
        XCTAssertTrue(r.stderr.contains("train.optimizer.lr: 0.01 in the checkpoint, 0.02 now"), r.log)
        // Runtime knobs and a longer run may change; the resume then continues from epoch 2.
        let ok = try train(np: 2, try args(run, trainLines: "max_epochs: 2\nlog_every_seconds: 5.0") + ["--resume"])
        XCTAssertEqual(ok.status, 0, ok.log)
        XCTAssertEqual(try Checkpoint.read(run + "/last.h5").state.epoch, 2)
    }

    func testConfigurationErrorsNameTheKeyAndExitNonZero() throws {
        let run = dir + "/bad"
        let cases: [([String], String)] = [
            (["--set", "train.optimizer.lrr=0.1"], "train.optimizer.lrr is not a known key for optimizer adam"),
            (["--set", "train.batch_size=many"], "--set train.batch_size=many: train.batch_size must be an integer (got 'many')"),
            (["--set", "model.dropout=1.5"], "model.dropout must be in [0, 1) (got 1.5)"),
            (["--set", "train.val_check_interval=0"], "train.val_check_interval must be a fraction in (0, 1] or a number of steps ≥ 1"),
            (["--set", "trainer.seed=1"], "trainer is not a known key"),
        ]
        for (extra, expected) in cases {
            let r = try train(np: 0, try args(run) + extra)
            assertTrainingRegistered(r)
            XCTAssertEqual(r.status, 1, r.log)
            XCTAssertTrue(r.stderr.contains(expected), "expected '\(expected)'\n\(r.log)")
        }
        // Under mpirun both ranks fail the same way and the error is printed once.
        let r = try train(np: 2, try args(run) + ["--set", "train.scheduler.name=cosine"])
        XCTAssertNotEqual(r.status, 0, r.log)
        let expected = "train.scheduler.name must be one of none, reduce_on_plateau, one_cycle, step, cosine_warmup (got 'cosine')"
        XCTAssertEqual(r.stderr.components(separatedBy: expected).count - 1, 1, r.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/last.h5"))
    }

    // MARK: Launch scripts

    func testLaunchScriptsAreValidBash() throws {
        for script in ["launch/local.sh", "launch/mpirun.sh", "launch/slurm.sbatch", "launch/demo.sh", "launch/install-deps.sh",
                       "launch/physio-paper.sh", "launch/ssm-cgm-table1.sh", "launch/meal-detector.sh"] {
            let path = Self.packageRoot.appendingPathComponent(script).path
            let job = try Job(executable: try which("bash"), arguments: ["-n", path], environment: environment, in: dir)
            let r = job.wait(timeout: 10)
            XCTAssertEqual(r.status, 0, "\(script)\n\(r.log)")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            XCTAssertTrue(text.contains("set -euo pipefail"), script)
        }
        let sbatch = try String(contentsOfFile: Self.packageRoot.appendingPathComponent("launch/slurm.sbatch").path, encoding: .utf8)
        for line in ["#SBATCH --nodes=", "#SBATCH --ntasks-per-node=", "#SBATCH --cpus-per-task=1", "#SBATCH --time="] {
            XCTAssertTrue(sbatch.contains(line), line)
        }
    }

    func testMpirunScriptTrainsWithTwoRanks() throws {
        let run = dir + "/script"
        var env = environment
        env["CGMTRAIN"] = try binary()
        env["MPIRUN_ARGS"] = "--allow-run-as-root"
        let job = try Job(executable: Self.packageRoot.appendingPathComponent("launch/mpirun.sh").path,
                          arguments: ["-n", "2", "--oversubscribe"] + (try args(run, trainLines: "max_epochs: 1")),
                          environment: env, in: dir)
        let r = job.wait(timeout: Self.timeout)
        XCTAssertEqual(r.status, 0, r.log)
        XCTAssertTrue(r.stdout.contains("train: 2 rank(s) × batch 16"), r.log)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run + "/last.h5"), r.log)
    }
}
