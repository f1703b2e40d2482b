import CGMTensor
import XCTest
import _TestSupport

final class ShapeOpsTests: XCTestCase {
    func testReshapeSharesStorageAndGradients() {
        let x = randomTensor([2, 3, 4], seed: 31)
        let g = Graph()
        let v = g.variable(x)
        let y = g.reshape(v, to: [6, -1])
        XCTAssertEqual(y.shape, [6, 4])
        XCTAssertEqual(y.value.pointer, v.value.pointer, "reshape must not copy")
        XCTAssertEqual(y.value.scalars, x.scalars)
        assertGradientsMatch([x]) { g, v in g.reshape(v[0], to: [4, 6]) }
        assertGradientsMatch([x]) { g, v in g.mul(g.reshape(v[0], to: [24]), g.reshape(v[0], to: [-1])) }
    }

    func testSqueezeUnsqueeze() {
        let g = Graph()
        let v = g.constant(randomTensor([2, 3], seed: 32))
        XCTAssertEqual(g.unsqueeze(v, axis: 0).shape, [1, 2, 3])
        XCTAssertEqual(g.unsqueeze(v, axis: 2).shape, [2, 3, 1])
        XCTAssertEqual(g.unsqueeze(v, axis: -1).shape, [2, 3, 1])
        XCTAssertEqual(g.squeeze(g.unsqueeze(v, axis: 1), axis: 1).shape, [2, 3])
        assertGradientsMatch([randomTensor([2, 1, 3], seed: 33)]) { g, v in g.unsqueeze(g.squeeze(v[0], axis: 1), axis: 0) }
    }

    func testPermuteRank4MatchesReferenceAndGradients() {
        let xs = [2, 3, 4, 5], axes = [2, 0, 3, 1]
        let x = randomTensor(xs, seed: 34)
        let g = Graph()
        let y = g.permute(g.constant(x), axes).value
        XCTAssertEqual(y.shape, [4, 2, 5, 3])
        for a in 0..<2 { for b in 0..<3 { for c in 0..<4 { for d in 0..<5 {
            XCTAssertEqual(y[c, a, d, b], x[a, b, c, d])
        } } } }
        assertGradientsMatch([x]) { g, v in g.permute(v[0], axes) }
        assertGradientsMatch([x]) { g, v in g.permute(v[0], [0, 2, 1, -1]) }
        // Identity and a permutation that collapses to 2-D.
        assertGradientsMatch([x]) { g, v in g.permute(v[0], [0, 1, 2, 3]) }
        assertGradientsMatch([x]) { g, v in g.permute(v[0], [2, 3, 0, 1]) }
    }

    func testTranspose() {
        let g = Graph()
        let y = g.transpose(g.constant(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])), 0, 1).value
        XCTAssertEqual(y.shape, [3, 2])
        XCTAssertEqual(y.scalars, [1, 4, 2, 5, 3, 6])
        assertGradientsMatch([randomTensor([2, 3, 4], seed: 35)]) { g, v in g.transpose(v[0], -1, -2) }
        assertGradientsMatch([randomTensor([2, 1, 4], seed: 36)]) { g, v in g.transpose(v[0], 0, 2) }
    }

    func testSliceAtEndsAndMiddle() {
        let x = randomTensor([3, 4, 2], seed: 37)
        let g = Graph()
        let v = g.constant(x)
        let first = g.slice(v, axis: 1, range: 0..<1).value
        XCTAssertEqual(first.shape, [3, 1, 2])
        XCTAssertEqual(first[2, 0, 1], x[2, 0, 1])
        let last = g.slice(v, axis: -2, range: 3..<4).value
        XCTAssertEqual(last[1, 0, 0], x[1, 3, 0])
        let mid = g.slice(v, axis: 0, range: 1..<3).value
        XCTAssertEqual(mid.shape, [2, 4, 2])
        XCTAssertEqual(mid[0, 2, 1], x[1, 2, 1])
        XCTAssertEqual(g.slice(v, axis: 2, range: 1..<1).value.shape, [3, 4, 0])
        for (axis, range) in [(1, 0..<1), (1, 3..<4), (1, 1..<3), (0, 2..<3), (2, 0..<2), (-1, 1..<2)] {
            assertGradientsMatch([x], "axis \(axis) range \(range)") { g, v in g.slice(v[0], axis: axis, range: range) }
        }
    }

    func testConcatThreeAlongMiddleAxis() {
        let a = randomTensor([2, 1, 3], seed: 38), b = randomTensor([2, 2, 3], seed: 39), c = randomTensor([2, 3, 3], seed: 40)
        let g = Graph()
        let y = g.concat([g.constant(a), g.constant(b), g.constant(c)], axis: 1).value
        XCTAssertEqual(y.shape, [2, 6, 3])
        for i in 0..<2 { for k in 0..<3 {
            XCTAssertEqual(y[i, 0, k], a[i, 0, k])
            for j in 0..<2 { XCTAssertEqual(y[i, 1 + j, k], b[i, j, k]) }
            for j in 0..<3 { XCTAssertEqual(y[i, 3 + j, k], c[i, j, k]) }
        } }
        assertGradientsMatch([a, b, c]) { g, v in g.concat(v, axis: 1) }
        assertGradientsMatch([a, a, a]) { g, v in g.concat(v, axis: -1) }
        assertGradientsMatch([b, c]) { g, v in g.concat(v, axis: 1) }
        assertGradientsMatch([a, randomTensor([1, 1, 3], seed: 41)]) { g, v in g.concat(v, axis: 0) }
        // The same Var twice: both blocks flow back into it.
        assertGradientsMatch([b]) { g, v in g.concat([v[0], v[0]], axis: 0) }
    }

    func testGatherRepeatedIndicesAccumulate() {
        let table = randomTensor([5, 3], seed: 42)
        let indices = [4, 0, 4, 2, 4, 0]
        let g = Graph()
        let t = g.variable(table)
        let y = g.gather(table: t, indices: indices, shape: [2, 3])
        XCTAssertEqual(y.shape, [2, 3, 3])
        for (p, idx) in indices.enumerated() {
            for j in 0..<3 { XCTAssertEqual(y.value.pointer[p * 3 + j], table[idx, j]) }
        }
        g.backward(g.sum(y))
        XCTAssertEqual(g.gradient(of: t)!.scalars, [2, 2, 2, 0, 0, 0, 1, 1, 1, 0, 0, 0, 3, 3, 3])
        assertGradientsMatch([table]) { g, v in g.gather(table: v[0], indices: indices, shape: [2, 3]) }
        assertGradientsMatch([table]) { g, v in g.gather(table: v[0], indices: [1, 1, 3]) }
        let h = Graph()
        XCTAssertEqual(h.gather(table: h.constant(table), indices: [], shape: [0]).shape, [0, 3])
    }
}
