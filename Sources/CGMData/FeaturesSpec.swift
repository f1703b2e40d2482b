// FeatureSpec: everything needed to turn raw data into model inputs again — at inference, or when a
// checkpoint is loaded — recorded as Codable: feature lists, the paper constants (eq. 7 range, eq. 11
// range, IOB curve), per-feature cohort standardization, static vocabularies and standardization, and
// each subject's glucose centre/scale. It is fitted on training data only (`fit(features:scope:table:)`).

import Foundation

/// (x − mean) / std; a missing value (NaN) maps to 0, i.e. the mean.
public struct Standardization: Codable, Equatable, Sendable {
    /// Mean subtracted.
    public var mean: Double
    /// Standard deviation divided by (1 when the fitted std was 0 or there was no data).
    public var std: Double

    /// The identity (mean 0, std 1).
    public static let identity = Standardization(mean: 0, std: 1)

    /// Creates a standardization.
    public init(mean: Double, std: Double) {
        self.mean = mean
        self.std = std
    }

    /// Standardizes `x`; NaN → 0.
    @inline(__always) public func apply(_ x: Float) -> Float {
        x.isNaN ? 0 : Float((Double(x) - mean) / std)
    }
}

/// How decoder-side IOB (`iob`, `iob_scaled` in the future features) is formed at t+1 … t+H.
public enum FutureIOBPolicy: String, Codable, Sendable, CaseIterable {
    /// Insulin delivered up to the decision time t, plus basal continuing at the rate in effect at t,
    /// no future boluses — the basal-only future assumption of PhysioSeq2Seq Algorithm 1, pass 3.
    /// Nothing recorded after t enters the decoder inputs.
    case basalOnly = "basal_only"
    /// The IOB series as recorded, including insulin delivered after t (treats insulin as planned).
    case observed
}

/// Scaling of one time-varying feature: `standardization` nil means the feature keeps its fixed scale.
public struct FeatureScaling: Codable, Equatable, Sendable {
    /// Feature name.
    public var name: String
    /// Cohort standardization, or nil for fixed-scale features (eq. 7, eq. 11, sin/cos, flags).
    public var standardization: Standardization?
}

/// Encoding of one static feature.
public struct StaticEncoding: Codable, Equatable, Sendable {
    /// Feature name.
    public var name: String
    /// Categorical (encoded as an index) or real (standardized).
    public var kind: SubjectTable.Kind
    /// Categorical vocabulary (sorted): value `vocabulary[k]` encodes as k + 1; unknown or missing → 0.
    public var vocabulary: [String]
    /// Standardization of a real feature (missing → 0).
    public var standardization: Standardization?

    /// Number of categorical classes including the unknown class 0 (embedding table size).
    public var cardinality: Int { vocabulary.count + 1 }
}

/// A subject's glucose centre (mean) and scale (std), mg/dL.
public struct SubjectGlucose: Codable, Equatable, Sendable {
    /// Subject id.
    public var id: String
    /// Mean glucose (mg/dL); NaN if the subject had no glucose.
    public var centre: Double
    /// Population standard deviation of glucose (mg/dL).
    public var scale: Double
}

/// The fitted preprocessing of a dataset (recorded in manifests and checkpoints).
public struct FeatureSpec: Codable, Equatable, Sendable {
    /// Format version of this record.
    public var version = 1
    /// Grid step (minutes).
    public var gridMinutes = 5
    /// Longest interpolated glucose gap (minutes).
    public var maxInterpolationGapMinutes: Int
    /// Glucose range of eq. 11 (mg/dL), values clamped into it before scaling.
    public var cgmScaleRange: [Double] = [40, 400]
    /// IOB constants, eqs. 5–7.
    public var iob: IOBModel
    /// How decoder IOB is formed.
    public var futureIOB: FutureIOBPolicy
    /// Encoder features, in order.
    public var pastFeatures: [String]
    /// Decoder features, in order.
    public var futureFeatures: [String]
    /// Static features, in order.
    public var staticFeatures: [String]
    /// Scaling of every time-varying feature in `pastFeatures` ∪ `futureFeatures`.
    public var scalings: [FeatureScaling] = []
    /// Encoding of every static feature, in `staticFeatures` order.
    public var statics: [StaticEncoding] = []
    /// Glucose centre/scale of every subject, sorted by id.
    public var subjectGlucose: [SubjectGlucose] = []
    /// GluFormer diet-token bins (data.diet_tokens), fitted on the training scope; absent otherwise.
    public var dietBins: DietBins? = nil
    /// Optional features (`?name`) the data could not give, with why; absent when none were left out.
    public var droppedFeatures: [DroppedFeature]? = nil
    /// Residual targets (`GlucoseChangeScale`): RMS of the h-step change of eq. 11-scaled glucose on training
    /// data, h = 1 … H; absent in datasets prepared before it existed.
    public var glucoseChangeScale: GlucoseChangeScale? = nil

    /// An unfitted spec for the given (expanded) feature lists.
    public init(pastFeatures: [String], futureFeatures: [String], staticFeatures: [String],
                iob: IOBModel = IOBModel(), futureIOB: FutureIOBPolicy = .basalOnly, maxInterpolationGapMinutes: Int = 15) {
        self.pastFeatures = pastFeatures
        self.futureFeatures = futureFeatures
        self.staticFeatures = staticFeatures
        self.iob = iob
        self.futureIOB = futureIOB
        self.maxInterpolationGapMinutes = maxInterpolationGapMinutes
    }

    /// All time-varying features used, past first, without repeats.
    public var timeVaryingFeatures: [String] {
        var out = pastFeatures
        for f in futureFeatures where !out.contains(f) { out.append(f) }
        return out
    }

    /// The scaling of `name` (nil if fixed-scale or unknown).
    public func standardization(of name: String) -> Standardization? {
        scalings.first { $0.name == name }?.standardization
    }

    /// `raw` scaled as the model sees it (standardized features standardized; NaN → 0 everywhere).
    public func scaled(_ name: String, _ raw: [Float]) -> [Float] {
        if let z = standardization(of: name) { return raw.map(z.apply) }
        return raw.map { $0.isNaN ? 0 : $0 }
    }

    /// The glucose centre/scale recorded for `subject`.
    public func glucose(of subject: String) -> SubjectGlucose? {
        var lo = 0, hi = subjectGlucose.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if subjectGlucose[mid].id < subject { lo = mid + 1 } else { hi = mid }
        }
        return lo < subjectGlucose.count && subjectGlucose[lo].id == subject ? subjectGlucose[lo] : nil
    }

    /// Fits standardizations, vocabularies and subject glucose statistics.
    ///
    /// - Parameters:
    ///   - features: every subject's unscaled features.
    ///   - scope: per subject, the last Unix second of its data that is training data (`Int64.max`:
    ///     all of it; nil: none — a validation/test subject of a subject split). Cohort statistics
    ///     and vocabularies use in-scope data only. A subject's own glucose centre/scale uses its
    ///     in-scope data, or all of its data when it has none in scope (a summary of the subject,
    ///     like its HbA1c; documented leakage-free for temporal splits).
    ///   - table: subjects.csv, for static columns.
    public mutating func fit(features: [SubjectFeatures], scope: [Int64?], table: SubjectTable?) {
        precondition(features.count == scope.count, "FeatureSpec.fit: \(features.count) subjects but \(scope.count) scopes")
        scalings = timeVaryingFeatures.map { name in
            guard FeatureCatalog.isStandardized(name) else { return FeatureScaling(name: name, standardization: nil) }
            var stats = RunningStats()
            for (s, f) in features.enumerated() {
                guard let cutoff = scope[s], let column = f.columns[name] else { continue }
                forEachInScope(f, cutoff: cutoff) { stats.add(column[$0]) }
            }
            return FeatureScaling(name: name, standardization: stats.standardization)
        }
        subjectGlucose = features.enumerated().map { s, f in
            var stats = RunningStats()
            let cutoff = scope[s] ?? .max
            forEachInScope(f, cutoff: cutoff) { stats.add(f.cgm[$0]) }
            if stats.count == 0 { forEachInScope(f, cutoff: .max) { stats.add(f.cgm[$0]) } }
            return SubjectGlucose(id: f.id, centre: stats.count > 0 ? stats.mean : .nan, scale: stats.std)
        }.sorted { $0.id < $1.id }
        let trainIDs = features.indices.filter { scope[$0] != nil }.map { features[$0].id }
        statics = staticFeatures.map { fitStatic($0, trainIDs: trainIDs, table: table) }
    }

    /// The encoded static row of `subject` (categorical indices and standardized reals).
    public func staticRow(subject: String, table: SubjectTable?) -> [Float] {
        statics.map { enc in
            switch enc.kind {
            case .categorical:
                let value = enc.name == "subject_id" ? subject : table?.value(enc.name, for: subject)
                guard let value, let k = enc.vocabulary.firstIndex(of: value) else { return 0 }
                return Float(k + 1)
            case .real:
                let z = enc.standardization ?? .identity
                return z.apply(Float(rawStatic(enc.name, subject: subject, table: table) ?? .nan))
            }
        }
    }

    private func rawStatic(_ name: String, subject: String, table: SubjectTable?) -> Double? {
        switch name {
        case "glucose_centre": return glucose(of: subject)?.centre
        case "glucose_scale": return glucose(of: subject)?.scale
        default: return table?.real(name, for: subject)
        }
    }

    private func fitStatic(_ name: String, trainIDs: [String], table: SubjectTable?) -> StaticEncoding {
        let kind: SubjectTable.Kind
        switch name {
        case "subject_id": kind = .categorical
        case "glucose_centre", "glucose_scale": kind = .real
        default: kind = table?.kinds[name] ?? .real
        }
        if kind == .categorical {
            let values = trainIDs.compactMap { name == "subject_id" ? $0 : table?.value(name, for: $0) }
            return StaticEncoding(name: name, kind: .categorical, vocabulary: Array(Set(values)).sorted(), standardization: nil)
        }
        var stats = RunningStats()
        for id in trainIDs { if let v = rawStatic(name, subject: id, table: table) { stats.add(Float(v)) } }
        return StaticEncoding(name: name, kind: .real, vocabulary: [], standardization: stats.standardization)
    }

    private func forEachInScope(_ f: SubjectFeatures, cutoff: Int64, _ body: (Int) -> Void) {
        for seg in f.segments {
            for i in seg {
                if f.time(at: i) > cutoff { return }
                body(i)
            }
        }
    }
}

/// Welford's running mean and variance (population), skipping NaN.
struct RunningStats {
    private(set) var count = 0
    private(set) var mean = 0.0
    private var m2 = 0.0

    mutating func add(_ x: Float) {
        guard !x.isNaN else { return }
        count += 1
        let d = Double(x) - mean
        mean += d / Double(count)
        m2 += d * (Double(x) - mean)
    }

    var std: Double { count > 0 ? (m2 / Double(count)).squareRoot() : 0 }

    /// The standardization; std 1 when there is no spread (or no data, then mean 0).
    var standardization: Standardization {
        Standardization(mean: count > 0 ? mean : 0, std: std > 1e-12 ? std : 1)
    }
}
