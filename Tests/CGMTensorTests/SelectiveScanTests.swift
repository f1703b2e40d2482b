import CGMTensor
import Foundation
import XCTest
import _TestSupport

/// The chunked SSD scan against its sequential twin, finite differences, streaming, clamp and hidden attention.
final class SelectiveScanTests: XCTestCase {
    /// Runs the chunked (chunk > 0) or sequential (chunk == nil) scan on `v` = [x, dt, A, B, C, D?, h0?].
    private func scan(_ g: Graph, _ v: [Var], useD: Bool, hasH0: Bool, chunk: Int?, final: Bool) -> [Var] {
        let d = useD ? v[5] : nil, h0 = hasH0 ? v[6] : nil
        if let chunk {
            if final {
                let r = g.selectiveScanWithFinalState(v[0], dt: v[1], A: v[2], B: v[3], C: v[4], D: d,
                                                      initialState: h0, chunk: chunk)
                return [r.y, r.finalState]
            }
            return [g.selectiveScan(v[0], dt: v[1], A: v[2], B: v[3], C: v[4], D: d, initialState: h0, chunk: chunk)]
        }
        return g.selectiveScanSequential(v[0], dt: v[1], A: v[2], B: v[3], C: v[4], D: d, initialState: h0,
                                         returnFinalState: final)
    }

    /// All outputs flattened into one vector (so one gradient check covers y and the final state).
    private func flat(_ g: Graph, _ outs: [Var]) -> Var {
        outs.count == 1 ? g.reshape(outs[0], to: [-1]) : g.concat(outs.map { g.reshape($0, to: [-1]) }, axis: 0)
    }

    // MARK: Values

    func testGoldenTwoSteps() {
        // One head, P = N = 1: h0 = Δ0 x0 B0, y0 = h0 C0 + D x0; h1 = e^{Δ1 A} h0 + Δ1 x1 B1, y1 = h1 C1 + D x1.
        let (x0, x1, d0, d1, a, b0, b1, c0, c1, dd): (Float, Float, Float, Float, Float, Float, Float, Float, Float, Float) =
            (1.5, -2, 0.5, 0.25, -2, 0.8, 1.2, -0.5, 2, 0.3)
        let h0 = d0 * x0 * b0
        let h1 = exp(d1 * a) * h0 + d1 * x1 * b1
        let expected: [Float] = [h0 * c0 + dd * x0, h1 * c1 + dd * x1]
        let g = Graph()
        let v = [Tensor(shape: [1, 2, 1, 1], scalars: [x0, x1]), Tensor(shape: [1, 2, 1], scalars: [d0, d1]),
                 Tensor(shape: [1], scalars: [a]), Tensor(shape: [1, 2, 1, 1], scalars: [b0, b1]),
                 Tensor(shape: [1, 2, 1, 1], scalars: [c0, c1]), Tensor(shape: [1], scalars: [dd])].map { g.constant($0) }
        for chunk in [nil, 1, 2, 5] as [Int?] {
            let outs = scan(g, v, useD: true, hasH0: false, chunk: chunk, final: true)
            assertClose(outs[0].value, Tensor(shape: [1, 2, 1, 1], scalars: expected), atol: 1e-6, rtol: 1e-5,
                        "chunk \(String(describing: chunk))")
            XCTAssertEqual(outs[1].value.scalars[0], h1, accuracy: 1e-6)
        }
    }

    /// (L, chunk, groups, D, initial state): chunks that do and do not divide L, one chunk, chunk 1, and
    /// chunks longer than `SSDKernel.triangleBlock` (32), whose triangular products run in several row blocks.
    private let configurations: [(Int, Int, Int, Bool, Bool)] = [
        (7, 4, 1, true, false), (7, 4, 2, true, false), (8, 4, 1, true, false), (8, 4, 2, false, false),
        (7, 4, 2, true, true), (8, 4, 1, false, true), (5, 8, 2, true, true), (6, 1, 1, true, false),
        (90, 40, 2, true, true), (75, 75, 1, true, false),
    ]

    func testChunkedMatchesSequentialForward() {
        for (i, (l, chunk, groups, useD, hasH0)) in configurations.enumerated() {
            let ops = SelectiveScanOperands(batch: 2, length: l, heads: 4, headdim: 3, groups: groups, dstate: 5,
                               seed: UInt64(10 * i), initialState: hasH0)
            let g = Graph(training: false, recording: false)
            let v = ops.list.map { g.constant($0) }
            let seq = scan(g, v, useD: useD, hasH0: hasH0, chunk: nil, final: true)
            let chk = scan(g, v, useD: useD, hasH0: hasH0, chunk: chunk, final: true)
            let name = "L \(l) chunk \(chunk) G \(groups) D \(useD) h0 \(hasH0)"
            assertClose(chk[0].value, seq[0].value, atol: 1e-5, rtol: 1e-4, "y, " + name)
            assertClose(chk[1].value, seq[1].value, atol: 1e-5, rtol: 1e-4, "final state, " + name)
            // Without the final state the last chunk skips its state update: y must not change.
            let yOnly = scan(g, v, useD: useD, hasH0: hasH0, chunk: chunk, final: false)[0]
            XCTAssertEqual(yOnly.value, chk[0].value, name)
        }
    }

    func testChunkedMatchesSequentialGradients() {
        for (i, (l, chunk, groups, useD, hasH0)) in configurations.enumerated() {
            let ops = SelectiveScanOperands(batch: 2, length: l, heads: 4, headdim: 3, groups: groups, dstate: 5,
                               seed: UInt64(10 * i + 3), initialState: hasH0)
            let name = "L \(l) chunk \(chunk) G \(groups) D \(useD) h0 \(hasH0)"
            for final in [false, true] {
                func gradients(_ chunk: Int?) -> [Tensor?] {
                    let g = Graph()
                    let v = ops.list.map { g.variable($0) }
                    let out = flat(g, scan(g, v, useD: useD, hasH0: hasH0, chunk: chunk, final: final))
                    g.backward(out, seed: randomTensor(out.shape, seed: 77))
                    return v.map { g.gradient(of: $0) }
                }
                let seq = gradients(nil), chk = gradients(chunk)
                for (k, label) in ["x", "dt", "A", "B", "C", "D", "h0"].enumerated() where k < seq.count {
                    if k == 5 && !useD { continue }
                    guard let s = seq[k], let c = chk[k] else {
                        XCTFail("missing gradient of \(label), \(name)")
                        continue
                    }
                    assertClose(c, s, atol: 2e-5, rtol: 2e-4, "d\(label), final \(final), " + name)
                }
            }
        }
    }

    /// Gradient reaching only the final state (y unused), as when a streaming caller keeps just h_L.
    func testGradientsFromFinalStateOnly() {
        let ops = SelectiveScanOperands(batch: 2, length: 9, heads: 4, headdim: 3, groups: 2, dstate: 5, seed: 33, initialState: true)
        func gradients(_ chunk: Int?) -> [Tensor?] {
            let g = Graph()
            let v = ops.list.map { g.variable($0) }
            let final = scan(g, v, useD: true, hasH0: true, chunk: chunk, final: true)[1]
            g.backward(final, seed: randomTensor(final.shape, seed: 34))
            return v.map { g.gradient(of: $0) }
        }
        let seq = gradients(nil), chk = gradients(4)
        for k in [0, 1, 2, 3, 6] {   // D and C do not reach h_L
            guard let a = chk[k], let b = seq[k] else { XCTFail("missing gradient \(k)"); continue }
            assertClose(a, b, atol: 2e-5, rtol: 2e-4, "final-state-only gradient \(k)")
        }
        XCTAssertTrue((chk[4]?.scalars ?? []).allSatisfy { $0 == 0 }, "C does not reach h_L")
    }

    /// Large Δ·|A| (decay e^{-160} per step) must neither overflow nor lose the recent inputs.
    func testStiffDecayIsStable() {
        let ops = SelectiveScanOperands(batch: 1, length: 9, heads: 2, headdim: 2, groups: 1, dstate: 3, seed: 5,
                           dtRange: (5, 10), aRange: (-16, -8))
        let g = Graph()
        let v = ops.list.map { g.variable($0) }
        let chk = scan(g, v, useD: true, hasH0: false, chunk: 4, final: true)
        let seq = scan(g, v, useD: true, hasH0: false, chunk: nil, final: true)
        XCTAssertTrue(chk[0].value.isFinite && chk[1].value.isFinite)
        assertClose(chk[0].value, seq[0].value, atol: 1e-5, rtol: 1e-4, "stiff y")
        let out = flat(g, chk)
        g.backward(out, seed: randomTensor(out.shape, seed: 1))
        for k in 0..<6 { XCTAssertTrue(g.gradient(of: v[k])?.isFinite ?? false, "gradient \(k) finite") }
    }

    // MARK: Finite differences

    func testSequentialGradientCheck() {
        for (groups, hasH0) in [(1, true), (2, false)] {
            let ops = SelectiveScanOperands(batch: 2, length: 4, heads: 2, headdim: 2, groups: groups, dstate: 3, seed: 40,
                               initialState: hasH0)
            assertGradientsMatch(ops.list, "sequential G \(groups) h0 \(hasH0)") { g, v in
                flat(g, scan(g, v, useD: true, hasH0: hasH0, chunk: nil, final: true))
            }
        }
    }

    func testChunkedGradientCheck() {
        for (groups, hasH0, chunk) in [(1, true, 2), (2, false, 3)] {
            let ops = SelectiveScanOperands(batch: 1, length: 5, heads: 2, headdim: 2, groups: groups, dstate: 3, seed: 50,
                               initialState: hasH0)
            assertGradientsMatch(ops.list, "chunked G \(groups) h0 \(hasH0) chunk \(chunk)") { g, v in
                flat(g, scan(g, v, useD: true, hasH0: hasH0, chunk: chunk, final: true))
            }
        }
    }

    // MARK: Packed operands and fused mixer kernels

    func testPackedScanMatchesSeparateSelectiveScanOperands() {
        for (groups, chunk) in [(1, 4), (2, 3)] {
            let (b, l, h, p, n) = (2, 7, 4, 3, 5), width = h * p + 2 * groups * n
            let ops = SelectiveScanOperands(batch: b, length: l, heads: h, headdim: p, groups: groups, dstate: n, seed: 90)
            let xBC = randomTensor([b, l, width], seed: 91)
            assertSameFunction([xBC, ops.dt, ops.a, ops.d], "packed G \(groups)") { g, v in
                g.selectiveScanPacked(v[0], heads: h, headdim: p, groups: groups, dstate: n, dt: v[1], A: v[2], D: v[3],
                                      chunk: chunk)
            } _: { g, v in
                let x = g.reshape(g.slice(v[0], axis: 2, range: 0..<(h * p)), to: [b, l, h, p])
                let bm = g.reshape(g.slice(v[0], axis: 2, range: (h * p)..<(h * p + groups * n)), to: [b, l, groups, n])
                let cm = g.reshape(g.slice(v[0], axis: 2, range: (h * p + groups * n)..<width), to: [b, l, groups, n])
                return g.selectiveScanSequential(x, dt: v[1], A: v[2], B: bm, C: cm, D: v[3])[0]
            }
        }
    }

    func testSharedValueScanMatchesRepeatedValue() {
        for (groups, chunk, hasH0) in [(1, 4, false), (2, 3, true)] {
            let (b, l, h, p, n) = (2, 7, 4, 3, 5)
            let ops = SelectiveScanOperands(batch: b, length: l, heads: h, headdim: p, groups: groups, dstate: n, seed: 98,
                               initialState: hasH0)
            let v = randomTensor([b, l, p], seed: 99)
            let inputs = [v, ops.dt, ops.a, ops.b, ops.c, ops.d] + (ops.h0.map { [$0] } ?? [])
            assertSameFunction(inputs, "shared value G \(groups) h0 \(hasH0)") { g, x in
                g.selectiveScanSharedValue(x[0], heads: h, dt: x[1], A: x[2], B: x[3], C: x[4], D: x[5],
                                           initialState: hasH0 ? x[6] : nil, chunk: chunk)
            } _: { g, x in
                let rep = g.concat(Array(repeating: g.reshape(x[0], to: [b, l, 1, p]), count: h), axis: 2)
                return g.selectiveScanSequential(rep, dt: x[1], A: x[2], B: x[3], C: x[4], D: x[5],
                                                 initialState: hasH0 ? x[6] : nil)[0]
            }
        }
    }


    // MARK: Streaming

    /// Scanning x[0..<L₁] and continuing from the returned state over x[L₁..<L] equals one scan of x.
    func testStreamingContinuesFromFinalState() {
        let (l, l1) = (11, 5)
        let ops = SelectiveScanOperands(batch: 2, length: l, heads: 4, headdim: 3, groups: 2, dstate: 4, seed: 60)
        let g = Graph(training: false, recording: false)
        let v = ops.list.map { g.constant($0) }
        func part(_ r: Range<Int>) -> [Var] {
            [g.slice(v[0], axis: 1, range: r), g.slice(v[1], axis: 1, range: r), v[2],
             g.slice(v[3], axis: 1, range: r), g.slice(v[4], axis: 1, range: r), v[5]]
        }
        for chunk in [nil, 4, 3] as [Int?] {
            let whole = scan(g, v, useD: true, hasH0: false, chunk: chunk, final: true)
            let first = scan(g, part(0..<l1), useD: true, hasH0: false, chunk: chunk, final: true)
            let second = scan(g, part(l1..<l) + [first[1]], useD: true, hasH0: true, chunk: chunk, final: true)
            let joined = g.concat([first[0], second[0]], axis: 1)
            assertClose(joined.value, whole[0].value, atol: 1e-5, rtol: 1e-4, "streamed y, chunk \(String(describing: chunk))")
            assertClose(second[1].value, whole[1].value, atol: 1e-5, rtol: 1e-4, "streamed final state")
        }
    }

    // MARK: Clamp

    func testClampValuesAndGradient() {
        let g = Graph()
        let x = g.variable(Tensor(shape: [6], scalars: [-2, 1e-3, 0.5, 10, 12, .nan]))
        let y = g.clamp(x, min: 1e-3, max: 10)
        let values = y.value.scalars
        XCTAssertEqual(Array(values.prefix(5)), [1e-3, 1e-3, 0.5, 10, 10])
        XCTAssertTrue(values[5].isNaN)
        g.backward(g.sum(g.scale(y, by: 3)))
        // Inside the closed range (boundaries included) the gradient passes; outside and at NaN it is 0.
        XCTAssertEqual(g.gradient(of: x)?.scalars, [0, 3, 3, 3, 0, 0])
        let away = randomTensor([3, 4], seed: 8, low: -3, high: 3)
        assertGradientsMatch([away.copy()]) { g, v in g.clamp(v[0], min: -1.25, max: 1.75) }
    }
}
