import CGMTensor
import XCTest
import _TestSupport

final class ActivationTests: XCTestCase {
    /// Values of `op` at `inputs`.
    func apply(_ inputs: [Float], _ op: (Graph, Var) -> Var) -> [Float] {
        let g = Graph()
        return op(g, g.constant(Tensor(shape: [inputs.count], scalars: inputs))).value.scalars
    }

    func assertValues(_ inputs: [Float], _ expected: [Float], accuracy: Float = 1e-6,
                      _ name: String, file: StaticString = #filePath, line: UInt = #line,
                      _ op: (Graph, Var) -> Var) {
        let got = apply(inputs, op)
        for (i, (y, e)) in zip(got, expected).enumerated() {
            XCTAssertEqual(y, e, accuracy: accuracy * max(1, abs(e)), "\(name)(\(inputs[i]))", file: file, line: line)
        }
    }

    func testGoldenValues() {
        assertValues([0, 1, -2], [1, 2.7182817, 0.13533528], "exp") { $0.exp($1) }
        assertValues([1, 2.7182817, 0.5], [0, 1, -0.6931472], "log") { $0.log($1) }
        assertValues([4, 2, 0], [2, 1.4142135, 0], "sqrt") { $0.sqrt($1) }
        assertValues([-3, 0.5], [9, 0.25], "square") { $0.square($1) }
        assertValues([0.5, -2, 20], [0.46211716, -0.9640276, 1], "tanh") { $0.tanh($1) }
        assertValues([0, 2, -2, 100, -100], [0.5, 0.8807971, 0.11920292, 1, 0], "sigmoid") { $0.sigmoid($1) }
        assertValues([-2, 0, 3], [0, 0, 3], "relu") { $0.relu($1) }
        assertValues([1, -1, 0, 3, -5], [0.8413447, -0.15865526, 0, 2.9959502, -1.4333e-6], "gelu") { $0.gelu($1) }
        assertValues([1, -1, 3], [0.841192, -0.158808, 2.9963627], accuracy: 2e-6, "gelu tanh") {
            $0.gelu($1, approximate: .tanh)
        }
        assertValues([-1, 2, -30], [-0.63212056, 2, -1], "elu") { $0.elu($1) }
        assertValues([-1], [-0.31606028], "elu alpha 0.5") { $0.elu($1, alpha: 0.5) }
        assertValues([0, 30, 1, -30, 20.5, 100], [0.6931472, 30, 1.3132616, 9.357623e-14, 20.5, 100], "softplus") {
            $0.softplus($1)
        }
        assertValues([1], [0.5 * 2.1269280], "softplus beta 2") { $0.softplus($1, beta: 2) }
        assertValues([1, -1, 0], [0.7310586, -0.26894143, 0], "silu") { $0.silu($1) }
    }

    /// Large |x| gives finite values and gradients (no e^{|x|} overflow, no 0 · ∞).
    func testStabilityForLargeInputs() {
        let big: [Float] = [-1000, -100, -88, 88, 100, 1000]
        let ops: [(String, (Graph, Var) -> Var)] = [
            ("sigmoid", { $0.sigmoid($1) }), ("softplus", { $0.softplus($1) }), ("silu", { $0.silu($1) }),
            ("tanh", { $0.tanh($1) }), ("gelu", { $0.gelu($1) }), ("gelu tanh", { $0.gelu($1, approximate: .tanh) }),
            ("elu", { $0.elu($1) }), ("relu", { $0.relu($1) }),
        ]
        for (name, op) in ops {
            let g = Graph()
            let x = g.variable(Tensor(shape: [big.count], scalars: big))
            let y = op(g, x)
            XCTAssertTrue(y.value.isFinite, "\(name) values \(y.value)")
            g.backward(g.sum(y))
            XCTAssertTrue(g.gradient(of: x)!.isFinite, "\(name) gradients \(g.gradient(of: x)!)")
        }
        let s = apply([-100, -1000], { $0.sigmoid($1) })
        XCTAssertTrue(s.allSatisfy { $0 >= 0 && $0 < 1e-30 }, "\(s)")
        XCTAssertEqual(apply([30, 1000], { $0.softplus($1) }), [30, 1000])
    }

    func testGradients() {
        let x = awayFromZero(randomTensor([3, 4], seed: 51, low: -2, high: 2), margin: 0.1)
        let positive = randomTensor([3, 4], seed: 52, low: 0.5, high: 2)
        let ops: [(String, Tensor, (Graph, Var) -> Var)] = [
            ("exp", x, { $0.exp($1) }), ("log", positive, { $0.log($1) }), ("sqrt", positive, { $0.sqrt($1) }),
            ("square", x, { $0.square($1) }), ("tanh", x, { $0.tanh($1) }), ("sigmoid", x, { $0.sigmoid($1) }),
            ("relu", x, { $0.relu($1) }), ("gelu", x, { $0.gelu($1) }),
            ("gelu tanh", x, { $0.gelu($1, approximate: .tanh) }), ("elu", x, { $0.elu($1) }),
            ("elu alpha 0.5", x, { $0.elu($1, alpha: 0.5) }), ("softplus", x, { $0.softplus($1) }),
            ("softplus beta 2", x, { $0.softplus($1, beta: 2) }), ("silu", x, { $0.silu($1) }),
        ]
        for (name, input, op) in ops {
            assertGradientsMatch([input], name) { g, v in op(g, v[0]) }
        }
        // Around the softplus threshold and in the linear region (βx > 20).
        let nearThreshold = Tensor(shape: [4], scalars: [19.5, 20.5, 25, -15])
        assertGradientsMatch([nearThreshold], "softplus near threshold") { g, v in g.softplus(v[0]) }
        assertGradientsMatch([nearThreshold], "softplus threshold 10") { g, v in g.softplus(v[0], threshold: 10) }
    }

    func testReluGradientIsMask() {
        let g = Graph()
        let x = g.variable(Tensor(shape: [4], scalars: [-1, 2, 0, 3]))
        g.backward(g.sum(g.relu(x)))
        XCTAssertEqual(g.gradient(of: x)!.scalars, [0, 1, 0, 1])
    }
}
