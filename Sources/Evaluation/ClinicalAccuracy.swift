// Clinical accuracy of a forecast per horizon step (issue 14), for the model and the naive baseline on the same
// segments: what CGM forecasting papers report beside MAE and RMSE.
//
//   Clarke / Parkes zones   % of (truth, forecast) pairs in zones A–E (ErrorGrids.swift; Parkes: type 1 grid)
//   MARD                    mean |ŷ − y| / y, %
//   time lag                the shift k ∈ {0, …, h} (steps) minimizing mean (ŷ_{t+h} − y_{t+h−k})² over the segments:
//                           how many minutes behind the truth the forecast at horizon h runs. y_t is the last observed
//                           glucose, so persistence has lag h exactly; a perfect forecast has lag 0.
//   hypo / hyper events     a pair is an event when the truth is < 70 (hypo) or > 180 mg/dL (hyper) and a predicted
//                           event when the forecast is; sensitivity = hits / events, precision = hits / predicted
//                           events (NaN, null in JSON, when there is nothing to divide by)
//
// Every count runs in segment order in Double; nothing depends on the number of ranks.

/// Detection of glycaemic events at one horizon step.
public struct EventDetection: Codable, Equatable, Sendable {
    /// Pairs whose truth is an event.
    public var events: Int
    /// Pairs whose forecast is an event.
    public var predicted: Int
    /// Pairs where both are.
    public var hits: Int
    /// hits / events.
    @NullIfNonFinite public var sensitivity: Double
    /// hits / predicted.
    @NullIfNonFinite public var precision: Double

    /// Counts the events of `pairs` (truth, forecast) under `isEvent`.
    init(_ pairs: [(truth: Double, forecast: Double)], isEvent: (Double) -> Bool) {
        var e = 0, p = 0, h = 0
        for (y, f) in pairs {
            let a = isEvent(y), b = isEvent(f)
            if a { e += 1 }
            if b { p += 1 }
            if a && b { h += 1 }
        }
        events = e
        predicted = p
        hits = h
        sensitivity = e > 0 ? Double(h) / Double(e) : .nan
        precision = p > 0 ? Double(h) / Double(p) : .nan
    }
}

/// Clinical accuracy of one forecaster at one horizon step.
public struct ClinicalSummary: Codable, Equatable, Sendable {
    /// % of pairs in Clarke zones A, B, C, D, E (empty without pairs).
    public var clarke: [Double]
    /// % of pairs in Parkes (type 1) zones A, B, C, D, E (empty without pairs).
    public var parkes: [Double]
    /// Mean absolute relative difference, %.
    @NullIfNonFinite public var mard: Double
    /// Time lag, minutes (see the file header).
    public var lagMinutes: Int
    /// Hypoglycaemia, truth < 70 mg/dL.
    public var hypo: EventDetection
    /// Hyperglycaemia, truth > 180 mg/dL.
    public var hyper: EventDetection

    /// Clarke A, %.
    public var clarkeA: Double { clarke.first ?? .nan }
    /// Clarke A + B, %.
    public var clarkeAB: Double { clarke.count == 5 ? clarke[0] + clarke[1] : .nan }
    /// Parkes A + B, %.
    public var parkesAB: Double { parkes.count == 5 ? parkes[0] + parkes[1] : .nan }

    /// The summary of `pairs` (truth, forecast), with the lag already found.
    init(_ pairs: [(truth: Double, forecast: Double)], lagMinutes: Int) {
        var clarke = [Double](repeating: 0, count: 5), parkes = [Double](repeating: 0, count: 5)
        var relative = 0.0
        for (y, f) in pairs {
            clarke[ClarkeErrorGrid.zone(reference: y, prediction: f).rawValue] += 1
            parkes[ParkesErrorGrid.zone(reference: y, prediction: f).rawValue] += 1
            relative += abs(f - y) / y
        }
        let n = Double(pairs.count)
        self.clarke = n > 0 ? clarke.map { 100 * $0 / n } : []
        self.parkes = n > 0 ? parkes.map { 100 * $0 / n } : []
        mard = n > 0 ? 100 * relative / n : .nan
        self.lagMinutes = lagMinutes
        hypo = EventDetection(pairs) { $0 < ClinicalAccuracy.hypoThreshold }
        hyper = EventDetection(pairs) { $0 > ClinicalAccuracy.hyperThreshold }
    }
}

/// Clinical accuracy of the model and the naive baseline at one horizon step.
public struct ClinicalStep: Codable, Equatable, Sendable {
    /// Step, 1-based.
    public var step: Int
    /// Minutes ahead.
    public var minutes: Int
    /// The model.
    public var model: ClinicalSummary
    /// The naive last-value baseline on the same segments.
    public var naive: ClinicalSummary
}

/// Clinical accuracy per horizon step (see the file header).
public struct ClinicalAccuracy: Codable, Equatable, Sendable {
    /// Hypoglycaemia threshold, mg/dL (truth or forecast below it).
    public static let hypoThreshold = 70.0
    /// Hyperglycaemia threshold, mg/dL (above it).
    public static let hyperThreshold = 180.0

    /// One entry per horizon step.
    public var steps: [ClinicalStep]

    /// The step `minutes` ahead, if present.
    public func step(atMinutes minutes: Int) -> ClinicalStep? { steps.first { $0.minutes == minutes } }

    /// Computes every step of `records` (restrict them to evaluable segments first).
    public static func compute(_ records: ForecastRecords, stepMinutes: Int = 5) -> ClinicalAccuracy {
        let h = records.horizon
        let steps = (0 ..< h).map { j -> ClinicalStep in
            let model = records.records.map { (truth: Double($0.target[j]), forecast: Double($0.prediction[j])) }
            let naive = records.records.map { (truth: Double($0.target[j]), forecast: Double($0.naive)) }
            return ClinicalStep(
                step: j + 1, minutes: (j + 1) * stepMinutes,
                model: ClinicalSummary(model, lagMinutes: lag(records, step: j, forecast: { Double($0.prediction[j]) }) * stepMinutes),
                naive: ClinicalSummary(naive, lagMinutes: lag(records, step: j, forecast: { Double($0.naive) }) * stepMinutes))
        }
        return ClinicalAccuracy(steps: steps)
    }

    /// The lag (steps) of the forecast at step index `j` (horizon j + 1): argmin over k ∈ 0 … j+1 of the mean squared
    /// difference from the truth k steps earlier (k = j + 1: the last observed glucose); ties go to the smaller k.
    static func lag(_ records: ForecastRecords, step j: Int, forecast: (ForecastRecord) -> Double) -> Int {
        var best = (k: 0, error: Double.infinity)
        for k in 0 ... j + 1 {
            var sum = 0.0
            for r in records.records {
                let earlier = k == j + 1 ? Double(r.naive) : Double(r.target[j - k])
                let d = forecast(r) - earlier
                sum += d * d
            }
            if sum < best.error { best = (k, sum) }
        }
        return best.k
    }
}
