import Foundation

/// A delivered insulin bolus.
public struct Bolus: Sendable {
    public enum Kind: String, Sendable { case meal, correction }
    /// Minutes since the simulation start.
    public var minute: Int
    public var units: Double
    public var kind: Kind
}

/// Everything one simulated subject produced: ground truth per minute, events, CGM readings,
/// wearable samples. `CohortWriter` turns it into CSV rows.
public struct SubjectRecord: Sendable {
    public let profile: SubjectProfile
    public let minutes: Int
    /// Every eating event (planned and rescue), time order.
    public let meals: [Meal]
    public let boluses: [Bolus]
    public let bouts: [ActivityBout]
    /// Basal rate in effect each minute, U/h (0 without insulin).
    public let basal: [Float]
    /// Plasma and interstitial glucose each minute, mg/dL.
    public let plasma: [Float], interstitial: [Float]
    /// CGM readings: time (seconds since start) and value (nil: dropout or warm-up).
    public let readings: [(seconds: Int64, value: Int?)]
    public let artifacts: [SensorArtifact]
    /// Wearable samples on the 5-minute grid (nil when not worn).
    public let wearable: [WearableSample?]

    /// Mean plasma glucose over the simulation, mg/dL.
    public var meanGlucose: Double { plasma.reduce(0.0) { $0 + Double($1) } / Double(max(plasma.count, 1)) }
}

/// Runs the physiology of one subject minute by minute (RK4, 1-min steps), with the subject's
/// decisions in the loop: meal boluses (carbs/ICR with ±20 % counting error, ~10 % forgotten, pre-
/// or late-bolused), occasional correction boluses when the CGM is high, rescue carbohydrate when it
/// is low, and temporary basals around exercise (stream `5000 + index`).
enum SubjectSimulation {
    static func run(_ s: SubjectProfile, config: CohortConfig) -> SubjectRecord {
        let plan = DayPlanner.plan(s, config: config)
        var sensor = CGMSensor(s, plan, config: config)
        var rng = SeededGenerator(seed: config.seed, stream: 5000 + UInt64(s.index))
        let p = s.parameters
        let t = s.therapy
        var ode = GeneratorODE(p: p, secretion: s.secretion, sensorLag: s.devices.sensorLag)
        ode.fastingMmol = s.fastingMgDl / 18
        let total = plan.totalMinutes
        let insulinUser = s.status.usesInsulin

        // Meal boluses: decided now (timing, missed or not), sized when given.
        var pending: [(minute: Int, meal: Int)] = []
        if insulinUser {
            for (k, m) in plan.meals.enumerated() where m.logged && m.kind != .rescue && !rng.bernoulli(t.missedBolus) {
                let late = rng.bernoulli(0.1)
                let offset = late ? rng.uniform(20, 45) : min(10, max(-20, rng.normal(mean: -5, sd: 8)))
                pending.append((Int((m.minute + offset).rounded()), k))
            }
            pending.sort { ($0.minute, $0.meal) < ($1.minute, $1.meal) }
        }

        var meals = plan.meals
        var boluses: [Bolus] = []
        var basal = [Float](repeating: 0, count: total)
        var plasma = [Float](repeating: 0, count: total)
        var interstitial = [Float](repeating: 0, count: total)
        var readings: [(Int64, Int?)] = []
        readings.reserveCapacity(sensor.readingTimes.count)

        var x = ode.fastingState(glucoseMgDl: s.fastingMgDl, basalUPerH: insulinUser ? p.basalUPerH : 0)
        var active: [Meal] = []
        var nextMeal = 0, nextBolus = 0, nextReading = 0
        var lastReading: (minute: Int, value: Int)? = nil
        var lastBolusMinute = -10_000, lastRescueMinute = -10_000, lastCorrectionCheck = -10_000
        var rescueQueue: [Meal] = []

        for m in 0..<total {
            // Meals starting this minute (planned and rescue).
            while nextMeal < meals.count && Int(meals[nextMeal].minute) <= m {
                active.append(meals[nextMeal])
                nextMeal += 1
            }
            active.removeAll { Double(m) - $0.minute > MealModel.activeWindow($0) }

            // Insulin: basal with pump profile and exercise temp basal, plus boluses due now.
            var rate = 0.0
            if insulinUser {
                rate = t.basalUPerH * t.profile(minuteOfDay: m % 1440)
                if plan.bouts.contains(where: { $0.basalReduction && Double(m) >= $0.start - 60 && Double(m) < $0.end }) {
                    rate *= 0.5
                }
            }
            basal[m] = Float(rate)
            var bolusU = 0.0
            while nextBolus < pending.count && pending[nextBolus].minute <= m {
                let meal = plan.meals[pending[nextBolus].meal]
                // Carbohydrate counting: ±20 % (SD) around a 10 % underestimate (large meals are
                // underestimated; Brazeau et al. 2013, Eur J Clin Nutr 67:1093).
                let counted = meal.carbs * max(0.3, 0.9 + t.carbCountingError * rng.normal())
                var dose = counted / t.icr
                if t.pump, let r = lastReading, m - r.minute <= 15, Double(r.value) > 150 { // pump bolus wizard correction
                    dose += max(0, (Double(r.value) - t.targetMgDl) / t.isf - insulinOnBoard(boluses, at: m))
                }
                dose = t.rounded(max(0, dose))
                if dose > 0 {
                    boluses.append(Bolus(minute: m, units: dose, kind: .meal))
                    bolusU += dose
                    lastBolusMinute = m
                }
                nextBolus += 1
            }
            // Corrections when high: checked at most every 30 min while awake above 220 (T1D) or
            // 250 mg/dL (T2D), and at night above 300 when the alarm wakes the subject; pumps subtract
            // insulin on board (bolus wizard), pens wait 2.5 h after the last bolus.
            if insulinUser, let r = lastReading, m - r.minute <= 10, m - lastCorrectionCheck >= 30 {
                lastCorrectionCheck = m
                let threshold = plan.asleep[m] ? 300.0 : (s.status == .t1d ? 220.0 : 250.0)
                let willing = plan.asleep[m] ? 0.4 : (s.status == .t1d ? 0.5 : 0.15)
                if Double(r.value) > threshold && (t.pump || m - lastBolusMinute > 150) && rng.bernoulli(willing) {
                    let iob = t.pump ? insulinOnBoard(boluses, at: m) : 0
                    // At most 0.1 U/kg per correction: nobody injects 40 U to correct a high.
                    let wanted = ((Double(r.value) - t.targetMgDl) / t.isf - iob) * max(0.3, 1 + 0.2 * rng.normal())
                    let dose = t.rounded(min(wanted, 0.1 * p.bodyWeight))
                    if dose > 0 {
                        boluses.append(Bolus(minute: m, units: dose, kind: .correction))
                        bolusU += dose
                        lastBolusMinute = m
                    }
                }
            }

            var u = GeneratorInputs()
            u.insulin = p.insulinInput(basalUPerH: rate) + p.insulinInput(bolusU: bolusU, over: 1)
            u.intensity = plan.intensity[m]
            u.egpFactor = SubjectPlan.dawnFactor(minuteOfDay: Double(m % 1440), amplitude: 0.15)
            u.sensitivityFactor = plan.dailySensitivity[min(m / 1440, plan.dailySensitivity.count - 1)]
            let bw = p.bodyWeight
            let before = x
            x = ode.step(x, u, minute: Double(m), h: 1) { time in
                var ra = 0.0
                for meal in active { ra += MealModel.appearance(meal, at: time, bodyWeight: bw) }
                return ra
            }
            plasma[m] = Float(p.glucoseMgDl(q1: x.q1))
            interstitial[m] = Float(18 * x.ig)

            // CGM readings falling in (m, m+1] minutes, interpolated between the two states.
            while nextReading < sensor.readingTimes.count && sensor.readingTimes[nextReading] <= Int64(m + 1) * 60 {
                let rt = sensor.readingTimes[nextReading]
                let f = max(0, min(1, Double(rt - Int64(m) * 60) / 60))
                let ig = 18 * ((1 - f) * before.ig + f * x.ig)
                let value = sensor.reading(at: rt, interstitialMgDl: ig)
                readings.append((rt, value))
                if let v = value { lastReading = (m + 1, v) }
                nextReading += 1
            }

            // Rescue carbohydrate when low (awake, or woken by the alarm).
            if let r = lastReading, r.minute == m + 1, m - lastRescueMinute > 15 {
                // Insulin users treat < 70 awake and are woken by the alarm below 60; others only
                // react to a clear low while awake.
                let low = insulinUser
                    ? (plan.asleep[m] ? (r.value < 60 && rng.bernoulli(0.8)) : r.value < 70)
                    : (!plan.asleep[m] && r.value < 55 && rng.bernoulli(0.5))
                if low {
                    lastRescueMinute = m
                    let carbs = (r.value < 55 ? rng.uniform(20, 30) : rng.uniform(12, 20)).rounded()
                    rescueQueue.append(MealModel.meal(at: Double(m + 1), kind: .rescue, carbs: carbs, protein: 0, fat: 0,
                                                      fibre: 0, logged: rng.bernoulli(0.5), p))
                }
            }
            if !rescueQueue.isEmpty {
                for meal in rescueQueue {
                    meals.insert(meal, at: nextMeal)
                }
                rescueQueue.removeAll()
            }
        }
        let wearable = Wearables.samples(s, plan, config: config)
        return SubjectRecord(profile: s, minutes: total, meals: meals, boluses: boluses, bouts: plan.bouts, basal: basal,
                             plasma: plasma, interstitial: interstitial, readings: readings,
                             artifacts: sensor.artifacts, wearable: wearable)
    }

    /// Insulin on board (U) at minute `m`: boluses of the last 4 hours, decaying linearly (the usual
    /// pump bolus-wizard approximation).
    static func insulinOnBoard(_ boluses: [Bolus], at m: Int) -> Double {
        var iob = 0.0
        for b in boluses.reversed() {
            let age = Double(m - b.minute)
            if age >= 240 { break }
            iob += b.units * (1 - age / 240)
        }
        return iob
    }
}
