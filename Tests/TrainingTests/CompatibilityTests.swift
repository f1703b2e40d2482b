// Compatibility with files written before the issue-16 restructuring (generated at commit 22c7ab5 by
// `Tests/TrainingTests/Fixtures/compat/make-compat-fixtures.sh`, which runs `CompatibilityFixtureWriter`):
//
//   configs/<name>.resolved   what every file in configs/ resolved to: a training config its config.yaml,
//                             a data-only config its data section and manifest config hash, a sweep every
//                             trial's config.yaml, the toy config its settings.
//   dataset/                  a tiny prepared dataset (TestDataset, real HDF5 shards).
//   <model>/run/              a run of a tiny seq2seq, tft and ssm_cgm stopped mid-epoch 1 (config.yaml, last.h5,
//                             metrics.jsonl; best.h5 dropped to keep the fixture small: resuming does not read it).
//   <model>/expected.digest   `digest` of the last.h5 of the same run trained without interruption (2 epochs):
//                             FNV-1a of every parameter's and optimizer tensor's bits, the counters and states.
//
// The tests prove that code after the restructuring resolves every config to the same bytes and resumes
// the old checkpoints to bit-identical parameters, optimizer state and validation losses.

import CGMData
import Config
import Distributed
import Foundation
import Models
@testable import Sweep
import XCTest
@testable import Training

/// Where the compatibility fixtures live and how each config file in configs/ is resolved.
enum CompatibilityFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/compat").path
    static let configsDirectory = ConfigTests.packageRoot.appendingPathComponent("configs").path
    /// The models with a checkpoint fixture.
    static let models = ["seq2seq", "tft", "ssm_cgm"]

    /// Every YAML file in configs/, sorted.
    static func configFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: configsDirectory).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    /// What `file` (a name in configs/) resolves to with the current code.
    static func resolve(_ file: String) throws -> String {
        let path = configsDirectory + "/" + file
        let text = try String(contentsOfFile: path, encoding: .utf8)
        if file == "toy.yaml" {
            let c = try ToyConfig(path: path)
            return "seed: \(c.seed)\nhistory: \(c.history)\nhorizon: \(c.horizon)\nhidden: \(c.hidden)\n"
                + "batch_size: \(c.batchSize)\nsteps: \(c.steps)\nlearning_rate: \(c.learningRate)\n"
                + "eval_every: \(c.evalEvery)\neval_samples: \(c.evalSamples)\n"
        }
        if file.hasPrefix("sweep-") {
            let sweep = try SweepConfig.load(path: path)
            let plan = try SweepPlan(config: sweep, baseText: try String(contentsOfFile: sweep.base, encoding: .utf8))
            return try plan.trials.indices.map { "# \(plan.trials[$0].name)\n" + (try plan.runConfig($0)).yaml }.joined()
        }
        if file.hasPrefix("data-") {
            // The data section as `prepare` and `train` read it (a data-only file has no model section).
            let data = try XCTUnwrap(try RunConfig.parse(yaml: text + "\nmodel: {name: naive}\n", source: path).data)
            return YAMLNode.map([("data", data.yamlNode)]).yaml + "# config_hash: \(data.hash)\n"
        }
        return try RunConfig.load(path: path).yaml
    }

    /// The `model:` lines of each checkpoint fixture's config.
    static func modelYAML(_ model: String) -> String {
        switch model {
        case "seq2seq": return "model: {name: seq2seq, hidden: 4, dropout: 0.2}\n"
        case "tft": return "model: {name: tft, hidden: 4, heads: 2, lstm_layers: 1, dropout: 0.1, hidden_continuous: 2}\n"
        default:
            return "model: {name: ssm_cgm, d_model: 8, depth: 1, d_state: 4, d_conv: 3, expand: 2, headdim: 4, chunk: 4, "
                + "dropout: 0.1, hidden_continuous: 2}\n"
        }
    }

    /// The whole config of a checkpoint fixture: 32 training windows, batch 8 (4 steps per epoch), 2 epochs,
    /// validation every 2 steps, ReduceLROnPlateau, no top-k files.
    static func configYAML(_ model: String) -> String {
        TestDataset.dataYAML + "\n" + modelYAML(model)
            + "train:\n  seed: 5\n  batch_size: 8\n  max_epochs: 2\n  optimizer: {name: adam, lr: 0.01}\n"
            + "  scheduler: {name: reduce_on_plateau, factor: 0.5, patience: 0}\n  val_check_interval: 0.5\n"
            + "  top_k: 0\n  log_every_seconds: 1000\n"
    }

    /// The step the fixture run was stopped at (mid-epoch 1, after one validation check).
    static let stopStep = 3

    /// Trains in-process on one rank.
    @discardableResult
    static func train(_ yaml: String, data: String, run: String, resume: Bool = false, stopAtStep: Int? = nil) throws -> TrainingOutcome {
        let config = try RunConfig.parse(yaml: yaml, source: "compat.yaml")
        var options = TrainOptions(dataDirectory: data, runDirectory: run)
        options.resume = resume
        options.stopAtStep = stopAtStep
        let progress = Progress(enabled: false, every: 1000, isTerminal: false)
        return try Trainer(config: config, options: options, comm: SingleProcessCommunicator(),
                           stop: StopSignal(), progress: progress).run()
    }

    /// A checkpoint's numbers as text: the FNV-1a 64 of every parameter's and optimizer tensor's bits, and every
    /// counter and state a resumed run continues from (wall time excluded).
    static func digest(_ path: String) throws -> String {
        let c = try Checkpoint.read(path)
        func hash(_ v: [Float]) -> String {
            var h = FNV1a64()
            v.map(\.bitPattern).withUnsafeBufferPointer { h.add(words: $0.baseAddress!, count: $0.count) }
            return h.hex
        }
        var s = c.state
        s.elapsedSeconds = 0
        var lines = ["model \(c.modelName)", "layout \(c.layoutHash)", "config_hash \(c.configHash)", "state \(try s.json())"]
        lines += c.parameters.map { "param \($0.name) \($0.shape) \(hash($0.values))" }
        lines += c.optimizerState.keys.sorted().map { "optimizer \(c.optimizerName) \($0) \(hash(c.optimizerState[$0]!.scalars))" }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Copies directory `from` to `to` (which must not exist).
    static func copy(_ from: String, _ to: String) throws {
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }
}

final class CompatibilityTests: XCTestCase {
    func testEveryConfigResolvesToTheBytesRecordedBeforeTheRestructuring() throws {
        let files = try CompatibilityFixtures.configFiles()
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let fixture = CompatibilityFixtures.root + "/configs/" + file + ".resolved"
            guard let expected = try? String(contentsOfFile: fixture, encoding: .utf8) else {
                XCTFail("no fixture \(fixture) for configs/\(file)")
                continue
            }
            XCTAssertEqual(try CompatibilityFixtures.resolve(file), expected, "configs/\(file)")
        }
    }

    func testCheckpointsWrittenBeforeTheRestructuringResumeBitIdentically() throws {
        let dir = try temporaryDirectory(self)
        let data = dir + "/data"
        try CompatibilityFixtures.copy(CompatibilityFixtures.root + "/dataset", data)
        for model in CompatibilityFixtures.models {
            let fixture = CompatibilityFixtures.root + "/" + model
            let run = dir + "/" + model
            try CompatibilityFixtures.copy(fixture + "/run", run)
            let yaml = try String(contentsOfFile: run + "/config.yaml", encoding: .utf8)
            XCTAssertEqual(try Checkpoint.read(run + "/last.h5").state.globalStep, CompatibilityFixtures.stopStep, model)
            let outcome = try CompatibilityFixtures.train(yaml, data: data, run: run, resume: true)
            guard case .completed(reason: "max_epochs", _) = outcome else { return XCTFail("\(model): \(outcome)") }
            XCTAssertEqual(try CompatibilityFixtures.digest(run + "/last.h5"),
                           try String(contentsOfFile: fixture + "/expected.digest", encoding: .utf8), model)
        }
    }
}

/// Writes the fixtures (only with CGMTRAIN_WRITE_COMPAT_FIXTURES=1; see make-compat-fixtures.sh).
final class CompatibilityFixtureWriter: XCTestCase {
    func testWriteFixtures() throws {
        guard ProcessInfo.processInfo.environment["CGMTRAIN_WRITE_COMPAT_FIXTURES"] == "1" else {
            throw XCTSkip("set CGMTRAIN_WRITE_COMPAT_FIXTURES=1 to regenerate the compatibility fixtures")
        }
        let fm = FileManager.default, root = CompatibilityFixtures.root
        for sub in ["configs", "dataset"] + CompatibilityFixtures.models { try? fm.removeItem(atPath: root + "/" + sub) }
        try fm.createDirectory(atPath: root + "/configs", withIntermediateDirectories: true)
        for file in try CompatibilityFixtures.configFiles() {
            try CompatibilityFixtures.resolve(file).write(toFile: root + "/configs/" + file + ".resolved", atomically: true, encoding: .utf8)
        }
        let data = root + "/dataset"
        try TestDataset.make(data, trainPerSubject: 8, valPerSubject: 4)
        let scratch = try temporaryDirectory(self)
        for model in CompatibilityFixtures.models {
            let yaml = CompatibilityFixtures.configYAML(model)
            let full = scratch + "/" + model + "-full", stopped = root + "/" + model + "/run"
            try CompatibilityFixtures.train(yaml, data: data, run: full)
            try fm.createDirectory(atPath: root + "/" + model, withIntermediateDirectories: true)
            try CompatibilityFixtures.digest(full + "/last.h5").write(toFile: root + "/" + model + "/expected.digest",
                                                                      atomically: true, encoding: .utf8)
            let outcome = try CompatibilityFixtures.train(yaml, data: data, run: stopped, stopAtStep: CompatibilityFixtures.stopStep)
            guard case .stopped = outcome else { return XCTFail("\(model): expected a stop, got \(outcome)") }
            for file in try fm.contentsOfDirectory(atPath: stopped) where !["config.yaml", "last.h5", "metrics.jsonl"].contains(file) {
                try fm.removeItem(atPath: stopped + "/" + file)
            }
        }
    }
}
