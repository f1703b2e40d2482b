// The LSTM's blocked step kernel (RecurrentGEMM) against OpenBLAS `cblas_sgemm` for the forward
// (gates = [x | h] · [W_ih | W_hh]ᵀ) and backward (dh = dâ · W_hh, overwrite) shapes, with row strides
// wider than the rows as the LSTM uses them, for BOTH tile shapes (AVX-512 4 × 64 and AVX2 6 × 16: each runs on
// any x86-64 build, only the build's own fits its register file) and row counts that leave a shorter last tile.
// (The LSTM takes this kernel only in FMA builds; in a plain debug build it stays on OpenBLAS, so this test is
// what covers the kernel there.)

@testable import CGMTensor
import XCTest
import _TestSupport

final class LSTMRecurrentKernelTests: XCTestCase {
    func testBlockedKernelMatchesBLAS() {
        for tile in RecurrentGEMM.Tile.allCases {
            for (rows, k, n, lda, ldc, accumulate) in [(8, 24, 128, 40, 128, true),    // forward: [x | h] rows of XH
                                                       (4, 128, 64, 128, 72, false),   // backward: dâ rows → dh
                                                       (12, 5, 192, 5, 192, true),
                                                       (7, 76, 256, 80, 256, false),   // 4 + 3 rows, 6 + 1 rows
                                                       (13, 9, 64, 9, 64, true)] {      // 3·4 + 1, 2·6 + 1
                let a = randomTensor([rows, lda], seed: UInt64(rows * k))
                let w = randomTensor([k, n], seed: UInt64(n))
                let c0 = randomTensor([rows + 1, ldc], seed: 7)   // one row past C: must stay untouched
                let mine = c0.copy(), reference = c0.copy()
                RecurrentGEMM.multiply(rows: rows, n: n, k: k, a: a.pointer, lda: lda, w: w.pointer,
                                       c: mine.sharedMutablePointer, ldc: ldc, accumulate: accumulate, tile: tile)
                BLAS.gemm(transA: false, transB: false, m: rows, n: n, k: k, a: a.pointer, lda: lda, b: w.pointer, ldb: n,
                          beta: accumulate ? 1 : 0, c: reference.sharedMutablePointer, ldc: ldc)
                assertClose(mine, reference, atol: 1e-5, rtol: 1e-5, "\(tile): rows \(rows) k \(k) n \(n)")
                for r in 0..<rows {   // columns past n are untouched
                    for j in n..<ldc { XCTAssertEqual(mine.pointer[r * ldc + j], c0.pointer[r * ldc + j]) }
                }
                for j in 0..<ldc {   // the row after the last is untouched (the short last tile stops there)
                    XCTAssertEqual(mine.pointer[rows * ldc + j], c0.pointer[rows * ldc + j])
                }
            }
        }
        RecurrentGEMM.forcedForTesting = true
        defer { RecurrentGEMM.forcedForTesting = false }
        XCTAssertTrue(RecurrentGEMM.applies(rows: 32, n: 512))
        XCTAssertTrue(RecurrentGEMM.applies(rows: 30, n: 128), "any row count: the last tile is shorter")
        XCTAssertFalse(RecurrentGEMM.applies(rows: 32, n: 100), "columns not whole tiles (of 16 or 64)")
        XCTAssertFalse(RecurrentGEMM.applies(rows: 0, n: 128))
    }

    /// A whole LSTM (H = 64, so both the forward 4H = 256 and the backward H = 64 products take the kernel;
    /// B = 7 leaves a short last tile on either ISA) gives the outputs and every gradient of the OpenBLAS path,
    /// with and without h0.
    func testLSTMWithBlockedKernelMatchesBLASPath() {
        let (b, t, inF, h) = (7, 3, 5, 64)
        let x = randomTensor([b, t, inF], seed: 1), wih = randomTensor([4 * h, inF], seed: 2, low: -0.2, high: 0.2)
        let whh = randomTensor([4 * h, h], seed: 3, low: -0.2, high: 0.2), bias = randomTensor([4 * h], seed: 4)
        let h0 = randomTensor([b, h], seed: 5), c0 = randomTensor([b, h], seed: 6), seed = randomTensor([b, t, h], seed: 7)
        for withH0 in [false, true] {
            func run(blocked: Bool) -> [Tensor] {
                RecurrentGEMM.forcedForTesting = blocked
                defer { RecurrentGEMM.forcedForTesting = false }
                let g = Graph()
                let vars = [g.variable(x), g.variable(wih), g.variable(whh), g.variable(bias), g.variable(h0), g.variable(c0)]
                let r = g.lstm(vars[0], h0: withH0 ? vars[4] : nil, c0: withH0 ? vars[5] : nil, weightIH: vars[1],
                               weightHH: vars[2], biasIH: vars[3])
                g.backward(g.sum(g.mul(r.output, g.constant(seed))) + g.sum(g.mul(r.hT, g.constant(randomTensor([b, h], seed: 8)))))
                return [r.output.value, r.cT.value] + vars[0..<(withH0 ? 6 : 4)].map { g.gradient(of: $0)! }
            }
            for (k, (blocked, reference)) in zip(run(blocked: true), run(blocked: false)).enumerated() {
                assertClose(blocked, reference, atol: 1e-5, rtol: 1e-4, "h0 \(withH0), tensor \(k)")
            }
        }
    }
}
