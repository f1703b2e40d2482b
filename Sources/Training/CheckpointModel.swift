import CGMData
import Foundation
import Models

/// A trained model restored from a checkpoint, for `evaluate` and `forecast`: the model is rebuilt
/// from the checkpoint's own resolved config for a dataset of the same shape, then its parameters are
/// validated against the checkpoint (model name, layout) and loaded.
public struct CheckpointModel {
    public let contents: CheckpointContents
    public let config: RunConfig
    public let model: any ForecastModel

    public init(checkpoint path: String, shape: DatasetShape) throws {
        try self.init(contents: try Checkpoint.read(path), file: path, shape: shape)
    }

    /// The model rebuilt for the dataset geometry recorded in the checkpoint itself (for `forecast`,
    /// which has no prepared dataset); a checkpoint written before preprocessing was recorded is refused.
    public init(checkpoint path: String) throws {
        let c = try Checkpoint.read(path)
        guard let p = c.preprocessing else { throw CheckpointPreprocessing.missing(file: path) }
        try self.init(contents: c, file: path, shape: p.shape)
    }

    /// The model of already-read `contents` (of `file`, named in errors) for a dataset of `shape`.
    public init(contents: CheckpointContents, file: String, shape: DatasetShape) throws {
        self.contents = contents
        config = try RunConfig.parseStored(yaml: contents.configYAML, source: "\(file) (stored config)")
        model = try ModelRegistry.build(config.model, shape: shape, seed: contents.seed)
        try contents.validate(modelName: model.name, store: model.store, file: file)
        contents.applyParameters(to: model.store)
    }
}

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
