// The Mamba-2 mixer's fused kernels (Mamba2MixerOps.swift) against their unfused compositions, values and
// gradients, and hidden attention (HiddenAttention.swift, SSM-CGM eqs. 17–25) against the scan it explains.

import CGMTensor
import Layers
import XCTest
import _TestSupport

final class Mamba2KernelTests: XCTestCase {
    // MARK: Fused mixer kernels

    func testHeadMeanAndMESCombineMatchUnfused() {
        let x = randomTensor([2, 3, 14], seed: 100)
        assertSameFunction([x], "headMean") { g, v in
            g.headMean(v[0], columns: 1..<13, heads: 4)
        } _: { g, v in
            g.mean(g.reshape(g.slice(v[0], axis: 2, range: 1..<13), to: [2, 3, 4, 3]), axes: [2])
        }
        assertGradientsMatch([x], "headMean") { g, v in g.headMean(v[0], columns: 1..<13, heads: 4) }
        let yHat = randomTensor([2, 3, 4, 3], seed: 101), v = randomTensor([2, 3, 3], seed: 102)
        let s = randomTensor([4], seed: 103), d = randomTensor([4], seed: 104)
        assertSameFunction([yHat, v, s, d], "mesCombine") { g, a in
            g.mesCombine(a[0], value: a[1], scale: a[2], skip: a[3])
        } _: { g, a in
            let v4 = g.reshape(a[1], to: [2, 3, 1, 3])
            return g.add(g.mul(a[0], g.reshape(a[2], to: [4, 1])), g.mul(v4, g.reshape(a[3], to: [4, 1])))
        }
        assertGradientsMatch([yHat, v, s, d], "mesCombine") { g, a in
            g.mesCombine(a[0], value: a[1], scale: a[2], skip: a[3])
        }
    }

    func testFusedConvSiLUMatchesUnfused() {
        for (l, k) in [(6, 3), (2, 4), (5, 1)] {
            let x = randomTensor([2, l, 9], seed: 92), w = randomTensor([5, 1, k], seed: 93), b = randomTensor([5], seed: 94)
            assertSameFunction([x, w, b], "conv L \(l) K \(k)") { g, v in
                g.depthwiseCausalConvSiLU(v[0], columns: 3..<8, weight: v[1], bias: v[2])
            } _: { g, v in
                g.silu(g.conv1d(g.slice(v[0], axis: 2, range: 3..<8), weight: v[1], bias: v[2], groups: 5, causal: true))
            }
            assertGradientsMatch([x, w, b], "fused conv L \(l) K \(k)") { g, v in
                g.depthwiseCausalConvSiLU(v[0], columns: 3..<8, weight: v[1], bias: v[2])
            }
        }
    }

    func testFusedGatedNormMatchesUnfused() {
        let y = randomNormalTensor([2, 3, 8], seed: 95), src = randomNormalTensor([2, 3, 13], seed: 96, scale: 2)
        let w = randomTensor([8], seed: 97, low: 0.5, high: 1.5)
        for gs in [8, 4, 2] {
            assertSameFunction([y, src, w], "gated norm group \(gs)") { g, v in
                g.gatedRMSNorm(v[0], gateSource: v[1], gateColumns: 2..<10, weight: v[2], groupSize: gs)
            } _: { g, v in
                g.rmsNormGated(v[0], gate: g.slice(v[1], axis: 2, range: 2..<10), weight: v[2], normBeforeGate: false,
                               groupSize: gs)
            }
            assertGradientsMatch([y, src, w], "fused gated norm group \(gs)") { g, v in
                g.gatedRMSNorm(v[0], gateSource: v[1], gateColumns: 2..<10, weight: v[2], groupSize: gs)
            }
        }
    }

    // MARK: Hidden attention

    /// z = Σ_j K_ℓj x_j reproduces the scan without its D term (eqs. 2, 17, 22–23).
    func testHiddenAttentionReproducesScan() {
        for (groups, useScale) in [(1, false), (2, true)] {
            let ops = SelectiveScanOperands(batch: 2, length: 9, heads: 4, headdim: 3, groups: groups, dstate: 5, seed: 70)
            let scale = randomTensor([4], seed: 71, low: 0.5, high: 2)
            let g = Graph(training: false, recording: false)
            // With a B scale s_h, K includes s_h; the scan sees it as s_h x.
            var xs = ops.x.copy()
            if useScale {
                xs.withUnsafeMutableBufferPointer { p in
                    for i in 0..<p.count { p[i] *= scale[flat: (i / 3) % 4] }
                }
            }
            let y = g.selectiveScan(g.constant(xs), dt: g.constant(ops.dt), A: g.constant(ops.a), B: g.constant(ops.b),
                                    C: g.constant(ops.c), D: nil, chunk: 4).value
            let att = SelectiveScanAnalysis.hiddenAttention(dt: ops.dt, A: ops.a, B: ops.b, C: ops.c, headdim: 3,
                                                            bScale: useScale ? scale : nil)
            let (l, hs, p) = (9, 4, 3)
            let z = Tensor(zeros: y.shape)
            let zp = z.sharedMutablePointer
            for b in 0..<2 {
                for h in 0..<hs {
                    for ell in 0..<l {
                        for j in 0..<l {
                            let k = att.kernel[b, h, ell, j]
                            if j > ell { XCTAssertEqual(k, 0); XCTAssertEqual(att.alpha[b, h, ell, j], 0); continue }
                            for c in 0..<p { zp[((b * l + ell) * hs + h) * p + c] += k * ops.x[b, j, h, c] }
                        }
                    }
                }
            }
            assertClose(z, y, atol: 1e-5, rtol: 1e-4, "z = Σ K x, G \(groups) scale \(useScale)")
            // α rows are distributions over j ≤ ℓ; ψ = P|K|; ᾱ follows eq. 25.
            for b in 0..<2 {
                for ell in 0..<l {
                    var meanRow: Float = 0
                    for h in 0..<hs {
                        var s: Float = 0
                        for j in 0...ell {
                            s += att.alpha[b, h, ell, j]
                            XCTAssertEqual(att.psi[b, h, ell, j], 3 * abs(att.kernel[b, h, ell, j]), accuracy: 1e-5)
                        }
                        XCTAssertEqual(s, 1, accuracy: 1e-5)
                    }
                    for j in 0...ell { meanRow += att.alphaMean[b, ell, j] }
                    XCTAssertEqual(meanRow, 1, accuracy: 1e-5)
                }
            }
            // ᾱ with τ = 1 is proportional to the head-mean ψ (+ ε).
            let ell = 6
            let m = (0...ell).map { j in (0..<hs).map { Double(att.psi[1, $0, ell, j]) }.reduce(0, +) / Double(hs) + 1e-9 }
            let total = m.reduce(0, +)
            for j in 0...ell { XCTAssertEqual(Double(att.alphaMean[1, ell, j]), m[j] / total, accuracy: 1e-5) }
        }
    }

    func testHiddenAttentionTemperatureSharpens() {
        let ops = SelectiveScanOperands(batch: 1, length: 6, heads: 2, headdim: 2, groups: 1, dstate: 3, seed: 80)
        let soft = SelectiveScanAnalysis.hiddenAttention(dt: ops.dt, A: ops.a, B: ops.b, C: ops.c, headdim: 2, tau: 4)
        let sharp = SelectiveScanAnalysis.hiddenAttention(dt: ops.dt, A: ops.a, B: ops.b, C: ops.c, headdim: 2, tau: 0.25)
        let row = (0...5).map { soft.alpha[0, 0, 5, $0] }, rowSharp = (0...5).map { sharp.alpha[0, 0, 5, $0] }
        XCTAssertGreaterThan(rowSharp.max()!, row.max()!)
    }
}
