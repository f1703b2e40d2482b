import CGMTensor
import Foundation
import XCTest
import _TestSupport

final class AttentionTests: XCTestCase {
    struct Case {
        var name: String
        var b = 2, h = 2, tq = 3, tk = 3, d = 4, dv = 3
        var causal = false
        var padding: [Bool]? = nil
        var scale: Float? = nil
    }

    /// Cases covering no mask, causal (square, Tq < Tk, Tq > Tk with fully masked early queries),
    /// and key padding including one batch row whose keys are all padded.
    static let cases: [Case] = [
        Case(name: "plain"),
        Case(name: "causal square", causal: true),
        Case(name: "causal Tq < Tk (bottom-right)", tq: 2, tk: 4, causal: true),
        Case(name: "causal Tq > Tk (first queries see nothing)", tq: 4, tk: 2, causal: true),
        Case(name: "Tq != Tk, explicit scale", tq: 2, tk: 5, d: 3, dv: 2, scale: 0.7),
        Case(name: "padding, batch 1 fully masked", tq: 3, tk: 4,
             padding: [false, false, true, false, true, true, true, true]),
        Case(name: "causal + padding", tq: 3, tk: 3, causal: true,
             padding: [true, false, false, false, false, true]),
        Case(name: "size-1 axes", b: 1, h: 1, tq: 1, tk: 1, d: 1, dv: 1, causal: true),
    ]

    /// Naive attention in Double: returns output O and weights P, and (given dO, dP) the gradients.
    struct Naive {
        var o: [Double], p: [Double], dq: [Double], dk: [Double], dv: [Double]
    }

    static func naive(_ c: Case, q: Tensor, k: Tensor, v: Tensor, dO: Tensor, dW: Tensor?) -> Naive {
        let (tq, tk, d, dvDim) = (c.tq, c.tk, c.d, c.dv)
        let scale = Double(c.scale ?? 1 / Float(d).squareRoot())
        var o = [Double](repeating: 0, count: c.b * c.h * tq * dvDim), p = [Double](repeating: 0, count: c.b * c.h * tq * tk)
        var gq = [Double](repeating: 0, count: q.count), gk = [Double](repeating: 0, count: k.count)
        var gv = [Double](repeating: 0, count: v.count)
        for bi in 0..<c.b {
            for hi in 0..<c.h {
                let bh = bi * c.h + hi
                for i in 0..<tq {
                    func visible(_ j: Int) -> Bool {
                        (!c.causal || j <= i + tk - tq) && !(c.padding?[bi * tk + j] ?? false)
                    }
                    var s = [Double](repeating: -.infinity, count: tk)
                    for j in 0..<tk where visible(j) {
                        var dot = 0.0
                        for e in 0..<d { dot += Double(q[bi, hi, i, e]) * Double(k[bi, hi, j, e]) }
                        s[j] = scale * dot
                    }
                    let m = s.max()!
                    var row = [Double](repeating: 0, count: tk)
                    if m > -.infinity {
                        let z = (0..<tk).filter(visible).map { exp(s[$0] - m) }.reduce(0, +)
                        for j in 0..<tk where visible(j) { row[j] = exp(s[j] - m) / z }
                    }
                    for j in 0..<tk { p[(bh * tq + i) * tk + j] = row[j] }
                    for e in 0..<dvDim {
                        var acc = 0.0
                        for j in 0..<tk { acc += row[j] * Double(v[bi, hi, j, e]) }
                        o[(bh * tq + i) * dvDim + e] = acc
                    }
                    // Gradients: dP = dO Vᵀ + dW; dS via the explicit softmax Jacobian.
                    var dp = [Double](repeating: 0, count: tk)
                    for j in 0..<tk {
                        for e in 0..<dvDim { dp[j] += Double(dO[bi, hi, i, e]) * Double(v[bi, hi, j, e]) }
                        if let dW { dp[j] += Double(dW[bi, hi, i, j]) }
                        for e in 0..<dvDim { gv[((bh * tk) + j) * dvDim + e] += row[j] * Double(dO[bi, hi, i, e]) }
                    }
                    for j in 0..<tk {
                        var ds = 0.0
                        for l in 0..<tk { ds += dp[l] * row[l] * ((l == j ? 1 : 0) - row[j]) }
                        for e in 0..<d {
                            gq[(bh * tq + i) * d + e] += scale * ds * Double(k[bi, hi, j, e])
                            gk[(bh * tk + j) * d + e] += scale * ds * Double(q[bi, hi, i, e])
                        }
                    }
                }
            }
        }
        return Naive(o: o, p: p, dq: gq, dk: gk, dv: gv)
    }

    private func assertMatches(_ t: Tensor, _ ref: [Double], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(t.count, ref.count, message, file: file, line: line)
        for i in 0..<min(t.count, ref.count) where !(abs(Double(t[flat: i]) - ref[i]) <= 1e-5 + 1e-4 * abs(ref[i])) {
            XCTFail("\(message): element \(i) \(t[flat: i]) vs \(ref[i])", file: file, line: line)
            return
        }
    }

    private func inputs(_ c: Case, seed: UInt64) -> [Tensor] {
        [randomTensor([c.b, c.h, c.tq, c.d], seed: seed), randomTensor([c.b, c.h, c.tk, c.d], seed: seed + 1),
         randomTensor([c.b, c.h, c.tk, c.dv], seed: seed + 2)]
    }

    func testGolden() {
        // One query, two keys with scores 0 and ln 3 (scale 1): weights 1/4, 3/4.
        let g = Graph()
        let q = g.constant(Tensor(shape: [1, 1, 1, 1], scalars: [1]))
        let k = g.constant(Tensor(shape: [1, 1, 2, 1], scalars: [0, Float(log(3.0))]))
        let v = g.constant(Tensor(shape: [1, 1, 2, 2], scalars: [4, 0, 0, 8]))
        let (o, w) = g.scaledDotProductAttention(q: q, k: k, v: v, causal: false, scale: 1, returnWeights: true)
        assertClose(w!.value, Tensor(shape: [1, 1, 1, 2], scalars: [0.25, 0.75]))
        assertClose(o.value, Tensor(shape: [1, 1, 1, 2], scalars: [1, 6]))
        XCTAssertNil(g.scaledDotProductAttention(q: q, k: k, v: v, causal: false).weights)
    }

    /// Forward values, weights and all three gradients (from both outputs) equal the naive version.
    func testMatchesNaiveForwardAndGradients() {
        for (n, c) in Self.cases.enumerated() {
            let x = inputs(c, seed: UInt64(10 * n + 1))
            let dO = randomTensor([c.b, c.h, c.tq, c.dv], seed: 100), dW = randomTensor([c.b, c.h, c.tq, c.tk], seed: 101)
            for useWeights in [false, true] {
                let g = Graph()
                let (q, k, v) = (g.variable(x[0]), g.variable(x[1]), g.variable(x[2]))
                let (o, w) = g.scaledDotProductAttention(q: q, k: k, v: v, causal: c.causal, keyPadding: c.padding,
                                                         scale: c.scale, returnWeights: useWeights)
                let ref = Self.naive(c, q: x[0], k: x[1], v: x[2], dO: dO, dW: useWeights ? dW : nil)
                assertMatches(o.value, ref.o, "\(c.name) output")
                XCTAssertTrue(o.value.isFinite, c.name)
                if useWeights {
                    assertMatches(w!.value, ref.p, "\(c.name) weights")
                    let both = g.nnTestConcat([o, w!])
                    g.backward(both, seed: Tensor(shape: both.shape, scalars: dO.scalars + dW.scalars))
                } else {
                    g.backward(o, seed: dO)
                }
                let zero = { (t: Tensor) in Tensor(zeros: t.shape) }
                assertMatches(g.gradient(of: q) ?? zero(x[0]), ref.dq, "\(c.name) dQ weights \(useWeights)")
                assertMatches(g.gradient(of: k) ?? zero(x[1]), ref.dk, "\(c.name) dK weights \(useWeights)")
                assertMatches(g.gradient(of: v) ?? zero(x[2]), ref.dv, "\(c.name) dV weights \(useWeights)")
            }
        }
    }

    /// Fully masked queries give exact zeros (no NaN) and pass no gradient.
    func testFullyMaskedRowsAreZero() {
        let c = Self.cases[5]
        let x = inputs(c, seed: 3)
        let g = Graph()
        let q = g.variable(x[0])
        let (o, w) = g.scaledDotProductAttention(q: q, k: g.variable(x[1]), v: g.variable(x[2]), causal: false,
                                                 keyPadding: c.padding, returnWeights: true)
        let half = o.value.count / 2   // batch 1 is the second half
        XCTAssertEqual(Array(o.value.scalars[half...]), [Float](repeating: 0, count: half))
        XCTAssertEqual(Array(w!.value.scalars[(w!.value.count / 2)...]), [Float](repeating: 0, count: w!.value.count / 2))
        g.backward(o, seed: randomTensor(o.shape, seed: 4))
        let dq = g.gradient(of: q)!
        XCTAssertTrue(dq.isFinite)
        XCTAssertEqual(Array(dq.scalars[(dq.count / 2)...]), [Float](repeating: 0, count: dq.count / 2))
        XCTAssertNotEqual(Array(dq.scalars[..<(dq.count / 2)]), [Float](repeating: 0, count: dq.count / 2))
    }

    func testGradientCheck() {
        for (n, c) in Self.cases.enumerated() {
            assertGradientsMatch(inputs(c, seed: UInt64(10 * n + 5)), c.name) { g, v in
                g.scaledDotProductAttention(q: v[0], k: v[1], v: v[2], causal: c.causal, keyPadding: c.padding,
                                            scale: c.scale).output
            }
        }
    }

    /// Gradient flowing from both the output and the weights.
    func testGradientCheckThroughWeights() {
        for c in [Self.cases[2], Self.cases[5]] {
            assertGradientsMatch(inputs(c, seed: 50), c.name) { g, v in
                let (o, w) = g.scaledDotProductAttention(q: v[0], k: v[1], v: v[2], causal: c.causal,
                                                         keyPadding: c.padding, returnWeights: true)
                return g.nnTestConcat([o, w!])
            }
        }
    }
}

// MARK: - Test-only op shared by the NN op tests

/// Flattens and concatenates its inputs into one 1-D tensor, so one gradient check can look at several
/// outputs, or at several uses of one input (its backward must then accumulate, not overwrite).
struct NNTestConcatBackward: BackwardRule {
    let parts: [Var]
    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0] else { return }
        var offset = 0
        for part in parts {
            let n = part.value.count
            if g.needsGrad(part) {
                let d = g.gradBuffer(part)
                for i in 0..<n { d[i] += dY.pointer[offset + i] }
            }
            offset += n
        }
    }
}

extension Graph {
    func nnTestConcat(_ parts: [Var]) -> Var {
        let total = parts.reduce(0) { $0 + $1.value.count }
        let out = Tensor(uninitialized: [total])
        var offset = 0
        for part in parts {
            (out.sharedMutablePointer + offset).update(from: part.value.pointer, count: part.value.count)
            offset += part.value.count
        }
        return record(out, inputs: parts, rule: NNTestConcatBackward(parts: parts))
    }
}
