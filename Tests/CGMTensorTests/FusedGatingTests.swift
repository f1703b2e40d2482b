import CGMTensor
import XCTest
import _TestSupport

/// The fused GLU and weighted-sum ops (TFT gating and variable selection fusion).
final class FusedGatingTests: XCTestCase {
    /// GLU equals slice → sigmoid → multiply up to FastMath's σ error (≈ 1.5e-7 relative), values and gradients.
    func testGLUMatchesUnfused() {
        let y = randomNormalTensor([3, 5, 2 * 19], seed: 1, scale: 3)
        let up = randomNormalTensor([3, 5, 19], seed: 2)
        func run(_ fused: Bool) -> (Tensor, Tensor) {
            let g = Graph()
            let v = g.variable(y)
            let out = fused ? g.glu(v)
                : g.slice(v, axis: -1, range: 0..<19) * g.sigmoid(g.slice(v, axis: -1, range: 19..<38))
            g.backward(g.sum(out * g.constant(up)))
            return (out.value, g.gradient(of: v)!)
        }
        let (a, b) = (run(true), run(false))
        XCTAssertEqual(a.0.shape, [3, 5, 19])
        assertClose(a.0, b.0, atol: 1e-6, rtol: 1e-6)
        assertClose(a.1, b.1, atol: 1e-6, rtol: 1e-6)
    }

    func testGLUGolden() {
        let g = Graph()
        let out = g.glu(g.constant(Tensor(shape: [1, 4], scalars: [2, -3, 0, 100]))).value
        XCTAssertEqual(out.scalars[0], 1, accuracy: 1e-6)                  // 2 · σ(0)
        XCTAssertEqual(out.scalars[1], -3, accuracy: 1e-5)                 // −3 · σ(100)
    }

    func testGLUGradientCheck() {
        assertGradientsMatch([randomTensor([4, 2, 6], seed: 3, low: -2, high: 2), randomTensor([4, 2, 3], seed: 4)]) { g, v in
            g.sum(g.glu(v[0]) * v[1])
        }
    }

    func testWeightedSumMatchesNaive() {
        let xs = (0..<3).map { randomNormalTensor([2, 4, 5], seed: 10 + UInt64($0)) }
        let w = randomTensor([2, 4, 3], seed: 20)
        let g = Graph()
        let out = g.weightedSum(xs.map { g.constant($0) }, weights: g.constant(w)).value
        XCTAssertEqual(out.shape, [2, 4, 5])
        for r in 0..<8 {
            for k in 0..<5 {
                var e: Double = 0
                for i in 0..<3 { e += Double(w[flat: r * 3 + i]) * Double(xs[i][flat: r * 5 + k]) }
                XCTAssertEqual(Double(out[flat: r * 5 + k]), e, accuracy: 1e-5)
            }
        }
    }

    /// Gradients of inputs and weights (width 37: the 16-lane dot product and its scalar tail).
    func testWeightedSumGradientCheck() {
        let inputs = (0..<3).map { randomTensor([2, 3, 37], seed: 30 + UInt64($0)) }
            + [randomTensor([2, 3, 3], seed: 40), randomTensor([2, 3, 37], seed: 41)]
        assertGradientsMatch(inputs) { g, v in
            g.sum(g.weightedSum(Array(v[0..<3]), weights: v[3]) * v[4])
        }
    }

    /// Layer norm at a width that runs the 16-lane reductions and their scalar tail (40 = 2·16 + 8).
    func testLayerNormVectorizedRows() {
        let x = randomNormalTensor([3, 40], seed: 50, scale: 2), w = randomTensor([40], seed: 51), b = randomTensor([40], seed: 52)
        let g = Graph()
        let y = g.layerNorm(g.constant(x), weight: g.constant(w), bias: g.constant(b)).value
        for r in 0..<3 {
            let xs = (0..<40).map { Double(x[flat: r * 40 + $0]) }
            let m = xs.reduce(0, +) / 40, v = xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 40
            for i in 0..<40 {
                let e = (xs[i] - m) / (v + 1e-5).squareRoot() * Double(w[flat: i]) + Double(b[flat: i])
                XCTAssertEqual(Double(y[flat: r * 40 + i]), e, accuracy: 1e-5)
            }
        }
        assertGradientsMatch([x, w, b, randomTensor([3, 40], seed: 53)]) { g, v in
            g.sum(g.layerNorm(v[0], weight: v[1], bias: v[2]) * v[3])
        }
        assertGradientsMatch([x, randomTensor([3, 40], seed: 54)]) { g, v in
            g.sum(g.layerNorm(v[0], weight: nil, bias: nil) * v[1])
        }
    }

    /// layerNorm(x, adding: s) is layerNorm(x + s) bit for bit, values and all four gradients.
    func testLayerNormAddingSkipMatchesUnfused() {
        let x = randomNormalTensor([4, 3, 40], seed: 60), s = randomNormalTensor([4, 3, 40], seed: 61, scale: 2)
        let w = randomTensor([40], seed: 62), b = randomTensor([40], seed: 63), up = randomNormalTensor([4, 3, 40], seed: 64)
        func run(_ fused: Bool) -> [[Float]] {
            let g = Graph()
            let v = [x, s, w, b].map { g.variable($0) }
            let y = fused ? g.layerNorm(v[0], adding: v[1], weight: v[2], bias: v[3])
                : g.layerNorm(v[0] + v[1], weight: v[2], bias: v[3])
            g.backward(g.sum(y * g.constant(up)))
            return [y.value.scalars] + v.map { g.gradient(of: $0)!.scalars }
        }
        XCTAssertEqual(run(true), run(false))
        assertGradientsMatch([randomTensor([2, 5], seed: 65), randomTensor([2, 5], seed: 66), randomTensor([5], seed: 67),
                              randomTensor([5], seed: 68), randomTensor([2, 5], seed: 69)]) { g, v in
            g.sum(g.layerNorm(v[0], adding: v[1], weight: v[2], bias: v[3]) * v[4])
        }
    }

    /// gluLinear equals glu(linear(·)) up to summation order, values and all three gradients
    /// (2D = 2·19: full 16-lane blocks and a tail; In = 5).
    func testGLULinearMatchesUnfused() {
        let x = randomNormalTensor([3, 4, 5], seed: 70), w = randomTensor([38, 5], seed: 71), b = randomTensor([38], seed: 72)
        let up = randomNormalTensor([3, 4, 19], seed: 73)
        func run(_ fused: Bool) -> [Tensor] {
            let g = Graph()
            let v = [x, w, b].map { g.variable($0) }
            let y = fused ? g.gluLinear(v[0], weight: v[1], bias: v[2]) : g.glu(g.linear(v[0], weight: v[1], bias: v[2]))
            g.backward(g.sum(y * g.constant(up)))
            return [y.value] + v.map { g.gradient(of: $0)! }
        }
        let (a, e) = (run(true), run(false))
        XCTAssertEqual(a[0].shape, [3, 4, 19])
        for (got, want) in zip(a, e) { assertClose(got, want, atol: 1e-5, rtol: 1e-5) }
    }

    func testGLULinearGradientCheck() {
        let inputs = [randomTensor([2, 3, 4], seed: 80), randomTensor([36, 4], seed: 81), randomTensor([36], seed: 82),
                      randomTensor([2, 3, 18], seed: 83)]
        assertGradientsMatch(inputs) { g, v in g.sum(g.gluLinear(v[0], weight: v[1], bias: v[2]) * v[3]) }
    }

    /// linearLayerNorm equals layerNorm(linear(·)) up to summation order, values and all four gradients
    /// (Out = 37: 16-lane blocks and a tail; In = 3).
    func testLinearLayerNormMatchesUnfused() {
        let x = randomNormalTensor([2, 5, 3], seed: 90), w = randomTensor([37, 3], seed: 91)
        let gamma = randomTensor([37], seed: 92), beta = randomTensor([37], seed: 93), up = randomNormalTensor([2, 5, 37], seed: 94)
        func run(_ fused: Bool) -> [Tensor] {
            let g = Graph()
            let v = [x, w, gamma, beta].map { g.variable($0) }
            let y = fused ? g.linearLayerNorm(v[0], weight: v[1], normWeight: v[2], normBias: v[3])
                : g.layerNorm(g.linear(v[0], weight: v[1], bias: nil), weight: v[2], bias: v[3])
            g.backward(g.sum(y * g.constant(up)))
            return [y.value] + v.map { g.gradient(of: $0)! }
        }
        let (a, e) = (run(true), run(false))
        XCTAssertEqual(a[0].shape, [2, 5, 37])
        for (got, want) in zip(a, e) { assertClose(got, want, atol: 2e-5, rtol: 1e-4) }
    }

    func testLinearLayerNormGradientCheck() {
        let inputs = [randomNormalTensor([2, 3, 4], seed: 95), randomTensor([20, 4], seed: 96), randomTensor([20], seed: 97),
                      randomTensor([20], seed: 98), randomTensor([2, 3, 20], seed: 99)]
        assertGradientsMatch(inputs) { g, v in
            g.sum(g.linearLayerNorm(v[0], weight: v[1], normWeight: v[2], normBias: v[3]) * v[4])
        }
    }
}
