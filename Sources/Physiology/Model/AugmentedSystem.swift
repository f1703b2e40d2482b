/// The state-dependent matrices of PhysioSeq2Seq Appendix B, built exactly as eq. 16/17 write them,
/// and the literal discretization of eq. 17 by a dense 13×13 exponential (the reference that the
/// fast step of `HovorkaModel` is tested against).
///
/// The only state-dependent entries are in the two glucose rows; they are evaluated at `x_k` and held
/// over the step (zero-order hold). Read against the continuous model (`HovorkaODE`), `A_p(x_k)` is
/// the Jacobian of the bilinear terms `X1·Q1`, `X2·Q2`, `EGP0·X3` at `x_k` (the `−Q1`, `Q1`, `−Q2`,
/// `−EGP0` columns) with the uptake terms as frozen rates on the diagonal, and `D_p(x_k)` the
/// remainder, so that `A_p x_k + D_p` equals the true derivative at `x_k`:
///
/// * `k01 = F01c(G_k)/Q1_k` (Table 3's flux `f_c01` written as a rate; for `G < 4.5` this is
///   `F01/(4.5·V_G)`),
/// * `k_r = F_R(G_k)/Q1_k`, zero unless `G_k > 9 mmol/L` (renal clearance above 9 mmol/L),
/// * `D_p[0] = X1·Q1 + EGP0`: the paper prints `X1Q1 − k_d·EGP0` with `k_d` never defined, and no cited
///   source defines it either (Hovorka 2004 has no `k_d`). It is fixed by the requirement above: row 0 of
///   `A_p x_k + D_p` is `−(X1 + k01 + k_r)Q1 + k12·Q2 − Q1·X1 − EGP0·X3 + K·M2 + X1·Q1 − k_d·EGP0`, which equals
///   Hovorka 2004's `dQ1/dt = −F01c − X1·Q1 + k12·Q2 − F_R + K·M2 + EGP0·(1 − X3)` only for `k_d = −1`
///   (tested: `HovorkaModelTests.testEquation16ReproducesTheODEOnlyWithKdMinusOne`),
/// * when `EGP0·(1 − X3_k) < 0` the production is clipped to zero (Hovorka 2004): the `−EGP0`
///   column and the `EGP0` term are then both held at zero for the step.
public enum AugmentedSystem {
    /// Index of `u_I` (column of `B_p = e₃`), the constant 1 (column of `D_p`) and `u_G`
    /// (column of `G_p = e₉`) in the 13-dimensional augmented vector of eq. 17.
    public static let insulinColumn = 10, disturbanceColumn = 11, mealColumn = 12

    /// The state-dependent scalars of the two glucose rows of eq. 16 at `x_k`.
    public struct GlucoseRows: Equatable, Sendable {
        /// `A_p[0,0] = −(X1 + k01 + k_r)`.
        public var a11: Double
        /// `A_p[1,0] = X1` and `A_p[1,1] = −(k12 + X2)`.
        public var a21: Double, a22: Double
        /// `A_p[0,5] = −Q1`, `A_p[1,5] = Q1`, `A_p[1,6] = −Q2`, `A_p[0,7] = −EGP0` (0 when clipped).
        public var q1X1: Double, q2X1: Double, q2X2: Double, q1X3: Double
        /// `D_p[0] = X1·Q1 + EGP0` (EGP0 term 0 when clipped), `D_p[1] = −X1·Q1 + X2·Q2`.
        public var d1: Double, d2: Double
        /// Frozen rates, for inspection: `k01` and the renal `k_r`.
        public var k01: Double, kr: Double
    }

    /// Evaluates the state-dependent entries of eq. 16 and `D_p` at `x_k`.
    public static func glucoseRows(_ x: HovorkaState, _ p: HovorkaParameters) -> GlucoseRows {
        let g = x.q1 / p.vg
        let k01: Double
        let kr: Double
        if x.q1 > 0 {
            k01 = HovorkaODE.f01c(glucoseMmol: g, p) / x.q1
            kr = HovorkaODE.renalClearance(glucoseMmol: g, p) / x.q1
        } else {
            k01 = p.f01 / (HovorkaODE.f01Threshold * p.vg)
            kr = 0
        }
        let egp = x.x3 < 1 ? p.egp0 : 0
        return GlucoseRows(a11: -(x.x1 + k01 + kr), a21: x.x1, a22: -(p.k12 + x.x2),
                           q1X1: -x.q1, q2X1: x.q1, q2X2: -x.q2, q1X3: -egp,
                           d1: x.x1 * x.q1 + egp, d2: -x.x1 * x.q1 + x.x2 * x.q2, k01: k01, kr: kr)
    }

    /// `A_p(x_k)` of eq. 16 (10×10).
    public static func systemMatrix(_ x: HovorkaState, _ p: HovorkaParameters) -> DenseMatrix {
        let r = glucoseRows(x, p)
        var a = DenseMatrix(zeros: 10)
        a[0, 0] = r.a11; a[0, 1] = p.k12; a[0, 5] = r.q1X1; a[0, 7] = r.q1X3; a[0, 9] = p.gutGain
        a[1, 0] = r.a21; a[1, 1] = r.a22; a[1, 5] = r.q2X1; a[1, 6] = r.q2X2
        a[2, 2] = -1 / p.tmaxI
        a[3, 2] = 1 / p.tmaxI; a[3, 3] = -1 / p.tmaxI
        a[4, 3] = 1 / (p.tmaxI * p.vi); a[4, 4] = -p.ke
        a[5, 4] = p.sf1 * p.ka1; a[5, 5] = -p.ka1
        a[6, 4] = p.sf2 * p.ka2; a[6, 6] = -p.ka2
        a[7, 4] = p.sf3 * p.ka3; a[7, 7] = -p.ka3
        a[8, 8] = -1 / p.tmaxG
        a[9, 8] = 1 / p.tmaxG; a[9, 9] = -1 / p.tmaxG
        return a
    }

    /// `D_p(x_k)` (10 values, zero below the glucose rows).
    public static func disturbance(_ x: HovorkaState, _ p: HovorkaParameters) -> [Double] {
        let r = glucoseRows(x, p)
        var d = [Double](repeating: 0, count: 10)
        d[0] = r.d1
        d[1] = r.d2
        return d
    }

    /// The 13×13 augmented matrix `[A_p B_p D_p G_p; 0₃ₓ₁₃]` of eq. 17 (not yet scaled by `T_s`).
    public static func augmentedMatrix(_ x: HovorkaState, _ p: HovorkaParameters) -> DenseMatrix {
        let a = systemMatrix(x, p)
        let d = disturbance(x, p)
        var m = DenseMatrix(zeros: 13)
        for i in 0..<10 {
            for j in 0..<10 { m[i, j] = a[i, j] }
            m[i, disturbanceColumn] = d[i]
        }
        m[2, insulinColumn] = 1 // B_p = e₃ (S1)
        m[8, mealColumn] = 1 // G_p = e₉ (M1)
        return m
    }

    /// One step of eq. 2 with `[A_d B_d D_d G_d]` taken literally from the dense exponential of
    /// eq. 17: `x_{k+1} = exp(M T_s)[0:10, :] · [x_k; u_I; 1; u_G]`. Slow (a 13×13 `expm` per step);
    /// the reference for `HovorkaModel.step`.
    public static func denseStep(_ x: HovorkaState, _ p: HovorkaParameters, insulin uI: Double, carbs uG: Double,
                                 minutes: Double = HovorkaParameters.sampleMinutes) -> HovorkaState {
        let e = MatrixExponential.expm(minutes * augmentedMatrix(x, p))
        let v = x.array + [uI, 1, uG]
        var out = [Double](repeating: 0, count: 10)
        for i in 0..<10 {
            var s = 0.0
            for j in 0..<13 { s += e[i, j] * v[j] }
            out[i] = s
        }
        return HovorkaState(out)
    }
}
