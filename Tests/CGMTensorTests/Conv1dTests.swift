import CGMTensor
import XCTest
import _TestSupport

final class Conv1dTests: XCTestCase {
    /// Naive conv1d in Double: x (B, T, Cin), w (Cout, Cin/groups, K), PyTorch cross-correlation.
    private func naive(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, dilation: Int, groups: Int, causal: Bool) -> [Double] {
        let (b, t) = (x.shape[0], x.shape[1])
        let (cout, cinG, k) = (w.shape[0], w.shape[1], w.shape[2])
        let coutG = cout / groups
        let pad = causal ? dilation * (k - 1) : dilation * (k - 1) / 2
        var y = [Double](repeating: 0, count: b * t * cout)
        for bi in 0..<b {
            for ti in 0..<t {
                for o in 0..<cout {
                    var s = bias.map { Double($0[o]) } ?? 0
                    let grp = o / coutG
                    for ci in 0..<cinG {
                        for tap in 0..<k {
                            let src = ti + tap * dilation - pad
                            guard src >= 0 && src < t else { continue }
                            s += Double(w[o, ci, tap]) * Double(x[bi, src, grp * cinG + ci])
                        }
                    }
                    y[(bi * t + ti) * cout + o] = s
                }
            }
        }
        return y
    }

    /// (name, B, T, Cin, Cout, K, dilation, groups, causal)
    private let configurations: [(String, Int, Int, Int, Int, Int, Int, Int, Bool)] = [
        ("dense dilation 2", 2, 6, 3, 4, 3, 2, 1, true),
        ("dense non-causal", 2, 5, 3, 2, 3, 1, 1, false),
        ("dense non-causal dilation 2, even K", 1, 6, 2, 3, 2, 2, 1, false),
        ("grouped", 2, 5, 4, 6, 3, 1, 2, true),
        ("grouped non-causal", 1, 5, 4, 4, 3, 2, 2, false),
        ("depthwise K 4", 2, 6, 5, 5, 4, 1, 5, true),
        ("depthwise non-causal", 2, 5, 3, 3, 3, 2, 3, false),
        ("T below receptive field", 2, 3, 2, 3, 4, 2, 1, true),
        ("depthwise T below receptive field", 1, 2, 3, 3, 4, 1, 3, true),
        ("K 1", 2, 3, 3, 2, 1, 1, 1, true),
    ]

    func testGolden() {
        // Causal K = 2: y[t] = w[0]·x[t−1] + w[1]·x[t] + bias.
        let g = Graph()
        let x = g.constant(Tensor(shape: [1, 3, 1], scalars: [1, 2, 3]))
        let w = g.constant(Tensor(shape: [1, 1, 2], scalars: [1, 10]))
        XCTAssertEqual(g.conv1d(x, weight: w, bias: g.constant(Tensor(shape: [1], scalars: [0.5]))).value.scalars,
                       [10.5, 21.5, 32.5])
        // Non-causal "same", K = 3: y[t] = w[0]·x[t−1] + w[1]·x[t] + w[2]·x[t+1].
        let w3 = g.constant(Tensor(shape: [1, 1, 3], scalars: [1, 10, 100]))
        XCTAssertEqual(g.conv1d(x, weight: w3, bias: nil, causal: false).value.scalars, [210, 321, 32])
    }

    func testMatchesNaive() {
        for (name, b, t, cin, cout, k, d, groups, causal) in configurations where causal || (d * (k - 1)) % 2 == 0 {
            let x = randomTensor([b, t, cin], seed: 1), w = randomTensor([cout, cin / groups, k], seed: 2)
            let bias = randomTensor([cout], seed: 3)
            for withBias in [true, false] {
                let g = Graph()
                let y = g.conv1d(g.constant(x), weight: g.constant(w), bias: withBias ? g.constant(bias) : nil,
                                 dilation: d, groups: groups, causal: causal).value
                XCTAssertEqual(y.shape, [b, t, cout], name)
                let ref = naive(x, w, withBias ? bias : nil, dilation: d, groups: groups, causal: causal)
                for i in 0..<ref.count {
                    XCTAssertEqual(Double(y[flat: i]), ref[i], accuracy: 1e-5, "\(name) bias \(withBias) element \(i)")
                }
            }
        }
    }

    /// Changing future inputs leaves earlier causal outputs unchanged.
    func testCausality() {
        var x = randomTensor([1, 8, 3], seed: 4)
        let w = randomTensor([2, 3, 3], seed: 5)
        func run(_ x: Tensor) -> Tensor {
            let g = Graph()
            return g.conv1d(g.constant(x), weight: g.constant(w), bias: nil, dilation: 2).value
        }
        let before = run(x)
        for c in 0..<3 { x[0, 5, c] += 1 }
        let after = run(x)
        XCTAssertEqual(Array(before.scalars[0..<(5 * 2)]), Array(after.scalars[0..<(5 * 2)]))
        XCTAssertNotEqual(Array(before.scalars[(5 * 2)...]), Array(after.scalars[(5 * 2)...]))
    }

    func testGradients() {
        for (name, b, t, cin, cout, k, d, groups, causal) in configurations where causal || (d * (k - 1)) % 2 == 0 {
            let inputs = [randomTensor([b, t, cin], seed: 6), randomTensor([cout, cin / groups, k], seed: 7),
                          randomTensor([cout], seed: 8)]
            assertGradientsMatch(inputs, name) { g, v in
                g.conv1d(v[0], weight: v[1], bias: v[2], dilation: d, groups: groups, causal: causal)
            }
            assertGradientsMatch(Array(inputs.prefix(2)), "\(name) without bias") { g, v in
                g.conv1d(v[0], weight: v[1], bias: nil, dilation: d, groups: groups, causal: causal)
            }
        }
    }

    /// Two convolutions of the same input with the same weight: gradients accumulate (dense and depthwise).
    func testGradientsAccumulateOverTwoUses() {
        assertGradientsMatch([randomTensor([1, 4, 2], seed: 9), randomTensor([3, 2, 2], seed: 10)], "dense") { g, v in
            g.nnTestConcat([g.conv1d(v[0], weight: v[1], bias: nil), g.conv1d(v[0], weight: v[1], bias: nil, dilation: 2)])
        }
        assertGradientsMatch([randomTensor([1, 4, 2], seed: 11), randomTensor([2, 1, 3], seed: 12)], "depthwise") { g, v in
            g.nnTestConcat([g.conv1d(v[0], weight: v[1], bias: nil, groups: 2),
                            g.conv1d(v[0], weight: v[1], bias: nil, groups: 2, causal: false)])
        }
    }
}
