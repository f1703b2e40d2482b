/// A virtual 75 g oral glucose tolerance test, used to keep each non-insulin group's draws
/// consistent with its diagnosis (ADA criteria on the 2-hour value: < 140 mg/dL normal,
/// 140–199 impaired tolerance, ≥ 200 diabetes), with ceilings on the peak so that no draw
/// produces implausible excursions in daily life.
enum OralGlucoseTolerance {
    /// `(2-hour glucose, peak)` in mg/dL for 75 g of glucose from the fasting equilibrium.
    static func test(_ p: HovorkaParameters, _ secretion: EndogenousSecretion, fastingMgDl: Double) -> (Double, Double) {
        var ode = GeneratorODE(p: p, secretion: secretion, sensorLag: 10)
        ode.fastingMmol = fastingMgDl / 18
        let x0 = ode.fastingState(glucoseMgDl: fastingMgDl, basalUPerH: 0)
        let drink = MealModel.meal(at: 0, kind: .snack, carbs: 75, protein: 0, fat: 0, fibre: 0, logged: false, p)
        let g = TherapyCalibration.glucose(ode, x0, basalUPerH: 0, bolusU: 0, meal: drink, minutes: 180)
        return (g[119], g.max() ?? fastingMgDl)
    }

    /// Whether a draw's OGTT fits its group: healthy 2 h < 140 and peak < 190; prediabetes
    /// 2 h 120–199 (or normal 2 h with impaired fasting) and peak < 250; T2D 2 h ≥ 180 and peak < 330.
    static func accepts(_ status: DiabetesStatus, _ p: HovorkaParameters, _ secretion: EndogenousSecretion,
                        fastingMgDl: Double) -> Bool {
        let (twoHour, peak) = test(p, secretion, fastingMgDl: fastingMgDl)
        switch status {
        case .healthy: return twoHour < 140 && peak < 190
        case .prediabetes: return twoHour < 200 && peak < 250
        case .t2dOral: return twoHour >= 180 && peak < 330
        default: return true
        }
    }
}
