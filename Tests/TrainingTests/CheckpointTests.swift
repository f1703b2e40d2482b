// Checkpoint files: the documented HDF5 layout, an exact round trip of every parameter bit, the optimizer
// state and every counter; truncated, corrupted, foreign and mismatching files refused with errors naming
// the file (and the parameter); top-k retention naming, renaming and pruning; resume reconciliation.

import CGMData
import CGMTensor
@testable import DataParallel
import Foundation
import HDF5IO
import Layers
@testable import Models
import Optim
import XCTest
@testable import Training

final class CheckpointTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws { dir = try temporaryDirectory(self, name) }

    /// A small seq2seq model after two Adam steps (non-trivial moments), and a state with every field set.
    func sample(hidden: Int = 4) -> (Seq2SeqForecaster, Adam, CheckpointContents) {
        let model = Seq2SeqForecaster(pastFeatures: 2, futureFeatures: 1, spec: Seq2SeqSpec(hidden: hidden), seed: 5)
        let adam = Adam(model.store, lr: 0.01)
        for step in 1...2 {
            let g = model.store.gradients.pointer
            for i in 0..<model.store.count { g[i] = Float(i % 7) * 0.1 - 0.3 + Float(step) * 0.01 }
            adam.step()
        }
        var state = TrainingState()
        state.epoch = 3
        state.position = 4
        state.globalStep = 40
        state.samplesSeen = 1280
        state.elapsedSeconds = 12.5
        state.worldSize = 2
        state.earlyStopping = EarlyStopping(patience: 5).exportState()
        state.schedulerName = "reduce_on_plateau"
        state.scheduler = ["best": .infinity, "num_bad_epochs": 1, "cooldown_counter": 0, "last_epoch": 3, "learning_rate": 0.005]
        state.learningRate = 0.005
        state.topK = [TopKEntry(file: "top-1-epoch003-step000036-val0.01000.h5", valLoss: 0.01, epoch: 3, step: 36)]
        state.bestValLoss = 0.01
        state.bestStep = 36
        state.lastValLoss = .nan
        state.intervalLossSum = 1.25
        state.intervalLossCount = 64
        let contents = CheckpointContents(
            modelName: model.name, layoutHash: hex16(ParameterFingerprint.hash(model.store)), configYAML: "model:\n  name: seq2seq\n",
            configHash: "0123456789abcdef", manifestHash: "fedcba9876543210", dataConfigHash: "cfg", seed: 3,
            parameters: CheckpointContents.parameters(of: model.store), optimizerName: "adam",
            optimizerState: adam.exportState(), state: state, valLoss: 0.0123)
        return (model, adam, contents)
    }

    func testRoundTripIsExactAndFollowsTheDocumentedLayout() throws {
        let (model, adam, c) = sample()
        let path = dir + "/ckpt.h5"
        try Checkpoint.write(c, to: path)
        let back = try Checkpoint.read(path)
        XCTAssertEqual(back.modelName, "seq2seq")
        XCTAssertEqual(back.layoutHash, c.layoutHash)
        XCTAssertEqual(back.configYAML, c.configYAML)
        XCTAssertEqual(back.manifestHash, c.manifestHash)
        XCTAssertEqual(back.seed, 3)
        XCTAssertEqual(back.valLoss, 0.0123)
        XCTAssertEqual(try back.state.json(), try c.state.json())
        XCTAssertEqual(back.optimizerName, "adam")
        for (k, t) in adam.exportState() { XCTAssertEqual(bits(back.optimizerState[k]!.scalars), bits(t.scalars), k) }
        // Restoring into a fresh model of the same shape gives the same bits.
        let fresh = Seq2SeqForecaster(pastFeatures: 2, futureFeatures: 1, spec: Seq2SeqSpec(hidden: 4), seed: 99)
        try back.validate(modelName: "seq2seq", store: fresh.store, file: path)
        back.applyParameters(to: fresh.store)
        XCTAssertEqual(bits(Array(UnsafeBufferPointer(start: fresh.store.values.pointer, count: fresh.store.count))),
                       bits(Array(UnsafeBufferPointer(start: model.store.values.pointer, count: model.store.count))))
        let restored = Adam(fresh.store, lr: 0.01)
        try restored.importState(back.optimizerState)
        XCTAssertEqual(restored.stepCount, 2)

        // The layout, read with plain HDF5IO.
        let f = try H5File.open(path: path)
        defer { f.discard() }
        for e in model.store.entries {
            let ds = try f.openDataset("/params/\(e.name)")
            XCTAssertEqual(ds.shape, e.shape, e.name)
            XCTAssertEqual(ds.elementType, .float32)
        }
        XCTAssertEqual(try f.openDataset("/optimizer/exp_avg").shape, [model.store.count])
        XCTAssertEqual(try f.openGroup("optimizer").int64Attribute("step"), 40)
        for (name, value) in [("epoch", 3), ("sampler_epoch", 3), ("position", 4), ("global_step", 40), ("world_size", 2),
                              ("seed", 3), ("sampler_seed", 3), ("schema_version", 1)] as [(String, Int64)] {
            XCTAssertEqual(try f.int64Attribute(name), value, name)
        }
        XCTAssertEqual(try f.stringAttribute("format"), "cgmtrain-checkpoint")
        XCTAssertEqual(try f.stringAttribute("config_hash"), "0123456789abcdef")
        XCTAssertEqual(try f.openGroup("scheduler").stringAttribute("name"), "reduce_on_plateau")
        XCTAssertEqual(try f.openGroup("scheduler").doubleAttribute("num_bad_epochs"), 1)
        XCTAssertEqual(try f.openGroup("early_stopping").doubleAttribute("patience"), 5)
        XCTAssertEqual(try f.openGroup("early_stopping").int64Attribute("enabled"), 1)
    }

    func testTruncatedFileIsRefusedNamingIt() throws {
        let (_, _, c) = sample()
        let path = dir + "/last.h5"
        try Checkpoint.write(c, to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        for keep in [bytes.count / 2, 100, 0] {
            try bytes.prefix(keep).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try Checkpoint.read(path)) { error in
                XCTAssertTrue("\(error)".hasPrefix("checkpoint \(path): "), "\(error)")
            }
        }
        XCTAssertThrowsError(try Checkpoint.read(dir + "/missing.h5")) { XCTAssertEqual("\($0)", "checkpoint \(self.dir)/missing.h5: no such file") }
    }

    func testCorruptedBytesAreRefusedByTheChecksums() throws {
        let (_, _, c) = sample()
        let path = dir + "/last.h5"
        try Checkpoint.write(c, to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))

        // A parameter's data.
        let victim = c.parameters.max { $0.values.count < $1.values.count }!
        let at = bytes.range(of: victim.values.prefix(6).withUnsafeBytes { Data($0) })!
        var damaged = bytes
        damaged[at.lowerBound + 9] ^= 0x01
        try damaged.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.read(path)) { error in
            XCTAssertEqual("\(error)", "checkpoint \(path): parameter '\(victim.name)' fails its checksum: the file is corrupt")
        }

        // The state: "globalStep":40 → 41 in state_json (still valid JSON).
        let needle = Data("\"globalStep\":40".utf8)
        let s = bytes.range(of: needle)!
        damaged = bytes
        damaged[s.upperBound - 1] = UInt8(ascii: "1")
        try damaged.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Checkpoint.read(path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("checkpoint \(path): attribute 'global_step'") && "\(error)".contains("corrupt"), "\(error)")
        }
    }

    func testForeignFilesAndOtherSchemaVersionsAreRefused() throws {
        let plain = dir + "/plain.h5"
        try H5File.create(path: plain) { f in _ = try f.createDataset("x", values: [Float(1)]) }
        XCTAssertThrowsError(try Checkpoint.read(plain)) { error in
            XCTAssertEqual("\(error)", "checkpoint \(plain): not a cgmtrain checkpoint (no format = \"cgmtrain-checkpoint\" attribute)")
        }
        let (_, _, c) = sample()
        let path = dir + "/v2.h5"
        try Checkpoint.write(c, to: path)
        let f = try H5File.open(path: path, readOnly: false)
        try f.setAttribute("schema_version", .int64(2))
        try f.close()
        XCTAssertThrowsError(try Checkpoint.read(path)) { error in
            XCTAssertEqual("\(error)", "checkpoint \(path): schema version 2, this build reads version 1")
        }
        let text = dir + "/text.h5"
        try "not hdf5".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Checkpoint.read(text)) { XCTAssertTrue("\($0)".hasPrefix("checkpoint \(text): unreadable"), "\($0)") }
    }

    func testAnotherModelOrLayoutIsRefusedNamingTheMismatch() throws {
        let (_, _, c) = sample(hidden: 8)
        let smaller = Seq2SeqForecaster(pastFeatures: 2, futureFeatures: 1, spec: Seq2SeqSpec(hidden: 4), seed: 5)
        XCTAssertThrowsError(try c.validate(modelName: "seq2seq", store: smaller.store, file: "f.h5")) { error in
            XCTAssertEqual("\(error)", "checkpoint f.h5: parameter 'encoder.weight_ih' has shape [32, 2] in the checkpoint but "
                           + "[16, 2] in the model (different model configuration?)")
        }
        let moreInputs = Seq2SeqForecaster(pastFeatures: 3, futureFeatures: 1, spec: Seq2SeqSpec(hidden: 8), seed: 5)
        XCTAssertThrowsError(try c.validate(modelName: "seq2seq", store: moreInputs.store, file: "f.h5")) { error in
            XCTAssertTrue("\(error)".contains("parameter 'encoder.weight_ih' has shape [32, 2] in the checkpoint but [32, 3]"), "\(error)")
        }
        XCTAssertThrowsError(try c.validate(modelName: "gluformer", store: smaller.store, file: "f.h5")) { error in
            XCTAssertEqual("\(error)", "checkpoint f.h5: was written by model 'seq2seq', this run trains 'gluformer'")
        }
        let extra = ParameterStore()
        for e in Seq2SeqForecaster(pastFeatures: 2, futureFeatures: 1, spec: Seq2SeqSpec(hidden: 8), seed: 5).store.entries {
            extra.add(e.name, Tensor(zeros: e.shape))
        }
        extra.add("head2.weight", Tensor(zeros: [1]))
        XCTAssertThrowsError(try c.validate(modelName: "seq2seq", store: extra, file: "f.h5")) { error in
            XCTAssertTrue("\(error)".contains("has no parameter 'head2.weight'"), "\(error)")
        }
    }

    func testTopKRetentionRanksRenamesAndPrunes() throws {
        let r = CheckpointRetention(directory: dir, topK: 3)
        var list: [TopKEntry] = []
        var files = Set<String>()
        let (_, _, c) = sample()
        for (step, loss) in [(10, 0.5), (20, 0.4), (30, 0.6), (40, 0.3), (50, 0.7), (60, 0.35), (70, 0.3)] {
            let u = r.update(list, valLoss: loss, epoch: step / 10, step: step)
            if let added = u.added {
                try r.save(c, as: [added])
                try r.apply(u)
                files.insert(added)
                for rn in u.renames { files.remove(rn.from); files.insert(rn.to) }
                for gone in u.removed { files.remove(gone) }
            }
            list = u.entries
            XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("top-") }), files, "after step \(step)")
        }
        XCTAssertEqual(list.map(\.step), [40, 70, 60], "ties keep the earlier checkpoint first; 0.7 never entered")
        XCTAssertEqual(list.map(\.file), ["top-1-epoch004-step000040-val0.30000.h5", "top-2-epoch007-step000070-val0.30000.h5",
                                          "top-3-epoch006-step000060-val0.35000.h5"])
        XCTAssertNil(r.update(list, valLoss: .nan, epoch: 8, step: 80).added)
        XCTAssertNil(CheckpointRetention(directory: dir, topK: 0).update([], valLoss: 0.1, epoch: 1, step: 1).added)
        XCTAssertEqual(CheckpointRetention.epochFile(7), "epoch-007.h5")
    }

    func testReconcileRemovesWhatTheInterruptedRunWroteAfterTheResumePoint() throws {
        let (_, _, c) = sample()
        let r = CheckpointRetention(directory: dir, topK: 2)
        var resumeState = c.state
        resumeState.epoch = 2
        resumeState.globalStep = 20
        resumeState.topK = [TopKEntry(file: "top-1-epoch002-step000020-val0.20000.h5", valLoss: 0.2, epoch: 2, step: 20)]
        resumeState.bestStep = 20
        var later = c
        later.state.globalStep = 25
        try r.save(c, as: ["epoch-001.h5", "epoch-002.h5", "top-2-epoch002-step000020-val0.20000.h5"])   // old name of the listed top-1
        try r.save(later, as: ["epoch-003.h5", "top-1-epoch003-step000025-val0.10000.h5", "best.h5", "last.h5.tmp-link-1"])
        let notes = r.reconcile(with: resumeState, resumedFrom: dir + "/epoch-002.h5")
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
        XCTAssertEqual(files, ["epoch-001.h5", "epoch-002.h5", "top-1-epoch002-step000020-val0.20000.h5", "best.h5"], "\(notes)")
        XCTAssertEqual(try Checkpoint.globalStep(of: dir + "/best.h5"), c.state.globalStep, "best.h5 restored from the listed top-1")
    }
}
