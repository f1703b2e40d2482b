// In-process training runs (one rank, SingleProcessCommunicator) on a tiny prepared dataset with real
// HDF5 shards: the loss goes down, validation runs at the configured cadence, metrics and checkpoint files
// appear and are pruned as documented, early stopping and non-finite losses stop the run as documented,
// gradient accumulation matches one large batch, and a run stopped at any step and resumed ends with
// bit-identical parameters.

import CGMData
import CGMSchema
import CGMTensor
import Config
import Distributed
import Foundation
import HDF5IO
import Layers
import Models
import XCTest
@testable import Training

/// A tiny prepared dataset in a temporary directory: past [cgm_scaled, iob_scaled] (L = 12), future
/// [iob_scaled] (H = 6), targets from smooth per-subject glucose curves; real HDF5 shards via
/// PreparedDatasetWriter.
enum TestDataset {
    static let dataYAML = """
        data:
          preset: custom
          history: 12
          horizon: 6
          past_features: [cgm_scaled, iob_scaled]
          future_features: [iob_scaled]
        """

    /// The same `data:` section as a dictionary (what the YAML loads to).
    static var dataConfig: DataConfig {
        try! DataConfig.parse(["preset": "custom", "history": 12, "horizon": 6, "past_features": ["cgm_scaled", "iob_scaled"],
                               "future_features": ["iob_scaled"]])
    }

    /// Glucose (mg/dL) of subject `s` at 5-min step `t`.
    static func glucose(_ s: Int, _ t: Int) -> Float {
        let phase = Double(s) * 0.7
        return Float(140 + 50 * sin(2 * .pi * Double(t) / 48 + phase) + 15 * sin(2 * .pi * Double(t) / 17 + 2 * phase))
    }

    static func iob(_ s: Int, _ t: Int) -> Float { Float(1 + 0.5 * cos(2 * .pi * Double(t) / 36 + Double(s))) }

    /// Windows of the named subjects (`perSubject` each, decision times 3 steps apart).
    static func windows(_ subjects: [String], perSubject: Int) -> WindowSet {
        let L = 12, H = 6
        var w = WindowSet(history: L, horizon: H, pastFeatures: ["cgm_scaled", "iob_scaled"], futureFeatures: ["iob_scaled"],
                          staticFeatures: [], subjects: subjects)
        for (k, name) in subjects.enumerated() {
            let s = Int(name.dropFirst())!
            for i in 0..<perSubject {
                let t0 = 20 + 3 * i
                for j in 0..<L {
                    let t = t0 - (L - 1) + j
                    w.past += [FeatureCatalog.scaleCGM(glucose(s, t)), iob(s, t) / 5]
                }
                for h in 1...H {
                    w.future.append(iob(s, t0 + h) / 5)
                    w.target.append(glucose(s, t0 + h))
                }
                w.subject.append(Int32(k))
                w.decisionTime.append(1_700_000_000 + Int64(s) * 86_400 + Int64(t0) * 300)
            }
        }
        return w
    }

    /// Writes a dataset with `train` windows per training subject (4 subjects) and `val` per validation
    /// subject (2) into `dir`.
    @discardableResult
    static func make(_ dir: String, trainPerSubject: Int = 48, valPerSubject: Int = 20) throws -> Manifest {
        let jobs = [ShardJob(split: .train, index: 0, subjects: ["s0", "s1"]), ShardJob(split: .train, index: 1, subjects: ["s2", "s3"]),
                    ShardJob(split: .val, index: 0, subjects: ["s4", "s5"]), ShardJob(split: .test, index: 0, subjects: ["s6"])]
        // The spec records only what residual models need: σ_h of the training windows (GlucoseChangeScale).
        var spec = FeatureSpec(pastFeatures: ["cgm_scaled", "iob_scaled"], futureFeatures: ["iob_scaled"], staticFeatures: [])
        spec.glucoseChangeScale = .fit(windows: windows(["s0", "s1", "s2", "s3"], perSubject: trainPerSubject))
        let metadata = ShardMetadata(configHash: dataConfig.hash, splitSeed: 0, featureSpecJSON: try spec.jsonString())
        return try PreparedDatasetWriter(comm: SingleProcessCommunicator(), outDir: dir, metadata: metadata)
            .write(jobs: jobs) { job in windows(job.subjects, perSubject: job.splits == [.val] ? valPerSubject : trainPerSubject) }
    }

    /// A small seq2seq config (hidden 8) with `train` keys given as YAML lines (replacing the defaults below:
    /// the config reader refuses a key written twice).
    static func config(_ trainLines: String = "", hidden: Int = 8) -> String {
        let lines = trainLines.split(separator: "\n").map(String.init)
        let given = Set(lines.compactMap { $0.split(separator: ":").first.map(String.init) })
        let defaults = ["seed: 3", "batch_size: 16", "max_epochs: 3", "optimizer: {name: adam, lr: 0.01}", "top_k: 2",
                        "log_every_seconds: 1000"].filter { !given.contains(String($0.split(separator: ":")[0])) }
        return dataYAML + "\nmodel:\n  name: seq2seq\n  hidden: \(hidden)\n  dropout: 0.2\ntrain:\n"
            + (defaults + lines).map { "  " + $0 + "\n" }.joined()
    }
}

/// A temporary directory removed at the end of the test (kept when CGMTRAIN_KEEP_TEST_DIRS is set).
func temporaryDirectory(_ test: XCTestCase, _ name: String = #function) throws -> String {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("cgmtrain-\(name.prefix(40).filter { $0.isLetter || $0.isNumber })-\(getpid())-\(UUID().uuidString.prefix(6))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    if ProcessInfo.processInfo.environment["CGMTRAIN_KEEP_TEST_DIRS"] == nil {
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    }
    return dir
}

/// All parameters of a checkpoint file, by name.
func checkpointParameters(_ path: String) throws -> [String: [Float]] {
    let c = try Checkpoint.read(path)
    return Dictionary(uniqueKeysWithValues: c.parameters.map { ($0.name, $0.values) })
}

/// Bit patterns, so -0/+0 and NaN payloads count as different.
func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }

final class TrainerTests: XCTestCase {
    var dir = "", data = ""

    override func setUpWithError() throws {
        dir = try temporaryDirectory(self, name)
        data = dir + "/data"
        try TestDataset.make(data)
    }

    /// Runs in-process with one rank; returns the outcome and the captured console lines.
    @discardableResult
    func train(_ yaml: String, run: String, resume: Bool = false, stopAtStep: Int? = nil,
               overrides: [String] = []) throws -> (TrainingOutcome, String) {
        let config = try RunConfig.parse(yaml: yaml, source: "test.yaml", overrides: try [ConfigOverride](arguments: overrides))
        var options = TrainOptions(dataDirectory: data, runDirectory: run)
        options.resume = resume
        options.stopAtStep = stopAtStep
        let progress = Progress(enabled: true, every: 1000, isTerminal: false)
        var out = ""
        progress.sink = { out += $0 }
        let trainer = Trainer(config: config, options: options, comm: SingleProcessCommunicator(), stop: StopSignal(), progress: progress)
        let outcome = try trainer.run()
        return (outcome, out)
    }

    func metricsRecords(_ run: String) throws -> [[String: Any]] {
        try String(contentsOfFile: run + "/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    func testTrainingLowersValidationLossAndWritesRunFiles() throws {
        let run = dir + "/run"
        let (outcome, out) = try train(TestDataset.config("val_check_interval: 0.5"), run: run)
        guard case .completed(reason: "max_epochs", let state) = outcome else { return XCTFail("\(outcome)\n\(out)") }
        // 192 windows / batch 16 = 12 steps per epoch, checks every 6 steps: 2 per epoch, 3 epochs.
        XCTAssertEqual(state.globalStep, 36)
        let records = try metricsRecords(run)
        let vals = records.filter { $0["kind"] as? String == "val" }, epochs = records.filter { $0["kind"] as? String == "epoch" }
        XCTAssertEqual(vals.map { $0["step"] as! Int }, [6, 12, 18, 24, 30, 36])
        XCTAssertEqual(epochs.map { $0["step"] as! Int }, [12, 24, 36])
        let first = vals.first!["val_loss"] as! Double, last = vals.last!["val_loss"] as! Double
        XCTAssertLessThan(last, 0.6 * first, "validation loss should fall: \(vals.map { $0["val_loss"]! })")
        for r in records { for key in ["train_loss", "val_loss", "lr", "samples_per_s", "elapsed_s"] { XCTAssertNotNil(r[key], "\(key) in \(r)") } }
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: run))
        for f in ["config.yaml", "metrics.jsonl", "last.h5", "best.h5", "epoch-001.h5", "epoch-002.h5", "epoch-003.h5"] {
            XCTAssertTrue(files.contains(f), "\(f) missing: \(files.sorted())")
        }
        let tops = files.filter { $0.hasPrefix("top-") }.sorted()
        XCTAssertEqual(tops.count, 2, "top_k 2: \(tops)")
        XCTAssertTrue(tops[0].hasPrefix("top-1-") && tops[1].hasPrefix("top-2-"), "\(tops)")
        // top-1 is the best check; best.h5 holds the same parameters.
        let best = state.topK[0]
        XCTAssertEqual(best.valLoss, vals.map { $0["val_loss"] as! Double }.min()!, accuracy: 1e-12)
        XCTAssertEqual(try checkpointParameters(run + "/best.h5").mapValues(bits), try checkpointParameters(run + "/" + best.file).mapValues(bits))
        // last.h5 holds the final parameters; config.yaml is the resolved config.
        let lastFile = try Checkpoint.read(run + "/last.h5")
        XCTAssertEqual(lastFile.state.globalStep, 36)
        XCTAssertEqual(lastFile.state.finished, "max_epochs")
        let resolved = try String(contentsOfFile: run + "/config.yaml", encoding: .utf8)
        XCTAssertEqual(resolved, lastFile.configYAML)
        XCTAssertTrue(resolved.contains("huber_delta: 1.0") && resolved.contains("val_check_interval: 0.5"), resolved)
        XCTAssertTrue(out.contains("epoch 3/3 done"), out)
    }

    func testStoppedAtAnyStepAndResumedIsBitIdentical() throws {
        let yaml = TestDataset.config("val_check_interval: 0.25\naccumulate_grad_batches: 2\nscheduler: {name: reduce_on_plateau, factor: 0.5, patience: 0}")
        let full = dir + "/full"
        try train(yaml, run: full)
        for stopAt in [4, 7] {      // mid-epoch (6 steps per epoch with accumulation 2) and after the first epoch
            let run = dir + "/stopped-\(stopAt)"
            let (first, _) = try train(yaml, run: run, stopAtStep: stopAt)
            guard case .stopped(_, let s) = first else { return XCTFail("expected a stop: \(first)") }
            XCTAssertEqual(s.globalStep, stopAt)
            XCTAssertEqual(try Checkpoint.read(run + "/last.h5").state.globalStep, stopAt)
            let (second, out) = try train(yaml, run: run, resume: true)
            guard case .completed(reason: "max_epochs", _) = second else { return XCTFail("\(second)\n\(out)") }
            XCTAssertEqual(try checkpointParameters(run + "/last.h5").mapValues(bits), try checkpointParameters(full + "/last.h5").mapValues(bits),
                           "stopped at step \(stopAt) and resumed: parameters differ from the uninterrupted run")
            let a = try Checkpoint.read(run + "/last.h5"), b = try Checkpoint.read(full + "/last.h5")
            XCTAssertEqual(a.optimizerState.mapValues { bits($0.scalars) }, b.optimizerState.mapValues { bits($0.scalars) })
            XCTAssertEqual(a.state.scheduler, b.state.scheduler)
            XCTAssertEqual(a.state.topK, b.state.topK)
            XCTAssertEqual(try metricsRecords(run).map { "\($0["step"]!) \($0["val_loss"]!)" }, try metricsRecords(full).map { "\($0["step"]!) \($0["val_loss"]!)" })
            XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: run)).filter { $0.hasSuffix(".h5") },
                           Set(try FileManager.default.contentsOfDirectory(atPath: full)).filter { $0.hasSuffix(".h5") })
        }
    }

    func testEarlyStoppingCountsValidationChecks() throws {
        // lr 0: the validation loss never changes, so every check after the first is "no improvement".
        let run = dir + "/es"
        let (outcome, out) = try train(TestDataset.config("optimizer: {name: sgd, lr: 0.0}\nval_check_interval: 3\nearly_stopping: {patience: 2}\nmax_epochs: 10"),
                                       run: run)
        guard case .completed(reason: "early_stopping", let state) = outcome else { return XCTFail("\(outcome)\n\(out)") }
        // Checks at steps 3, 6, 9: the first sets the best, two more without improvement stop the run.
        XCTAssertEqual(state.globalStep, 9)
        XCTAssertEqual(try metricsRecords(run).filter { $0["kind"] as? String == "val" }.count, 3)
        XCTAssertEqual(try Checkpoint.read(run + "/last.h5").state.finished, "early_stopping")
        XCTAssertTrue(out.contains("early stopping at epoch 1, step 9"), out)
        // Resuming a finished run does nothing.
        let (again, _) = try train(TestDataset.config("optimizer: {name: sgd, lr: 0.0}\nval_check_interval: 3\nearly_stopping: {patience: 2}\nmax_epochs: 10"),
                                   run: run, resume: true)
        guard case .completed(reason: "already finished", _) = again else { return XCTFail("\(again)") }
    }

    func testNonFiniteLossStopsWithErrorNamingTheStepAndKeepsLastGoodCheckpoint() throws {
        let run = dir + "/nan"
        // Epoch 1 trains normally; StepLR then multiplies the learning rate by 1e40 (beyond Float range),
        // so the first updates of epoch 2 turn the parameters non-finite and a loss or gradient soon follows.
        let yaml = TestDataset.config("optimizer: {name: sgd, lr: 0.01}\nscheduler: {name: step, step_size: 1, gamma: 1.0e+40}\nmax_epochs: 5")
        XCTAssertThrowsError(try train(yaml, run: run)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("non-finite"), text)
            XCTAssertNotNil(text.range(of: #"at step 1[3-9] \(epoch 2, batch \d+–\d+ of 12\)"#, options: .regularExpression), text)
            XCTAssertTrue(text.contains("stopped without applying the update: the last good checkpoint, \(run)/last.h5 (epoch 1, step 12), is kept"), text)
        }
        let last = try Checkpoint.read(run + "/last.h5")
        XCTAssertEqual(last.state.globalStep, 12)
        XCTAssertTrue(last.parameters.allSatisfy { $0.values.allSatisfy(\.isFinite) })
        XCTAssertFalse(FileManager.default.fileExists(atPath: run + "/epoch-002.h5"))
    }

    func testGradientAccumulationMatchesOneLargeBatch() throws {
        let a = dir + "/big", b = dir + "/accumulated"
        let common = "max_epochs: 1\noptimizer: {name: sgd, lr: 0.1}\n"
        try train(TestDataset.config(common + "batch_size: 32"), run: a)
        try train(TestDataset.config(common + "batch_size: 16\naccumulate_grad_batches: 2"), run: b)
        let pa = try checkpointParameters(a + "/last.h5"), pb = try checkpointParameters(b + "/last.h5")
        // Same windows per step, same dropout keys (step, sample index): equal up to summation order.
        for (name, va) in pa {
            let vb = pb[name]!
            let maxDiff = zip(va, vb).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(maxDiff, 1e-5, name)
        }
        XCTAssertEqual(try Checkpoint.read(a + "/last.h5").state.globalStep, try Checkpoint.read(b + "/last.h5").state.globalStep)
    }

    func testValidationSplitsEveryWindowExactlyOnce() {
        for (count, size) in [(40, 3), (40, 4), (7, 8), (1, 2), (100, 1)] {
            var seen: [Int] = []
            for rank in 0..<size { seen += DistributedValidator.batches(count: count, rank: rank, size: size, batchSize: 4).flatMap { $0 } }
            XCTAssertEqual(seen.sorted(), Array(0..<count), "\(count) windows over \(size) ranks")
        }
    }

    func testDataConfigMismatchIsRefused() throws {
        let yaml = TestDataset.config().replacingOccurrences(of: "history: 12", with: "history: 13")
        XCTAssertThrowsError(try train(yaml, run: dir + "/mismatch")) { error in
            XCTAssertTrue("\(error)".contains("does not match the recipe the dataset"), "\(error)")
        }
    }

    func testFreshRunRefusesAnExistingRunDirectory() throws {
        let run = dir + "/again"
        try train(TestDataset.config("max_epochs: 1"), run: run)
        XCTAssertThrowsError(try train(TestDataset.config("max_epochs: 1"), run: run)) { error in
            XCTAssertTrue("\(error)".contains("already holds a run") && "\(error)".contains("--resume"), "\(error)")
        }
    }
}
