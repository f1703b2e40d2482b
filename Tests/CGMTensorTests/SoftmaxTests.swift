import CGMTensor
import Foundation
import XCTest
import _TestSupport

final class SoftmaxTests: XCTestCase {
    func testGoldenValues() {
        let g = Graph()
        let x = g.constant(Tensor(shape: [3], scalars: [1, 2, 3]))
        let expected = Tensor(shape: [3], scalars: [0.09003057, 0.24472847, 0.66524096])
        assertClose(g.softmax(x).value, expected, atol: 1e-7)
        assertClose(g.logSoftmax(x).value,
                    Tensor(shape: [3], scalars: [-2.4076059, -1.4076059, -0.40760596]), atol: 1e-6)
        // Shift invariance and no overflow for large logits.
        let big = g.constant(Tensor(shape: [3], scalars: [1001, 1002, 1003]))
        assertClose(g.softmax(big).value, expected, atol: 1e-6)
        assertClose(g.logSoftmax(big).value, g.logSoftmax(x).value, atol: 1e-4)
        let tiny = g.softmax(g.constant(Tensor(shape: [2], scalars: [0, -1000]))).value
        XCTAssertEqual(tiny.scalars, [1, 0])
    }

    /// Every softmax row sums to 1 along the chosen axis, and exp(logSoftmax) = softmax.
    func testAnyAxisNormalizes() {
        let x = randomTensor([2, 3, 4], seed: 61, low: -3, high: 3)
        let g = Graph()
        let v = g.constant(x)
        for axis in [0, 1, 2, -1, -3] {
            let y = g.softmax(v, axis: axis)
            let s = g.sum(y, axes: [axis]).value
            assertClose(s, Tensor(repeating: 1, shape: s.shape), atol: 1e-6, "axis \(axis)")
            assertClose(g.exp(g.logSoftmax(v, axis: axis)).value, y.value, atol: 1e-6, "axis \(axis)")
        }
        // Axis 1 by hand: column (0, ·, 2).
        let y = g.softmax(v, axis: 1).value
        let column = (0..<3).map { x[0, $0, 2] }
        let m = column.max()!
        let e = column.map { Foundation.exp($0 - m) }
        for j in 0..<3 { XCTAssertEqual(y[0, j, 2], e[j] / e.reduce(0, +), accuracy: 1e-6) }
    }

    func testGradientsAnyAxis() {
        let x = randomTensor([2, 3, 4], seed: 62, low: -2, high: 2)
        for axis in [-1, 0, 1] {
            assertGradientsMatch([x], "softmax axis \(axis)") { g, v in g.softmax(v[0], axis: axis) }
            assertGradientsMatch([x], "logSoftmax axis \(axis)") { g, v in g.logSoftmax(v[0], axis: axis) }
        }
        // A size-1 softmax axis: output is constant 1 (log 0), gradient 0.
        assertGradientsMatch([randomTensor([3, 1], seed: 63)]) { g, v in g.softmax(v[0]) }
        assertGradientsMatch([randomTensor([3, 1], seed: 63)]) { g, v in g.logSoftmax(v[0]) }
    }

    /// Cross-entropy through logSoftmax: gradient is softmax − onehot.
    func testLogSoftmaxCrossEntropyGradient() {
        let g = Graph()
        let x = g.variable(Tensor(shape: [1, 3], scalars: [1, 2, 3]))
        let oneHot = g.constant(Tensor(shape: [1, 3], scalars: [0, 1, 0]))
        g.backward(g.neg(g.sum(g.mul(g.logSoftmax(x), oneHot))))
        assertClose(g.gradient(of: x)!, Tensor(shape: [1, 3], scalars: [0.09003057, 0.24472847 - 1, 0.66524096]),
                    atol: 1e-6)
    }
}
