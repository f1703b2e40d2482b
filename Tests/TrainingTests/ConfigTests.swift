// Training configuration: configs/seq2seq.yaml resolves to the paper's protocol values, the resolved YAML
// parses back to the same configuration, `--set` overrides are read as YAML scalars, and unknown keys,
// wrong types and out-of-range values are errors naming the key path (and the --set argument).

import CGMData
import Config
import Foundation
import Models
import XCTest
@testable import Training

final class ConfigTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    let minimal = "model: {name: seq2seq}\n"

    func parse(_ yaml: String, _ overrides: [String] = []) throws -> RunConfig {
        try RunConfig.parse(yaml: yaml, source: "test.yaml", overrides: try [ConfigOverride](arguments: overrides))
    }

    /// The error message of parsing `yaml` with `overrides` (fails the test if it parses).
    func error(_ yaml: String, _ overrides: [String] = [], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try parse(yaml, overrides)
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testSeq2SeqConfigHasThePaperProtocol() throws {
        let c = try RunConfig.load(path: Self.packageRoot.appendingPathComponent("configs/seq2seq.yaml").path)
        XCTAssertEqual(c.model.name, "seq2seq")
        let spec = try XCTUnwrap(c.model.spec(as: Seq2SeqSpec.self))
        XCTAssertEqual(spec.hidden, 64)
        XCTAssertEqual(spec.dropout, 0.2)
        XCTAssertEqual(spec.huberDelta, 1)
        let t = c.train
        XCTAssertEqual(t.optimizer.name, .adam)
        XCTAssertEqual(t.optimizer.lr, 1e-3)
        XCTAssertEqual(t.optimizer.betas, [0.9, 0.999])
        XCTAssertEqual(t.batchSize, 64)
        XCTAssertEqual(t.scheduler.name, .reduceOnPlateau)
        XCTAssertEqual(t.scheduler.factor, 0.5)
        XCTAssertEqual(t.scheduler.patience, 5)
        XCTAssertEqual(t.scheduler.minLR, 1e-5)
        XCTAssertEqual(t.earlyStopping.patience, 15)
        XCTAssertEqual(t.topK, 3)
        XCTAssertEqual(t.valCheckInterval, .fraction(1.0))
        XCTAssertLessThanOrEqual(t.maxEpochs, 100)
        XCTAssertEqual(c.data?.preset, "physio_seq2seq")
        XCTAssertEqual(c.data?.history, 37)
        XCTAssertEqual(c.data?.horizon, 48)
    }

    func testResolvedYAMLRoundTripsAndFillsDefaults() throws {
        let c = try RunConfig.load(path: Self.packageRoot.appendingPathComponent("configs/seq2seq.yaml").path)
        let again = try parse(c.yaml)
        XCTAssertEqual(again.yaml, c.yaml)
        XCTAssertEqual(again.hash, c.hash)
        XCTAssertEqual(again, c)
        XCTAssertEqual(again.data, c.data)
        XCTAssertEqual(again.data?.hash, c.data?.hash, "the data section must keep its hash through the resolved YAML")
        let minimalConfig = try parse(minimal)
        let text = minimalConfig.yaml
        for line in ["hidden: 64", "dropout: 0.2", "huber_delta: 1.0", "batch_size: 32", "max_epochs: 100", "name: adam",
                     "lr: 0.001", "betas: [0.9, 0.999]", "gradient_clip: 0.0", "val_check_interval: 1.0", "patience: 15",
                     "top_k: 3", "bucket_cap_mb: 25", "check_replicas: 0", "prefetch_depth: 2"] {
            XCTAssertTrue(text.contains(line), "resolved config lacks '\(line)':\n\(text)")
        }
        XCTAssertNil(minimalConfig.data)
        XCTAssertEqual(try parse(text), minimalConfig)
        // Every scheduler and optimizer round-trips.
        for extra in ["scheduler: {name: one_cycle, max_lr: 0.01, anneal: linear}", "scheduler: {name: step, step_size: 3}",
                      "scheduler: {name: cosine_warmup, warmup_steps: 10, min_lr_ratio: 0.1}",
                      "optimizer: {name: sgd, lr: 0.1, momentum: 0.9, nesterov: true}", "optimizer: {name: adamw}",
                      "early_stopping: off", "val_check_interval: 7"] {
            let c = try parse(minimal + "train:\n  " + extra + "\n")
            XCTAssertEqual(try parse(c.yaml).yaml, c.yaml, extra)
        }
    }

    func testValCheckIntervalFractionOrSteps() throws {
        XCTAssertEqual(try parse(minimal + "train: {val_check_interval: 0.2}").train.valCheckInterval, .fraction(0.2))
        XCTAssertEqual(try parse(minimal + "train: {val_check_interval: 50}").train.valCheckInterval, .steps(50))
        XCTAssertEqual(try parse(minimal + "train: {val_check_interval: 1}").train.valCheckInterval, .steps(1))
        XCTAssertEqual(ValCheckInterval.fraction(0.2).interval(stepsPerEpoch: 100), 20)   // 5 checks per epoch (SSM-CGM)
        XCTAssertEqual(ValCheckInterval.fraction(0.2).interval(stepsPerEpoch: 3), 1)
        XCTAssertEqual(ValCheckInterval.steps(7).interval(stepsPerEpoch: 100), 7)
        var t = TrainConfig()
        t.batchSize = 10
        t.valCheckInterval = .fraction(0.3)
        let g = EpochGeometry(sampler: DistributedSampler(count: 101, numReplicas: 2), train: t)      // 51 per rank → 6 batches → interval 1
        XCTAssertEqual(g.batches, 6)
        XCTAssertEqual(g.valInterval, 1)
        t.valCheckInterval = .fraction(0.5)
        t.accumulateGradBatches = 4
        let h = EpochGeometry(sampler: DistributedSampler(count: 1000, numReplicas: 4), train: t)     // 25 batches → 7 steps → every 3, and at the end
        XCTAssertEqual(h.steps, 7)
        XCTAssertEqual((0..<h.steps).filter(h.validatesAfter), [2, 5, 6])
        XCTAssertTrue(error(minimal + "train: {val_check_interval: 1.5}").contains("train.val_check_interval must be a fraction of an epoch in (0, 1]"))
        XCTAssertTrue(error(minimal + "train: {val_check_interval: 0}").contains("train.val_check_interval"))
        XCTAssertTrue(error(minimal + "train: {val_check_interval: often}").contains("train.val_check_interval"))
    }

    func testOverridesAreYAMLScalarsAndNameTheirArgument() throws {
        let c = try parse(minimal, ["train.optimizer.lr=3e-3", "train.batch_size=64", "train.optimizer.betas=[0.8, 0.99]",
                                    "train.early_stopping.patience=4", "model.hidden=16", "train.scheduler.name=one_cycle"])
        XCTAssertEqual(c.train.optimizer.lr, 3e-3)
        XCTAssertEqual(c.train.batchSize, 64)
        XCTAssertEqual(c.train.optimizer.betas, [0.8, 0.99])
        XCTAssertEqual(c.train.earlyStopping.patience, 4)
        XCTAssertEqual(c.model.spec(as: Seq2SeqSpec.self)?.hidden, 16)
        XCTAssertEqual(c.train.scheduler.name, .oneCycle)
        XCTAssertEqual(try parse(minimal, ["train.early_stopping=off"]).train.earlyStopping.patience, nil)

        XCTAssertEqual(error(minimal, ["train.optimizer.lrr=0.1"]),
                       "--set train.optimizer.lrr=0.1: train.optimizer.lrr is not a known key for optimizer adam (known: name, lr, weight_decay, betas, eps)")
        XCTAssertEqual(error(minimal, ["train.batch_size=big"]), "--set train.batch_size=big: train.batch_size must be an integer (got 'big')")
        XCTAssertEqual(error(minimal + "train: {seed: 3}", ["train.seed.x=1"]), "--set train.seed.x=1: train.seed is not a mapping, so it has no key 'x'")
        XCTAssertEqual(error(minimal, ["train.seed.x=1"]), "--set train.seed.x=1: train.seed must be an integer (got a mapping)")
        XCTAssertTrue(error(minimal, ["train.batch_size"]).contains("expected KEY.PATH=VALUE"))
        XCTAssertTrue(error(minimal, ["train..lr=1"]).contains("is not a dotted key path"))
        XCTAssertTrue(error(minimal, ["optim.lr=1"]).contains("optim is not a known key (known: data, model, train)"))
    }

    func testErrorsNameTheKeyPath() {
        let cases: [(String, String)] = [
            ("trian: {}\n" + minimal, "test.yaml: trian is not a known key (known: data, model, train)"),
            ("train: {seed: 1}", "test.yaml: model section is required"),
            ("model: {name: lstm}", "test.yaml: model.name must be one of seq2seq, physio_seq2seq"),
            ("model: {name: seq2seq, hiden: 3}", "test.yaml: model.hiden is not a known key for model seq2seq"),
            ("model: {name: seq2seq, hidden: 2.5}", "test.yaml: model.hidden must be an integer (got 2.5)"),
            ("model: {name: seq2seq, hidden: 0}", "test.yaml: model.hidden must be ≥ 1 (got 0)"),
            ("model: {name: seq2seq, dropout: 1.0}", "test.yaml: model.dropout must be in [0, 1) (got 1.0)"),
            ("model: {name: seq2seq, huber_delta: true}", "test.yaml: model.huber_delta must be a number (got true)"),
            (minimal + "train: {batch_size: 0}", "test.yaml: train.batch_size must be ≥ 1 (got 0)"),
            (minimal + "train: {optimizer: {lr: -1}}", "test.yaml: train.optimizer.lr must be ≥ 0 (got -1.0)"),
            (minimal + "train: {optimizer: {name: rmsprop}}", "test.yaml: train.optimizer.name must be one of adam, adamw, sgd (got 'rmsprop')"),
            (minimal + "train: {optimizer: {name: sgd, betas: [0.9, 0.99]}}", "test.yaml: train.optimizer.betas is not a known key for optimizer sgd"),
            (minimal + "train: {optimizer: {betas: [0.9]}}", "test.yaml: train.optimizer.betas must list 2 numbers (got 1)"),
            (minimal + "train: {scheduler: {name: reduce_on_plateau, factor: 2}}", "test.yaml: train.scheduler.factor must be in (0, 1) (got 2.0)"),
            (minimal + "train: {scheduler: {name: step, warmup_steps: 3}}", "test.yaml: train.scheduler.warmup_steps is not a known key for scheduler step"),
            (minimal + "train: {early_stopping: {patience: 0}}", "test.yaml: train.early_stopping.patience must be ≥ 1 (got 0)"),
            (minimal + "train: {early_stopping: {min_delta: -0.1}}", "test.yaml: train.early_stopping.min_delta must be ≥ 0 (got -0.1)"),
            (minimal + "train: {gradient_clip: -1}", "test.yaml: train.gradient_clip must be ≥ 0 (0 = off) (got -1.0)"),
            (minimal + "train: {top_k: -1}", "test.yaml: train.top_k must be ≥ 0 (got -1)"),
            (minimal + "train: {prefetch_depth: 0}", "test.yaml: train.prefetch_depth must be ≥ 1 (got 0)"),
            (minimal + "train: {optimizer: 3}", "test.yaml: train.optimizer must be a mapping of keys (got 3)"),
            (minimal + "data: {stride: 0}", "test.yaml: data.stride must be ≥ 1 (got 0)"),
            (minimal + "data: {strid: 3}", "test.yaml: data.strid is not a known key"),
            ("- a\n- b\n", "test.yaml: expected a mapping with data:, model: and train: sections"),
            ("model: {name: [\n", "test.yaml: invalid YAML"),
        ]
        for (yaml, expected) in cases {
            let message = error(yaml)
            XCTAssertTrue(message.hasPrefix(expected), "expected '\(expected)…', got '\(message)'")
        }
    }

    func testResumeDifferencesIgnoreRuntimeKnobsOnly() throws {
        let base = try parse(minimal + "train: {max_epochs: 5}")
        XCTAssertEqual(try parse(minimal + "train: {max_epochs: 9, log_every_seconds: 2.0, prefetch_depth: 4, check_replicas: 10}")
            .resumeDifferences(from: base), [])
        XCTAssertEqual(try parse(minimal + "train: {max_epochs: 5, seed: 1}").resumeDifferences(from: base),
                       ["train.seed: 0 in the checkpoint, 1 now"])
        XCTAssertEqual(try parse("model: {name: seq2seq, hidden: 16}\ntrain: {max_epochs: 5}").resumeDifferences(from: base),
                       ["model.hidden: 64 in the checkpoint, 16 now"])
        // A schedule whose length derives from max_epochs makes max_epochs part of the numbers.
        let cycle = try parse(minimal + "train: {max_epochs: 5, scheduler: {name: one_cycle}}")
        XCTAssertEqual(try parse(minimal + "train: {max_epochs: 6, scheduler: {name: one_cycle}}").resumeDifferences(from: cycle),
                       ["train.max_epochs: 5 in the checkpoint, 6 now"])
    }

    func testYAMLScalarsFormatBackExactly() throws {
        for v in [1e-3, 3e-3, 1e-5, 0.1, 0.2, 1.0, 100.0, 1e-8, 0.999, 2.5e10] {
            let text = YAMLNode.formatDouble(v)
            let c = try parse(minimal + "train: {optimizer: {lr: \(text)}}")
            XCTAssertEqual(c.train.optimizer.lr, v, text)
        }
        XCTAssertEqual(YAMLNode.quoteIfNeeded("off"), "\"off\"")
        XCTAssertEqual(YAMLNode.quoteIfNeeded("cgm_scaled"), "cgm_scaled")
        XCTAssertEqual(YAMLNode.quoteIfNeeded("?meal_flag"), "\"?meal_flag\"")
    }
}
