import Foundation

/// One wearable sample on the 5-minute grid (values over the preceding 5 minutes where cumulative).
public struct WearableSample: Sendable {
    public var heartRate: Int
    public var respiration: Double
    /// Measured during sleep only (nil while awake), as most watches do.
    public var spo2: Int?
    /// Steps and kcal over the 5 minutes ending at the sample.
    public var steps: Int
    public var calories: Double
    /// 0–100; nil during exercise (watches report activity instead of stress).
    public var stress: Int?
    /// `awake`, `light`, `deep` or `rem`.
    public var sleepStage: String
}

/// Wearable signals consistent with the subject's activity and sleep (stream `3000 + index`):
///
/// * heart rate: rest + (max − rest)·intensity, first-order response (τ 1.5 min), lower in sleep
///   (deep −9, light −6, REM −3 bpm), +0.15 bpm per stress point, AR(1) noise (SD 2.5 bpm);
/// * respiration: 14/min awake, 12–15 asleep by stage, +18·intensity during activity;
/// * SpO2: 94–99 % during sleep with rare brief dips, not reported while awake;
/// * steps: cadence of walks and exercise (running, walking) plus sparse steps while awake;
/// * stress: ~20 awake plus stress episodes, ~8 asleep, absent during exercise;
/// * calories: Mifflin–St Jeor BMR (×0.95 asleep, ×1.1 awake) plus (METs − 1)·BW/60 per minute
///   with METs = 1 + 12·intensity.
enum Wearables {
    static let stageNames = ["awake", "light", "deep", "rem"]

    static func samples(_ s: SubjectProfile, _ plan: SubjectPlan, config: CohortConfig) -> [WearableSample?] {
        var rng = SeededGenerator(seed: config.seed, stream: 3000 + UInt64(s.index))
        let total = plan.totalMinutes
        var out: [WearableSample?] = []
        out.reserveCapacity(total / 5 + 1)
        var hr = s.restingHR
        var hrNoise = 0.0, stressNoise = 0.0, stepsAcc = 0.0, kcalAcc = 0.0
        let bw = s.parameters.bodyWeight
        for m in 0..<total {
            let asleep = plan.asleep[m]
            let stage = asleep ? Int(plan.stage[m]) : 0
            let sleepDip: Double = asleep ? [0, -6, -9, -3][stage] : 0
            let target = s.restingHR + (s.maxHR - s.restingHR) * plan.intensity[m] + sleepDip + 0.15 * plan.stress[m]
            hr += (target - hr) * (1 - Foundation.exp(-1 / 1.5))
            hrNoise = 0.8 * hrNoise + 2.5 * (1 - 0.64).squareRoot() * rng.normal()
            stressNoise = 0.97 * stressNoise + 8 * (1 - 0.97 * 0.97).squareRoot() * rng.normal()
            let sparseSteps = (!asleep && plan.cadence[m] == 0 && rng.bernoulli(0.15)) ? rng.uniform(5, 40) : 0
            stepsAcc += plan.cadence[m] > 0 ? plan.cadence[m] * rng.uniform(0.9, 1.0) : sparseSteps
            let mets = 1 + 12 * plan.intensity[m]
            kcalAcc += s.bmr / 1440 * (asleep ? 0.95 : 1.1) + (mets - 1) * bw / 60
            guard (m + 1) % 5 == 0 else { continue }
            let worn = plan.worn[m]
            defer { stepsAcc = 0; kcalAcc = 0 }
            guard worn else {
                out.append(nil)
                continue
            }
            let exercising = plan.intensity[m] >= 0.3
            let respiration = (asleep ? [14.0, 13.0, 12.0, 15.0][stage] : 14.0) + 18 * plan.intensity[m] + rng.normal(mean: 0, sd: 0.8)
            var spo2: Int? = nil
            if asleep {
                let dip = rng.bernoulli(0.02) ? rng.uniform(3, 6) : 0
                spo2 = Int(min(100, max(85, rng.normal(mean: 96, sd: 1) - dip)).rounded())
            }
            let stressValue = asleep ? 8 + 4 * rng.normal() : 20 + plan.stress[m] + stressNoise
            out.append(WearableSample(
                heartRate: Int((hr + hrNoise).rounded()), respiration: max(6, respiration), spo2: spo2,
                steps: Int(stepsAcc.rounded()), calories: kcalAcc,
                stress: exercising ? nil : Int(min(100, max(0, stressValue)).rounded()),
                sleepStage: asleep ? stageNames[stage] : "awake"))
        }
        return out
    }
}
