import CGMTensor
import Foundation
import XCTest
import _TestSupport

final class FastMathTests: XCTestCase {
    /// Evaluates `kernel` on `xs` through the buffer API (SIMD body + scalar tail).
    private func run(_ xs: [Float], _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
        var ys = [Float](repeating: .nan, count: xs.count)
        xs.withUnsafeBufferPointer { x in
            ys.withUnsafeMutableBufferPointer { y in kernel(x.baseAddress!, y.baseAddress!, xs.count) }
        }
        return ys
    }

    /// An evenly spaced grid of `count` points on [lo, hi].
    private func grid(_ lo: Double, _ hi: Double, _ count: Int) -> [Float] {
        (0..<count).map { Float(lo + (hi - lo) * Double($0) / Double(count - 1)) }
    }

    /// Worst relative error of `got` against a Double reference (reference values of 0 use absolute error).
    private func worstRelative(_ xs: [Float], _ got: [Float], _ ref: (Double) -> Double) -> (err: Double, at: Float) {
        var worst = 0.0, at: Float = 0
        for (x, y) in zip(xs, got) {
            let r = ref(Double(x))
            let e = r == 0 ? abs(Double(y)) : abs(Double(y) - r) / abs(r)
            if !(e <= worst) { worst = e; at = x }
        }
        return (worst, at)
    }

    func testExpRelativeErrorOnDenseGrid() {
        let xs = grid(-87, 88, 1 << 19) + grid(-1, 1, 1 << 16) + [0, -0.0, 1e-30, -1e-30, 88.72, -87.33]
        let ys = run(xs) { FastMath.exp($0, $1, count: $2) }
        let (err, at) = worstRelative(xs, ys) { Foundation.exp($0) }
        XCTAssertLessThanOrEqual(err, 2e-7, "worst relative error of exp at x = \(at)")
        XCTAssertEqual(FastMath.exp(0), 1)
        XCTAssertEqual(FastMath.exp(1), Float(M_E), accuracy: 2e-7 * Float(M_E))
    }

    func testExpSaturatesOutsideRangeAndPropagatesNaN() {
        let xs: [Float] = [-104, -110, -1e4, -.infinity, 88.73, 89, 1e4, .infinity, .nan, 88.72, -87.33]
        let ys = run(xs) { FastMath.exp($0, $1, count: $2) }
        XCTAssertEqual(Array(ys[0..<4]), [0, 0, 0, 0])
        XCTAssertEqual(Array(ys[4..<8]), [.infinity, .infinity, .infinity, .infinity])
        XCTAssertTrue(ys[8].isNaN)
        XCTAssertTrue(ys[9].isFinite && ys[9] > 3.3e38, "exp(88.72) = \(ys[9])")
        XCTAssertTrue(ys[10].isNormal && ys[10] < 1.2e-38, "exp(-87.33) = \(ys[10])")
        // Gradual underflow below −87.34: within one subnormal step (2⁻¹⁴⁹) of the true value.
        let sub = grid(-103.9, -87.4, 4097)
        for (x, y) in zip(sub, run(sub) { FastMath.exp($0, $1, count: $2) }) {
            XCTAssertEqual(Double(y), Foundation.exp(Double(x)), accuracy: 0x1p-149, "x = \(x)")
        }
        // The scalar version agrees on the special values.
        for (x, y) in zip(xs, ys) where !x.isNaN { XCTAssertEqual(FastMath.exp(x), y, "x = \(x)") }
        XCTAssertTrue(FastMath.exp(Float.nan).isNaN)
    }

    func testSigmoidAccuracyAndExtremes() {
        let xs = grid(-100, 100, 1 << 18) + grid(-3, 3, 1 << 16)
        let ys = run(xs) { FastMath.sigmoid($0, $1, count: $2) }
        let ref: (Double) -> Double = { 1 / (1 + Foundation.exp(-$0)) }
        // Relative accuracy only where the result is a normal Float (exp underflows below −87.3).
        let normal = zip(xs, ys).filter { $0.0 > -87 }
        let (err, at) = worstRelative(normal.map(\.0), normal.map(\.1), ref)
        XCTAssertLessThanOrEqual(err, 2.5e-7, "worst relative error of sigmoid at x = \(at)")
        var worstAbs: Float = 0
        for (x, y) in zip(xs, ys) {
            XCTAssertTrue(y >= 0 && y <= 1, "sigmoid(\(x)) = \(y)")
            worstAbs = max(worstAbs, abs(y - Float(ref(Double(x)))))
        }
        XCTAssertLessThanOrEqual(worstAbs, 1.2e-7)
        let ext = run([-1e4, -200, -.infinity, 1e4, 200, .infinity, 0]) { FastMath.sigmoid($0, $1, count: $2) }
        XCTAssertEqual(ext, [0, 0, 0, 1, 1, 1, 0.5])
    }

    func testTanhAccuracyNearZeroAndFar() {
        let tiny = (0..<200).map { Float(1e-12 * pow(1.2, Double($0))) }   // 1e-12 … ~5e3
        let xs = grid(-12, 12, 1 << 18) + grid(-0.7, 0.7, 1 << 16) + tiny + tiny.map { -$0 }
        let ys = run(xs) { FastMath.tanh($0, $1, count: $2) }
        let (err, at) = worstRelative(xs, ys) { Foundation.tanh($0) }
        XCTAssertLessThanOrEqual(err, 2.5e-7, "worst relative error of tanh at x = \(at)")
        let ext = run([-1e4, -50, -.infinity, 1e4, 50, .infinity, 0, -0.0]) { FastMath.tanh($0, $1, count: $2) }
        XCTAssertEqual(Array(ext[0..<6]), [-1, -1, -1, 1, 1, 1])
        XCTAssertEqual(ext[6].bitPattern, Float(0).bitPattern)
        XCTAssertEqual(ext[7].bitPattern, Float(-0.0).bitPattern)
        XCTAssertTrue(FastMath.tanh(Float.nan).isNaN)
    }

    func testTanhIsExactlyOdd() {
        let xs = grid(0, 10, 4099)
        let pos = run(xs) { FastMath.tanh($0, $1, count: $2) }
        let neg = run(xs.map { -$0 }) { FastMath.tanh($0, $1, count: $2) }
        XCTAssertEqual(pos, neg.map { -$0 })
    }

    /// Every length exercises the double-SIMD body, the single-SIMD step and the scalar tail; in-place too.
    func testBufferKernelsMatchScalarBitwiseForAllTailLengths() {
        let base = randomTensor([41], seed: 3, low: -30, high: 30).scalars
        let kernels: [(String, (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void, (Float) -> Float)] = [
            ("exp", { FastMath.exp($0, $1, count: $2) }, { FastMath.exp($0) }),
            ("sigmoid", { FastMath.sigmoid($0, $1, count: $2) }, { FastMath.sigmoid($0) }),
            ("tanh", { FastMath.tanh($0, $1, count: $2) }, { FastMath.tanh($0) }),
        ]
        for (name, kernel, scalar) in kernels {
            for n in [0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 41] {
                let xs = Array(base.prefix(n))
                let ys = run(xs, kernel)
                XCTAssertEqual(ys.map(\.bitPattern), xs.map { scalar($0).bitPattern }, "\(name) count \(n)")
                var inPlace = xs
                inPlace.withUnsafeMutableBufferPointer { p in
                    if let b = p.baseAddress { kernel(UnsafePointer(b), b, n) }
                }
                XCTAssertEqual(inPlace.map(\.bitPattern), ys.map(\.bitPattern), "\(name) in place, count \(n)")
            }
        }
    }
}
