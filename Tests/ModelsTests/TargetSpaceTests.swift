// Residual targets (TargetSpace, issue 14): the map between head outputs and glucose is exact and monotone, an
// untrained residual head of every forecaster that has one forecasts persistence bit for bit (the naive
// baseline's values), the relative-history encoder column is (s(g_k) − s(g_t))/σ₁, and training on residual
// targets moves a seq2seq off persistence toward the truth on a learnable task.

import CGMSchema
import CGMTensor
import Foundation
import Layers
import Optim
import _TestSupport
import XCTest
@testable import Models

final class TargetSpaceTests: XCTestCase {
    /// A batch with cgm_scaled in past column `c` (values of 70–250 mg/dL) and another past column.
    func batch(count b: Int = 4, history l: Int = 6, horizon h: Int = 3, pastFeatures p: Int = 2, anchor c: Int = 0,
               futureFeatures f: Int = 1, seed: UInt64 = 1) -> Batch {
        var batch = Batch(count: b, history: l, horizon: h, pastFeatureCount: p, futureFeatureCount: f, staticFeatureCount: 0)
        batch.indices = Array(0 ..< b)
        var past = randomTensor([b, l, p], seed: seed).scalars
        let glucose = randomTensor([b, l], seed: seed + 1, low: 70, high: 250).scalars
        for w in 0 ..< b { for k in 0 ..< l { past[(w * l + k) * p + c] = FeatureCatalog.scaleCGM(glucose[w * l + k]) } }
        batch.past = past
        batch.future = randomTensor([b, h, max(f, 1)], seed: seed + 2).scalars.prefix(b * h * f).map { $0 }
        batch.target = randomTensor([b, h], seed: seed + 3, low: 70, high: 250).scalars
        return batch
    }

    /// The naive forecast of a batch: eq. 14 of the last scaled glucose, every step.
    func persistence(_ batch: Batch, anchor c: Int) -> [Float] {
        TargetSpace.lastScaled(batch, anchorIndex: c).flatMap { s in [Float](repeating: FeatureCatalog.unscaleCGM(s), count: batch.horizon) }
    }

    func testResidualTargetsAndTheirInverseAreExact() {
        let b = batch(anchor: 1), scale: [Float] = [0.02, 0.05, 0.09]
        let space = TargetSpace.residual(anchorIndex: 1, scale: scale)
        let z = space.targets(b)
        let last = TargetSpace.lastScaled(b, anchorIndex: 1)
        for w in 0 ..< b.count {
            for j in 0 ..< 3 {
                let expected = (FeatureCatalog.scaleCGM(b.target[w * 3 + j]) - last[w]) / scale[j]
                XCTAssertEqual(z[flat: w * 3 + j], expected, accuracy: 1e-6)
            }
        }
        // scaled(targets) gives back eq. 11's targets; absolute space is the identity.
        assertClose(space.scaled(z, b), b.scaledTarget, atol: 1e-6)
        assertClose(TargetSpace.absolute.scaled(b.scaledTarget, b), b.scaledTarget, atol: 0)
        assertClose(TargetSpace.absolute.targets(b), b.scaledTarget, atol: 0)
        // Quantiles (B, H, Q) keep their order: the map is increasing in the head output (σ_h > 0).
        let q = Tensor(shape: [4, 3, 3], scalars: (0 ..< 36).map { Float($0 % 3) - 1 })
        let mg = space.milligrams(q, b)
        for r in 0 ..< 12 { XCTAssertLessThan(mg[flat: r * 3], mg[flat: r * 3 + 1]); XCTAssertLessThan(mg[flat: r * 3 + 1], mg[flat: r * 3 + 2]) }
    }

    func testRelativeHistoryColumn() {
        let b = batch(anchor: 0), sigma: Float = 0.015
        let x = TargetSpace.residual(anchorIndex: 0, scale: [sigma, 0.03, 0.04]).encoderInput(b)
        XCTAssertEqual(x.shape, [4, 6, 3])
        for w in 0 ..< 4 {
            let last = b.past[(w * 6 + 5) * 2]
            for k in 0 ..< 6 {
                XCTAssertEqual(x[flat: (w * 6 + k) * 3], b.past[(w * 6 + k) * 2], "past features unchanged")
                XCTAssertEqual(x[flat: (w * 6 + k) * 3 + 2], (b.past[(w * 6 + k) * 2] - last) / sigma, accuracy: 1e-5)
            }
            XCTAssertEqual(x[flat: (w * 6 + 5) * 3 + 2], 0, "the decision step is the reference")
        }
        XCTAssertEqual(TargetSpace.absolute.encoderInput(b).shape, [4, 6, 2])
    }

    /// Zero-initialized residual heads: every forecaster starts at the last observed glucose exactly.
    func testUntrainedResidualForecastersArePersistence() throws {
        let g = Graph(training: false, recording: false)
        let b = batch(anchor: 0)
        let naive = persistence(b, anchor: 0)
        let space = TargetSpace.residual(anchorIndex: 0, scale: [0.02, 0.04, 0.06])

        let seq2seq = Seq2SeqForecaster(pastFeatures: 2, futureFeatures: 1, spec: Seq2SeqSpec(hidden: 8),
                                        targetSpace: space, seed: 1)
        XCTAssertEqual(seq2seq.forecast(b, g).point.scalars, naive)
        let glucoseOnly = batch(pastFeatures: 1, futureFeatures: 0)
        let noDecoderInputs = Seq2SeqForecaster(pastFeatures: 1, futureFeatures: 0, spec: Seq2SeqSpec(hidden: 8),
                                                targetSpace: space, seed: 1)
        XCTAssertEqual(noDecoderInputs.forecast(glucoseOnly, g).point.scalars, persistence(glucoseOnly, anchor: 0),
                       "no known-future features: the decoder runs on a zero input")

        let recursive = RecursiveLSTMForecaster(inputs: 2, cgmIndex: 0, spec: RecursiveLSTMSpec(hidden: 8),
                                                targetSpace: space, seed: 1)
        var rb = b
        rb.future = (0 ..< 4 * 3).map { Float($0) / 12 }   // F = P − 1 = 1
        XCTAssertEqual(recursive.forecast(rb, g).point.scalars, naive)

        let tftConfig = TFTConfig(pastNames: ["cgm_scaled", "x"], futureNames: ["x"], statics: [],
                                  spec: TFTSpec(hidden: 4, heads: 2, lstmLayers: 1, dropout: 0, hiddenContinuous: 2))
        let tft = TFTModel(tftConfig, targetSpace: space, seed: 2)
        let tftForecast = tft.forecast(b, g)
        XCTAssertEqual(tftForecast.point.scalars, naive)
        XCTAssertEqual(tftForecast.quantiles?.scalars, naive.flatMap { [$0, $0, $0] }, "every quantile starts at persistence")

        let ssmConfig = SSMCGMConfig(pastNames: ["cgm_scaled", "x"], futureNames: ["x"], statics: [],
                                     spec: SSMCGMSpec(dModel: 8, depth: 1, dState: 4, dConv: 3, expand: 2, headdim: 4, ngroups: 1, chunk: 3, lightExpand: 1, variant: .mes, dropout: 0, hiddenContinuous: 2))
        XCTAssertEqual(SSMCGMModel(ssmConfig, targetSpace: space, seed: 3).forecast(b, g).point.scalars, naive)

        // The paper's absolute heads do not start at persistence.
        XCTAssertNotEqual(Seq2SeqForecaster(pastFeatures: 2, futureFeatures: 1, spec: Seq2SeqSpec(hidden: 8), seed: 1).forecast(b, g).point.scalars, naive)
    }

    /// The recursive model's residual teacher-forcing targets are one-step changes over σ₁.
    func testRecursiveResidualTargetsAreStepChanges() {
        var b = batch(pastFeatures: 2, anchor: 0)
        b.future = (0 ..< 4 * 3).map { Float($0) / 12 }
        let sigma: Float = 0.02
        let model = RecursiveLSTMForecaster(inputs: 2, cgmIndex: 0, spec: RecursiveLSTMSpec(hidden: 4),
                                            targetSpace: .residual(anchorIndex: 0, scale: [sigma, 0.03, 0.04]),
                                            seed: 1)
        let absolute = RecursiveLSTMForecaster(inputs: 2, cgmIndex: 0, spec: RecursiveLSTMSpec(hidden: 4), seed: 1)
        let (x, y) = model.teacherForcing(b)
        let (_, next) = absolute.teacherForcing(b)
        let steps = 6 + 3 - 1
        for w in 0 ..< 4 {
            for k in 0 ..< steps {
                XCTAssertEqual(y[flat: w * steps + k], (next[flat: w * steps + k] - x[flat: (w * steps + k) * 2]) / sigma,
                               accuracy: 1e-4)
            }
        }
    }

    /// Gradients of the residual seq2seq loss (the targets and the relative-history column are constants; at zero
    /// initialization only the head's weights see a gradient at first) match central differences of the loss, for
    /// sampled elements of every parameter, after one Adam step moves the head off zero.
    func testResidualSeq2SeqLossGradient() {
        let b = batch(count: 3, history: 5, horizon: 3)
        let model = Seq2SeqForecaster(pastFeatures: 2, futureFeatures: 1, spec: Seq2SeqSpec(hidden: 4, dropout: 0),
                                      targetSpace: .residual(anchorIndex: 0, scale: [0.02, 0.04, 0.06]), seed: 4)
        let store = model.store
        func loss() -> Double { Double(model.loss(b, Graph(training: false, recording: false)).value.scalar) }
        func gradients() -> [[Float]] {
            store.zeroGradients()
            let g = Graph(training: false)
            g.backward(model.loss(b, g))
            return store.entries.map { store.gradient(store.id(named: $0.name)!).scalars }
        }
        let adam = Adam(store, lr: 0.05)
        _ = gradients()
        adam.step()
        let analytic = gradients()
        let eps: Float = 1e-3
        for (k, entry) in store.entries.enumerated() {
            let id = store.id(named: entry.name)!
            let values = store.value(id).scalars
            for i in stride(from: 0, to: values.count, by: max(1, values.count / 5)) {
                var v = values
                v[i] = values[i] + eps
                store.setValue(id, Tensor(shape: entry.shape, scalars: v))
                let plus = loss()
                v[i] = values[i] - eps
                store.setValue(id, Tensor(shape: entry.shape, scalars: v))
                let minus = loss()
                store.setValue(id, Tensor(shape: entry.shape, scalars: values))
                let numeric = (plus - minus) / (2 * Double(eps))
                XCTAssertEqual(Double(analytic[k][i]), numeric, accuracy: 2e-3 + 2e-2 * abs(numeric), "\(entry.name)[\(i)]")
            }
        }
    }
}
