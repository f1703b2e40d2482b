import CGMTensor
import XCTest
import _TestSupport

final class LossesTests: XCTestCase {
    private func value(_ f: (Graph) -> Var) -> Float { f(Graph()).value.scalar }

    /// pred = target + r with every |r| drawn from `magnitudes` (random sign): keeps residuals off kinks.
    private func residuals(_ shape: [Int], _ magnitudes: [Float], seed: UInt64) -> Tensor {
        var rng = PhiloxGenerator(seed: seed)
        return Tensor(shape: shape, scalars: (0..<Shape.count(shape)).map { _ in
            let m = magnitudes[Int(rng.nextUInt32() % UInt32(magnitudes.count))] * rng.nextUniform(0.9, 1.1)
            return rng.nextUniform() < 0.5 ? -m : m
        })
    }

    private func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        Tensor(shape: a.shape, scalars: zip(a.scalars, b.scalars).map { $0 + $1 })
    }

    // MARK: MSE

    func testMSEGoldenAndScalarShape() {
        let g = Graph()
        let l = g.mseLoss(g.constant(Tensor(shape: [3], scalars: [1, 2, 3])), g.constant(Tensor(shape: [3], scalars: [0, 2, 5])))
        XCTAssertEqual(l.shape, [])
        XCTAssertEqual(l.value.scalar, 5.0 / 3.0, accuracy: 1e-6)
    }

    func testMSEGradients() {
        for shape in [[2, 3], [1], [4, 1, 2]] {
            assertGradientsMatch([randomTensor(shape, seed: 1), randomTensor(shape, seed: 2)], "\(shape)") { g, x in
                g.mseLoss(x[0], x[1])
            }
        }
    }

    // MARK: Huber

    func testHuberGolden() {
        let t = Tensor(shape: [3], scalars: [0, 0, 0])
        XCTAssertEqual(value { g in g.huberLoss(g.constant(Tensor(shape: [3], scalars: [0.5, -2, 3])), g.constant(t)) },
                       (0.125 + 1.5 + 2.5) / 3, accuracy: 1e-6)
        XCTAssertEqual(value { g in g.huberLoss(g.constant(Tensor(shape: [3], scalars: [0.5, -2.5, 1])), g.constant(t), delta: 2) },
                       (0.125 + 3 + 0.5) / 3, accuracy: 1e-6)
    }

    func testHuberGradientsOnBothSidesOfDelta() {
        for delta: Float in [1, 0.5] {
            let target = randomTensor([3, 4], seed: 3)
            let pred = add(target, residuals([3, 4], [0.2 * delta, 0.6 * delta, 1.5 * delta, 3 * delta], seed: 4))
            assertGradientsMatch([pred, target], "delta \(delta)") { g, x in g.huberLoss(x[0], x[1], delta: delta) }
        }
    }

    // MARK: Quantile

    func testQuantileGoldenForAllReductions() {
        // e = t − p = [1, −0.5, −2]; ρ = [0.1·1, 0.5·0.5, 0.1·2] = [0.1, 0.25, 0.2]; Σ = 0.55.
        let q: [Float] = [0.1, 0.5, 0.9]
        func loss(_ r: QuantileLossReduction) -> Float {
            value { g in g.quantileLoss(g.constant(Tensor(shape: [1, 3], scalars: [0, 1.5, 3])),
                                        g.constant(Tensor(shape: [1], scalars: [1])), quantiles: q, reduction: r) }
        }
        XCTAssertEqual(loss(.meanOverAll), 0.55 / 3, accuracy: 1e-6)
        XCTAssertEqual(loss(.sumOverQuantilesMeanOverElements), 0.55, accuracy: 1e-6)
        XCTAssertEqual(loss(.pytorchForecasting), 2 * 0.55 / 3, accuracy: 1e-6)
        // Default reduction is the mean over everything.
        XCTAssertEqual(value { g in g.quantileLoss(g.constant(Tensor(shape: [1, 3], scalars: [0, 1.5, 3])),
                                                   g.constant(Tensor(shape: [1], scalars: [1])), quantiles: q) },
                       0.55 / 3, accuracy: 1e-6)
    }

    func testQuantileGradientsAwayFromZeroError() {
        let q: [Float] = [0.02, 0.25, 0.5, 0.9]
        let target = randomTensor([2, 3], seed: 5)
        let e = residuals([2, 3, 4], [0.1, 0.5, 1], seed: 6)
        var pred = Tensor(zeros: [2, 3, 4])
        for k in 0..<6 { for j in 0..<4 { pred[flat: k * 4 + j] = target[flat: k] - e[flat: k * 4 + j] } }
        for r in [QuantileLossReduction.meanOverAll, .sumOverQuantilesMeanOverElements, .pytorchForecasting] {
            assertGradientsMatch([pred, target], "\(r)") { g, x in g.quantileLoss(x[0], x[1], quantiles: q, reduction: r) }
        }
        // Size-1 axes: one element, one quantile.
        assertGradientsMatch([Tensor(shape: [1, 1], scalars: [0.3]), Tensor(shape: [1], scalars: [-0.2])]) { g, x in
            g.quantileLoss(x[0], x[1], quantiles: [0.7])
        }
    }

    /// At e = 0 the gradient is the average of both one-sided slopes, ½ − q (PyTorch's tie rule).
    func testQuantileGradientAtZeroError() {
        let g = Graph()
        let p = g.variable(Tensor(shape: [1, 2], scalars: [1, 1]))
        g.backward(g.quantileLoss(p, g.constant(Tensor(shape: [1], scalars: [1])), quantiles: [0.1, 0.8]))
        let d = g.gradient(of: p)!.scalars
        XCTAssertEqual(d[0], (0.5 - 0.1) / 2, accuracy: 1e-7)
        XCTAssertEqual(d[1], (0.5 - 0.8) / 2, accuracy: 1e-7)
    }

    // MARK: Cross-entropy

    func testCrossEntropyGoldenIgnoreAndStability() {
        let logits = Tensor(shape: [2, 3], scalars: [1, 2, 3, 1, 1, 1])
        XCTAssertEqual(value { g in g.crossEntropy(g.constant(logits), targets: [2, 0]) }, 0.753_109_13, accuracy: 1e-6)
        XCTAssertEqual(value { g in g.crossEntropy(g.constant(logits), targets: [2, -100]) }, 0.407_605_96, accuracy: 1e-6)
        XCTAssertEqual(value { g in g.crossEntropy(g.constant(logits), targets: [7, 0], ignoreIndex: 7) }, 1.098_612_3, accuracy: 1e-6)
        // Huge logits: log-sum-exp must not overflow.
        XCTAssertEqual(value { g in g.crossEntropy(g.constant(Tensor(shape: [1, 2], scalars: [1000, 0])), targets: [1]) },
                       1000, accuracy: 1e-3)
        XCTAssertEqual(value { g in g.crossEntropy(g.constant(Tensor(shape: [1, 2], scalars: [-1000, 1000])), targets: [1]) },
                       0, accuracy: 1e-6)
    }

    /// Deviation from PyTorch (NaN): all rows ignored gives loss 0 and a zero gradient.
    func testCrossEntropyAllIgnoredIsZeroWithZeroGradient() {
        let g = Graph()
        let x = g.variable(randomTensor([3, 4], seed: 8))
        let l = g.crossEntropy(x, targets: [-100, -100, -100])
        XCTAssertEqual(l.value.scalar, 0)
        g.backward(l)
        XCTAssertEqual(g.gradient(of: x)?.scalars ?? [Float](repeating: 0, count: 12), [Float](repeating: 0, count: 12))
    }

    func testCrossEntropyGradients() {
        assertGradientsMatch([randomTensor([4, 5], seed: 9, low: -2, high: 2)]) { g, x in
            g.crossEntropy(x[0], targets: [3, -100, 0, 4])
        }
        assertGradientsMatch([randomTensor([2, 3, 4], seed: 10, low: -2, high: 2)], "rows over leading axes") { g, x in
            g.crossEntropy(x[0], targets: [0, 1, 2, 3, -1, 2], ignoreIndex: -1)
        }
        assertGradientsMatch([randomTensor([1, 1], seed: 11)], "one class") { g, x in g.crossEntropy(x[0], targets: [0]) }
        // Ignored rows receive exactly zero gradient.
        let g = Graph()
        let x = g.variable(randomTensor([3, 4], seed: 12))
        g.backward(g.crossEntropy(x, targets: [1, -100, 2]))
        XCTAssertEqual(Array(g.gradient(of: x)!.scalars[4..<8]), [0, 0, 0, 0])
    }

    // MARK: BCE with logits

    func testBCEWithLogitsGoldenAndStability() {
        let x = Tensor(shape: [3], scalars: [0, 2, -3]), y = Tensor(shape: [3], scalars: [1, 0, 1])
        XCTAssertEqual(value { g in g.bceWithLogits(g.constant(x), g.constant(y)) }, 1.956_220_8, accuracy: 1e-6)
        XCTAssertEqual(value { g in g.bceWithLogits(g.constant(x), g.constant(y), posWeight: 2) }, 3.203_465_7, accuracy: 1e-6)
        XCTAssertEqual(value { g in
            g.bceWithLogits(g.constant(x), g.constant(y), weights: g.constant(Tensor(shape: [3], scalars: [1, 0.5, 2])))
        }, 2.617_928_6, accuracy: 1e-6)
        // |x| = 100: exact large values, no inf/NaN.
        let big = value { g in
            g.bceWithLogits(g.constant(Tensor(shape: [3], scalars: [100, -100, 100])), g.constant(Tensor(shape: [3], scalars: [0, 1, 1])))
        }
        XCTAssertEqual(big, 200.0 / 3, accuracy: 1e-3)
        let g = Graph()
        let xv = g.variable(Tensor(shape: [2], scalars: [100, -100]))
        g.backward(g.bceWithLogits(xv, g.constant(Tensor(shape: [2], scalars: [0, 1]))))
        XCTAssertEqual(g.gradient(of: xv)!.scalars, [0.5, -0.5])
    }

    /// SSM-CGM A.2's weighted BCE (α = 5) on soft targets, against PyTorch's formula
    /// −mean[pw·y·log σ(x) + (1 − y)·log(1 − σ(x))] evaluated in double precision by hand (Python math):
    /// x = [−2, 0.5, 3, −0.25], y = [0, 0.5, 1, 0.25] → 0.8766186403.
    func testBCEWithLogitsPosWeightFiveSoftTargetsGolden() {
        let x = Tensor(shape: [2, 2], scalars: [-2, 0.5, 3, -0.25]), y = Tensor(shape: [2, 2], scalars: [0, 0.5, 1, 0.25])
        XCTAssertEqual(value { g in g.bceWithLogits(g.constant(x), g.constant(y), posWeight: 5) }, 0.876_618_64, accuracy: 1e-6)
        assertGradientsMatch([x], "posWeight 5, soft targets") { g, v in g.bceWithLogits(v[0], g.constant(y), posWeight: 5) }
    }

    func testBCEWithLogitsGradientsIncludingTargetsAndWeights() {
        let x = randomTensor([3, 4], seed: 13, low: -3, high: 3)
        let y = randomTensor([3, 4], seed: 14, low: 0, high: 1)
        assertGradientsMatch([x, y]) { g, v in g.bceWithLogits(v[0], v[1]) }
        assertGradientsMatch([x, y], "posWeight 3") { g, v in g.bceWithLogits(v[0], v[1], posWeight: 3) }
        assertGradientsMatch([x, y, randomTensor([3, 4], seed: 15, low: 0.2, high: 2)], "elementwise weights") { g, v in
            g.bceWithLogits(v[0], v[1], posWeight: 0.5, weights: v[2])
        }
        assertGradientsMatch([x, y, randomTensor([4], seed: 16, low: 0.2, high: 2)], "per-class weights") { g, v in
            g.bceWithLogits(v[0], v[1], posWeight: 2, weights: v[2])
        }
        assertGradientsMatch([Tensor(shape: [1], scalars: [0.4]), Tensor(shape: [1], scalars: [1])], "one element") { g, v in
            g.bceWithLogits(v[0], v[1])
        }
    }
}
