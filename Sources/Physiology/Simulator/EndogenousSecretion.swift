import Foundation

/// Endogenous insulin secretion for the non-T1D groups — the term the cohort generator adds to the
/// plasma-insulin equation of Hovorka 2004 (which models T1D and has none):
///
///     dI/dt = S2/(t_max,I·V_I) − k_e·I + Y/V_I
///     dY/dt = (SR(G) − Y)/τ_β
///     SR(G) = c · SR_max · Gⁿ/(Gⁿ + K_mⁿ) + k_d · c · max(0, dG/dt)
///
/// `Y` (mU/kg/min) is pancreatic secretion reaching plasma; the static part is a Hill function of
/// glucose (n = 6, K_m = 7.5 mmol/L: ~5× the fasting rate at 7 mmol/L) in the spirit of the static secretion of Dalla Man et al. 2007
/// (IEEE TBME 54:1740), and the dynamic (first-phase) part responds to rising glucose. `c` is the
/// group's beta-cell capacity (1 healthy … 0.15 T2D on insulin, 0 T1D). `SR_max` is set per subject
/// so that with `c = 1` and the subject's unimpaired sensitivities the fasting equilibrium is
/// 90 mg/dL; lower capacity and insulin resistance then raise fasting and post-meal glucose on their
/// own. Hepatic first-pass extraction is not modelled (secretion enters plasma directly).
public struct EndogenousSecretion: Sendable {
    /// Beta-cell capacity `c` (0 = none).
    public var capacity: Double
    /// `SR_max`, mU/kg/min.
    public var maxRate: Double
    /// Hill constant `K_m` (mmol/L) and exponent `n`.
    public var km = 7.5, hill = 6.0
    /// Response time `τ_β`, min.
    public var tau = 8.0
    /// First-phase gain `k_d`, mU/kg per (mmol/L).
    public var derivativeGain = 0.4

    /// Counter-regulation below fasting glucose: EGP0 is multiplied by
    /// `1 + 3·c·max(0, (G_f − G)/G_f)` (×2 at a third below fasting for c = 1). Without it the slow
    /// insulin action of Hovorka's X1 (k_a1) makes secreted insulin outlast the meal and every meal
    /// of a healthy subject ends in reactive hypoglycaemia; with intact islets, falling glucose
    /// suppresses secretion and releases glucagon. T1D (c = 0) keeps no such defence.
    public static let glucagonGain = 3.0

    /// No secretion (T1D).
    public static let none = EndogenousSecretion(capacity: 0, maxRate: 0)

    public init(capacity: Double, maxRate: Double) {
        self.capacity = capacity
        self.maxRate = maxRate
    }

    /// Calibrates `SR_max` on the unimpaired parameters `reference` (fasting 90 mg/dL at c = 1).
    public init(capacity: Double, reference: HovorkaParameters, fastingMgDl: Double = 90) {
        self.capacity = capacity
        maxRate = 0
        let i = SteadyState.equilibriumInsulin(reference, glucoseMgDl: fastingMgDl) ?? 10
        let needed = i * reference.ke * reference.vi
        let g = fastingMgDl / 18
        maxRate = needed / hillFraction(g)
    }

    /// `Gⁿ/(Gⁿ + K_mⁿ)`.
    public func hillFraction(_ gMmol: Double) -> Double {
        let gn = Foundation.pow(max(gMmol, 0), hill)
        return gn / (gn + Foundation.pow(km, hill))
    }

    /// Static secretion target `c · SR_max · Gⁿ/(Gⁿ + K_mⁿ)`, mU/kg/min.
    public func staticRate(glucoseMmol g: Double) -> Double { capacity * maxRate * hillFraction(g) }

    /// Full target including the first-phase term for a glucose rate `dGdt` (mmol/L/min).
    public func target(glucoseMmol g: Double, dGdt: Double) -> Double {
        staticRate(glucoseMmol: g) + derivativeGain * capacity * maxRate * max(0, dGdt)
    }

    /// Fasting equilibrium glucose (mg/dL) of parameters `p` with this secretion plus an exogenous
    /// basal `exogenousUPerH`: the root of `SR(G) + u_exo = k_e·V_I·I_eq(G)` (bisection; the left side
    /// grows and the right side falls with G). Nil if glucose cannot be held anywhere in 40–600 mg/dL.
    public func fastingGlucose(_ p: HovorkaParameters, exogenousUPerH: Double = 0) -> Double? {
        let uExo = p.insulinInput(basalUPerH: exogenousUPerH)
        // Excess of insulin supply over the need at glucose g; "no equilibrium insulin" means glucose
        // falls even with none, i.e. supply is in excess.
        func excess(_ gMgDl: Double) -> Double {
            guard let i = SteadyState.equilibriumInsulin(p, glucoseMgDl: gMgDl) else { return 1 }
            return staticRate(glucoseMmol: gMgDl / 18) + uExo - i * p.ke * p.vi
        }
        var lo = 40.0, hi = 600.0
        guard excess(hi) > 0 else { return nil }
        if excess(lo) > 0 { return lo }
        for _ in 0..<80 {
            let mid = 0.5 * (lo + hi)
            if excess(mid) > 0 { hi = mid } else { lo = mid }
        }
        return 0.5 * (lo + hi)
    }
}
