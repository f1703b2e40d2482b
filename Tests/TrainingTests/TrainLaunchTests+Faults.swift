// Issue 17's hard faults and hostile inputs, on the built `cgmtrain train` (alone and under real mpirun with
// 2 and 4 ranks, on the tiny dataset of TrainLaunchTests):
//   • a checkpoint whose top-k list names ../victim.txt (checksum recomputed, as anyone can) is refused on
//     --resume and the victim survives; a checkpoint that makes libhdf5 loop ends the command after its deadline
//   • a SIGSTOPped rank ends the job within the collective timeout + a bound, naming the stopped rank
//   • kills at seeded random points, one before the first epoch ends, resume bit-identically; a run
//     directory without last.h5 resumes from its latest checkpoint
//   • a run that fails at its first step leaves nothing in --run; a --run holding a dataset is refused
//   • SIGINT is reported as SIGINT under launch/mpirun.sh (exit 0); a plain mpirun's SIGTERM says what it is

import Foundation
import XCTest
import _TestSupport
@testable import Training

extension TrainLaunchTests {
    // MARK: Fault 1: file names from a checkpoint

    func testCraftedCheckpointCannotRemoveFilesOutsideTheRun() throws {
        let run = dir + "/crafted"
        let first = try train(np: 0, try args(run, trainLines: "max_epochs: 1"))
        XCTAssertEqual(first.status, 0, first.log)
        let victim = dir + "/victim.txt"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: victim))
        // The attacker's edit: a top-k entry naming a file outside the run with the worst loss, so the next
        // check drops it from the list (and the old code deleted it). Checkpoint.write recomputes every
        // checksum (FNV-1a, no key), exactly as anyone can.
        var c = try Checkpoint.read(run + "/last.h5")
        c.state.topK.append(TopKEntry(file: "../victim.txt", valLoss: 1e30, epoch: 1, step: 1))
        try Checkpoint.write(c, to: run + "/last.h5")

        let r = try train(np: 0, try args(run, trainLines: "max_epochs: 3") + ["--resume"])
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssertTrue(r.stderr.contains("checkpoint \(run)/last.h5: its top-k entry \(c.state.topK.count) names the file "
                                        + "'../victim.txt'"), r.log)
        XCTAssertTrue(r.stderr.contains("refusing to use it"), r.log)
        XCTAssertEqual(try String(contentsOfFile: victim, encoding: .utf8), "precious", "the victim must survive\n\(r.log)")
        // evaluate and forecast read checkpoints through the same reader.
        XCTAssertThrowsError(try Checkpoint.read(run + "/last.h5")) { XCTAssertTrue("\($0)".contains("'../victim.txt'"), "\($0)") }
    }

    /// A checkpoint found by fuzz-checkpoint (Fixtures/hostile): libhdf5 1.10 loops forever in the global heap
    /// reading its state_json. The read has a deadline: the command ends non-zero naming the file.
    func testCheckpointThatMakesLibhdf5LoopEndsTheCommandNamingIt() throws {
        let hostile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/hostile/hdf5-global-heap-loop.h5").path
        let r = try launch("forecast", np: 0, ["--checkpoint", hostile, "--cgm", dir + "/none.csv"],
                           env: ["CGMTRAIN_HDF5_READ_TIMEOUT_S": "2"]).wait(timeout: 60)
        XCTAssertFalse(r.timedOut, "forecast hung on the hostile checkpoint\n\(r.log)")
        XCTAssertEqual(r.status, 1, r.log)
        XCTAssertTrue(r.stderr.contains("checkpoint \(hostile): the HDF5 library has not finished reading it after 2 s"), r.log)
        XCTAssertLessThan(r.seconds, 2 + 20, r.log)   // 2 s deadline; slack for a loaded 2-core machine
        print("checkpoint that makes libhdf5 loop: forecast ended after \(String(format: "%.1f", r.seconds)) s (deadline 2 s)")
    }

    /// A checkpoint found by fuzz-checkpoint whose parameter dataset declares ~1e9 values (4 GB) in a 21 kB file:
    /// refused before anything is allocated (it was an out-of-memory).
    func testCheckpointDeclaringMoreValuesThanItHoldsIsRefused() throws {
        let hostile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/hostile/parameter-shape-beyond-file.h5").path
        XCTAssertThrowsError(try Checkpoint.read(hostile)) {
            XCTAssertTrue("\($0)".contains("more values than the file's 21504 bytes hold: the file is corrupt"), "\($0)")
        }
    }

    // MARK: Fault 3: a stopped rank

    /// SIGSTOPs rank `stopped` of an np-rank job with a 5 s collective timeout; the job must end non-zero
    /// within the timeout + grace + a bound for a loaded machine, naming the stopped rank.
    func checkStoppedRankEndsTheJob(np: Int, stopped: Int) throws {
        let run = dir + "/stopped-np\(np)"
        let job = try start(np: np, try args(run, trainLines: "max_epochs: 200\ncollective_timeout_s: 5")
                                + ["--write-pids", "--debug-step-delay", "0.02"])
        XCTAssertTrue(waitForFile(run + "/epoch-001.h5", job), "epoch-001.h5 never appeared")
        let victim = try pid(run, rank: stopped)
        defer {                                                  // nothing left behind, whatever happened
            kill(victim, SIGKILL)
            kill(victim, SIGCONT)
        }
        let stoppedAt = Date()
        XCTAssertEqual(kill(victim, SIGSTOP), 0)
        let r = job.wait(timeout: 60)
        let seconds = Date().timeIntervalSince(stoppedAt)
        XCTAssertFalse(r.timedOut, "the job hung with rank \(stopped) stopped\n\(r.log)")
        XCTAssertNotEqual(r.status, 0, r.log)
        // 5 s timeout + 2.5 s grace + Open MPI's teardown; 20 s of slack for a loaded 2-core machine.
        XCTAssertLessThan(seconds, 5 + 2.5 + 20, r.log)
        let text = r.stdout + r.stderr
        XCTAssertTrue(text.contains("did not complete within 5 s (train.collective_timeout_s)"), r.log)
        XCTAssertTrue(text.contains("rank(s) \(stopped) did not arrive"), r.log)
        XCTAssertTrue(text.contains("training step") || text.contains("validation after step"), "names what was running\n\(r.log)")
        XCTAssertEqual(text.components(separatedBy: "did not complete within").count - 1, 1, "reported once\n\(r.log)")
        print("stopped rank \(stopped) of \(np): job ended after \(String(format: "%.1f", seconds)) s (timeout 5 s)")
        usleep(200_000)
        XCTAssertTrue(kill(victim, 0) != 0 || (try? String(contentsOfFile: "/proc/\(victim)/stat", encoding: .utf8))?
            .split(separator: " ").dropFirst(2).first == "Z", "the stopped rank was not ended")
    }

    func testStoppedRankEndsTheJobNamingItTwoRanks() throws {
        try checkStoppedRankEndsTheJob(np: 2, stopped: 1)
    }

    func testStoppedRankEndsTheJobNamingItFourRanks() throws {
        try checkStoppedRankEndsTheJob(np: 4, stopped: 2)
    }

    // MARK: Fault 4: kills lose at most one validation interval

    func testKillsAtSeededRandomPointsResumeBitIdentically() throws {
        // 2 ranks × 16: 6 steps per epoch, a check every 3 steps (last.h5 at each). Trial 0 kills as soon as the
        // first check's best.h5 exists (before the first epoch ends); the others at seeded random times.
        let lines = "max_epochs: 3\nval_check_interval: 0.5"
        let full = try reference(np: 2, trainLines: lines)
        var rng = SplitMix(seed: 17)
        for trial in 0..<3 {
            let run = dir + "/kill-\(trial)"
            let job = try start(np: 2, try args(run, trainLines: lines) + ["--write-pids", "--debug-step-delay", "0.2"])
            if trial == 0 {
                XCTAssertTrue(waitForFile(run + "/best.h5", job), "best.h5 never appeared")
            } else {
                XCTAssertTrue(waitForFile(run + "/pids/rank-1.pid", job), "rank 1 never started")
                usleep(UInt32(rng.next() % 3_600_000))                // 18 steps × 0.2 s: anywhere in the run
            }
            for r in 0..<2 { if let p = try? pid(run, rank: r) { kill(p, SIGKILL) } }
            kill(job.process.processIdentifier, SIGKILL)
            XCTAssertFalse(job.wait(timeout: 30).timedOut)
            let files = (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? []
            let resumable = files.contains { CheckpointRetention.isOwnName($0) }
            let state = resumable ? (try? Checkpoint.read(try RunDirectory(run).resumeCheckpoint(dataDirectory: data)))?.state : nil
            if trial == 0 { XCTAssertEqual(state?.epoch, 0, "trial 0 must be killed inside epoch 1 (files: \(files))") }
            let again = try train(np: 2, try args(run, trainLines: lines) + (resumable ? ["--resume"] : []))
            XCTAssertEqual(again.status, 0, "trial \(trial), killed at step \(state?.globalStep ?? 0)\n\(again.log)")
            try assertSameParameters(run + "/last.h5", full + "/last.h5",
                                     "trial \(trial): killed at step \(state.map { String($0.globalStep) } ?? "0 (no checkpoint)")")
            print("kill trial \(trial): last checkpoint before the kill at step \(state?.globalStep ?? 0) of 18; "
                  + (resumable ? "resumed" : "restarted") + " to bit-identical parameters")
        }
    }

    func testRunWithoutLastH5ResumesFromItsLatestCheckpoint() throws {
        let lines = "max_epochs: 2\nval_check_interval: 0.5"
        let full = try reference(np: 0, trainLines: lines)
        let run = dir + "/no-last"
        let first = try train(np: 0, try args(run, trainLines: "max_epochs: 1\nval_check_interval: 0.5"))
        XCTAssertEqual(first.status, 0, first.log)
        let step = try Checkpoint.read(run + "/last.h5").state.globalStep
        try FileManager.default.removeItem(atPath: run + "/last.h5")     // as a kill between a check's files would
        let r = try train(np: 0, try args(run, trainLines: lines) + ["--resume"])
        XCTAssertEqual(r.status, 0, r.log)
        XCTAssertTrue(r.stdout.contains("last.h5 is missing;"), r.log)
        XCTAssertTrue(r.stdout.contains("holds the latest state (step \(step))"), r.log)
        try assertSameParameters(run + "/last.h5", full + "/last.h5", "resumed from the latest checkpoint without last.h5")
    }

    // MARK: Fault 6: nothing written before the inputs are validated; no run inside a dataset

    func testAFirstStepThatCannotReadItsBatchLeavesNothingInTheRunDirectory() throws {
        // One training shard's data damaged after its header: the dataset opens, the first batch read fails.
        let broken = dir + "/broken"
        try FileManager.default.copyItem(atPath: data, toPath: broken)
        try damageChunks(broken + "/train/shard-00001.h5")
        let run = dir + "/first-step"
        let r = try train(np: 2, ["--config", try args(run)[1], "--data", broken, "--run", run])
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssertTrue(r.stderr.contains("reading the batches of step 1"), r.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run), "nothing may be written into --run\n\(r.log)")
    }

    /// Overwrites the middle third of `path` (where HDF5 keeps the compressed chunks of a shard).
    func damageChunks(_ path: String) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let from = bytes.count / 3, to = 2 * bytes.count / 3
        for i in from..<to { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    func testARunDirectoryHoldingADatasetIsRefused() throws {
        let before = try FileManager.default.subpathsOfDirectory(atPath: data).sorted()
        for np in [0, 2] {
            let r = try train(np: np, ["--config", try args(dir + "/unused")[1], "--data", data, "--run", data])
            XCTAssertNotEqual(r.status, 0, r.log)
            XCTAssertTrue(r.stderr.contains("--run \(data) holds a prepared dataset (manifest.json)"), r.log)
            let resumed = try train(np: np, ["--config", try args(dir + "/unused")[1], "--data", data, "--run", data, "--resume"])
            XCTAssertNotEqual(resumed.status, 0, resumed.log)
            XCTAssertTrue(resumed.stderr.contains("holds a prepared dataset (manifest.json), not a run"), resumed.log)
        }
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: data).sorted(), before, "the dataset is untouched")
    }

    // MARK: Fault 7: signals named as sent

    func testSIGINTToLaunchScriptIsReportedAsSIGINTAndExitsZero() throws {
        let run = dir + "/script-int"
        var env = environment
        env["CGMTRAIN"] = try binary()
        env["MPIRUN_ARGS"] = "--allow-run-as-root"
        let script = Self.packageRoot.appendingPathComponent("launch/mpirun.sh").path
        let job = try Job(executable: script, arguments: ["-n", "2", "--oversubscribe"] + (try args(run, trainLines: "max_epochs: 100"))
                              + ["--debug-step-delay", "0.02"], environment: env, in: dir)
        XCTAssertTrue(waitForFile(run + "/epoch-001.h5", job), "epoch-001.h5 never appeared")
        kill(job.process.processIdentifier, SIGINT)
        let r = job.wait(timeout: 40)
        XCTAssertFalse(r.timedOut, r.log)
        XCTAssertEqual(r.status, 0, r.log)
        guard let match = r.stdout.range(of: #"stopped by SIGINT on rank\(s\) [0-9, ]+ at step (\d+)"#, options: .regularExpression) else {
            return XCTFail("no stop message naming SIGINT\n\(r.log)")
        }
        XCTAssertEqual(try Checkpoint.read(run + "/last.h5").state.globalStep, Int(r.stdout[match].split(separator: " ").last!)!)
    }

    func testSignalToPlainMpirunCheckpointsAndSaysWhatMpirunDoes() throws {
        // Open MPI 4.1's mpirun cannot forward SIGINT or SIGTERM: it sends the ranks SIGTERM for either and exits
        // 1 however they end (README, Reliability). The ranks still finish the step and write last.h5.
        for sig in [SIGINT, SIGTERM] {
            let run = dir + "/plain-\(sig)"
            let job = try start(np: 2, try args(run, trainLines: "max_epochs: 100") + ["--debug-step-delay", "0.02"])
            XCTAssertTrue(waitForFile(run + "/epoch-001.h5", job), "epoch-001.h5 never appeared")
            kill(job.process.processIdentifier, sig)
            let r = job.wait(timeout: 40)
            XCTAssertFalse(r.timedOut, r.log)
            guard let match = r.stdout.range(of: #"stopped by SIGTERM \(sent by mpirun for a SIGINT or SIGTERM it received; "#
                                                 + #"mpirun then exits 1 however the ranks end, launch/mpirun.sh exits 0\) "#
                                                 + #"on rank\(s\) [0-9, ]+ at step (\d+)"#, options: .regularExpression) else {
                return XCTFail("no stop message saying what mpirun does\n\(r.log)")
            }
            XCTAssertEqual(try Checkpoint.read(run + "/last.h5").state.globalStep, Int(r.stdout[match].split(separator: " ").last!)!)
            XCTAssertEqual(r.status, 1, "Open MPI's documented behaviour changed: update the README\n\(r.log)")
        }
    }
}

extension TrainLaunchTests {
    // MARK: What "np = 2 × B trains the same model as np = 1 × 2B" means (README, Data parallelism)

    /// Largest parameter difference after 2 epochs between two launches, each (np, train lines), on a dataset with
    /// `perSubject` windows per training subject (4 subjects).
    func gap(perSubject: Int, _ a: (Int, String), _ b: (Int, String)) throws -> Float {
        let data = dir + "/data-\(perSubject)"
        if !FileManager.default.fileExists(atPath: data) { try TestDataset.make(data, trainPerSubject: perSubject) }
        var parameters: [[String: [Float]]] = []
        for (i, (np, lines)) in [a, b].enumerated() {
            let run = dir + "/invariance-\(perSubject)-\(UUID().uuidString.prefix(6))-\(i)"
            let r = try train(np: np, ["--config", try args(run, trainLines: "max_epochs: 2\n" + lines)[1], "--data", data, "--run", run])
            XCTAssertEqual(r.status, 0, r.log)
            parameters.append(try checkpointParameters(run + "/last.h5"))
        }
        return parameters[0].map { name, u in zip(u, parameters[1][name]!).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
    }

    func testRankAndAccumulationInvarianceHoldWhenTheStepsAreFull() throws {
        // 192 windows: 3 ranks × 8 = one rank × 24 (64 windows per rank, 8 full steps), and 16 = 8 × 2 accumulated.
        let ranks192 = try gap(perSubject: 48, (3, "batch_size: 8"), (0, "batch_size: 24"))
        let accumulation192 = try gap(perSubject: 48, (0, "batch_size: 8\naccumulate_grad_batches: 2"), (0, "batch_size: 16"))
        XCTAssertLessThanOrEqual(ranks192, 1e-5)
        XCTAssertLessThanOrEqual(accumulation192, 1e-5)
        // 188 windows: 3 ranks pad the epoch's order to 189 by repeating its first window, and 8 × 2 accumulated
        // ends each epoch with micro-batches of 8 and 4 averaged with equal weights: a real difference, as the
        // README says ("Data parallelism").
        let ranks188 = try gap(perSubject: 47, (3, "batch_size: 8"), (0, "batch_size: 24"))
        let accumulation188 = try gap(perSubject: 47, (0, "batch_size: 8\naccumulate_grad_batches: 2"), (0, "batch_size: 16"))
        XCTAssertGreaterThan(ranks188, 1e-4)
        XCTAssertGreaterThan(accumulation188, 1e-4)
        print("max parameter difference after 2 epochs — np 3 × 8 vs 1 × 24: \(ranks192) (192 windows), \(ranks188) (188); "
              + "8 × 2 accumulated vs 16: \(accumulation192) (192), \(accumulation188) (188)")
    }
}

/// SplitMix64, for seeded kill times.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt32 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt32(truncatingIfNeeded: z ^ (z >> 31))
    }
}
