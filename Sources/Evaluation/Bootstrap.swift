// Confidence intervals by the subject (cluster) bootstrap.
//
// Segments of one subject are correlated (overlapping windows, one physiology), so resampling segments
// would understate the uncertainty. Instead, with S subjects in the evaluated set:
//
//   1. per subject s and step h, sufficient statistics of the signed errors e = ŷ − y:
//      n_s (segments), Σ|e|, Σe², Σe — for the model and the naive baseline;
//   2. replicate b = 1…B: draw S subjects uniformly with replacement (SplitMix64 seeded with `seed`,
//      subjects in sorted-id order), add their statistics, and compute MAE = Σ|e|/n, RMSE = sqrt(Σe²/n),
//      ME = Σe/n per step and over all steps, for the model, the naive baseline and their difference
//      (model − naive, paired: same resample), and the skill 1 − RMSE_model/RMSE_naive of the same resample;
//   3. the (1 − confidence)/2 and (1 + confidence)/2 percentiles (NumPy-linear) of the B replicate values
//      form the percentile interval (Efron & Tibshirani 1993, §13.3).
//
// The result depends only on the records' content and the seed, not on their order or the rank count.

/// A two-sided confidence interval.
public struct ConfidenceInterval: Codable, Equatable, Sendable {
    /// Lower bound.
    @NullIfNonFinite public var lower: Double
    /// Upper bound.
    @NullIfNonFinite public var upper: Double

    /// Creates an interval.
    public init(lower: Double, upper: Double) {
        self.lower = lower
        self.upper = upper
    }

    /// Whether `value` lies within [lower, upper].
    public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }

    /// upper − lower.
    public var width: Double { upper - lower }
}

/// Intervals of MAE, RMSE and ME.
public struct MetricIntervals: Codable, Equatable, Sendable {
    /// MAE interval.
    public var mae: ConfidenceInterval
    /// RMSE interval.
    public var rmse: ConfidenceInterval
    /// ME interval.
    public var me: ConfidenceInterval
}

/// Intervals for the model, the naive baseline and their paired difference (model − naive; an interval
/// below zero means the model beats the baseline).
public struct BootstrapIntervals: Codable, Equatable, Sendable {
    /// Step, 1-based; 0 for the pooled "overall".
    public var step: Int
    /// Minutes ahead; 0 for "overall".
    public var minutes: Int
    /// The model.
    public var model: MetricIntervals
    /// The naive baseline.
    public var naive: MetricIntervals
    /// Model minus naive.
    public var difference: MetricIntervals
    /// Skill 1 − RMSE_model / RMSE_naive (above 0: better than persistence); nil in reports written before it existed.
    public var skill: ConfidenceInterval?
}

/// The subject-bootstrap confidence intervals of an evaluation.
public struct BootstrapResult: Codable, Equatable, Sendable {
    /// How the intervals were computed (one sentence).
    public var method: String
    /// Replicates B.
    public var replicates: Int
    /// Confidence level, e.g. 0.95.
    public var confidence: Double
    /// RNG seed.
    public var seed: UInt64
    /// Subjects resampled.
    public var subjects: Int
    /// One entry per horizon step.
    public var steps: [BootstrapIntervals]
    /// All steps pooled.
    public var overall: BootstrapIntervals

    /// The step `minutes` ahead, if present.
    public func step(atMinutes minutes: Int) -> BootstrapIntervals? { steps.first { $0.minutes == minutes } }
}

/// Percentile confidence intervals by resampling subjects with replacement.
public enum SubjectBootstrap {
    /// The method, as recorded in `BootstrapResult.method`.
    public static func methodDescription(replicates: Int, confidence: Double) -> String {
        "percentile bootstrap over subjects: \(replicates) replicates, each drawing as many subjects as evaluated "
            + "with replacement (all of a subject's segments together); \(percent(confidence)) interval from the "
            + "NumPy-linear percentiles of the replicate metrics; difference = model − naive on the same replicate"
    }

    /// "95%", "99.5%".
    static func percent(_ p: Double) -> String {
        let v = (p * 1000).rounded() / 10
        return v == v.rounded() ? "\(Int(v))%" : "\(v)%"
    }

    /// Computes intervals for MAE, RMSE and ME per step and overall.
    public static func compute(_ records: ForecastRecords, replicates: Int = 1000, confidence: Double = 0.95,
                               seed: UInt64 = 0, stepMinutes: Int = 5) -> BootstrapResult {
        precondition(replicates >= 1, "SubjectBootstrap: replicates must be at least 1")
        precondition(confidence > 0 && confidence < 1, "SubjectBootstrap: confidence must be in (0, 1)")
        let h = records.horizon
        let subjects = records.subjects
        let index = Dictionary(uniqueKeysWithValues: subjects.enumerated().map { ($1, $0) })
        let s = subjects.count
        // stats[(subject · H + step) · 6 + k]: k = model Σ|e|, Σe², Σe, naive Σ|e|, Σe², Σe.
        var stats = [Double](repeating: 0, count: s * h * 6)
        var counts = [Double](repeating: 0, count: s)
        for r in records.records {
            let subject = index[r.subject]!
            counts[subject] += 1
            for j in 0..<h {
                let y = Double(r.target[j])
                let e = Double(r.prediction[j]) - y, en = Double(r.naive) - y
                let base = (subject * h + j) * 6
                stats[base] += Swift.abs(e)
                stats[base + 1] += e * e
                stats[base + 2] += e
                stats[base + 3] += Swift.abs(en)
                stats[base + 4] += en * en
                stats[base + 5] += en
            }
        }
        // values[(b · (H+1) + step) · 10 + m]: m = model mae, rmse, me, naive ×3, difference ×3, skill; step H = overall.
        let rows = h + 1, width = 10
        var values = [Double](repeating: .nan, count: replicates * rows * width)
        if s > 0 {
            var rng = BootstrapRNG(seed: seed)
            var total = [Double](repeating: 0, count: rows * 6)
            for b in 0..<replicates {
                for i in total.indices { total[i] = 0 }
                var n = 0.0
                for _ in 0..<s {
                    let subject = rng.index(below: s)
                    n += counts[subject]
                    for j in 0..<h {
                        let base = (subject * h + j) * 6
                        for k in 0..<6 { total[j * 6 + k] += stats[base + k] }
                    }
                }
                for j in 0..<h { for k in 0..<6 { total[h * 6 + k] += total[j * 6 + k] } }
                for j in 0..<rows {
                    let elements = j == h ? n * Double(h) : n
                    let o = (b * rows + j) * width
                    for side in 0..<2 {
                        let t = j * 6 + side * 3
                        values[o + side * 3] = total[t] / elements
                        values[o + side * 3 + 1] = (total[t + 1] / elements).squareRoot()
                        values[o + side * 3 + 2] = total[t + 2] / elements
                    }
                    for m in 0..<3 { values[o + 6 + m] = values[o + m] - values[o + 3 + m] }
                    values[o + 9] = 1 - values[o + 1] / values[o + 4]
                }
            }
        }
        let lowerP = (1 - confidence) / 2, upperP = (1 + confidence) / 2
        func intervals(_ j: Int, _ first: Int) -> MetricIntervals {
            MetricIntervals(mae: ci(j, first), rmse: ci(j, first + 1), me: ci(j, first + 2))
        }
        func ci(_ j: Int, _ m: Int) -> ConfidenceInterval {
            let sample = (0..<replicates).map { values[($0 * rows + j) * width + m] }
            let p = Percentile.of(sample, [lowerP, upperP])
            return ConfidenceInterval(lower: p[0], upper: p[1])
        }
        func entry(_ j: Int) -> BootstrapIntervals {
            BootstrapIntervals(step: j == h ? 0 : j + 1, minutes: j == h ? 0 : (j + 1) * stepMinutes,
                               model: intervals(j, 0), naive: intervals(j, 3), difference: intervals(j, 6), skill: ci(j, 9))
        }
        return BootstrapResult(method: methodDescription(replicates: replicates, confidence: confidence),
                               replicates: replicates, confidence: confidence, seed: seed, subjects: s,
                               steps: (0..<h).map(entry), overall: entry(h))
    }
}
