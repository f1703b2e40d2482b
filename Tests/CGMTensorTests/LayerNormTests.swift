import CGMTensor
import XCTest
import _TestSupport

final class LayerNormTests: XCTestCase {
    /// Naive PyTorch-style layer norm in Double: biased variance over the last axis.
    private func naiveLayerNorm(_ x: Tensor, _ w: Tensor?, _ b: Tensor?, eps: Double = 1e-5) -> [Double] {
        let c = x.shape.last!, rows = x.count / c
        var y = [Double](repeating: 0, count: x.count)
        for r in 0..<rows {
            let xs = (0..<c).map { Double(x[flat: r * c + $0]) }
            let mean = xs.reduce(0, +) / Double(c)
            let variance = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(c)
            for i in 0..<c {
                var v = (xs[i] - mean) / (variance + eps).squareRoot()
                if let w { v *= Double(w[flat: i]) }
                if let b { v += Double(b[flat: i]) }
                y[r * c + i] = v
            }
        }
        return y
    }

    func testGolden() {
        let g = Graph()
        let y = g.layerNorm(g.constant(Tensor(shape: [1, 4], scalars: [1, 2, 3, 4])), weight: nil, bias: nil).value
        // mean 2.5, biased variance 1.25: (x − 2.5)/√1.25
        let expected: [Float] = [-1.3416355, -0.44721183, 0.44721183, 1.3416355]
        for i in 0..<4 { XCTAssertEqual(y[flat: i], expected[i], accuracy: 1e-5) }
    }

    func testMatchesNaive() {
        let x = randomNormalTensor([3, 4, 7], seed: 1, scale: 2)
        let w = randomTensor([7], seed: 2), b = randomTensor([7], seed: 3)
        for (wt, bt) in [(w, b), (nil, nil), (w, nil), (nil, b)] as [(Tensor?, Tensor?)] {
            let g = Graph()
            let y = g.layerNorm(g.constant(x), weight: wt.map { g.constant($0) }, bias: bt.map { g.constant($0) }).value
            XCTAssertEqual(y.shape, x.shape)
            let ref = naiveLayerNorm(x, wt, bt)
            for i in 0..<x.count {
                XCTAssertEqual(Double(y[flat: i]), ref[i], accuracy: 1e-5, "affine \(wt != nil) \(bt != nil) at \(i)")
            }
        }
    }

    func testGradientsAffine() {
        for shape in [[2, 3, 5], [1, 6], [4, 1, 3]] {
            let c = shape.last!
            assertGradientsMatch([randomTensor(shape, seed: 4), randomTensor([c], seed: 5, low: 0.5, high: 1.5),
                                  randomTensor([c], seed: 6)], "shape \(shape)") { g, v in
                g.layerNorm(v[0], weight: v[1], bias: v[2])
            }
        }
    }

    func testGradientsWithoutAffine() {
        for shape in [[3, 5], [2, 2, 4]] {
            assertGradientsMatch([randomTensor(shape, seed: 7)], "shape \(shape)") { g, v in
                g.layerNorm(v[0], weight: nil, bias: nil)
            }
        }
        // One channel: the output is the bias and no gradient reaches x.
        assertGradientsMatch([randomTensor([3, 1], seed: 8), randomTensor([1], seed: 9), randomTensor([1], seed: 10)]) { g, v in
            g.layerNorm(v[0], weight: v[1], bias: v[2])
        }
    }

    /// Using x and the weight twice must accumulate both contributions (never overwrite).
    func testGradientsAccumulateOverTwoUses() {
        assertGradientsMatch([randomTensor([3, 4], seed: 11), randomTensor([4], seed: 12), randomTensor([4], seed: 13)]) { g, v in
            g.nnTestConcat([g.layerNorm(v[0], weight: v[1], bias: v[2]), g.layerNorm(v[0], weight: v[1], bias: nil)])
        }
    }
}
