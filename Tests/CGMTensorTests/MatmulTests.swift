import CGMTensor
import XCTest
import _TestSupport

final class MatmulTests: XCTestCase {
    func testMatmulGolden() {
        let g = Graph()
        let a = g.constant(Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))
        let b = g.constant(Tensor(shape: [3, 2], scalars: [7, 8, 9, 10, 11, 12]))
        XCTAssertEqual(g.matmul(a, b).value.scalars, [58, 64, 139, 154])
    }

    func testMatmulGradients() {
        assertGradientsMatch([randomTensor([3, 4], seed: 1), randomTensor([4, 5], seed: 2)]) { g, x in
            g.matmul(x[0], x[1])
        }
    }

    func testBatchedMatmulGradientsAllTransposes() {
        for ta in [false, true] {
            for tb in [false, true] {
                let a = randomTensor(ta ? [2, 4, 3] : [2, 3, 4], seed: 3)
                let b = randomTensor(tb ? [2, 5, 4] : [2, 4, 5], seed: 4)
                assertGradientsMatch([a, b], "transposeA \(ta) transposeB \(tb)") { g, x in
                    g.batchedMatmul(x[0], x[1], transposeA: ta, transposeB: tb)
                }
            }
        }
    }

    func testLinearMatchesMatmulAndGradients() {
        let x = randomTensor([2, 3, 4], seed: 5), w = randomTensor([6, 4], seed: 6), b = randomTensor([6], seed: 7)
        let g = Graph()
        let y = g.linear(g.constant(x), weight: g.constant(w), bias: g.constant(b)).value
        XCTAssertEqual(y.shape, [2, 3, 6])
        for r in 0..<6 {
            for o in 0..<6 {
                var s = b[o]
                for i in 0..<4 { s += x.pointer[r * 4 + i] * w[o, i] }
                XCTAssertEqual(y.pointer[r * 6 + o], s, accuracy: 1e-5)
            }
        }
        assertGradientsMatch([x, w, b]) { g, v in g.linear(v[0], weight: v[1], bias: v[2]) }
    }

    /// The checker must be able to fail: a deliberately wrong backward rule is caught.
    func testGradientCheckCatchesAWrongRule() {
        struct WrongDouble: BackwardRule {
            let x: Var
            func backward(_ d: [Tensor?], _ g: Graph) {
                let gx = g.gradBuffer(x)
                for i in 0..<d[0]!.count { gx[i] += d[0]!.pointer[i] } // should be 2·dY
            }
        }
        let report = computeGradientCheck([randomTensor([5], seed: 9)]) { g, v in
            let out = Tensor(shape: v[0].shape, scalars: v[0].value.scalars.map { 2 * $0 })
            return g.record(out, inputs: [v[0]], rule: WrongDouble(x: v[0]))
        }
        XCTAssertFalse(report.passed, "a gradient off by a factor 2 must fail the check")
    }
}

final class GraphLifetimeTests: XCTestCase {
    /// A recorded step's graph (and its activations) must be freed once backward has run:
    /// rules hold Vars, Vars hold the graph, so only consuming the tape breaks the cycle.
    func testGraphIsFreedAfterBackward() {
        weak var weakGraph: Graph?
        do {
            let g = Graph()
            weakGraph = g
            let a = g.variable(randomTensor([4, 4], seed: 1))
            let y = g.matmul(a, a)
            g.backward(y, seed: Tensor(repeating: 1, shape: [4, 4]))
            XCTAssertEqual(g.tapeLength, 0)
        }
        XCTAssertNil(weakGraph, "the graph leaked after backward")
    }
}
