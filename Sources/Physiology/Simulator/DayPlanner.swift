import Foundation

/// An activity bout: a planned exercise session or a short walk of daily life.
public struct ActivityBout: Sendable {
    public enum Kind: String, Sendable { case walk, run, cycle, walkingBout = "walking_bout" }
    /// Start (minutes since the simulation start) and duration (min).
    public var start: Double, duration: Double
    /// Target heart-rate-reserve fraction.
    public var intensity: Double
    public var kind: Kind
    /// Steps per minute while active.
    public var cadence: Double
    /// Pump users: temporary basal at 50 % from 60 min before to the end.
    public var basalReduction: Bool
    public var end: Double { start + duration }
}

/// The day-by-day behaviour of one subject, decided before the physiology runs (only rescue
/// carbohydrates and corrections depend on glucose): sleep, meals and their composition, exercise,
/// walks, stress episodes, wearable wear, and per-minute tracks derived from them.
struct SubjectPlan {
    var totalMinutes: Int
    var sleeps: [(start: Int, end: Int)] = []
    var meals: [Meal] = []
    var bouts: [ActivityBout] = []
    /// Per minute: activity intensity (HRR fraction), cadence (steps/min), asleep, sleep stage
    /// (0 awake, 1 light, 2 deep, 3 REM), stress (0–100 baseline offset), wearable worn.
    var intensity: [Double], cadence: [Double], asleep: [Bool], stage: [UInt8], stress: [Double], worn: [Bool]
    /// Day-to-day insulin-sensitivity multiplier (log-normal, CV 10 %).
    var dailySensitivity: [Double] = []

    init(totalMinutes: Int) {
        self.totalMinutes = totalMinutes
        intensity = [Double](repeating: 0, count: totalMinutes)
        cadence = [Double](repeating: 0, count: totalMinutes)
        asleep = [Bool](repeating: false, count: totalMinutes)
        stage = [UInt8](repeating: 0, count: totalMinutes)
        stress = [Double](repeating: 0, count: totalMinutes)
        worn = [Bool](repeating: false, count: totalMinutes)
    }

    /// Dawn phenomenon: EGP0 rises by up to 15 % between 04:00 and 08:00 (smooth bump), for groups
    /// without a compensating beta cell.
    static func dawnFactor(minuteOfDay m: Double, amplitude: Double) -> Double {
        guard m > 240 && m < 480 else { return 1 }
        let x = (m - 240) / 240
        return 1 + amplitude * sin(Double.pi * x)
    }
}

/// Draws a `SubjectPlan` (stream `2000 + index`).
enum DayPlanner {
    static func plan(_ s: SubjectProfile, config: CohortConfig) -> SubjectPlan {
        var rng = SeededGenerator(seed: config.seed, stream: 2000 + UInt64(s.index))
        let days = config.days
        let total = days * 1440
        var plan = SubjectPlan(totalMinutes: total)
        let group = GroupProfile.of(s.status)
        let p = s.parameters
        let startDay = Int(config.startEpochSeconds / 86400)

        // Sleep: the night before day 0 runs until the first wake-up.
        var wakes: [Double] = [], beds: [Double] = []
        for d in 0..<days {
            let weekday = (startDay + d + 4) % 7 // 0 = Sunday
            let weekend = weekday == 0 || weekday == 6
            wakes.append(Double(d * 1440) + s.wakeMinute + (weekend ? 60 : 0) + rng.normal(mean: 0, sd: 25))
            beds.append(Double(d * 1440) + s.bedMinute + (weekend ? 45 : 0) + rng.normal(mean: 0, sd: 30))
            plan.dailySensitivity.append(rng.logNormal(median: 1, cv: 0.1))
        }
        var sleepStart = -60.0
        for d in 0..<days {
            plan.sleeps.append((Int(max(0, sleepStart)), Int(wakes[d])))
            sleepStart = beds[d]
        }
        if Int(sleepStart) < total { plan.sleeps.append((Int(sleepStart), total)) }

        for d in 0..<days {
            let wake = wakes[d], bed = beds[d], day = Double(d * 1440)
            // Main meals.
            func macro(_ median: Double, _ cv: Double, _ range: ClosedRange<Double>) -> Double {
                min(max(rng.logNormal(median: median, cv: cv), range.lowerBound), range.upperBound).rounded()
            }
            var mains: [Double] = []
            if rng.bernoulli(0.92) {
                let t = wake + rng.uniform(15, 60)
                mains.append(t)
                plan.meals.append(MealModel.meal(
                    at: t, kind: .breakfast, carbs: macro(45 * group.carbScale, 0.35, 10...100),
                    protein: macro(15, 0.4, 3...40), fat: macro(12, 0.5, 2...40), fibre: macro(4, 0.5, 0...15),
                    logged: rng.bernoulli(group.mealLogging), p))
            }
            if rng.bernoulli(0.95) {
                let t = day + min(max(750 + rng.normal(mean: 0, sd: 40), 660), 900)
                mains.append(t)
                plan.meals.append(MealModel.meal(
                    at: t, kind: .lunch, carbs: macro(60 * group.carbScale, 0.35, 15...120),
                    protein: macro(25, 0.4, 5...60), fat: macro(20, 0.5, 3...60), fibre: macro(7, 0.5, 1...20),
                    logged: rng.bernoulli(group.mealLogging), p))
            }
            if rng.bernoulli(0.97) {
                let t = day + min(max(1140 + rng.normal(mean: 0, sd: 50), 1020), max(1030, min(1290, bed - day - 60)))
                mains.append(t)
                let rich = rng.bernoulli(0.15) // pizza-like, high-fat dinner
                plan.meals.append(MealModel.meal(
                    at: t, kind: .dinner, carbs: macro(70 * group.carbScale, 0.35, 15...130),
                    protein: macro(rich ? 30 : 28, 0.4, 5...70), fat: rich ? rng.uniform(35, 55).rounded() : macro(22, 0.5, 3...60),
                    fibre: macro(8, 0.5, 1...20), logged: rng.bernoulli(group.mealLogging), p))
            }
            // Snacks, away from main meals.
            for _ in 0..<rng.poisson(1.3) {
                for _ in 0..<10 {
                    let t = rng.uniform(wake + 30, max(wake + 31, bed - 30))
                    if mains.allSatisfy({ abs($0 - t) > 45 }) {
                        plan.meals.append(MealModel.meal(
                            at: t, kind: .snack, carbs: macro(20, 0.4, 5...50), protein: macro(3, 0.8, 0...15),
                            fat: macro(5, 0.8, 0...20), fibre: macro(1.5, 0.8, 0...6),
                            logged: rng.bernoulli(group.mealLogging * 0.8), p))
                        break
                    }
                }
            }
            // Planned exercise.
            let weekday = (startDay + d + 4) % 7
            if rng.bernoulli(min(0.9, group.exerciseProbability * ((weekday == 0 || weekday == 6) ? 1.3 : 1))) {
                let u = rng.uniform()
                let kind: ActivityBout.Kind = u < 0.4 ? .walk : (u < 0.7 ? .run : .cycle)
                let start = rng.bernoulli(0.4) ? wake + rng.uniform(30, 120) : day + 1050 + rng.normal(mean: 0, sd: 50)
                let duration: Double, intensity: Double, cadence: Double
                switch kind {
                case .walk: duration = rng.uniform(30, 75); intensity = rng.uniform(0.3, 0.45); cadence = rng.uniform(100, 120)
                case .run: duration = rng.uniform(20, 60); intensity = rng.uniform(0.6, 0.85); cadence = rng.uniform(150, 175)
                default: duration = rng.uniform(30, 90); intensity = rng.uniform(0.5, 0.75); cadence = 0
                }
                let reduce = s.therapy.pump && kind != .walk && rng.bernoulli(0.4)
                plan.bouts.append(ActivityBout(start: start, duration: duration, intensity: intensity, kind: kind,
                                               cadence: cadence, basalReduction: reduce))
                if s.status.usesInsulin && kind != .walk && rng.bernoulli(0.3) {
                    plan.meals.append(MealModel.meal(at: start - rng.uniform(10, 30), kind: .snack,
                                                     carbs: rng.uniform(15, 25).rounded(), protein: 0, fat: 0, fibre: 0,
                                                     logged: rng.bernoulli(0.9), p))
                }
            }
            // Walking bouts of daily life.
            for _ in 0..<rng.poisson(3) {
                plan.bouts.append(ActivityBout(start: rng.uniform(wake + 10, max(wake + 11, bed - 30)), duration: rng.uniform(5, 20),
                                               intensity: rng.uniform(0.15, 0.3), kind: .walkingBout,
                                               cadence: rng.uniform(95, 115), basalReduction: false))
            }
            // Stress episodes: minutes with an elevated stress score and a few extra beats per minute.
            for _ in 0..<rng.int(0...3) {
                let t = Int(rng.uniform(wake + 30, max(wake + 31, bed - 60)))
                let level = rng.uniform(20, 45)
                for m in t..<min(total, t + Int(rng.uniform(30, 120))) where m >= 0 { plan.stress[m] = max(plan.stress[m], level) }
            }
        }
        for k in plan.meals.indices { plan.meals[k].minute = plan.meals[k].minute.rounded() } // whole minutes
        plan.meals.sort { $0.minute < $1.minute }
        plan.meals.removeAll { $0.minute < 0 || $0.minute >= Double(total) }
        plan.bouts.sort { $0.start < $1.start }

        // Per-minute tracks.
        for bout in plan.bouts {
            let a = max(0, Int(bout.start)), b = min(total, Int(bout.end))
            guard a < b else { continue }
            for m in a..<b {
                plan.intensity[m] = max(plan.intensity[m], bout.intensity)
                plan.cadence[m] = max(plan.cadence[m], bout.cadence)
            }
        }
        for (a, b) in plan.sleeps {
            guard a < b else { continue }
            for m in max(0, a)..<min(total, b) { plan.asleep[m] = true }
            fillSleepStages(&plan.stage, from: max(0, a), to: min(total, b), &rng)
        }
        // Wearable: worn unless charging (~1 h most days) or left off for a night (10 %).
        if s.devices.wearable {
            for m in 0..<total { plan.worn[m] = true }
            for d in 0..<days where rng.bernoulli(0.8) {
                let t = Int(rng.uniform(wakes[d] + 60, max(wakes[d] + 61, beds[d] - 120)))
                for m in max(0, t)..<min(total, t + Int(rng.uniform(45, 90))) { plan.worn[m] = false }
            }
            for (a, b) in plan.sleeps where rng.bernoulli(0.1) {
                for m in max(0, a)..<min(total, b) { plan.worn[m] = false }
            }
        }
        return plan
    }

    /// Sleep architecture: ~90-minute cycles of light, deep and REM sleep, deep sleep concentrated in
    /// the first cycles and REM in the last, with brief awakenings.
    static func fillSleepStages(_ stage: inout [UInt8], from a: Int, to b: Int, _ rng: inout SeededGenerator) {
        var m = a
        var cycle = 0
        while m < b {
            let length = Int(rng.uniform(80, 110))
            let deepShare = max(0.05, 0.3 - 0.07 * Double(cycle))
            let remShare = min(0.35, 0.1 + 0.07 * Double(cycle))
            let light1 = Int(Double(length) * (1 - deepShare - remShare) * 0.6)
            let deep = Int(Double(length) * deepShare)
            let light2 = Int(Double(length) * (1 - deepShare - remShare) * 0.4)
            let segments: [(UInt8, Int)] = [(1, light1), (2, deep), (1, light2), (3, length - light1 - deep - light2)]
            for (s, n) in segments {
                for _ in 0..<n where m < b {
                    stage[m] = s
                    m += 1
                }
            }
            if rng.bernoulli(0.3) {
                for _ in 0..<rng.int(2...8) where m < b {
                    stage[m] = 0
                    m += 1
                }
            }
            cycle += 1
        }
    }
}
