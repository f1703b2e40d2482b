/// One step `x_k → x_{k+1}` of the discrete twin (PhysioSeq2Seq eq. 2) for four twins at once,
/// equal to the dense exponential of the augmented matrix (eq. 3 / Appendix B eq. 17) without
/// forming it.
///
/// Write the augmented vector of eq. 17 as `v = [y; z; u_I; 1; u_G]` with `y = (Q1, Q2)` and
/// `z` the 8 linear states. The augmented matrix is block upper triangular,
///
///     M = [ A_yy(x_k)  C(x_k) ]      C: the −Q1, Q1, −Q2, −EGP0, K columns and D_p,
///         [ 0          N      ]      N = [A_z b_I 0 b_G; 0]: constant per twin,
///
/// so `exp(M T_s) v` splits into
/// * the linear states, `z_{k+1} = Φ z_k + Γ_I u_I + Γ_G u_G`, with the exact per-twin `Φ`, `Γ`
///   precomputed by `expm` (`LinearSubsystem`), and
/// * the glucose rows `y_{k+1} = Σ_j (T_s^j / j!) (M^j v)_y`, summed from the recurrences
///   `t_j = (T_s/j)(A_yy t_{j−1} + C b_{j−1})`, `b_j = (T_s/j) N b_{j−1}` (`t_0 = y_k`, `b_0 = [z_k; u]`)
///   until a term and the forcing feeding the next one are below `1e−13` of `‖y‖` (per twin, from
///   order 6 on, at most 40 orders). The state-dependent entries stay frozen at `x_k` over the step,
///   as in eq. 17; within the step `X1, X2, X3, M2` still evolve and act on `Q1, Q2` through the
///   Jacobian columns of `A_p`, which is what distinguishes eq. 17 from freezing `X` outright.
///
/// The cost is ~13 orders × ~45 vector operations per step for four twins, and no transcendental
/// function. Glucose masses are kept non-negative (a guard that does not trigger in physiological
/// ranges).
enum DiscreteStep {
    /// Relative tolerance of the series for the glucose rows.
    static let tolerance = 1e-13
    /// Orders always summed before the stopping test (the insulin chain S1→S2→I→X→Q is 4 deep).
    static let minimumOrder = 6
    /// Safety cap on the number of orders.
    static let maximumOrder = 40

    /// Advances four twins by `T_s` with insulin input `uI` (mU/kg/min) and carbohydrate input
    /// `uG` (g/min) held over the step.
    @inline(__always)
    static func advance(_ x: inout LaneState, _ c: TwinLaneConstants, insulin uI: Lanes, carbs uG: Lanes) {
        let ts = HovorkaParameters.sampleMinutes
        // State-dependent entries of eq. 16 at x_k (see AugmentedSystem.glucoseRows).
        let g = x.q1 / c.vg
        let k01 = (c.f01 / x.q1).replacing(with: c.f01Low, where: g .< HovorkaODE.f01Threshold)
        let kr = (HovorkaODE.renalRate * (1 - HovorkaODE.renalThreshold / g))
            .replacing(with: 0, where: g .<= HovorkaODE.renalThreshold)
        let egp = c.egp0.replacing(with: 0, where: x.x3 .>= 1)
        let a11 = -(x.x1 + k01 + kr)
        let a21 = x.x1
        let a22 = -(c.k12 + x.x2)
        let k12 = c.k12
        let cq1x1 = -x.q1, cq2x1 = x.q1, cq2x2 = -x.q2, cq1x3 = -egp
        let gut = c.gutGain
        let d1 = x.x1 * x.q1 + egp
        let d2 = -x.x1 * x.q1 + x.x2 * x.q2

        // Order 1: b_1 = T N b_0 (inputs enter here), t_1 = T (A_yy y + C b_0).
        var bS1 = ts * (uI - c.tIinv * x.s1)
        var bS2 = ts * c.tIinv * (x.s1 - x.s2)
        var bI = ts * (c.cI * x.s2 - c.ke * x.i)
        var bX1 = ts * (c.kb1 * x.i - c.ka1 * x.x1)
        var bX2 = ts * (c.kb2 * x.i - c.ka2 * x.x2)
        var bX3 = ts * (c.kb3 * x.i - c.ka3 * x.x3)
        var bM1 = ts * (uG - c.tGinv * x.m1)
        var bM2 = ts * c.tGinv * (x.m1 - x.m2)
        var t1 = ts * (a11 * x.q1 + k12 * x.q2 + cq1x1 * x.x1 + cq1x3 * x.x3 + gut * x.m2 + d1)
        var t2 = ts * (a21 * x.q1 + a22 * x.q2 + cq2x1 * x.x1 + cq2x2 * x.x2 + d2)
        var y1 = x.q1 + t1
        var y2 = x.q2 + t2

        var done = SIMDMask<SIMD4<Int64>>(repeating: false)
        var order = 2
        while order <= maximumOrder {
            let h = ts / Double(order)
            let n1 = h * (a11 * t1 + k12 * t2 + cq1x1 * bX1 + cq1x3 * bX3 + gut * bM2)
            let n2 = h * (a21 * t1 + a22 * t2 + cq2x1 * bX1 + cq2x2 * bX2)
            let nS1 = -h * c.tIinv * bS1
            let nS2 = h * c.tIinv * (bS1 - bS2)
            let nI = h * (c.cI * bS2 - c.ke * bI)
            let nX1 = h * (c.kb1 * bI - c.ka1 * bX1)
            let nX2 = h * (c.kb2 * bI - c.ka2 * bX2)
            let nX3 = h * (c.kb3 * bI - c.ka3 * bX3)
            let nM1 = -h * c.tGinv * bM1
            let nM2 = h * c.tGinv * (bM1 - bM2)
            y1 += n1.replacing(with: 0, where: done)
            y2 += n2.replacing(with: 0, where: done)
            t1 = n1; t2 = n2
            bS1 = nS1; bS2 = nS2; bI = nI; bX1 = nX1; bX2 = nX2; bX3 = nX3; bM1 = nM1; bM2 = nM2
            if order >= minimumOrder {
                // Squared norms (no abs/max calls in the hot loop): ‖t_j‖² and ‖(T/(j+1)) C b_j‖²
                // against tol²·‖y‖².
                let scale2 = (tolerance * tolerance) * (y1 * y1 + y2 * y2)
                let term2 = n1 * n1 + n2 * n2
                let h1 = ts / Double(order + 1)
                let f1 = h1 * (cq1x1 * bX1 + cq1x3 * bX3 + gut * bM2)
                let f2 = h1 * (cq2x1 * bX1 + cq2x2 * bX2)
                let forcing2 = f1 * f1 + f2 * f2
                done = done .| ((term2 .<= scale2) .& (forcing2 .<= scale2))
                if all(done) { break }
            }
            order += 1
        }

        // Exact linear block.
        let s1 = x.s1, s2 = x.s2, i = x.i, m1 = x.m1
        x.s1 = c.pS1S1 * s1 + c.gS1 * uI
        x.s2 = c.pS2S1 * s1 + c.pS2S2 * s2 + c.gS2 * uI
        x.i = c.pIS1 * s1 + c.pIS2 * s2 + c.pII * i + c.gI * uI
        x.x1 = c.pX1S1 * s1 + c.pX1S2 * s2 + c.pX1I * i + c.pX1X1 * x.x1 + c.gX1 * uI
        x.x2 = c.pX2S1 * s1 + c.pX2S2 * s2 + c.pX2I * i + c.pX2X2 * x.x2 + c.gX2 * uI
        x.x3 = c.pX3S1 * s1 + c.pX3S2 * s2 + c.pX3I * i + c.pX3X3 * x.x3 + c.gX3 * uI
        x.m1 = c.pM1M1 * m1 + c.gM1 * uG
        x.m2 = c.pM2M1 * m1 + c.pM2M2 * x.m2 + c.gM2 * uG
        x.q1 = y1.replacing(with: 0, where: y1 .< 0) // NaN (a diverged twin) is kept
        x.q2 = y2.replacing(with: 0, where: y2 .< 0)
    }
}
