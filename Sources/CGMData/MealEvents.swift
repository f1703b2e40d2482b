// Meal detection from CGM (SSM-CGM Appendix A.2): label smoothing, reconstruction of a flag timeline from
// overlapping windows, and the event-level metrics. Pure functions on 5-minute grid indices.
//
//   Trapezoid (A.2):   w(t; τ, P, R) = 1                      |t − τ| ≤ P
//                                    = 1 − (|t − τ| − P)/R    P < |t − τ| < P + R
//                                    = 0                      |t − τ| ≥ P + R
//                      ỹ_t = min(1, Σ_k w(t; τ_k, P, R))       (P, R in grid steps; the paper uses P = R = 2)
//   Ratio voting (A.2): every window w covering t votes 1 if its probability p̂_{w,t} ≥ θ (per-window
//                      threshold); ratio(t) = #votes / #covering windows; ŷ_t = 1[ratio(t) ≥ ρ].
//   Event metrics (A.2): truth events 𝒯 and predicted events 𝒫 are maximal runs of 1s; overlap = a
//                      shared grid index. Recall = |{e ∈ 𝒯 : ∃p overlapping}| / |𝒯|,
//                      Precision = |{p ∈ 𝒫 : ∃e overlapping}| / |𝒫|, F1 their harmonic mean.
//
// Choices the paper leaves open (documented here and in the README):
//   - the per-window threshold is "p̂ ≥ θ" and the vote "ratio ≥ ρ" (the paper writes ≥ for ρ; θ is
//     applied the same way);
//   - truth events are the maximal runs where ỹ_t = 1 (the trapezoids' plateaus, merged when they touch):
//     the "maximal 1-segments" of the smoothed labels, read literally;
//   - an empty truth set gives recall 1 (nothing to miss) and an empty prediction set precision 1
//     (nothing wrong); F1 is 0 when both recall and precision are 0.
// The A.2 metrics reward long predicted events: one event flagging a whole day overlaps every meal of
// that day (recall 1) and is itself correct (precision 1). So the counts also carry a one-to-one
// matching (each predicted event pairs with at most one truth event and vice versa; greedy in time order,
// which is a maximum matching for two sorted lists of disjoint intervals) and the flagged fraction of the
// covered time, reported next to the paper's numbers.

/// Meal-detection label smoothing, ratio voting and event-level metrics (SSM-CGM Appendix A.2).
public enum MealEvents {
    /// The trapezoid w(d; P, R) at distance `d = |t − τ|` (grid steps). R = 0 gives a box of half-width P.
    @inline(__always)
    public static func trapezoid(distance d: Int, plateau P: Int, ramp R: Int) -> Float {
        if d <= P { return 1 }
        if d >= P + R { return 0 }
        return 1 - Float(d - P) / Float(R)
    }

    /// Smoothed targets ỹ over `count` grid points from meal indices `events` (may lie outside
    /// 0 ..< count: a meal just before or after still contributes its ramp): Σ_k w, clipped to 1.
    public static func smoothedLabels(events: [Int], count: Int, plateau: Int, ramp: Int) -> [Float] {
        precondition(plateau >= 0 && ramp >= 0, "MealEvents: plateau \(plateau) and ramp \(ramp) must be ≥ 0")
        var s = [Float](repeating: 0, count: count)
        let reach = plateau + ramp
        for tau in events {
            let lo = max(0, tau - reach), hi = min(count - 1, tau + reach)
            guard lo <= hi else { continue }
            for t in lo ... hi {
                s[t] += trapezoid(distance: abs(t - tau), plateau: plateau, ramp: ramp)
            }
        }
        return s.map { min(1, $0) }
    }

    /// Grid indices with a meal: entries of a 0/1 (or amount) series that are > 0.
    public static func eventIndices(_ flags: [Float]) -> [Int] {
        flags.indices.filter { flags[$0] > 0 }
    }

    /// Maximal runs of `true`, as half-open index ranges in order.
    public static func segments(_ on: [Bool]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start: Int?
        for (i, v) in on.enumerated() {
            if v, start == nil { start = i }
            if !v, let s = start { out.append(s ..< i); start = nil }
        }
        if let s = start { out.append(s ..< on.count) }
        return out
    }

    /// Truth events of smoothed labels: the maximal runs where ỹ = 1.
    public static func truthSegments(_ labels: [Float]) -> [Range<Int>] {
        segments(labels.map { $0 >= 1 })
    }

    /// Ratio voting over windows of length `length` starting at `starts` (grid indices) on a timeline of
    /// `count` points: `probabilities` holds each window's L values (row-major, window order). Returns
    /// per grid index the vote ratio (NaN where no window covers it) and the flag ratio ≥ ρ.
    public static func ratioVote(probabilities: [Float], starts: [Int], length: Int, count: Int,
                                 threshold theta: Float, ratio rho: Float) -> (ratio: [Float], flags: [Bool]) {
        precondition(probabilities.count == starts.count * length,
                     "MealEvents.ratioVote: \(probabilities.count) probabilities for \(starts.count) windows of \(length)")
        var votes = [Int32](repeating: 0, count: count), cover = [Int32](repeating: 0, count: count)
        for (w, start) in starts.enumerated() {
            precondition(start >= 0 && start + length <= count, "MealEvents.ratioVote: window at \(start) outside 0..<\(count)")
            let base = w * length
            for l in 0 ..< length {
                cover[start + l] += 1
                if probabilities[base + l] >= theta { votes[start + l] += 1 }
            }
        }
        var ratio = [Float](repeating: .nan, count: count), flags = [Bool](repeating: false, count: count)
        for t in 0 ..< count where cover[t] > 0 {
            ratio[t] = Float(votes[t]) / Float(cover[t])
            flags[t] = ratio[t] >= rho
        }
        return (ratio, flags)
    }

    /// Causal flags: per grid index t the probability of the LAST step of the window ending at t (NaN where no
    /// window ends at t), and the flag p ≥ θ. Uses only inputs at times ≤ t (the window ending at t), so unlike
    /// `ratioVote` (which also counts windows ending after t) it can feed a forecast at decision time t.
    /// Ratio voting restricted to windows ending ≤ t and to their positions ≤ t reduces to exactly this window.
    /// With `lag` d > 0 the flag at t is the window's step L − 1 − d instead (its estimate for t − d, read at t):
    /// still only CGM ≤ t, a fixed detection latency of d steps in exchange for d steps of right context.
    public static func causalVote(probabilities: [Float], starts: [Int], length: Int, count: Int,
                                  threshold theta: Float, lag: Int = 0) -> (ratio: [Float], flags: [Bool]) {
        precondition(lag >= 0 && lag < length, "MealEvents.causalVote: lag \(lag) outside 0..<\(length)")
        precondition(probabilities.count == starts.count * length,
                     "MealEvents.causalVote: \(probabilities.count) probabilities for \(starts.count) windows of \(length)")
        var ratio = [Float](repeating: .nan, count: count), flags = [Bool](repeating: false, count: count)
        for (w, start) in starts.enumerated() {
            let t = start + length - 1
            precondition(start >= 0 && t < count, "MealEvents.causalVote: window at \(start) outside 0..<\(count)")
            let on = probabilities[w * length + length - 1 - lag] >= theta
            ratio[t] = on ? 1 : 0
            flags[t] = on
        }
        return (ratio, flags)
    }

    /// Whether two half-open ranges share an index.
    @inline(__always)
    static func overlaps(_ a: Range<Int>, _ b: Range<Int>) -> Bool { a.lowerBound < b.upperBound && b.lowerBound < a.upperBound }

    /// Event-level counts of one timeline (add them over subjects, then take `recall` / `precision`).
    public static func match(truth: [Range<Int>], predicted: [Range<Int>]) -> EventCounts {
        // Both lists are sorted and disjoint: a two-pointer sweep finds every overlapping pair.
        var truthHit = [Bool](repeating: false, count: truth.count), predHit = [Bool](repeating: false, count: predicted.count)
        var i = 0, j = 0
        while i < truth.count, j < predicted.count {
            if overlaps(truth[i], predicted[j]) { truthHit[i] = true; predHit[j] = true }
            if truth[i].upperBound <= predicted[j].upperBound { i += 1 } else { j += 1 }
        }
        // One-to-one: pair the earliest-ending overlapping intervals, advance past whichever ends first.
        var pairs = 0
        i = 0
        j = 0
        while i < truth.count, j < predicted.count {
            if overlaps(truth[i], predicted[j]) {
                pairs += 1
                i += 1
                j += 1
            } else if truth[i].upperBound <= predicted[j].upperBound {
                i += 1
            } else {
                j += 1
            }
        }
        return EventCounts(truth: truth.count, truthDetected: truthHit.filter { $0 }.count,
                           predicted: predicted.count, predictedCorrect: predHit.filter { $0 }.count, matched: pairs)
    }
}

/// Event counts behind the A.2 recall and precision; they add over subjects.
public struct EventCounts: Equatable, Sendable {
    /// |𝒯| and the truth events overlapped by a prediction.
    public var truth = 0, truthDetected = 0
    /// |𝒫| and the predicted events overlapping a truth event.
    public var predicted = 0, predictedCorrect = 0
    /// Pairs of a one-to-one matching of overlapping truth and predicted events.
    public var matched = 0
    /// Flagged grid points and grid points covered by a window (the caller fills them; 0 = unknown).
    public var flaggedSteps = 0, coveredSteps = 0

    public init(truth: Int = 0, truthDetected: Int = 0, predicted: Int = 0, predictedCorrect: Int = 0, matched: Int = 0,
                flaggedSteps: Int = 0, coveredSteps: Int = 0) {
        self.truth = truth
        self.truthDetected = truthDetected
        self.predicted = predicted
        self.predictedCorrect = predictedCorrect
        self.matched = matched
        self.flaggedSteps = flaggedSteps
        self.coveredSteps = coveredSteps
    }

    /// Recall_evt (1 with no truth events).
    public var recall: Double { truth == 0 ? 1 : Double(truthDetected) / Double(truth) }
    /// Precision_evt (1 with no predicted events).
    public var precision: Double { predicted == 0 ? 1 : Double(predictedCorrect) / Double(predicted) }
    /// F_β with β = 1.
    public var f1: Double {
        let r = recall, p = precision
        return r + p == 0 ? 0 : 2 * r * p / (r + p)
    }

    /// One-to-one recall: matched pairs / |𝒯| (1 with no truth events).
    public var matchedRecall: Double { truth == 0 ? 1 : Double(matched) / Double(truth) }
    /// One-to-one precision: matched pairs / |𝒫| (1 with no predicted events).
    public var matchedPrecision: Double { predicted == 0 ? 1 : Double(matched) / Double(predicted) }
    /// One-to-one F1.
    public var matchedF1: Double {
        let r = matchedRecall, p = matchedPrecision
        return r + p == 0 ? 0 : 2 * r * p / (r + p)
    }
    /// Fraction of covered grid points flagged (NaN when unknown).
    public var flaggedFraction: Double { coveredSteps == 0 ? .nan : Double(flaggedSteps) / Double(coveredSteps) }

    public static func + (a: EventCounts, b: EventCounts) -> EventCounts {
        EventCounts(truth: a.truth + b.truth, truthDetected: a.truthDetected + b.truthDetected,
                    predicted: a.predicted + b.predicted, predictedCorrect: a.predictedCorrect + b.predictedCorrect,
                    matched: a.matched + b.matched, flaggedSteps: a.flaggedSteps + b.flaggedSteps,
                    coveredSteps: a.coveredSteps + b.coveredSteps)
    }
}

/// Where `prepare` takes the `meal_flag` covariate from instead of the data's meal events
/// (`cgmtrain prepare --meal-detector CKPT`: a trained meal detector's flags, SSM-CGM §2).
public protocol MealFlagSource {
    /// 0/1 flags on `subject`'s grid (`subject.count` values).
    func flags(_ subject: ResampledSubject) throws -> [Float]
    /// What the manifest records as the flags' source.
    var manifestDescription: String { get }
    /// Whether the flag at grid time t may depend on data after t (offline annotation, e.g. the smoothed
    /// detector mode). Such flags are refused nowhere, but sources that are causal refuse to be used as a
    /// known-future covariate (`data.future_features`), see `CohortPipeline.plan`.
    var usesFutureData: Bool { get }
}

extension MealFlagSource {
    /// Conservative default: treat the source as looking ahead.
    public var usesFutureData: Bool { true }
}
