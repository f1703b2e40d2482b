/// Model-based insulin settings of a generated subject: the insulin-to-carb ratio and sensitivity
/// factor its own physiology implies, and the (persistently wrong) ones it doses with.
///
/// * ISF (mg/dL per U): the nadir drop over 5 h after 1 U from the fasting equilibrium;
/// * ICR (g/U): 60 g of a standard meal (20 g protein, 15 g fat, 5 g fibre) divided by the largest
///   bolus that keeps glucose from dipping below the pre-meal value over the next 5 h (bisection) —
///   the conservative setting clinicians aim for;
/// * the settings used: the true ones times a log-normal error (CV 15 %), as real settings are
///   rarely exact, the carb ratio biased 10 % towards less insulin (cautious settings).
enum TherapyCalibration {
    /// Largest accepted carbohydrate sensitivity ISF/ICR (mg/dL per g) for insulin users: clinical
    /// values are ~2–5; draws above give > 500 mg/dL after an unbolused meal.
    static let maxCarbSensitivity = 5.0

    static func calibrate(_ t: inout Therapy, _ p: HovorkaParameters, _ secretion: EndogenousSecretion,
                          fastingMgDl: Double, rng: inout SeededGenerator) {
        var ode = GeneratorODE(p: p, secretion: secretion, sensorLag: 10)
        ode.fastingMmol = fastingMgDl / 18
        let x0 = ode.fastingState(glucoseMgDl: fastingMgDl, basalUPerH: t.basalUPerH)
        let oneUnit = glucose(ode, x0, basalUPerH: t.basalUPerH, bolusU: 1, meal: nil, minutes: 300)
        let isf = max(5, fastingMgDl - (oneUnit.min() ?? fastingMgDl))
        let meal = MealModel.meal(at: 0, kind: .lunch, carbs: 60, protein: 20, fat: 15, fibre: 5, logged: true, p)
        var lo = 0.0, hi = 60.0
        for _ in 0..<40 {
            let mid = 0.5 * (lo + hi)
            let g = glucose(ode, x0, basalUPerH: t.basalUPerH, bolusU: mid, meal: meal, minutes: 300)
            if g.min()! >= fastingMgDl - 1 { lo = mid } else { hi = mid }
        }
        let bolus = max(0.1, 0.5 * (lo + hi))
        t.trueISF = isf
        t.trueICR = 60 / bolus
        t.isf = isf * rng.logNormal(median: 1, cv: 0.15)
        t.icr = t.trueICR * rng.logNormal(median: 1.1, cv: 0.15)
    }

    /// Plasma glucose (mg/dL) each minute from `x0` with a bolus and an optional meal at minute 0.
    static func glucose(_ ode: GeneratorODE, _ x0: GeneratorState, basalUPerH: Double, bolusU: Double, meal: Meal?,
                        minutes: Int) -> [Double] {
        var x = x0
        var out: [Double] = []
        out.reserveCapacity(minutes)
        let basal = ode.p.insulinInput(basalUPerH: basalUPerH)
        for m in 0..<minutes {
            var u = GeneratorInputs()
            u.insulin = basal + (m == 0 ? ode.p.insulinInput(bolusU: bolusU, over: 1) : 0)
            x = ode.step(x, u, minute: Double(m), h: 1) { t in
                meal.map { MealModel.appearance($0, at: t, bodyWeight: ode.p.bodyWeight) } ?? 0
            }
            out.append(ode.p.glucoseMgDl(q1: x.q1))
        }
        return out
    }
}
