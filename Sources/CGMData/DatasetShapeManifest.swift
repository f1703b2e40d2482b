// A dataset's window dimensions as its manifest records them.

import CGMSchema

extension DatasetShape {
    /// The dimensions recorded in a dataset's manifest.
    public init(_ m: Manifest) {
        self.init(history: m.history, horizon: m.horizon, pastFeatures: m.pastFeatures,
                  futureFeatures: m.futureFeatures, staticFeatures: m.staticFeatures, extras: m.extras,
                  staticCardinalities: Self.staticCardinalities(featureSpecJSON: m.featureSpecJSON,
                                                                staticFeatures: m.staticFeatures),
                  glucoseChangeScale: Self.glucoseChangeScale(featureSpecJSON: m.featureSpecJSON, horizon: m.horizon))
    }

    /// σ_1 … σ_H of a recorded `FeatureSpec` (JSON); nil when the JSON does not decode or records none for `horizon`.
    public static func glucoseChangeScale(featureSpecJSON: String, horizon: Int) -> [Float]? {
        guard let scale = (try? FeatureSpec(jsonString: featureSpecJSON))?.glucoseChangeScale, scale.rms.count == horizon else {
            return nil
        }
        return scale.floats
    }

    /// The static kinds of a recorded `FeatureSpec` (JSON) whose statics are `staticFeatures`; empty when the
    /// JSON does not decode or lists other statics.
    public static func staticCardinalities(featureSpecJSON: String, staticFeatures: [String]) -> [Int?] {
        guard let spec = try? FeatureSpec(jsonString: featureSpecJSON),
              spec.statics.map(\.name) == staticFeatures else { return [] }
        return spec.statics.map { $0.kind == .categorical ? $0.cardinality : nil }
    }
}
