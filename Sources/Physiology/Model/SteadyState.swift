/// Closed-form initial states of the twin (PhysioSeq2Seq §3.4 and Appendix A, Algorithm 1).
public enum SteadyState {
    /// `SteadyState(g, ġ, u_basal)` of Algorithm 1 (lines 5, 11, 17): the state whose `Q1` and
    /// `dQ1/dt` match the observed glucose `g` (mg/dL) and slope `ġ` (mg/dL/min), with every other
    /// state derivative zero under the basal rate:
    ///
    /// * insulin chain at its basal equilibrium: `S1 = S2 = u·t_max,I`, `I = u/(k_e·V_I)`,
    ///   `Xj = S_Fj·I` (u = basal in mU/kg/min),
    /// * gut empty: `M1 = M2 = 0`,
    /// * `Q1 = g·V_G/18` (inverse of eq. 4),
    /// * `Q2` is the one free glucose state; it is set so that
    ///   `dQ1/dt = −F01c − X1·Q1 + k12·Q2 − F_R + EGP0·(1 − X3)⁺ = ġ·V_G/18`, clipped at 0 when the
    ///   slope is too steep to reach (the twin then starts at its steepest possible fall).
    public static func initialState(_ p: HovorkaParameters, glucoseMgDl g: Double, slopeMgDlPerMin slope: Double,
                                    basalUPerH: Double) -> HovorkaState {
        let u = p.insulinInput(basalUPerH: max(0, basalUPerH))
        let s = u * p.tmaxI
        let i = u / (p.ke * p.vi)
        let x1 = p.sf1 * i, x2 = p.sf2 * i, x3 = p.sf3 * i
        let q1 = p.q1(glucoseMgDl: g)
        let gm = q1 / p.vg
        let targetDQ1 = slope * p.vg / 18
        let egp = max(0, p.egp0 * (1 - x3))
        let q2 = (targetDQ1 + HovorkaODE.f01c(glucoseMmol: gm, p) + x1 * q1
            + HovorkaODE.renalClearance(glucoseMmol: gm, p) - egp) / p.k12
        return HovorkaState(q1: q1, q2: max(0, q2), s1: s, s2: s, i: i, x1: x1, x2: x2, x3: x3, m1: 0, m2: 0)
    }

    /// Net glucose production `dQ1/dt` (mmol/kg/min) at the full equilibrium with plasma insulin `i`
    /// (mU/L) and glucose `gMmol` (mmol/L), `Q2` at its own equilibrium `X1·Q1/(k12 + X2)`.
    /// Strictly decreasing in `i`.
    static func netProduction(_ p: HovorkaParameters, glucoseMmol gm: Double, insulin i: Double) -> Double {
        let q1 = gm * p.vg
        let x1 = p.sf1 * i, x2 = p.sf2 * i, x3 = p.sf3 * i
        let q2 = x1 * q1 / (p.k12 + x2)
        return -HovorkaODE.f01c(glucoseMmol: gm, p) - x1 * q1 + p.k12 * q2
            - HovorkaODE.renalClearance(glucoseMmol: gm, p) + max(0, p.egp0 * (1 - x3))
    }

    /// Plasma insulin (mU/L) that holds glucose at `glucoseMgDl` in equilibrium, or nil when none
    /// exists (glucose would fall even with no insulin). Bisection on the monotone `netProduction`.
    public static func equilibriumInsulin(_ p: HovorkaParameters, glucoseMgDl g: Double) -> Double? {
        let gm = g / 18
        if netProduction(p, glucoseMmol: gm, insulin: 0) <= 0 { return nil }
        var lo = 0.0, hi = 10.0
        while netProduction(p, glucoseMmol: gm, insulin: hi) > 0 {
            hi *= 2
            if hi > 1e5 { return nil }
        }
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if netProduction(p, glucoseMmol: gm, insulin: mid) > 0 { lo = mid } else { hi = mid }
            if hi - lo < 1e-12 * hi { break }
        }
        return 0.5 * (lo + hi)
    }

    /// Basal insulin rate (U/h) that holds twin `p` at fasting glucose `glucoseMgDl` with an empty gut,
    /// or nil when no non-negative rate does.
    public static func basalRate(_ p: HovorkaParameters, glucoseMgDl g: Double) -> Double? {
        guard let i = equilibriumInsulin(p, glucoseMgDl: g) else { return nil }
        return p.basalUPerH(insulinInput: i * p.ke * p.vi)
    }

    /// The full fasting equilibrium at glucose `g` (mg/dL) under the basal rate that holds it.
    public static func fastingState(_ p: HovorkaParameters, glucoseMgDl g: Double) -> HovorkaState? {
        guard let basal = basalRate(p, glucoseMgDl: g) else { return nil }
        return initialState(p, glucoseMgDl: g, slopeMgDlPerMin: 0, basalUPerH: basal)
    }
}
