// What evaluation reads from the windows besides the forecast: the glucose at the decision time (the naive
// last-value forecast) and each subject's diabetes status (the subgroups of the report).

import CGMData
import CGMSchema
import Foundation

/// Glucose (mg/dL) at the decision time of each window: the naive last-value forecast, read from the
/// windows' own history (`cgm_scaled` through eq. 14, or `cgm` through its standardization).
public struct LastObservedGlucose {
    private enum Source { case scaled(Int), standardized(Int, Standardization) }
    private let source: Source

    public init(pastFeatures: [String], spec: FeatureSpec?) throws {
        if let i = pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled) {
            source = .scaled(i)
        } else if let i = pastFeatures.firstIndex(of: FeatureCatalog.cgm) {
            source = .standardized(i, spec?.standardization(of: FeatureCatalog.cgm) ?? .identity)
        } else {
            throw EvaluationError("the naive baseline needs 'cgm_scaled' or 'cgm' among the past features, got \(pastFeatures)")
        }
    }

    public func values(_ batch: Batch) -> [Float] {
        let p = batch.pastFeatureCount, l = batch.history
        return (0..<batch.count).map { b in
            let row = (b * l + l - 1) * p
            switch source {
            case .scaled(let i): return FeatureCatalog.unscaleCGM(batch.past[row + i])
            case .standardized(let i, let z): return Float(Double(batch.past[row + i]) * z.std + z.mean)
            }
        }
    }
}

/// Each subject's `diabetes_status`, decoded from the windows' static covariates when the dataset
/// encodes it (categorical index k ↦ vocabulary[k − 1], 0 = unknown).
public struct SubgroupLabels {
    public private(set) var bySubject: [String]
    private let column: Int?
    private let vocabulary: [String]

    public init(manifest: Manifest, spec: FeatureSpec?) {
        bySubject = Array(repeating: "", count: manifest.subjects.count)
        let encoding = spec?.statics.first { $0.name == "diabetes_status" }
        column = encoding == nil ? nil : manifest.staticFeatures.firstIndex(of: "diabetes_status")
        vocabulary = encoding?.vocabulary ?? []
    }

    /// Labels from a subjects.csv (`diabetes_status` column), for datasets whose windows do not carry them.
    public mutating func read(_ table: SubjectTable, subjects: [String]) {
        for (i, id) in subjects.enumerated() {
            if let label = table.value("diabetes_status", for: id), !label.isEmpty { bySubject[i] = label }
        }
    }

    public mutating func observe(_ batch: Batch) {
        guard let column else { return }
        let s = batch.staticFeatureCount
        for b in 0..<batch.count {
            let k = Int(batch.statics[b * s + column])
            let subject = Int(batch.subject[b])
            if subject < bySubject.count, k >= 1, k <= vocabulary.count { bySubject[subject] = vocabulary[k - 1] }
        }
    }
}
