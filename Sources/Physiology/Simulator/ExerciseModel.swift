/// The exercise extension of Hovorka used by the cohort generator, after Jacobs et al. 2015
/// (J Diabetes Sci Technol 9:1175; the Hovorka form with Lenart & Parker 2002 multipliers, as in
/// Resalat et al. 2019), driven by heart rate:
///
/// * intensity: the fraction of heart-rate reserve, `HRR = (HR − HR_rest)/(HR_max − HR_rest)`,
///   taken as the fraction of VO2 reserve (Swain & Leutholtz 1997) — `P`, in %, is `100·PV`,
/// * `dPV/dt = (5/3)(HRR − PV)` (Jacobs 2015: 0.6-min time constant),
/// * `dΓ/dt = (Γ*(P) − Γ)/30`, `Γ*(P) = 0.006 P² + 1.2264 P − 10.1958` (Jacobs 2015),
/// * insulin sensitivity: the production terms of X1 and X2 are multiplied by `MPGU · MPIU`,
///   `MPGU = 1 + Γ·PV/PGU_b`, `MPIU = 1 + k·PV`; the effect persists after exercise through the
///   slow X1 (k_a1). Lenart & Parker use PGU_b = 35 and k = 2.4, which multiply insulin action by ~8
///   at 70 % HRR: with a meal bolus on board glucose then fell by > 5 mg/dL/min, so we use
///   PGU_b = 70 and k = 0.8 (×2.6 at 70 % HRR),
/// * insulin-independent uptake, the heart-rate-driven disposal term added to dQ1/dt:
///   `−β·PV·min(Q1, Q1(180 mg/dL))` with `β = 0.005 /min` (≈ 0.45 mg/dL/min at 60 % HRR and
///   140 mg/dL; saturating like transporter-limited uptake),
/// * counter-regulation with intact islets: EGP0 × (1 + 1.5·c·PV), c the beta-cell capacity of
///   `EndogenousSecretion` (0 in T1D).
///
/// From a fasting T1D state on basal insulin, 45 min at 60 % HRR lowers glucose by ~30 mg/dL
/// (~45 mg/dL at 80 %); an hour at 75 % HRR with a meal bolus on board, by ~100 mg/dL.
/// Jacobs' hepatic multiplier (MHGP) is left out: with the published plateau it would raise X3 and
/// lower hepatic output during exercise, the opposite of the physiology.
public enum ExerciseModel {
    /// `PGU_b` in the MPGU denominator (35 in Lenart & Parker 2002; see the type documentation).
    public static let baselineUptake = 70.0
    /// Insulin-independent disposal per unit intensity, 1/min.
    public static let disposalRate = 0.005
    /// Slope `k` of MPIU (2.4 in Lenart & Parker 2002; see the type documentation).
    public static let insulinUptakeGain = 0.8
    /// Glucose (mg/dL) above which the insulin-independent exercise uptake no longer grows.
    public static let disposalSaturationMgDl = 180.0
    /// Rise of hepatic glucose output per unit intensity and unit beta-cell capacity: subjects with
    /// intact islets (healthy, prediabetes, most of T2D) lower portal insulin and raise glucagon during
    /// exercise so hepatic output tracks uptake (Wasserman 2009, Am J Physiol Endocrinol Metab
    /// 296:E11); in T1D this response is absent.
    public static let counterRegulationGain = 1.5

    /// `Γ*(P)` with `P = 100·pv` (Jacobs 2015).
    @inline(__always)
    public static func plateau(_ pv: Double) -> Double {
        let p = 100 * pv
        return 0.006 * p * p + 1.2264 * p - 10.1958
    }

    /// Multiplier on the X1/X2 production terms, `MPGU · MPIU`.
    @inline(__always)
    public static func sensitivityMultiplier(pv: Double, gamma: Double) -> Double {
        let v = max(pv, 0)
        return (1 + max(gamma, 0) * v / baselineUptake) * (1 + insulinUptakeGain * v)
    }

    /// Heart-rate reserve fraction of `hr` (clamped to 0…1).
    public static func heartRateReserve(_ hr: Double, rest: Double, max maxHR: Double) -> Double {
        min(1, Swift.max(0, (hr - rest) / (maxHR - rest)))
    }
}
