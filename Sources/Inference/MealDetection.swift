// Meal detection on raw data with a trained `meal_detector` checkpoint (SSM-CGM Appendix A.2, inference):
//
//   read + resample (the recorded spec's interpolation gap) → the recorded past features, scaled by the
//   recorded spec → every window of L consecutive glucose points, stride 1 (inside each CGM segment)
//   → σ(logits) per window and step → per-window threshold θ → ratio voting with ρ (MealEvents.ratioVote)
//   → a flag timeline; detected events = its maximal runs of 1s.
//
// Two flag modes (MealFlagMode). `smoothed` is A.2's ratio voting: the flag at t pools every window covering
// t, including windows ending up to L − 1 steps (6 h) after t, and the BiLSTM's backward direction reads
// the whole window — so it uses CGM after t and is for offline annotation only. `causal` (the default of
// `prepare --meal-detector`) flags t from the last step of the window ending at t, i.e. CGM at times ≤ t
// only; ρ is unused (ratio voting over windows ending ≤ t, at positions ≤ t, is that one window). Causal
// flags are usable as past covariates of a forecast at decision time t; pay detection latency instead.
// Gap: grid glucose inside a short interpolated gap uses the reading after the gap (as every CGM feature).
//
// Truth for the metrics: the data's meal events (carbs_g > 0 or meal_flag = 1) smoothed by the trapezoid
// with the checkpoint's data.meal_plateau / meal_ramp; truth events are the runs where ỹ = 1 at grid points
// some window covers (a meal inside a CGM gap cannot be detected and is not counted).

import CGMData
import CGMSchema
import CGMTensor
import Charts
import Foundation
import Models
import Training

/// How per-window probabilities become a flag at grid time t.
public enum MealFlagMode: String, CaseIterable, Sendable {
    /// Last step of the window ending at t: uses CGM at times ≤ t only (forecasting covariate).
    case causal
    /// A.2 ratio voting over every window covering t: uses CGM up to 6 h after t (offline annotation only).
    case smoothed
}

/// One subject's detector output: per-window probabilities of every stride-1 window, and the data's labels.
public struct MealTimeline {
    public var subject: String
    /// Unix seconds of grid index 0.
    public var start: Int64
    /// Grid points.
    public var count: Int
    /// Glucose on the grid (NaN outside CGM segments).
    public var glucose: [Float]
    /// Window length L.
    public var length: Int
    /// First grid index of each window.
    public var starts: [Int]
    /// σ(logit) of each window's L steps (row-major, window order).
    public var probabilities: [Float]
    /// Smoothed meal targets ỹ from the data (empty if the data has no meal columns).
    public var labels: [Float]

    /// Windows covering each grid index.
    public var coverage: [Int] {
        var c = [Int](repeating: 0, count: count)
        for s in starts { for l in 0 ..< length { c[s + l] += 1 } }
        return c
    }

    /// Mean probability over the windows covering each grid index (NaN where none does).
    public var meanProbability: [Float] {
        var sum = [Double](repeating: 0, count: count), n = [Int](repeating: 0, count: count)
        for (w, s) in starts.enumerated() {
            for l in 0 ..< length { sum[s + l] += Double(probabilities[w * length + l]); n[s + l] += 1 }
        }
        return (0 ..< count).map { n[$0] == 0 ? .nan : Float(sum[$0] / Double(n[$0])) }
    }

    /// Ratio voting (A.2) with threshold θ and ratio ρ.
    public func vote(theta: Float, rho: Float) -> (ratio: [Float], flags: [Bool]) {
        MealEvents.ratioVote(probabilities: probabilities, starts: starts, length: length, count: count,
                             threshold: theta, ratio: rho)
    }

    /// Flags of `mode` (causal: `MealEvents.causalVote`, ρ unused; its ratio is 0/1 and NaN where no window ends).
    /// `lag` (causal only): read the window ending at t at step L − 1 − lag (see `MealEvents.causalVote`).
    public func vote(theta: Float, rho: Float, mode: MealFlagMode, lag: Int = 0) -> (ratio: [Float], flags: [Bool]) {
        switch mode {
        case .smoothed: return vote(theta: theta, rho: rho)
        case .causal:
            return MealEvents.causalVote(probabilities: probabilities, starts: starts, length: length, count: count,
                                         threshold: theta, lag: lag)
        }
    }

    /// Probability of step L − 1 − lag of the window ending at each grid index (NaN where none ends there).
    public func causalProbability(lag: Int = 0) -> [Float] {
        var p = [Float](repeating: .nan, count: count)
        for (w, s) in starts.enumerated() { p[s + length - 1] = probabilities[w * length + length - 1 - lag] }
        return p
    }

    /// Truth events: runs of ỹ = 1 at covered grid points.
    public var truthSegments: [Range<Int>] {
        guard !labels.isEmpty else { return [] }
        let cover = coverage
        return MealEvents.segments((0 ..< count).map { labels[$0] >= 1 && cover[$0] > 0 })
    }

    /// Event counts of the flags from (θ, ρ) against the truth, with the flagged and covered grid points.
    /// Causal with lag d: the flag raised at t is the estimate for t − d, so events are matched at t − d (the
    /// metrics judge where the meal is; the flag is available d steps later: a detection latency of d steps).
    public func counts(theta: Float, rho: Float, mode: MealFlagMode = .smoothed, lag: Int = 0) -> EventCounts {
        Self.counts(truth: truthSegments, ratio: eventTimeRatio(theta: theta, rho: rho, mode: mode, lag: lag),
                    rho: mode == .causal ? 1 : rho)
    }

    /// The vote ratio aligned to event time: shifted back by `lag` in causal mode (NaN where nothing lands).
    func eventTimeRatio(theta: Float, rho: Float, mode: MealFlagMode, lag: Int) -> [Float] {
        let ratio = vote(theta: theta, rho: rho, mode: mode, lag: lag).ratio
        guard mode == .causal, lag > 0 else { return ratio }
        var shifted = [Float](repeating: .nan, count: count)
        for t in lag ..< count { shifted[t - lag] = ratio[t] }
        return shifted
    }

    /// Counts of the flags ratio ≥ ρ (NaN = uncovered, never flagged) against `truth`.
    static func counts(truth: [Range<Int>], ratio: [Float], rho: Float) -> EventCounts {
        let flags = ratio.map { !$0.isNaN && $0 >= rho }
        var c = MealEvents.match(truth: truth, predicted: MealEvents.segments(flags))
        c.flaggedSteps = flags.filter { $0 }.count
        c.coveredSteps = ratio.filter { !$0.isNaN }.count
        return c
    }
}

/// A restored `meal_detector` checkpoint and the preprocessing it was trained with.
public final class MealDetectorRunner {
    public let file: String
    /// The restored checkpoint (nil for a runner built from a model in memory).
    public let restored: CheckpointModel?
    public let detector: MealDetector
    public let spec: FeatureSpec
    /// Window length L.
    public let length: Int
    /// Trapezoid plateau and ramp of the training labels (the checkpoint's data config; A.2 defaults 2, 2).
    public let plateau: Int, ramp: Int
    /// Windows per forward pass.
    public var chunk = 256

    /// Reads `path`; refuses checkpoints of other models or without recorded preprocessing.
    public init(checkpoint path: String) throws {
        let contents = try Checkpoint.read(path)
        guard let p = contents.preprocessing else { throw CheckpointPreprocessing.missing(file: path) }
        let model = try CheckpointModel(contents: contents, file: path, shape: p.shape)
        restored = model
        guard let d = model.model as? MealDetector else {
            throw CheckpointError(file: path, "holds a '\(model.model.name)' model, not a meal_detector")
        }
        detector = d
        spec = try p.featureSpec(file: path)
        length = p.shape.history
        file = path
        plateau = restored?.config.data?.mealPlateau ?? 2
        ramp = restored?.config.data?.mealRamp ?? 2
    }

    /// A runner around an in-memory detector (tests); `spec` gives the past features and their scaling.
    init(detector: MealDetector, spec: FeatureSpec, length: Int, plateau: Int = 2, ramp: Int = 2) {
        restored = nil
        self.detector = detector
        self.spec = spec
        self.length = length
        self.plateau = plateau
        self.ramp = ramp
        file = "(in memory)"
    }

    /// The detector's probabilities over every stride-1 window of `s`, and the data's smoothed labels.
    public func timeline(_ s: ResampledSubject) throws -> MealTimeline {
        let f = try FeatureBuilder(iob: spec.iob).build(s, features: spec.timeVaryingFeatures)
        let columns = spec.pastFeatures.map { spec.scaled($0, f.columns[$0]!) }
        let L = length, P = columns.count
        var starts: [Int] = []
        for seg in f.segments where seg.count >= L { starts += Array(seg.lowerBound ... seg.upperBound - L) }
        var probabilities = [Float](repeating: 0, count: starts.count * L)
        var w0 = 0
        while w0 < starts.count {
            let n = min(chunk, starts.count - w0)
            var x = [Float](repeating: 0, count: n * L * P)
            for w in 0 ..< n {
                for l in 0 ..< L { for p in 0 ..< P { x[(w * L + l) * P + p] = columns[p][starts[w0 + w] + l] } }
            }
            let prob = detector.probabilities(Tensor(shape: [n, L, P], scalars: x), Graph(training: false, recording: false))
            for k in 0 ..< n * L { probabilities[w0 * L + k] = prob.scalars[k] }
            w0 += n
        }
        let hasMeals = s.channels.contains(.carbs) || s.channels.contains(.mealFlag)
        let labels = hasMeals ? MealEvents.smoothedLabels(events: MealEvents.eventIndices(FeatureBuilder.mealIndicator(s)),
                                                           count: s.count, plateau: plateau, ramp: ramp) : []
        return MealTimeline(subject: s.id, start: s.start, count: s.count, glucose: s.glucose, length: L, starts: starts,
                            probabilities: probabilities, labels: labels)
    }

    /// Timelines of every subject of `cgmPath` (or only `subjects`, in file order), resampled with the recorded gap.
    public func timelines(cgmPath: String, subjects: Set<String>? = nil) throws -> [MealTimeline] {
        let cohort = try CohortReader().read(cgmPath: cgmPath)
        let chosen = cohort.series.filter { subjects?.contains($0.subject) ?? true }
        let resampler = Resampler(spec: spec)
        return try chosen.map { try timeline(try resampler.resample($0).subject) }
    }
}

/// The detector's flags as `prepare`'s `meal_flag` (`prepare --meal-detector CKPT [--meal-flags causal|smoothed]`).
public final class MealDetectorFlags: MealFlagSource {
    public let runner: MealDetectorRunner
    public let theta: Float, rho: Float
    public let mode: MealFlagMode
    /// Causal read-out lag in grid steps (0: the last step of the window ending at t).
    public let lag: Int
    private let checksum: String

    public init(checkpoint path: String, theta: Float, rho: Float, mode: MealFlagMode = .causal, lag: Int = 0) throws {
        runner = try MealDetectorRunner(checkpoint: path)
        guard lag >= 0, lag < runner.length else {
            throw CheckpointError(file: path, "meal lag \(lag) must be in 0..<\(runner.length) (the detector's window)")
        }
        self.lag = lag
        self.theta = theta
        self.rho = rho
        self.mode = mode
        var h = FNV1a64()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes.withUnsafeBytes { h.add($0) }
        checksum = h.hex
    }

    public func flags(_ subject: ResampledSubject) throws -> [Float] {
        try runner.timeline(subject).vote(theta: theta, rho: rho, mode: mode, lag: lag).flags.map { $0 ? 1 : 0 }
    }

    public var usesFutureData: Bool { mode == .smoothed }

    public var manifestDescription: String {
        let how = mode == .causal
            ? "mode causal: step L-1-\(lag) of the stride-1 window ending at t (CGM at times <= t only), theta \(theta)"
            : "mode smoothed: ratio-voted stride-1 windows (SSM-CGM A.2; uses CGM up to 6 h after t, offline annotation "
                + "only), theta \(theta), rho \(rho)"
        return "meal_detector \(runner.file) (fnv1a64 \(checksum)), " + how
    }
}

/// A (θ, ρ) sweep on labelled timelines (A.2, Figure 6): event-level F1 at every grid point.
public struct MealThresholdSweep {
    public var thetas: [Float]
    public var rhos: [Float]
    /// counts[i][j] at (thetas[i], rhos[j]).
    public var counts: [[EventCounts]]

    /// θ and ρ in 0.05 … 0.95 steps of 0.05 by default.
    /// With `mode` causal ρ is unused: pass `rhos: [1]` for a θ-only sweep.
    public init(_ timelines: [MealTimeline], thetas: [Float] = Self.grid, rhos: [Float] = Self.grid,
                mode: MealFlagMode = .smoothed, lag: Int = 0) {
        self.thetas = thetas
        self.rhos = rhos
        let truth = timelines.map(\.truthSegments)
        counts = thetas.map { theta in
            // Votes depend on θ only; each ρ is then one comparison per grid point.
            let votes = timelines.map { $0.eventTimeRatio(theta: theta, rho: 2, mode: mode, lag: lag) }
            return rhos.map { rho in
                zip(votes, truth).reduce(EventCounts()) { acc, vt in acc + MealTimeline.counts(truth: vt.1, ratio: vt.0, rho: rho) }
            }
        }
    }

    public static let grid: [Float] = (1 ... 19).map { Float($0) * 0.05 }

    /// What the sweep maximizes.
    public enum Objective: String, CaseIterable, Sendable {
        /// A.2's event F1 (overlap-based recall and precision).
        case paper
        /// F1 of the one-to-one matching (not fooled by long predicted events).
        case oneToOne = "one_to_one"

        func value(_ c: EventCounts) -> Double { self == .paper ? c.f1 : c.matchedF1 }
    }

    /// The (θ, ρ) maximizing `objective` (ties: the first in θ-major order).
    /// `maxFlagged`: only pairs flagging at most this fraction of covered time compete (the causal read-out
    /// can score a high event F1 by flagging nearly everything, one "event" per CGM segment); if none
    /// qualifies, the least-flagging pair wins.
    public func best(_ objective: Objective = .paper, maxFlagged: Double = 1) -> (theta: Float, rho: Float, counts: EventCounts) {
        var b: (theta: Float, rho: Float, counts: EventCounts)?
        var least = (theta: thetas[0], rho: rhos[0], counts: counts[0][0])
        for (i, row) in counts.enumerated() {
            for (j, c) in row.enumerated() {
                if c.flaggedFraction < least.counts.flaggedFraction { least = (thetas[i], rhos[j], c) }
                guard !(c.flaggedFraction > maxFlagged) else { continue }
                if b == nil || objective.value(c) > objective.value(b!.counts) { b = (thetas[i], rhos[j], c) }
            }
        }
        return b ?? least
    }

    /// CSV: theta, rho, recall, precision, f1 and the four counts.
    public var csv: String {
        var lines = ["theta,rho,recall,precision,f1,recall_1to1,precision_1to1,f1_1to1,flagged_fraction,truth_events,"
                     + "truth_detected,predicted_events,predicted_correct,matched"]
        for (i, row) in counts.enumerated() {
            for (j, c) in row.enumerated() {
                lines.append(String(format: "%.2f,%.2f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%d,%d,%d,%d,%d", thetas[i], rhos[j],
                                    c.recall, c.precision, c.f1, c.matchedRecall, c.matchedPrecision, c.matchedF1,
                                    c.flaggedFraction, c.truth, c.truthDetected, c.predicted, c.predictedCorrect, c.matched))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Figure 6: event-level F1 (of `objective`) by θ (rows) × ρ (columns).
    public func heatmap(_ objective: Objective = .paper) -> SVGHeatmap {
        SVGHeatmap(title: "Validation sweep: event-level F1" + (objective == .paper ? "" : " (one-to-one)")
                   + " over threshold θ and ratio ρ", xLabel: "ratio ρ",
                   yLabel: "threshold θ", values: counts.map { $0.map(objective.value) },
                   rowLabels: thetas.map { String(format: "%.2f", $0) }, columnLabels: rhos.map { String(format: "%.2f", $0) },
                   colorbarLabel: "F1 (event)", range: 0 ... 1)
    }
}
