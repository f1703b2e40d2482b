import CGMTensor
import XCTest
import _TestSupport

final class DropoutTests: XCTestCase {
    /// Dropout of a tensor of ones: the output is the scaled keep mask.
    private func mask(_ shape: [Int], p: Float, random: RandomContext, calls: Int = 1) -> Tensor {
        let g = Graph(training: true, recording: false, random: random)
        var y: Var = g.constant(Tensor(repeating: 1, shape: shape))
        for _ in 0..<calls { y = g.dropout(g.constant(Tensor(repeating: 1, shape: shape)), p: p) }
        return y.value
    }

    func testIdentityInEvalOrWithZeroProbability() {
        let x = randomTensor([3, 5], seed: 1)
        let eval = Graph(training: false)
        let xe = eval.variable(x)
        XCTAssertEqual(eval.dropout(xe, p: 0.5).id, xe.id)
        XCTAssertEqual(eval.random.callCounter, 0)
        let train = Graph(training: true)
        let xt = train.variable(x)
        XCTAssertEqual(train.dropout(xt, p: 0).id, xt.id)
        XCTAssertEqual(train.tapeLength, 0)
        XCTAssertEqual(train.random.callCounter, 1, "a training call takes a call-site number even at p = 0")
    }

    func testSameContextSameMaskAndScaling() {
        let ctx = RandomContext(seed: 42, step: 3)
        let a = mask([4, 9], p: 0.4, random: ctx), b = mask([4, 9], p: 0.4, random: ctx)
        XCTAssertEqual(a, b)
        let scale: Float = 1 / (1 - 0.4)
        var dropped = 0
        for i in 0..<a.count {
            XCTAssertTrue(a[flat: i] == 0 || a[flat: i] == scale, "element \(i) is \(a[flat: i])")
            if a[flat: i] == 0 { dropped += 1 }
        }
        XCTAssertTrue(dropped > 0 && dropped < a.count, "mask of 36 elements at p 0.4 should mix: \(dropped) dropped")
        XCTAssertNotEqual(a, mask([4, 9], p: 0.4, random: RandomContext(seed: 43, step: 3)), "seed must matter")
        XCTAssertNotEqual(a, mask([4, 9], p: 0.4, random: RandomContext(seed: 42, step: 4)), "step must matter")
        XCTAssertNotEqual(a, mask([4, 9], p: 0.4, random: ctx, calls: 2), "call site must matter")
    }

    /// A sample's mask depends on its global index, not on its row in the local batch.
    func testMaskDependsOnGlobalSampleIndexOnly() {
        let shape = [3, 7]   // 21 elements per row: not a multiple of the 4 lanes of a Philox block
        let four = mask([4] + shape, p: 0.5, random: RandomContext(seed: 9, step: 2, sampleIndices: [10, 11, 12, 13]))
        let one = mask([1] + shape, p: 0.5, random: RandomContext(seed: 9, step: 2, sampleIndices: [12]))
        let row = 21
        XCTAssertEqual(Array(four.scalars[(2 * row)..<(3 * row)]), one.scalars)
        XCTAssertNotEqual(Array(four.scalars[(1 * row)..<(2 * row)]), one.scalars)
        // Without sampleIndices the row index is the sample index.
        let plain = mask([13] + shape, p: 0.5, random: RandomContext(seed: 9, step: 2))
        XCTAssertEqual(Array(plain.scalars[(12 * row)..<(13 * row)]), one.scalars)
    }

    func testKeepFraction() {
        for p: Float in [0.1, 0.5, 0.8] {
            let m = mask([8, 10_000], p: p, random: RandomContext(seed: 1))
            var kept = 0
            for i in 0..<m.count where m[flat: i] != 0 { kept += 1 }
            // Binomial standard deviation ≤ 0.5/√80000 ≈ 0.0018; allow ~5σ.
            XCTAssertEqual(Double(kept) / Double(m.count), Double(1 - p), accuracy: 0.01, "p \(p)")
        }
        XCTAssertEqual(mask([2, 5], p: 1, random: RandomContext(seed: 1)), Tensor(zeros: [2, 5]))
    }

    /// Backward applies exactly the forward mask: dx = dy ⊙ m / (1 − p).
    func testBackwardUsesForwardMask() {
        let x = randomTensor([3, 10], seed: 2, low: 0.5, high: 1.5), dy = randomTensor([3, 10], seed: 3)
        let g = Graph(training: true, random: RandomContext(seed: 7))
        let xv = g.variable(x)
        let y = g.dropout(xv, p: 0.3)
        g.backward(y, seed: dy)
        let dx = g.gradient(of: xv)!
        for i in 0..<x.count {
            let m = y.value[flat: i] / x[flat: i]   // 0 or 1/(1 − p)
            XCTAssertEqual(dx[flat: i], dy[flat: i] * m, accuracy: 1e-6)
        }
    }

    /// The checker re-runs forward in fresh graphs with the same seed; each starts at call 0, so
    /// the masks repeat and finite differences see the same function.
    func testGradientCheckWithRepeatedMasks() {
        XCTAssertEqual(Graph(random: RandomContext(seed: 5)).random.callCounter, 0)
        let x = randomTensor([4, 6], seed: 4)
        assertGradientsMatch([x]) { g, v in g.dropout(g.dropout(v[0], p: 0.3), p: 0.5) }
        // The function checked really drops something (else the check could not tell masks apart).
        let g = Graph(training: true, recording: false, random: RandomContext(seed: 5))
        let y = g.dropout(g.constant(x), p: 0.3).value
        XCTAssertTrue(y.scalars.contains(0))
    }
}
