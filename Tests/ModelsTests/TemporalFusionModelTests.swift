// What TFT and SSM-CGM share as TemporalFusionModels: a batch for any TFT-style config, and training (one
// Adam step lowers the loss of a fixed batch without dropout, 60 steps with dropout fit it) for both.

import CGMSchema
import CGMTensor
@testable import Models
import Optim
import XCTest
import _TestSupport

/// A batch for `config`: seeded covariates, categorical indices row mod cardinality, targets in 70–250 mg/dL.
func tinyBatch(_ config: some TemporalFusionConfig, count b: Int = 3, history l: Int = 5, horizon h: Int = 3,
               seed: UInt64 = 1) -> Batch {
    let (p, f, s) = (config.pastNames.count, config.futureNames.count, config.statics.count)
    var batch = Batch(count: b, history: l, horizon: h, pastFeatureCount: p, futureFeatureCount: f, staticFeatureCount: s)
    batch.indices = (0..<b).map { 40 + $0 }
    batch.past = randomTensor([b, l, p], seed: seed).scalars
    batch.future = f > 0 ? randomTensor([b, h, f], seed: seed + 1).scalars : []
    batch.target = randomTensor([b, h], seed: seed + 2, low: 70, high: 250).scalars
    let reals = randomTensor([b, max(s, 1)], seed: seed + 3).scalars
    batch.statics = (0..<(b * s)).map { k in
        let (row, column) = (k / s, k % s)
        return config.statics[column].cardinality.map { Float(row % $0) } ?? reals[k]
    }
    return batch
}

final class TemporalFusionModelTests: XCTestCase {
    /// Three past reals, three future reals ("tod" in both, so its prescaler is shared), a static categorical and
    /// two static reals.
    let past = ["cgm", "tod", "hr"], future = ["tod", "meal", "steps"]
    let statics: [StaticInput] = [.categorical("site", cardinality: 3), .real("age"), .real("bmi")]

    func testTFTTrainingStepLowersLoss() {
        assertTrainingLowersLoss { dropout in
            TFTModel(TFTConfig(pastNames: past, futureNames: future, statics: statics,
                               spec: TFTSpec(hidden: 4, heads: 2, lstmLayers: 2, dropout: dropout, hiddenContinuous: 3)), seed: 5)
        }
    }

    func testSSMCGMTrainingStepLowersLoss() {
        assertTrainingLowersLoss { dropout in
            SSMCGMModel(SSMCGMConfig(pastNames: past, futureNames: future, statics: statics,
                                     spec: SSMCGMSpec(dModel: 8, depth: 2, dState: 4, dConv: 3, expand: 2, headdim: 4, ngroups: 1,
                                                      chunk: 3, lightExpand: 1, dropout: dropout, hiddenContinuous: 3)), seed: 5)
        }
    }

    /// Same seed → same parameters and predictions; another seed differs (both models).
    func testDeterministicInitialization() {
        func check<N>(_ make: (UInt64) -> TemporalFusionModel<N>) {
            let (a, b, c) = (make(11), make(11), make(12))
            let batch = tinyBatch(a.config)
            let ya = a.outputs(batch, Graph(training: false, recording: false)).prediction.value
            XCTAssertEqual(ya, b.outputs(batch, Graph(training: false, recording: false)).prediction.value, a.name)
            XCTAssertNotEqual(ya, c.outputs(batch, Graph(training: false, recording: false)).prediction.value, a.name)
        }
        check { TFTModel(TFTConfig(pastNames: past, futureNames: future, statics: statics,
                                   spec: TFTSpec(hidden: 4, heads: 2, lstmLayers: 2, hiddenContinuous: 3)), seed: $0) }
        check { SSMCGMModel(SSMCGMConfig(pastNames: past, futureNames: future, statics: statics,
                                         spec: SSMCGMSpec(dModel: 8, depth: 2, dState: 4, dConv: 3, expand: 2, headdim: 4,
                                                          chunk: 3, hiddenContinuous: 3)), seed: $0) }
    }

    /// One Adam step lowers the loss of a fixed batch (without dropout, so the step's objective is the one
    /// measured), and 60 steps with dropout fit it.
    func assertTrainingLowersLoss<N>(file: StaticString = #filePath, line: UInt = #line,
                                     _ make: (Double) -> TemporalFusionModel<N>) {
        for dropout in [0.0, 0.1] {
            let model = make(dropout)
            let batch = tinyBatch(model.config, count: 4)
            let adam = Adam(model.store, lr: 1e-3)
            func evalLoss() -> Float { model.loss(batch, Graph(training: false, recording: false)).value.scalar }
            func step(_ s: Int) {
                let g = Graph(training: true, random: RandomContext(seed: 9, step: UInt64(s), sampleIndices: batch.indices))
                let loss = model.loss(batch, g)
                model.store.zeroGradients()
                g.backward(loss)
                adam.step()
            }
            let before = evalLoss()
            step(1)
            if dropout == 0 { XCTAssertLessThan(evalLoss(), before, "one step", file: file, line: line) }
            for s in 2...60 { step(s) }
            XCTAssertLessThan(evalLoss(), 0.7 * before, "dropout \(dropout), 60 steps: \(before) → \(evalLoss())",
                              file: file, line: line)
        }
    }
}
