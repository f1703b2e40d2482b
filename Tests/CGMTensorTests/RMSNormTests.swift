import CGMTensor
import Foundation
import XCTest
import _TestSupport

final class RMSNormTests: XCTestCase {
    private func silu(_ z: Double) -> Double { z / (1 + exp(-z)) }

    /// Naive (gated) RMS norm in Double, groups of `groupSize` channels of the last axis.
    private func naive(_ x: Tensor, gate z: Tensor?, weight w: Tensor?, normBeforeGate: Bool = false,
                       groupSize: Int? = nil, eps: Double = 1e-5) -> [Double] {
        let c = x.shape.last!, gs = groupSize ?? c
        var y = [Double](repeating: 0, count: x.count)
        for start in stride(from: 0, to: x.count, by: gs) {
            var u = (0..<gs).map { Double(x[flat: start + $0]) }
            if let z, !normBeforeGate { for i in 0..<gs { u[i] *= silu(Double(z[flat: start + i])) } }
            let ms = u.map { $0 * $0 }.reduce(0, +) / Double(gs)
            for i in 0..<gs {
                var v = u[i] / (ms + eps).squareRoot()
                if let w { v *= Double(w[flat: (start + i) % c]) }
                if let z, normBeforeGate { v *= silu(Double(z[flat: start + i])) }
                y[start + i] = v
            }
        }
        return y
    }

    private func assertMatches(_ y: Tensor, _ ref: [Double], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(y.count, ref.count, file: file, line: line)
        for i in 0..<min(y.count, ref.count) where abs(Double(y[flat: i]) - ref[i]) > 1e-5 + 1e-5 * abs(ref[i]) {
            XCTFail("\(message): element \(i) \(y[flat: i]) vs \(ref[i])", file: file, line: line)
            return
        }
    }

    func testGolden() {
        let g = Graph()
        let y = g.rmsNorm(g.constant(Tensor(shape: [1, 2], scalars: [3, 4])), weight: g.constant(Tensor(shape: [2], scalars: [1, 2])), eps: 0).value
        // rms = √((9 + 16)/2) = √12.5
        XCTAssertEqual(y[flat: 0], 3 / Float(12.5).squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(y[flat: 1], 8 / Float(12.5).squareRoot(), accuracy: 1e-6)
    }

    func testMatchesNaive() {
        let x = randomNormalTensor([2, 3, 8], seed: 1), z = randomNormalTensor([2, 3, 8], seed: 2, scale: 2)
        let w = randomTensor([8], seed: 3)
        for gs in [nil, 4, 2] as [Int?] {
            let g = Graph()
            let (xv, zv, wv) = (g.constant(x), g.constant(z), g.constant(w))
            assertMatches(g.rmsNorm(xv, weight: wv, groupSize: gs).value, naive(x, gate: nil, weight: w, groupSize: gs), "plain gs \(String(describing: gs))")
            assertMatches(g.rmsNorm(xv, weight: nil, groupSize: gs).value, naive(x, gate: nil, weight: nil, groupSize: gs), "no weight")
            for nbg in [false, true] {
                assertMatches(g.rmsNormGated(xv, gate: zv, weight: wv, normBeforeGate: nbg, groupSize: gs).value,
                              naive(x, gate: z, weight: w, normBeforeGate: nbg, groupSize: gs),
                              "gated normBeforeGate \(nbg) gs \(String(describing: gs))")
            }
        }
    }

    /// The two gate placements really differ (so the tests above distinguish them).
    func testGateModesDiffer() {
        let g = Graph()
        let x = g.constant(randomNormalTensor([2, 6], seed: 4)), z = g.constant(randomNormalTensor([2, 6], seed: 5))
        let a = g.rmsNormGated(x, gate: z, weight: nil, normBeforeGate: false).value
        let b = g.rmsNormGated(x, gate: z, weight: nil, normBeforeGate: true).value
        XCTAssertNotEqual(a, b)
    }

    func testGradients() {
        for shape in [[2, 3, 5], [1, 4], [3, 1]] {
            let c = shape.last!
            let x0 = c == 1 ? randomTensor(shape, seed: 6, low: 0.3, high: 1.5) : randomTensor(shape, seed: 6)
            assertGradientsMatch([x0, randomTensor([c], seed: 7, low: 0.5, high: 1.5)], "shape \(shape)") { g, v in
                g.rmsNorm(v[0], weight: v[1])
            }
            // With one channel y ≈ sign(x): keep x away from the kink at 0.
            let x = c == 1 ? randomTensor(shape, seed: 8, low: 0.3, high: 1.5) : randomTensor(shape, seed: 8)
            assertGradientsMatch([x], "no weight, shape \(shape)") { g, v in
                g.rmsNorm(v[0], weight: nil)
            }
        }
        assertGradientsMatch([randomTensor([3, 6], seed: 9), randomTensor([6], seed: 10)], "groupSize 3") { g, v in
            g.rmsNorm(v[0], weight: v[1], groupSize: 3)
        }
    }

    func testGatedGradients() {
        for nbg in [false, true] {
            for gs in [nil, 2] as [Int?] {
                let x = randomTensor([2, 2, 4], seed: 11), z = randomNormalTensor([2, 2, 4], seed: 12, scale: 1.5)
                assertGradientsMatch([x, z, randomTensor([4], seed: 13, low: 0.5, high: 1.5)],
                                     "normBeforeGate \(nbg) groupSize \(String(describing: gs))") { g, v in
                    g.rmsNormGated(v[0], gate: v[1], weight: v[2], normBeforeGate: nbg, groupSize: gs)
                }
                assertGradientsMatch([x, z], "no weight, normBeforeGate \(nbg)") { g, v in
                    g.rmsNormGated(v[0], gate: v[1], weight: nil, normBeforeGate: nbg, groupSize: gs)
                }
            }
        }
    }

    /// x used as both input and gate: the two gradient contributions must add up.
    func testGradientsAccumulateWhenInputIsAlsoGate() {
        assertGradientsMatch([randomTensor([2, 5], seed: 14), randomTensor([5], seed: 15)]) { g, v in
            g.rmsNormGated(v[0], gate: v[0], weight: v[1])
        }
    }
}
