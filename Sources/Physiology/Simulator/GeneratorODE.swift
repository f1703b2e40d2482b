import Foundation

/// State of the cohort generator's physiology: the Hovorka glucose and insulin states (the gut is
/// the analytic per-meal appearance of `MealModel`), endogenous secretion `Y`, the exercise states
/// `PV`, `Γ` of `ExerciseModel`, and interstitial glucose `IG` (mmol/L) seen by the CGM.
struct GeneratorState {
    var q1 = 0.0, q2 = 0.0, s1 = 0.0, s2 = 0.0, i = 0.0, x1 = 0.0, x2 = 0.0, x3 = 0.0
    var y = 0.0, pv = 0.0, gamma = ExerciseModel.plateau(0), ig = 0.0

    @inline(__always)
    func adding(_ d: GeneratorState, _ s: Double) -> GeneratorState {
        var o = self
        o.q1 += s * d.q1; o.q2 += s * d.q2; o.s1 += s * d.s1; o.s2 += s * d.s2; o.i += s * d.i
        o.x1 += s * d.x1; o.x2 += s * d.x2; o.x3 += s * d.x3
        o.y += s * d.y; o.pv += s * d.pv; o.gamma += s * d.gamma; o.ig += s * d.ig
        return o
    }
}

/// Inputs held over one generator step.
struct GeneratorInputs {
    /// Exogenous insulin into S1, mU/kg/min.
    var insulin = 0.0
    /// Heart-rate-reserve intensity (0…1) driving `PV`.
    var intensity = 0.0
    /// Multiplier on EGP0 (dawn phenomenon).
    var egpFactor = 1.0
    /// Multiplier on the insulin sensitivities (day-to-day variability).
    var sensitivityFactor = 1.0
}

/// The continuous model of one generated subject: Hovorka 2004 (`HovorkaODE`) plus endogenous
/// secretion (`EndogenousSecretion`), the heart-rate-driven exercise terms (`ExerciseModel`),
/// per-meal gut absorption (`MealModel`), glucagon-like counter-regulation for subjects with intact
/// islets (`EndogenousSecretion.glucagonGain`) and a first-order interstitial lag of `sensorLag`
/// minutes (Rebrin et al. 1999). Integrated with RK4 at 1-minute steps.
struct GeneratorODE {
    let p: HovorkaParameters
    let secretion: EndogenousSecretion
    /// Interstitial lag, min.
    let sensorLag: Double
    /// Fasting glucose (mmol/L) below which intact islets raise hepatic output (glucagon).
    var fastingMmol = 5.0

    func derivative(_ x: GeneratorState, _ u: GeneratorInputs, appearance ra: Double) -> GeneratorState {
        let g = x.q1 / p.vg
        // Counter-regulation with intact islets: hepatic output rises with exercise intensity in
        // proportion to beta-cell capacity (falling portal insulin, rising glucagon; absent in T1D).
        // Below fasting glucose they also raise it in proportion to the fall (glucagon response).
        let counter = (1 + ExerciseModel.counterRegulationGain * secretion.capacity * max(x.pv, 0))
            * (1 + EndogenousSecretion.glucagonGain * secretion.capacity * max(0, (fastingMmol - g) / fastingMmol))
        let egp = max(0, p.egp0 * u.egpFactor * counter * (1 - x.x3))
        var d = GeneratorState()
        d.q1 = -HovorkaODE.f01c(glucoseMmol: g, p) - x.x1 * x.q1 + p.k12 * x.q2
            - HovorkaODE.renalClearance(glucoseMmol: g, p) + ra + egp
            - ExerciseModel.disposalRate * max(x.pv, 0) * min(x.q1, p.q1(glucoseMgDl: ExerciseModel.disposalSaturationMgDl))
        d.q2 = x.x1 * x.q1 - (p.k12 + x.x2) * x.q2
        d.s1 = u.insulin - x.s1 / p.tmaxI
        d.s2 = (x.s1 - x.s2) / p.tmaxI
        d.i = x.s2 / (p.tmaxI * p.vi) - p.ke * x.i + x.y / p.vi
        let ex = ExerciseModel.sensitivityMultiplier(pv: x.pv, gamma: x.gamma) * u.sensitivityFactor
        d.x1 = p.ka1 * (ex * p.sf1 * x.i - x.x1)
        d.x2 = p.ka2 * (ex * p.sf2 * x.i - x.x2)
        d.x3 = p.ka3 * (u.sensitivityFactor * p.sf3 * x.i - x.x3)
        if secretion.capacity > 0 {
            d.y = (secretion.target(glucoseMmol: g, dGdt: d.q1 / p.vg) - x.y) / secretion.tau
        }
        d.pv = (5.0 / 3.0) * (u.intensity - x.pv)
        d.gamma = (ExerciseModel.plateau(x.pv) - x.gamma) / 30
        d.ig = (g - x.ig) / sensorLag
        return d
    }

    /// One RK4 step of `h` minutes from `minute`; `appearance(t)` is the meal glucose appearance.
    func step(_ x: GeneratorState, _ u: GeneratorInputs, minute: Double, h: Double,
              appearance: (Double) -> Double) -> GeneratorState {
        let r0 = appearance(minute), rh = appearance(minute + h / 2), r1 = appearance(minute + h)
        let k1 = derivative(x, u, appearance: r0)
        let k2 = derivative(x.adding(k1, h / 2), u, appearance: rh)
        let k3 = derivative(x.adding(k2, h / 2), u, appearance: rh)
        let k4 = derivative(x.adding(k3, h), u, appearance: r1)
        var o = x.adding(k1, h / 6).adding(k2, h / 3).adding(k3, h / 3).adding(k4, h / 6)
        o.q1 = max(o.q1, 1e-6)
        o.q2 = max(o.q2, 0)
        return o
    }

    /// Fasting equilibrium at glucose `gMgDl` under exogenous basal `basalUPerH` and the secretion
    /// at that glucose (consistent when `gMgDl` is the equilibrium of `EndogenousSecretion.fastingGlucose`).
    func fastingState(glucoseMgDl gMgDl: Double, basalUPerH: Double) -> GeneratorState {
        let gm = gMgDl / 18
        let y = secretion.staticRate(glucoseMmol: gm)
        let u = p.insulinInput(basalUPerH: basalUPerH)
        let i = (u + y) / (p.ke * p.vi)
        var x = GeneratorState()
        x.s1 = u * p.tmaxI
        x.s2 = x.s1
        x.i = i
        x.x1 = p.sf1 * i; x.x2 = p.sf2 * i; x.x3 = p.sf3 * i
        x.q1 = gm * p.vg
        x.q2 = x.x1 * x.q1 / (p.k12 + x.x2)
        x.y = y
        x.ig = gm
        return x
    }
}
