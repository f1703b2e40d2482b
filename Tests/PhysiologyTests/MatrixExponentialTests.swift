import Foundation
import XCTest
@testable import Physiology

/// `MatrixExponential.expm` (scaling & squaring + Padé 13) against closed forms and series.
final class MatrixExponentialTests: XCTestCase {
    private func assertClose(_ a: DenseMatrix, _ b: DenseMatrix, relative: Double,
                             file: StaticString = #filePath, line: UInt = #line) {
        let scale = max(b.maxAbs, 1e-300)
        XCTAssertLessThanOrEqual((a - b).maxAbs / scale, relative, file: file, line: line)
    }

    /// Real distinct, complex and repeated eigenvalues, at small and large `t` (large `t` forces
    /// several squarings).
    func testTwoByTwoAgainstClosedForm() {
        let cases: [(Double, Double, Double, Double)] = [
            (-0.12, 0.066, 0.05, -0.074), // glucose block: real distinct
            (-0.1, 1.0, -1.0, -0.1), // damped rotation: complex pair
            (-0.3, 1.0, 0.0, -0.3), // Jordan block: repeated eigenvalue
            (2.0, -3.0, 4.0, 1.0),
        ]
        for (a, b, c, d) in cases {
            for t in [0.01, 1.0, 5.0, 40.0] {
                let closed = MatrixExponential.closedForm2x2(a, b, c, d, t: t)
                let m = MatrixExponential.expm(DenseMatrix(rows: [[a * t, b * t], [c * t, d * t]]))
                assertClose(m, DenseMatrix(rows: [[closed[0], closed[1]], [closed[2], closed[3]]]), relative: 1e-12)
            }
        }
    }

    /// The closed form itself against a long Taylor series, and a Jordan block against `e^{λt}[1 t; 0 1]`.
    func testClosedFormAgainstSeries() {
        let (a, b, c, d, t) = (-0.4, 0.7, -0.2, 0.3, 1.3)
        let closed = MatrixExponential.closedForm2x2(a, b, c, d, t: t)
        let at = DenseMatrix(rows: [[a * t, b * t], [c * t, d * t]])
        XCTAssertEqual(taylor(at, terms: 40).values, closed, accuracy: 1e-13)
        let jordan = MatrixExponential.closedForm2x2(-0.5, 1, 0, -0.5, t: 2)
        let e = Foundation.exp(-1.0)
        XCTAssertEqual(jordan, [e, 2 * e, 0, e], accuracy: 1e-15)
    }

    /// Seeded random 13×13 matrices (the size of eq. 17) against a 60-term Taylor series.
    func testRandomMatricesAgainstSeries() {
        var rng = SeededGenerator(seed: 11)
        for scale in [0.05, 0.3, 1.0] {
            var m = DenseMatrix(zeros: 13)
            for i in m.values.indices { m.values[i] = scale * rng.normal() }
            assertClose(MatrixExponential.expm(m), taylor(m, terms: 80), relative: 1e-12)
        }
    }

    /// `exp(A) exp(−A) = I` for a matrix large enough to need scaling.
    func testInverseIdentity() {
        var rng = SeededGenerator(seed: 5)
        var m = DenseMatrix(zeros: 6)
        for i in m.values.indices { m.values[i] = 3 * rng.normal() }
        let product = MatrixExponential.expm(m) * MatrixExponential.expm(-1 * m)
        assertClose(product, .identity(6), relative: 1e-9)
    }

    private func taylor(_ a: DenseMatrix, terms: Int) -> DenseMatrix {
        var sum = DenseMatrix.identity(a.n)
        var term = DenseMatrix.identity(a.n)
        for k in 1..<terms {
            term = (1 / Double(k)) * (term * a)
            sum = sum + term
        }
        return sum
    }
}

func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "lengths differ", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
