import Foundation

/// The continuous-time Hovorka 2004 model (PhysioSeq2Seq §3.2, Figure 2, Appendix B eq. 16), the
/// reference the discrete twin is tested against and the core of the cohort generator.
///
///     dQ1/dt = −F01c(G) − X1·Q1 + k12·Q2 − F_R(G) + K·M2 + max(0, EGP0·(1 − X3))
///     dQ2/dt = X1·Q1 − (k12 + X2)·Q2
///     dS1/dt = u_I − S1/t_max,I
///     dS2/dt = (S1 − S2)/t_max,I
///     dI/dt  = S2/(t_max,I·V_I) − k_e·I
///     dXj/dt = k_aj·(S_Fj·I − Xj),  j = 1, 2, 3
///     dM1/dt = u_G − M1/t_max,G
///     dM2/dt = (M1 − M2)/t_max,G
///
/// with `G = Q1/V_G` (mmol/L), `F01c = F01` above 4.5 mmol/L and `F01·G/4.5` below (Hovorka
/// 2004 eq. 3), and renal clearance `F_R = 0.003·(G − 9)·V_G` above 9 mmol/L, zero below
/// (Hovorka 2004 eq. 4; the `k_r` term of Appendix B).
public enum HovorkaODE {
    /// Glucose (mmol/L) below which non-insulin-dependent uptake falls linearly (Hovorka 2004).
    public static let f01Threshold = 4.5
    /// Glucose (mmol/L) above which renal clearance is active (Appendix B).
    public static let renalThreshold = 9.0
    /// Renal clearance rate above the threshold, 1/min (Hovorka 2004).
    public static let renalRate = 0.003

    /// Non-insulin-dependent glucose flux `F01c(G)`, mmol/kg/min.
    @inlinable
    public static func f01c(glucoseMmol g: Double, _ p: HovorkaParameters) -> Double {
        g >= f01Threshold ? p.f01 : p.f01 * max(g, 0) / f01Threshold
    }

    /// Renal glucose clearance `F_R(G)`, mmol/kg/min: zero at or below 9 mmol/L.
    @inlinable
    public static func renalClearance(glucoseMmol g: Double, _ p: HovorkaParameters) -> Double {
        g > renalThreshold ? renalRate * (g - renalThreshold) * p.vg : 0
    }

    /// Time derivative of the state for insulin input `uI` (mU/kg/min) and carbohydrate input
    /// `uG` (g/min). `extraInsulinAppearance` (mU/L/min) is added to dI/dt; the cohort generator
    /// uses it for endogenous secretion (0 for the twins).
    public static func derivative(_ x: HovorkaState, _ p: HovorkaParameters, insulin uI: Double, carbs uG: Double,
                                  extraInsulinAppearance: Double = 0) -> HovorkaState {
        let g = x.q1 / p.vg
        let egp = max(0, p.egp0 * (1 - x.x3))
        var d = HovorkaState()
        d.q1 = -f01c(glucoseMmol: g, p) - x.x1 * x.q1 + p.k12 * x.q2 - renalClearance(glucoseMmol: g, p)
            + p.gutGain * x.m2 + egp
        d.q2 = x.x1 * x.q1 - (p.k12 + x.x2) * x.q2
        d.s1 = uI - x.s1 / p.tmaxI
        d.s2 = (x.s1 - x.s2) / p.tmaxI
        d.i = x.s2 / (p.tmaxI * p.vi) - p.ke * x.i + extraInsulinAppearance
        d.x1 = p.ka1 * (p.sf1 * x.i - x.x1)
        d.x2 = p.ka2 * (p.sf2 * x.i - x.x2)
        d.x3 = p.ka3 * (p.sf3 * x.i - x.x3)
        d.m1 = uG - x.m1 / p.tmaxG
        d.m2 = (x.m1 - x.m2) / p.tmaxG
        return d
    }

    /// One classical Runge–Kutta (RK4) step of length `h` minutes with inputs held constant.
    public static func rk4Step(_ x: HovorkaState, _ p: HovorkaParameters, insulin uI: Double, carbs uG: Double,
                               h: Double) -> HovorkaState {
        let k1 = derivative(x, p, insulin: uI, carbs: uG)
        let k2 = derivative(x.adding(k1, scaledBy: h / 2), p, insulin: uI, carbs: uG)
        let k3 = derivative(x.adding(k2, scaledBy: h / 2), p, insulin: uI, carbs: uG)
        let k4 = derivative(x.adding(k3, scaledBy: h), p, insulin: uI, carbs: uG)
        var out = x.adding(k1, scaledBy: h / 6)
        out = out.adding(k2, scaledBy: h / 3)
        out = out.adding(k3, scaledBy: h / 3)
        return out.adding(k4, scaledBy: h / 6)
    }
}

extension HovorkaState {
    /// `self + s · d`, state by state.
    @inlinable
    public func adding(_ d: HovorkaState, scaledBy s: Double) -> HovorkaState {
        HovorkaState(q1: q1 + s * d.q1, q2: q2 + s * d.q2, s1: s1 + s * d.s1, s2: s2 + s * d.s2, i: i + s * d.i,
                     x1: x1 + s * d.x1, x2: x2 + s * d.x2, x3: x3 + s * d.x3, m1: m1 + s * d.m1, m2: m2 + s * d.m2)
    }
}
