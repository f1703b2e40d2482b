import CGMTensor
import Foundation
import XCTest

/// `FastMath.expm1` and `FastMath.elu` (FastMathExpm1.swift) against libm and their scalar twins.
final class FastMathExpm1Tests: XCTestCase {
    /// SIMD expm1 of `xs` (padded to whole vectors); checks every lane bitwise against the scalar version.
    private func simdExpm1(_ xs: [Float], file: StaticString = #filePath, line: UInt = #line) -> [Float] {
        var out: [Float] = []
        let lanes = FastMath.Vector.scalarCount   // 16 on an AVX-512 build, 8 on AVX2
        for start in stride(from: 0, to: xs.count, by: lanes) {
            var v = FastMath.Vector()
            for j in 0..<min(lanes, xs.count - start) { v[j] = xs[start + j] }
            let y = FastMath.expm1(v)
            for j in 0..<min(lanes, xs.count - start) {
                let s = FastMath.expm1(xs[start + j])
                if y[j].bitPattern != s.bitPattern && !(y[j].isNaN && s.isNaN) {
                    XCTFail("lane \(y[j]) ≠ scalar \(s) at x = \(xs[start + j])", file: file, line: line)
                }
                out.append(y[j])
            }
        }
        return out
    }

    /// Relative error against Foundation.expm1 in Double, on a dense grid over the whole finite range, a
    /// finer grid around 0 and |x| from 1e-30 up (both signs): ≤ 2.5e-7.
    func testExpm1RelativeErrorIncludingTinyArguments() {
        let count = 1 << 18
        var xs = (0..<count).map { Float(-104 + (88.7 + 104) * Double($0) / Double(count - 1)) }
        xs += (0..<(1 << 16)).map { Float(-1 + 2 * Double($0) / Double((1 << 16) - 1)) }
        let tiny = (0..<400).map { Float(1e-30 * pow(1.2, Double($0))) }   // 1e-30 … ~3e1
        xs += tiny + tiny.map { -$0 } + [0, 88.72, -87.33, 0.34657, -0.34657, 0.34658, -0.34658]
        let ys = simdExpm1(xs)
        var worst = 0.0, at: Float = 0
        for (x, y) in zip(xs, ys) {
            let r = Foundation.expm1(Double(x))
            let e = r == 0 ? abs(Double(y)) : abs(Double(y) - r) / abs(r)
            if !(e <= worst) { (worst, at) = (e, x) }
        }
        XCTAssertLessThanOrEqual(worst, 2.5e-7, "worst relative error of expm1 at x = \(at)")
        XCTAssertEqual(FastMath.expm1(1e-30), 1e-30)   // n = 0: r + r²P(r), exact for tiny r
        XCTAssertEqual(FastMath.expm1(-3e-20), -3e-20)
    }

    /// Saturation, overflow without a NaN at n = 128 (x up to 88.72), NaN propagation, signed zeros.
    func testExpm1ExtremesAndNaN() {
        let ys = simdExpm1([-104, -110, -1e4, -.infinity, 88.73, 89, 1e4, .infinity, .nan, 88.72, 88.5, 0])
        XCTAssertEqual(Array(ys[0..<4]), [-1, -1, -1, -1])
        XCTAssertEqual(Array(ys[4..<8]), [.infinity, .infinity, .infinity, .infinity])
        XCTAssertTrue(ys[8].isNaN)
        XCTAssertTrue(ys[9].isFinite && ys[9] > 3.3e38, "expm1(88.72) = \(ys[9])")
        XCTAssertEqual(Double(ys[10]), Foundation.expm1(88.5), accuracy: 2.5e-7 * Foundation.expm1(88.5))
        XCTAssertEqual(ys[11], 0)
    }

    /// The ELU buffer kernel: the definition (x for x > 0, α(eˣ − 1) else), NaN kept, bitwise equal to the
    /// scalar version for every tail length and in place; and the `elu` op uses it.
    func testEluKernelAllTailsAndOp() {
        let base = (0..<41).map { Float(-6 + 0.29 * Double($0)) } + [.nan, -0.0, 1e-30, -1e-30]
        for alpha: Float in [1, 0.5] {
            for n in [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 45] {   // tails of 8- and 16-lane builds
                let xs = Array(base.prefix(n))
                var ys = [Float](repeating: .nan, count: n)
                xs.withUnsafeBufferPointer { x in
                    ys.withUnsafeMutableBufferPointer { y in
                        if n > 0 { FastMath.elu(x.baseAddress!, y.baseAddress!, count: n, alpha: alpha) }
                    }
                }
                for (x, y) in zip(xs, ys) {
                    XCTAssertEqual(y.bitPattern, FastMath.elu(x, alpha: alpha).bitPattern, "x = \(x), α \(alpha), count \(n)")
                    if x.isNaN { XCTAssertTrue(y.isNaN); continue }
                    let want = x > 0 ? Double(x) : Double(alpha) * Foundation.expm1(Double(x))
                    XCTAssertEqual(Double(y), want, accuracy: 2.5e-7 * abs(want), "x = \(x), α \(alpha)")
                }
                var inPlace = xs
                inPlace.withUnsafeMutableBufferPointer { p in
                    if let b = p.baseAddress { FastMath.elu(UnsafePointer(b), b, count: n, alpha: alpha) }
                }
                XCTAssertEqual(inPlace.map(\.bitPattern), ys.map(\.bitPattern), "in place, count \(n)")
            }
        }
        let g = Graph(training: false, recording: false)
        let x = Tensor(shape: [37], scalars: Array(base.prefix(37)))
        let y = g.elu(g.constant(x), alpha: 0.5).value
        XCTAssertEqual(y.scalars.map(\.bitPattern), x.scalars.map { FastMath.elu($0, alpha: 0.5).bitPattern })
    }
}
