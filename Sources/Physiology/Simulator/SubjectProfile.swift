import Foundation

/// Insulin therapy of a generated subject and the settings it doses with.
public struct Therapy: Sendable {
    /// Programmed basal (U/h) before the time-of-day profile; 0 without insulin.
    public var basalUPerH: Double
    /// Pump (CSII: basal profile, temporary basals, 0.05 U steps) or pens (MDI: long-acting basal as
    /// a constant rate, 0.5 U steps).
    public var pump: Bool
    /// True insulin-to-carb ratio (g/U) and sensitivity factor (mg/dL per U) of the model, from
    /// `TherapyCalibration`, and the settings the subject actually uses (the true ones with a
    /// persistent error).
    public var trueICR: Double, trueISF: Double, icr: Double, isf: Double
    /// Target glucose for corrections, mg/dL.
    public var targetMgDl: Double
    /// Relative SD of carbohydrate counting (±20 %), and the probability of forgetting a meal bolus.
    public var carbCountingError: Double, missedBolus: Double
    /// Dose step, U.
    public var doseIncrement: Double

    /// No insulin.
    public static let none = Therapy(basalUPerH: 0, pump: false, trueICR: 0, trueISF: 0, icr: 0, isf: 0,
                                     targetMgDl: 120, carbCountingError: 0, missedBolus: 1, doseIncrement: 0.5)

    /// Basal multiplier by minute of the day (pump profile: +15 % from 03:00 to 08:00 against the
    /// dawn phenomenon, −10 % from 23:00 to 03:00; pens: flat).
    public func profile(minuteOfDay m: Int) -> Double {
        guard pump else { return 1 }
        if m >= 180 && m < 480 { return 1.15 }
        if m >= 1380 || m < 180 { return 0.9 }
        return 1
    }

    /// A dose rounded to the device step.
    public func rounded(_ units: Double) -> Double { (units / doseIncrement).rounded() * doseIncrement }
}

/// Devices of a generated subject: the CGM's sampling and error characteristics and the wearable.
public struct Devices: Sendable {
    /// CGM sampling interval, minutes (5 for most; 1 or 15 for one subject in ten each, to give
    /// ingest work).
    public var cgmIntervalMinutes: Int
    /// Offset of the CGM clock from the 5-minute grid, seconds.
    public var cgmPhaseSeconds: Int
    /// Interstitial lag, min (first-order, ~10 min).
    public var sensorLag: Double
    /// Stationary SD of the AR(1) sensor noise, mg/dL, and its lag-5-min autocorrelation.
    public var noiseSD: Double, noiseAR: Double
    /// Expected dropouts per day.
    public var dropoutsPerDay: Double
    /// Age of the first sensor at the start (days; sensors last 10 days, then a 2-hour warm-up gap).
    public var sensorAgeDays: Double
    /// Whether the subject wears a wearable (HR, respiration, SpO2, steps, stress, calories, sleep).
    public var wearable: Bool
    /// Probability that a row is written twice (duplicate rows for ingest to drop).
    public var duplicateProbability: Double
}

/// A generated subject: demographics, physiology (the generator's own draw from the twin family,
/// adjusted for the group), therapy and devices.
public struct SubjectProfile: Sendable {
    public let index: Int
    /// `S0001`, `S0002`, …
    public let id: String
    public let status: DiabetesStatus
    public let age: Int
    public let female: Bool
    public let heightCm: Double
    public let site: String
    /// Physiology (body weight included).
    public let parameters: HovorkaParameters
    public let secretion: EndogenousSecretion
    public let therapy: Therapy
    public let devices: Devices
    /// Fasting equilibrium glucose (mg/dL) under the true basal needs.
    public let fastingMgDl: Double
    /// Resting and maximal heart rate (Tanaka et al. 2001: 208 − 0.7·age).
    public let restingHR: Double, maxHR: Double
    /// Usual wake and bed times, minutes after midnight.
    public let wakeMinute: Double, bedMinute: Double
    /// Basal metabolic rate, kcal/day (Mifflin–St Jeor).
    public let bmr: Double

    /// Draws subject `index` of the cohort (stream `1000 + index` of `seed`, independent of the twins).
    public static func draw(index: Int, status: DiabetesStatus, config: CohortConfig) -> SubjectProfile {
        var rng = SeededGenerator(seed: config.seed, stream: 1000 + UInt64(index))
        let group = GroupProfile.of(status)
        let age = Int(rng.truncatedNormal(mean: group.ageMean, sd: group.ageSD, in: 18...85).rounded())
        let female = rng.bernoulli(0.5)
        let height = rng.truncatedNormal(mean: female ? 163 : 177, sd: 7, in: 145...200)
        let site = config.clinicalSites[index % config.clinicalSites.count]
        let distribution = ParameterDistribution()

        var chosen: (HovorkaParameters, EndogenousSecretion, Therapy, Double)?
        for _ in 0..<200 {
            var p = distribution.draw(&rng)
            p.bodyWeight = rng.truncatedNormal(mean: group.weightMean, sd: group.weightSD, in: 45...160)
            let reference = p
            p.sf1 *= group.sensitivityScale
            p.sf2 *= group.sensitivityScale
            p.sf3 *= group.sensitivityScale
            p.egp0 *= group.egpScale
            let capacity = group.betaCellCapacity * (status == .t1d ? 0 : rng.logNormal(median: 1, cv: 0.15))
            let secretion = capacity > 0 ? EndogenousSecretion(capacity: capacity, reference: reference) : .none
            guard let drawn = therapyAndFasting(status, p, secretion, &rng) else { continue }
            p.basalUPerH = drawn.therapy.basalUPerH
            chosen = (p, secretion, drawn.therapy, drawn.fasting)
            break
        }
        guard let (p, secretion, therapy, fasting) = chosen else {
            fatalError("SubjectProfile: no plausible \(status.rawValue) subject in 200 draws (seed \(config.seed))")
        }

        // A few subjects per ten sample every minute (index 3) or every 15 minutes (index 7), and
        // some duplicate rows (index 2 and 8), so that every cohort of ten or more gives ingest work.
        let interval = index % 10 == 3 ? 1 : (index % 10 == 7 ? 15 : 5)
        let phase = rng.bernoulli(0.6) ? 0 : rng.int(0...(interval * 60 - 1))
        let duplicates = index % 10 == 2 || index % 10 == 8
        let devices = Devices(
            cgmIntervalMinutes: interval, cgmPhaseSeconds: phase, sensorLag: rng.uniform(7, 13),
            noiseSD: rng.truncatedNormal(mean: 6, sd: 1.5, in: 3...10), noiseAR: 0.8,
            dropoutsPerDay: rng.logNormal(median: 2.0, cv: 0.6), sensorAgeDays: rng.uniform(0, 10),
            wearable: rng.bernoulli(0.8), duplicateProbability: duplicates ? 0.005 : 0)
        let restingHR = rng.truncatedNormal(mean: status == .healthy ? 63 : 68, sd: 7, in: 48...90)
        let bmr = 10 * p.bodyWeight + 6.25 * height - 5 * Double(age) + (female ? -161 : 5)
        return SubjectProfile(
            index: index, id: "S" + String(format: "%04d", index + 1), status: status, age: age, female: female,
            heightCm: height, site: site, parameters: p, secretion: secretion, therapy: therapy, devices: devices,
            fastingMgDl: fasting, restingHR: restingHR, maxHR: 208 - 0.7 * Double(age),
            wakeMinute: rng.normal(mean: 420, sd: 30), bedMinute: rng.normal(mean: 1380, sd: 35), bmr: bmr)
    }

    /// Therapy and fasting glucose for a drawn physiology, or nil when implausible for the group
    /// (T1D basal outside 0.1–2.2 U/h; carb sensitivity ISF/ICR above 5 mg/dL per g; fasting
    /// glucose or OGTT outside the group's range).
    private static func therapyAndFasting(_ status: DiabetesStatus, _ p: HovorkaParameters,
                                          _ secretion: EndogenousSecretion,
                                          _ rng: inout SeededGenerator) -> (therapy: Therapy, fasting: Double)? {
        switch status {
        case .t1d:
            // Basal set for a fasting glucose of 150 mg/dL (real T1D nights run above the twins' 115).
            guard let basal = SteadyState.basalRate(p, glucoseMgDl: 150),
                  VirtualPopulation.basalRange.contains(basal) else { return nil }
            var t = Therapy(basalUPerH: basal, pump: true, trueICR: 0, trueISF: 0, icr: 0, isf: 0, targetMgDl: 120,
                            carbCountingError: 0.2, missedBolus: 0.1, doseIncrement: 0.05)
            TherapyCalibration.calibrate(&t, p, secretion, fastingMgDl: 150, rng: &rng)
            guard t.trueISF / t.trueICR <= TherapyCalibration.maxCarbSensitivity else { return nil }
            t.basalUPerH = basal * rng.logNormal(median: 1, cv: 0.1)
            return (t, 150)
        case .t2dInsulin:
            // Long-acting basal dosed to bring fasting glucose near 130 mg/dL on top of the residual secretion.
            guard let i = SteadyState.equilibriumInsulin(p, glucoseMgDl: 130) else { return nil }
            let needed = i * p.ke * p.vi - secretion.staticRate(glucoseMmol: 130.0 / 18)
            let basal = max(0.2, p.basalUPerH(insulinInput: needed))
            guard basal <= 3.5, let fasting = secretion.fastingGlucose(p, exogenousUPerH: basal) else { return nil }
            var t = Therapy(basalUPerH: basal, pump: false, trueICR: 0, trueISF: 0, icr: 0, isf: 0, targetMgDl: 130,
                            carbCountingError: 0.25, missedBolus: 0.2, doseIncrement: 0.5)
            TherapyCalibration.calibrate(&t, p, secretion, fastingMgDl: fasting, rng: &rng)
            guard t.trueISF / t.trueICR <= TherapyCalibration.maxCarbSensitivity else { return nil }
            t.basalUPerH = basal * rng.logNormal(median: 1, cv: 0.12)
            guard let f = secretion.fastingGlucose(p, exogenousUPerH: t.basalUPerH), (95...190).contains(f) else { return nil }
            return (t, f)
        case .t2dOral, .prediabetes, .healthy:
            guard let f = secretion.fastingGlucose(p) else { return nil }
            let range: ClosedRange<Double> = status == .healthy ? 75...100 : (status == .prediabetes ? 100...126 : 115...170)
            guard range.contains(f), OralGlucoseTolerance.accepts(status, p, secretion, fastingMgDl: f) else { return nil }
            return (.none, f)
        }
    }
}
