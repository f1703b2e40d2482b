// FeatureBuilder: a resampled subject → its unscaled time-varying features on the 5-minute grid.
// Features that depend on the CGM history (lags, diffs, rolling statistics) and carried-forward
// wearables are computed within each segment, never across a gap; values outside segments are NaN
// (no window reaches them: QC rule 4 requires complete CGM). IOB is computed over the subject's whole
// timeline, since insulin delivered during a CGM gap is still on board after it. Scaling is applied
// later from a fitted `FeatureSpec`, so the same raw features serve fitting, training and inference.

import CGMSchema
import Foundation

/// One subject's unscaled features on its grid.
public struct SubjectFeatures: Sendable {
    /// Subject id.
    public var id: String
    /// Unix seconds of grid index 0.
    public var start: Int64
    /// Number of grid points.
    public var count: Int
    /// Contiguous CGM segments (grid index ranges).
    public var segments: [Range<Int>]
    /// Glucose, mg/dL (NaN outside segments): the forecasting target and the QC input.
    public var cgm: [Float]
    /// Raw readings per bin (QC rule 1).
    public var observed: [UInt8]
    /// Age of the latest reading at each grid time, seconds (QC rule 3).
    public var readingAge: [Int32]
    /// Requested features by name, unscaled.
    public var columns: [String: [Float]]
    /// Total insulin delivered per bin (U): bolus + basal micro-dose; empty without insulin columns.
    public var doses: [Float]
    /// Basal micro-dose per bin (U), rate/12; empty without a basal column.
    public var basalDoses: [Float]
    /// Carbohydrates per bin (g, summed); empty without a carbs_g column. The meal-aware twin reads it.
    public var carbs: [Float] = []
    /// Smoothed meal targets ỹ on the whole grid (SSM-CGM A.2), when `data.meal_labels` is on; else empty.
    public var mealLabels: [Float] = []

    /// Unix seconds of grid index `i`.
    public func time(at i: Int) -> Int64 { start + Int64(i) * ResampledSubject.gridSeconds }
}

/// Computes unscaled features from a resampled subject.
public struct FeatureBuilder: Sendable {
    /// Insulin-on-board constants (eqs. 5–7).
    public var iob: IOBModel

    /// A builder with the given IOB model (default: the paper's constants).
    public init(iob: IOBModel = IOBModel()) { self.iob = iob }

    /// Computes `features` (already expanded, see `FeatureCatalog.expand`) for `s`.
    /// - Throws: `DataError` naming the subject if a feature needs a column the data lacks.
    public func build(_ s: ResampledSubject, features: [String]) throws -> SubjectFeatures {
        for name in features {
            if let reason = FeatureCatalog.unavailability(of: name, channels: s.channels) {
                throw DataError(key: .subject(s.id), "feature '\(name)': \(reason)")
            }
        }
        let n = s.count
        var out = SubjectFeatures(id: s.id, start: s.start, count: n, segments: s.segments, cgm: s.glucose,
                                  observed: s.observed, readingAge: s.readingAge, columns: [:], doses: [], basalDoses: [])
        let bolus = s.values(for: .bolus), basal = s.values(for: .basal)
        if bolus != nil || basal != nil {
            out.basalDoses = basal.map { $0.map { $0 / 12 } } ?? []  // micro-dose r/12 per 5-min bin (§3.3)
            out.doses = (0 ..< n).map { i in (bolus?[i] ?? 0) + (out.basalDoses.isEmpty ? 0 : out.basalDoses[i]) }
        }
        out.carbs = s.values(for: .carbs) ?? []
        var iobSeries: [Float]?
        for name in features where out.columns[name] == nil {
            out.columns[name] = try column(name, s, &out, &iobSeries)
        }
        return out
    }

    private func column(_ name: String, _ s: ResampledSubject, _ out: inout SubjectFeatures,
                        _ iobSeries: inout [Float]?) throws -> [Float] {
        let n = s.count
        switch name {
        case FeatureCatalog.cgm:
            return s.glucose
        case FeatureCatalog.cgmScaled:
            return s.glucose.map { $0.isNaN ? .nan : FeatureCatalog.scaleCGM($0) }  // eq. 11
        case FeatureCatalog.iob, FeatureCatalog.iobScaled:
            if iobSeries == nil { iobSeries = iob.onBoard(doses: out.doses) }  // eq. 5
            if name == FeatureCatalog.iob { return iobSeries! }
            return iobSeries!.map { Float(iob.scaled(Double($0))) }  // eq. 7
        case "minute_of_day", "tod_sin", "tod_cos":
            return (0 ..< n).map { i in
                let local = s.time(at: i) + Int64(s.utcOffsetMinutes[i]) * 60
                let minute = Double(((local % 86_400) + 86_400) % 86_400 / 60)
                switch name {
                case "minute_of_day": return Float(minute)
                case "tod_sin": return Float(sin(2 * Double.pi * minute / 1440))
                default: return Float(cos(2 * Double.pi * minute / 1440))
                }
            }
        case FeatureCatalog.mealFlag:
            return Self.mealIndicator(s)
        default:
            if FeatureCatalog.cgmHistory.contains(name) { return cgmHistory(name, s) }
            guard let channel = Channel(rawValue: name), let values = s.values(for: channel) else {
                throw DataError(key: .subject(s.id), "feature '\(name)' cannot be computed")
            }
            return channel.isWearable ? carriedForward(values, segments: s.segments, count: n) : values
        }
    }

    /// The data's meal indicator per bin: 1 where carbs > 0 or meal_flag = 1, else 0 (the `meal_flag` feature).
    public static func mealIndicator(_ s: ResampledSubject) -> [Float] {
        let carbs = s.values(for: .carbs), flag = s.values(for: .mealFlag)
        return (0 ..< s.count).map { i in ((carbs?[i] ?? 0) > 0 || (flag?[i] ?? 0) > 0) ? 1 : 0 }
    }

    /// SSM-CGM historical covariates, computed inside each segment (lags clamp to the segment start).
    private func cgmHistory(_ name: String, _ s: ResampledSubject) -> [Float] {
        var out = [Float](repeating: .nan, count: s.count)
        let g = s.glucose
        for seg in s.segments {
            for t in seg {
                func lag(_ k: Int) -> Float { g[max(t - k, seg.lowerBound)] }
                switch name {
                case "cgm_lag1": out[t] = lag(1)
                case "cgm_lag3": out[t] = lag(3)
                case "cgm_lag6": out[t] = lag(6)
                case "cgm_diff": out[t] = g[t] - lag(1)
                case "cgm_lagdiff3": out[t] = g[t] - lag(3)
                case "cgm_lagdiff6": out[t] = g[t] - lag(6)
                default:
                    // Rolling mean / population std over the ≤ 12 points ending at t within the segment.
                    let lo = max(t - 11, seg.lowerBound)
                    var sum = 0.0
                    for k in lo ... t { sum += Double(g[k]) }
                    let mean = sum / Double(t - lo + 1)
                    if name == "cgm_roll_mean12" {
                        out[t] = Float(mean)
                    } else {
                        var ss = 0.0
                        for k in lo ... t { ss += (Double(g[k]) - mean) * (Double(g[k]) - mean) }
                        out[t] = Float((ss / Double(t - lo + 1)).squareRoot())
                    }
                }
            }
        }
        return out
    }

    /// Last observation carried forward within each segment (SSM-CGM preprocessing); values before a
    /// segment's first observation stay NaN (they become the cohort mean, 0, when standardized).
    private func carriedForward(_ values: [Float], segments: [Range<Int>], count: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        for seg in segments {
            var last = Float.nan
            for t in seg {
                if !values[t].isNaN { last = values[t] }
                out[t] = last
            }
        }
        return out
    }
}
