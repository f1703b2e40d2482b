import Foundation

/// One eating event of a simulated subject.
public struct Meal: Sendable {
    /// What kind of eating event this is.
    public enum Kind: String, Sendable { case breakfast, lunch, dinner, snack, rescue }

    /// Minutes since the start of the simulation.
    public var minute: Double
    public var kind: Kind
    /// Macronutrients, grams.
    public var carbs: Double, protein: Double, fat: Double, fibre: Double
    /// Whether the subject logged it (event columns of `cgm.csv`).
    public var logged: Bool
    /// Time of maximum gut absorption for this meal (min) and carbohydrate bioavailability.
    public var tmax: Double, bioavailability: Double
}

/// How meal composition shapes gut absorption in the cohort generator (documented choice).
///
/// The twin's gut is Hovorka's two-compartment chain with one `t_max,G` per subject. Fat and fibre
/// delay gastric emptying and spread the glucose rise (high-fat meals raise glucose later and for
/// longer: Wolpert et al. 2013, Diabetes Care 36:810; Bell et al. 2015, Lancet Diabetes Endocrinol
/// 3:370), so each meal gets its own
///
///     t_max = t_max,G · min(2.2, 1 + 0.010·fat + 0.015·fibre + 0.003·protein)      (grams)
///     A     = A_G · max(0.85, 1 − 0.01·fibre)
///
/// e.g. a 50 g-carb breakfast with 12 g fat, 5 g fibre and 15 g protein absorbs with
/// `t_max ≈ 1.24 t_max,G`, a pizza (35 g fat, 6 g fibre, 25 g protein) with `1.5 t_max,G`, while
/// rescue carbohydrate (glucose tablets or juice) uses `0.5 t_max,G`. The appearance of each meal is
/// the analytic response of the chain to a bolus of `D` grams at `t_m`:
///
///     Ra(t) = A · D/(0.18·BW) · (t − t_m) · e^{−(t − t_m)/t_max} / t_max²   (mmol/kg/min)
///
/// identical to `K·M2` of the twin (Appendix B) for that meal, summed over meals.
public enum MealModel {
    /// Composition factor on `t_max,G` (see the type documentation).
    public static func tmaxFactor(protein: Double, fat: Double, fibre: Double) -> Double {
        min(2.2, 1 + 0.010 * fat + 0.015 * fibre + 0.003 * protein)
    }

    /// Bioavailability factor on `A_G`.
    public static func bioavailabilityFactor(fibre: Double) -> Double { max(0.85, 1 - 0.01 * fibre) }

    /// A meal of the given composition for a subject with `p`.
    public static func meal(at minute: Double, kind: Meal.Kind, carbs: Double, protein: Double, fat: Double,
                            fibre: Double, logged: Bool, _ p: HovorkaParameters) -> Meal {
        let tmax = kind == .rescue ? 0.5 * p.tmaxG : p.tmaxG * tmaxFactor(protein: protein, fat: fat, fibre: fibre)
        return Meal(minute: minute, kind: kind, carbs: carbs, protein: protein, fat: fat, fibre: fibre, logged: logged,
                    tmax: tmax, bioavailability: p.ag * bioavailabilityFactor(fibre: fibre))
    }

    /// Glucose appearance of one meal at `minute`, mmol/kg/min.
    @inline(__always)
    public static func appearance(_ m: Meal, at minute: Double, bodyWeight: Double) -> Double {
        let dt = minute - m.minute
        guard dt > 0 else { return 0 }
        return m.bioavailability * m.carbs / (0.18 * bodyWeight) * dt * Foundation.exp(-dt / m.tmax) / (m.tmax * m.tmax)
    }

    /// Minutes after which a meal's remaining appearance is negligible (< 0.1 % of its carbs).
    public static func activeWindow(_ m: Meal) -> Double { 11 * m.tmax }
}
