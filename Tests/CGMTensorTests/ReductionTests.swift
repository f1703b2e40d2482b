import CGMTensor
import XCTest
import _TestSupport

/// Reference reduction by explicit multi-indices; returns the keepDims-shaped result.
func referenceSum(_ x: Tensor, axes: Set<Int>) -> Tensor {
    let kept = x.shape.indices.map { axes.contains($0) ? 1 : x.shape[$0] }
    var out = [Float](repeating: 0, count: Shape.count(kept))
    let strides = Shape.strides(x.shape), keptStrides = Shape.strides(kept)
    for flat in 0..<x.count {
        var o = 0
        for k in x.shape.indices where !axes.contains(k) { o += ((flat / strides[k]) % x.shape[k]) * keptStrides[k] }
        out[o] += x.pointer[flat]
    }
    return Tensor(shape: kept, scalars: out)
}

final class ReductionTests: XCTestCase {
    let x = randomTensor([2, 3, 4], seed: 21)
    let cases: [([Int], Set<Int>)] = [
        ([0], [0]), ([1], [1]), ([2], [2]), ([-1], [2]), ([0, 2], [0, 2]), ([2, 0], [0, 2]),
        ([-3, -2], [0, 1]), ([1, 2], [1, 2]), ([0, 1, 2], [0, 1, 2]), ([], []),
    ]

    func testSumAndMeanMatchReference() {
        for (axes, set) in cases {
            let ref = referenceSum(x, axes: set)
            let dropped = x.shape.indices.filter { !set.contains($0) }.map { x.shape[$0] }
            let n = Float(set.reduce(1) { $0 * x.shape[$1] })
            let g = Graph()
            let v = g.constant(x)
            let keep = g.sum(v, axes: axes, keepDims: true).value
            let drop = g.sum(v, axes: axes).value
            XCTAssertEqual(keep.shape, ref.shape, "axes \(axes)")
            XCTAssertEqual(drop.shape, dropped, "axes \(axes)")
            assertClose(keep, ref, "sum axes \(axes)")
            assertClose(drop, ref.reshaped(dropped), "sum axes \(axes)")
            let mean = g.mean(v, axes: axes, keepDims: true).value
            assertClose(mean, Tensor(shape: ref.shape, scalars: ref.scalars.map { $0 / n }), "mean axes \(axes)")
        }
    }

    func testSumAndMeanGradients() {
        for (axes, _) in cases {
            for keep in [false, true] {
                assertGradientsMatch([x], "sum axes \(axes) keepDims \(keep)") { g, v in
                    g.sum(v[0], axes: axes, keepDims: keep)
                }
                assertGradientsMatch([x], "mean axes \(axes) keepDims \(keep)") { g, v in
                    g.mean(v[0], axes: axes, keepDims: keep)
                }
            }
        }
        // Size-1 axes and reductions on both sides of kept axes.
        assertGradientsMatch([randomTensor([3, 1, 2, 5], seed: 22)]) { g, v in g.sum(v[0], axes: [1, 3]) }
        assertGradientsMatch([randomTensor([2, 3, 2, 3], seed: 23)]) { g, v in g.mean(v[0], axes: [0, 2], keepDims: true) }
    }

    func testFullReductions() {
        let g = Graph()
        let v = g.variable(Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        let s = g.sum(v), m = g.mean(v)
        XCTAssertEqual(s.shape, [])
        XCTAssertEqual(s.value.scalar, 10)
        XCTAssertEqual(m.shape, [])
        XCTAssertEqual(m.value.scalar, 2.5)
        g.backward(m)
        XCTAssertEqual(g.gradient(of: v)!.scalars, [0.25, 0.25, 0.25, 0.25])
        XCTAssertEqual(g.sum(g.constant(Tensor(scalar: 7))).value.scalar, 7)
        assertGradientsMatch([x]) { g, v in g.sum(v[0]) }
        assertGradientsMatch([x]) { g, v in g.mean(v[0]) }
    }

    /// Full and row reductions accumulate in Double: 10⁶ · 0.1 stays within Float rounding of 10⁵.
    func testLongSumIsAccurate() {
        let g = Graph()
        let v = g.constant(Tensor(repeating: 0.1, shape: [1000, 1000]))
        XCTAssertEqual(g.sum(v).value.scalar, 100_000, accuracy: 1)
        XCTAssertEqual(g.sum(v, axes: [1]).value.scalars[0], 100, accuracy: 1e-4)
    }
}
