import CGMSchema
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
