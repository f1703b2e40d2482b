// Counterfactual interventions on known-future covariates (SSM-CGM §2 "Counterfactual Forecasting",
// eq. 3: do(X_{t+1:t+h} = a); Figure 3A: "+2 within-person SD").
//
// A request names a decoder feature and a size in within-subject standard deviations:
//   heart_rate_bpm=+2sd      shift:  a_s = x_s + k·SD_subj            at every horizon step s
//   heart_rate_bpm=mean+2sd  set:    a_s = mean_subj + k·SD_subj      (the paper's wording: "+2 SD above the
//                                                                      individual's baseline mean")
// Several requests at once form one multivariate intervention (A.15's stated limitation).
// A name matches a future feature exactly, or uniquely as a prefix followed by "_" (heart_rate →
// heart_rate_bpm).
//
// The transformation in the model's input space. The prepared value of a cohort-standardized feature
// is z = (x − μ_c)/σ_c (FeatureSpec.scalings, fitted on training data), so with the subject's raw
// within-subject SD SD_subj (in the feature's own units, e.g. bpm):
//   shift:  z' = z + k · SD_subj / σ_c
//   set:    z' = (mean_subj + k · SD_subj − μ_c) / σ_c
// For a fixed-scale feature (meal_flag, tod_sin, …; no standardization) μ_c = 0, σ_c = 1. Because the
// subject's raw values are themselves z·σ_c + μ_c, SD_subj/σ_c is just the SD of the subject's standardized
// values: the cohort scale cancels, but the raw SD is what is reported (in the feature's units).
//
// Where SD_subj comes from (`CovariateSDSource`):
//   train    the subject's values in the training split: every distinct 5-minute time the training windows
//            cover (past rows t − 5(L−1−i) min if the feature is a past feature, future rows t + 5(s+1) min
//            if it is a future feature), population SD. Used when the subject has ≥ 12 such points (an hour).
//   history  the window's own history (its L past rows; the feature must be a past feature), population SD
//            — what remains for a subject absent from the training split (subject split) or with too little
//            training data.
//   cohort   neither is available (a future-only feature of a subject without training data): SD_subj = σ_c,
//            i.e. k cohort SDs.
// Caveat: the prepared data maps a missing value to z = 0 (the cohort mean) before it is stored, so
// missing wearable readings count as cohort-mean values in these SDs (wearables are carried forward,
// so this only affects times before a subject's first reading).

import CGMData
import CGMSchema
import Foundation

/// An error in a counterfactual request or its data (printed as the message).
public struct CounterfactualError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// One requested intervention, as parsed from `name=+2sd` or `name=mean+2sd`.
public struct CovariateShiftRequest: Equatable, Sendable {
    /// How the covariate is changed over the horizon.
    public enum Mode: String, Sendable {
        /// x + k·SD_subj.
        case shift
        /// mean_subj + k·SD_subj.
        case set
    }
    /// The name as written (before resolution against the model's future features).
    public var name: String
    /// Size in within-subject SDs.
    public var k: Double
    public var mode: Mode

    public init(name: String, k: Double, mode: Mode = .shift) {
        self.name = name
        self.k = k
        self.mode = mode
    }

    /// Parses a comma-separated list `name=±Ksd[,name=mean±Ksd …]` (K a decimal number; "sd" optional).
    public static func parseList(_ text: String) throws -> [CovariateShiftRequest] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.isEmpty, !items.contains(where: \.isEmpty) else {
            throw CounterfactualError("--shift '\(text)': expected name=+2sd[,name=-1sd …]")
        }
        var out: [CovariateShiftRequest] = []
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw CounterfactualError("--shift '\(item)': expected name=+2sd or name=mean+2sd")
            }
            var value = parts[1].lowercased().replacingOccurrences(of: " ", with: "")
            var mode = Mode.shift
            if value.hasPrefix("mean") { mode = .set; value.removeFirst(4); if value.isEmpty { value = "0" } }
            if value.hasSuffix("sd") { value.removeLast(2) }
            guard let k = Double(value), k.isFinite else {
                throw CounterfactualError("--shift '\(item)': the size must be a number of SDs such as +2sd, -0.5sd or mean+2sd")
            }
            guard !out.contains(where: { $0.name == parts[0] }) else {
                throw CounterfactualError("--shift names '\(parts[0])' twice")
            }
            out.append(CovariateShiftRequest(name: parts[0], k: k, mode: mode))
        }
        return out
    }

    /// The future feature this request names: an exact match, or the only feature starting with `name_`.
    /// - Throws: naming the request and listing the model's future features (and saying when the name is
    ///   a past-only feature).
    public func resolve(futureFeatures: [String], pastFeatures: [String] = []) throws -> String {
        if futureFeatures.contains(name) { return name }
        let candidates = futureFeatures.filter { $0.hasPrefix(name + "_") }
        if candidates.count == 1 { return candidates[0] }
        let list = futureFeatures.joined(separator: ", ")
        if candidates.count > 1 {
            throw CounterfactualError("covariate '\(name)' is ambiguous: it could be \(candidates.joined(separator: " or ")) (the model's known-future features: \(list))")
        }
        let pastOnly = pastFeatures.contains(name) || pastFeatures.contains { $0.hasPrefix(name + "_") }
        throw CounterfactualError("unknown covariate '\(name)'"
            + (pastOnly ? " (it is a past-only feature of this model: only known-future features can be intervened on)" : "")
            + ": the model's known-future features are \(list)")
    }
}

/// Where a subject's within-subject SD came from (see the file header).
public enum CovariateSDSource: String, Sendable, CaseIterable {
    case train, history, cohort
}

/// Mean and population SD of a feature's raw values.
public struct CovariateMoments: Equatable, Sendable {
    public var mean: Double
    public var sd: Double
    public var count: Int

    public init(mean: Double, sd: Double, count: Int) {
        self.mean = mean
        self.sd = sd
        self.count = count
    }

    /// Population moments of `values` (two-pass, in Double).
    public init<S: Collection>(_ values: S) where S.Element == Double {
        let n = values.count
        let m = n > 0 ? values.reduce(0, +) / Double(n) : .nan
        count = n
        mean = m
        sd = n > 0 ? (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n)).squareRoot() : .nan
    }
}

/// The intervention arithmetic in the model's scaled input space (see the file header).
public enum CounterfactualTransform {
    /// Raw units → the model's input (z = (x − μ_c)/σ_c, or x for a fixed-scale feature).
    public static func scaled(_ raw: Double, _ z: Standardization?) -> Double {
        guard let z else { return raw }
        return (raw - z.mean) / z.std
    }

    /// The model's input → raw units.
    public static func raw(_ scaled: Double, _ z: Standardization?) -> Double {
        guard let z else { return scaled }
        return scaled * z.std + z.mean
    }

    /// Shift mode: the change of the scaled input for k subject SDs, k · SD_subj / σ_c.
    public static func scaledShift(k: Double, subjectSD: Double, _ z: Standardization?) -> Double {
        k * subjectSD / (z?.std ?? 1)
    }

    /// Set mode: the scaled input of mean_subj + k · SD_subj.
    public static func scaledLevel(k: Double, subject m: CovariateMoments, _ z: Standardization?) -> Double {
        scaled(m.mean + k * m.sd, z)
    }

    /// The intervened values of one covariate column over the horizon: `future` holds the H scaled values
    /// (stride `stride` apart, starting at `offset`); returns the scaled change applied at every step for
    /// shift mode, or writes the constant level for set mode. Fixed points: k = 0 in shift mode leaves the
    /// values bit-identical.
    public static func apply(_ request: CovariateShiftRequest, subject m: CovariateMoments, _ z: Standardization?,
                             to future: inout [Float], offset: Int, stride: Int, steps: Int) {
        switch request.mode {
        case .shift:
            let d = Float(scaledShift(k: request.k, subjectSD: m.sd, z))
            if d == 0 { return }
            for s in 0..<steps { future[offset + s * stride] += d }
        case .set:
            let level = Float(scaledLevel(k: request.k, subject: m, z))
            for s in 0..<steps { future[offset + s * stride] = level }
        }
    }
}

/// Per-subject raw moments of a set of covariates over the distinct times of the training windows.
public struct TrainingCovariateMoments {
    /// Minimum number of distinct 5-minute points for a `train` SD.
    public static let minimumPoints = 12
    /// The covariates, in request order.
    public let features: [String]
    /// values[feature][subject index][Unix second] = raw value.
    private var values: [[Int: [Int64: Double]]]
    private let pastColumn: [Int?], futureColumn: [Int?]
    private let standardization: [Standardization?]

    /// Accumulates `features` (names in the dataset's past and/or future features) with their cohort
    /// standardizations from `spec` (nil: fixed scale).
    public init(features: [String], pastFeatures: [String], futureFeatures: [String], spec: FeatureSpec?) {
        self.init(features: features, pastFeatures: pastFeatures, futureFeatures: futureFeatures,
                  standardizations: features.map { spec?.standardization(of: $0) })
    }

    /// As above with the standardization of each of `features` given directly (nil: fixed scale).
    public init(features: [String], pastFeatures: [String], futureFeatures: [String], standardizations: [Standardization?]) {
        precondition(standardizations.count == features.count, "TrainingCovariateMoments: one standardization per feature")
        self.features = features
        values = Array(repeating: [:], count: features.count)
        pastColumn = features.map { pastFeatures.firstIndex(of: $0) }
        futureColumn = features.map { futureFeatures.firstIndex(of: $0) }
        standardization = standardizations
    }

    /// Adds every window of `batch` (past rows at t − 5(L−1−i) min, future rows at t + 5(s+1) min;
    /// a time already seen keeps its first value).
    public mutating func add(_ batch: Batch) {
        let (l, h, p, f) = (batch.history, batch.horizon, batch.pastFeatureCount, batch.futureFeatureCount)
        for (c, _) in features.enumerated() {
            for b in 0..<batch.count {
                let s = Int(batch.subject[b]), t = batch.decisionTime[b]
                var series = values[c][s, default: [:]]
                if let pc = pastColumn[c] {
                    for i in 0..<l where series[t - Int64(300 * (l - 1 - i))] == nil {
                        series[t - Int64(300 * (l - 1 - i))] =
                            CounterfactualTransform.raw(Double(batch.past[(b * l + i) * p + pc]), standardization[c])
                    }
                }
                if let fc = futureColumn[c] {
                    for k in 0..<h where series[t + Int64(300 * (k + 1))] == nil {
                        series[t + Int64(300 * (k + 1))] =
                            CounterfactualTransform.raw(Double(batch.future[(b * h + k) * f + fc]), standardization[c])
                    }
                }
                values[c][s] = series
            }
        }
    }

    /// Moments of `feature` for subject index `subject`, in time order (nil below `minimumPoints`).
    public func moments(_ feature: String, subject: Int) -> CovariateMoments? {
        guard let c = features.firstIndex(of: feature), let series = values[c][subject],
              series.count >= Self.minimumPoints else { return nil }
        return CovariateMoments(series.keys.sorted().map { series[$0]! })
    }

    /// Reads the training windows of the subjects in `subjects` (indices into the manifest's subjects)
    /// from `dataset`, skipping shards that hold none of them. Every rank reads the same windows, so the
    /// moments are identical on all ranks without communication.
    public static func read(_ dataset: ShardDataset, features: [String], subjects: Set<Int>,
                            batchSize: Int = 256, rank: Int? = nil) throws -> TrainingCovariateMoments {
        let m = dataset.manifest
        var acc = TrainingCovariateMoments(features: features, pastFeatures: m.pastFeatures, futureFeatures: m.futureFeatures,
                                           spec: try? FeatureSpec(jsonString: m.featureSpecJSON))
        let wanted = Set(subjects.map { m.subjects[$0] })
        guard !wanted.isEmpty, dataset.count(.train) > 0 else { return acc }
        let reader = ShardReader(dataset: dataset, split: .train, rank: rank)
        defer { reader.close() }
        var start = 0
        for shard in dataset.shards(.train) {
            defer { start += shard.windows }
            guard !wanted.isDisjoint(with: shard.subjects) else { continue }
            for lo in stride(from: start, to: start + shard.windows, by: batchSize) {
                acc.add(try reader.read(indices: Array(lo..<min(lo + batchSize, start + shard.windows))))
            }
        }
        return acc
    }
}
