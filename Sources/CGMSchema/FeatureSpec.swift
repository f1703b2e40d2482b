// FeatureSpec: everything needed to turn raw data into model inputs again — at inference, or when a
// checkpoint is loaded — recorded as Codable: feature lists, the paper constants (eq. 7 range, eq. 11
// range, IOB curve), per-feature cohort standardization, static vocabularies and standardization, and
// each subject's glucose centre/scale. It is fitted on training data only (`fit(features:scope:table:)`, in
// CGMData's FeatureSpecFitting.swift).

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

    /// Creates a scaling.
    public init(name: String, standardization: Standardization?) {
        self.name = name
        self.standardization = standardization
    }
}

/// Whether a static covariate is a category (embedded by index) or a real number (standardized).
public enum StaticKind: String, Codable, Sendable { case categorical, real }

/// Encoding of one static feature.
public struct StaticEncoding: Codable, Equatable, Sendable {
    /// Feature name.
    public var name: String
    /// Categorical (encoded as an index) or real (standardized).
    public var kind: StaticKind
    /// Categorical vocabulary (sorted): value `vocabulary[k]` encodes as k + 1; unknown or missing → 0.
    public var vocabulary: [String]
    /// Standardization of a real feature (missing → 0).
    public var standardization: Standardization?

    /// Number of categorical classes including the unknown class 0 (embedding table size).
    public var cardinality: Int { vocabulary.count + 1 }

    /// Creates an encoding.
    public init(name: String, kind: StaticKind, vocabulary: [String], standardization: Standardization?) {
        (self.name, self.kind, self.vocabulary, self.standardization) = (name, kind, vocabulary, standardization)
    }
}

/// A subject's glucose centre (mean) and scale (std), mg/dL.
public struct SubjectGlucose: Codable, Equatable, Sendable {
    /// Subject id.
    public var id: String
    /// Mean glucose (mg/dL); NaN if the subject had no glucose.
    public var centre: Double
    /// Population standard deviation of glucose (mg/dL).
    public var scale: Double

    /// Creates a record.
    public init(id: String, centre: Double, scale: Double) {
        (self.id, self.centre, self.scale) = (id, centre, scale)
    }
}

/// The fitted preprocessing of a dataset (recorded in manifests and checkpoints).
public struct FeatureSpec: Codable, Equatable, Sendable {
    /// Format version of this record.
    public var version = 1
    /// Grid step (minutes).
    public var gridMinutes = 5
    /// Longest interpolated glucose gap (minutes).
    public var maxInterpolationGapMinutes: Int
    /// How those gaps were filled; nil is `.interpolate` (absent from specs written before `data.gap_fill`).
    public var gapFill: GapFill? = nil
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

    /// The gap-filling method (`gapFill`, or `.interpolate` when not recorded).
    public var gapFillMethod: GapFill { gapFill ?? .interpolate }

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
}

extension FeatureSpec {
    /// Compact JSON with sorted keys (identical bytes on every rank); NaN and infinities as "nan"/"inf"/"-inf"
    /// strings (a subject without glucose has a NaN centre). Stored as the manifest's `feature_spec_json`.
    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                      nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// Decodes `jsonString()` output (e.g. a manifest's `feature_spec_json`).
    public init(jsonString: String) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf",
                                                                        nan: "nan")
        self = try decoder.decode(FeatureSpec.self, from: Data(jsonString.utf8))
    }
}
