import CGMSchema
import CGMTensor
import Layers
import Models
import Optim
import _TestSupport
import XCTest

final class MealDetectorTests: XCTestCase {
    /// The bidirectional layer equals its naive twin: the forward LSTM over x, and per sample the reverse
    /// LSTM run over x_T … x_1 with its outputs re-aligned; gradients by finite differences.
    func testBidirectionalLSTMMatchesNaiveTwinAndGradients() {
        let store = ParameterStore()
        var rng = PhiloxGenerator(seed: 3, stream: 1)
        let bi = BidirectionalLSTM(store, "bi", inputSize: 3, hiddenSize: 4, rng: &rng)
        let x = randomTensor([2, 5, 3], seed: 7)
        let g = Graph(training: false)
        let p = store.bind(g)
        let out = bi(g.constant(x), p).value
        XCTAssertEqual(out.shape, [2, 5, 8])
        let fwd = bi.forward(g.constant(x), p).output.value
        for b in 0..<2 {
            // Naive reverse direction: build x reversed in time by hand, run the reverse LSTM on it alone.
            var rev = [Float]()
            for t in (0..<5).reversed() { rev += Array(x.scalars[(b * 5 + t) * 3 ..< (b * 5 + t + 1) * 3]) }
            let r = bi.backward(g.constant(Tensor(shape: [1, 5, 3], scalars: rev)), p).output.value
            for t in 0..<5 {
                for h in 0..<4 {
                    XCTAssertEqual(out.scalars[(b * 5 + t) * 8 + h], fwd.scalars[(b * 5 + t) * 4 + h], accuracy: 1e-6)
                    XCTAssertEqual(out.scalars[(b * 5 + t) * 8 + 4 + h], r.scalars[(4 - t) * 4 + h], accuracy: 1e-6,
                                   "reverse direction at b \(b), t \(t)")
                }
            }
        }
        assertModuleGradientsMatch(store, inputs: [x], maxElements: 6) { _, v, p in bi(v[0], p) }
    }

    private func tinyDetector(seed: UInt64 = 5) -> MealDetector {
        var c = MealDetector.Config(inputs: 1)
        c.channels = 3
        c.hidden = 3
        c.spec.dropout = 0.4
        return MealDetector(c, seed: seed)
    }

    /// Shapes, A.2 parameter count of the full-size network, and a whole-model gradient check (dropout on)
    /// of the weighted BCE through every stage.
    func testShapesParameterCountAndWholeModelGradients() {
        let full = MealDetector(.init(inputs: 1), seed: 0)
        // conv 1·16·15+16, 16·16·3+16 ×2; BiLSTM l0 2·4·64·(16+64+2), l1 2·4·64·(128+64+2); LayerNorm 2·128; head 129.
        let expected = (16 * 15 + 16) + 2 * (16 * 16 * 3 + 16) + 2 * 4 * 64 * (16 + 64 + 2) + 2 * 4 * 64 * (128 + 64 + 2)
            + 2 * 128 + 129
        XCTAssertEqual(full.store.count, expected)
        let g = Graph(training: false, recording: false)
        XCTAssertEqual(full.logits(g.constant(randomTensor([2, 72, 1], seed: 1)), full.store.bind(g)).shape, [2, 72])

        let model = tinyDetector()
        let x = randomTensor([2, 20, 1], seed: 2)
        let y = Tensor(shape: [2, 20], scalars: (0..<40).map { [0, 0.5, 1][$0 % 3] })
        assertModuleGradientsMatch(model.store, inputs: [x], maxElements: 4) { g, v, p in
            g.bceWithLogits(model.logits(v[0], p), g.constant(y), posWeight: 5)
        }
    }

    /// The model's loss is the α-weighted BCE of its logits against the batch's meal_labels extra.
    func testLossReadsMealLabelsAndLearns() {
        let model = tinyDetector()
        var batch = Batch(count: 4, history: 24, horizon: 1, pastFeatureCount: 1, futureFeatureCount: 0,
                          staticFeatureCount: 0, extras: [WindowExtras.mealLabels: [24]])
        batch.indices = [0, 1, 2, 3]
        // A step in the input marks the meal: the label is the trapezoid around it (A.2, P = R = 2).
        func trapezoid(_ d: Int) -> Float { d <= 2 ? 1 : d >= 4 ? 0 : 1 - Float(d - 2) / 2 }
        for b in 0..<4 {
            let tau = 6 + 3 * b
            for l in 0..<24 {
                batch.past[b * 24 + l] = l >= tau ? 0.5 : -0.5
                batch.extras[WindowExtras.mealLabels]!.values[b * 24 + l] =
                    trapezoid(abs(l - tau))
            }
        }
        let eval = Graph(training: false, recording: false)
        let logits = model.logits(eval.constant(batch.pastTensor), model.store.bind(eval))
        let direct = eval.bceWithLogits(logits, eval.constant(MealDetector.targets(batch)), posWeight: 5).value.scalar
        XCTAssertEqual(model.loss(batch, eval).value.scalar, direct, accuracy: 1e-6)
        let adam = Adam(model.store, lr: 1e-2)
        for step in 1...60 {
            let g = Graph(training: true, random: RandomContext(seed: 1, step: UInt64(step), sampleIndices: batch.indices))
            let loss = model.loss(batch, g)
            model.store.zeroGradients()
            g.backward(loss)
            adam.step()
        }
        let after = model.loss(batch, Graph(training: false, recording: false)).value.scalar
        XCTAssertLessThan(after, 0.6 * direct, "60 Adam steps should fit 4 windows (before \(direct), after \(after))")
    }
}
