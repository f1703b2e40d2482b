import Foundation

/// The matrix exponential, used to discretize the digital twin exactly (PhysioSeq2Seq eq. 3,
/// Appendix B eq. 17): the insulin and gut subsystems are linear time-invariant per twin, so their
/// discrete matrices are exponentials computed once per twin.
public enum MatrixExponential {
    /// Padé(13) numerator coefficients (Higham 2005, "The scaling and squaring method for the matrix
    /// exponential revisited", SIAM J. Matrix Anal. Appl. 26(4), Table 2.2 / eq. 2.3).
    private static let b13: [Double] = [
        64_764_752_532_480_000, 32_382_376_266_240_000, 7_771_770_303_897_600, 1_187_353_796_428_800,
        129_060_195_264_000, 10_559_470_521_600, 670_442_572_800, 33_522_128_640,
        1_323_241_920, 40_840_800, 960_960, 16380, 182, 1,
    ]
    /// Largest 1-norm for which Padé(13) reaches double precision (Higham 2005, Table 2.3).
    private static let theta13 = 5.371920351148152

    /// `exp(A)` by scaling and squaring with the [13/13] Padé approximant (Higham 2005, Algorithm 2.3
    /// restricted to m = 13): `A` is scaled by `2^-s` so that `‖A‖₁ ≤ θ₁₃`, the approximant
    /// `r₁₃ = (V − U)⁻¹ (V + U)` is formed, and squared `s` times.
    public static func expm(_ a: DenseMatrix) -> DenseMatrix {
        let n = a.n
        let norm = a.norm1
        var s = 0
        if norm > theta13 { s = max(0, Int(Foundation.ceil(Foundation.log2(norm / theta13)))) }
        let scaled = Foundation.pow(2.0, Double(-s)) * a
        let ident = DenseMatrix.identity(n)
        let a2 = scaled * scaled
        let a4 = a2 * a2
        let a6 = a4 * a2
        let b = b13
        let uInner = a6 * (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident
        let u = scaled * uInner
        let v = a6 * (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident
        var r = (v - u).solve(v + u)
        for _ in 0..<s { r = r * r }
        return r
    }

    /// `exp(A t)` of a 2×2 matrix in closed form: with `m = tr(A)/2` and `Δ = ((a−d)/2)² + bc`,
    /// `exp(A t) = e^{mt} [c(t) I + s(t) (A − mI)]`, where `c = cosh(√Δ t)`, `s = sinh(√Δ t)/√Δ`
    /// for `Δ > 0`, the trigonometric forms for `Δ < 0`, and `c = 1`, `s = t` for `Δ = 0`
    /// (Jordan block). Returned row-major `[e00, e01, e10, e11]`.
    public static func closedForm2x2(_ a: Double, _ b: Double, _ c: Double, _ d: Double, t: Double) -> [Double] {
        let m = (a + d) / 2
        let half = (a - d) / 2
        let delta = half * half + b * c
        let ch: Double, sh: Double
        if delta > 0 {
            let r = delta.squareRoot()
            ch = Foundation.cosh(r * t)
            sh = Foundation.sinh(r * t) / r
        } else if delta < 0 {
            let w = (-delta).squareRoot()
            ch = Foundation.cos(w * t)
            sh = Foundation.sin(w * t) / w
        } else {
            ch = 1
            sh = t
        }
        let e = Foundation.exp(m * t)
        return [e * (ch + sh * half), e * sh * b, e * sh * c, e * (ch - sh * half)]
    }
}
