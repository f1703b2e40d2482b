// Forecasting new data with a trained checkpoint (`cgmtrain forecast`): the model is rebuilt from the
// checkpoint's stored config for the window geometry recorded in it, and raw CSV data is turned into its
// inputs with the recorded preprocessing (InferencePipeline in CGMData: the training dataset's fitted
// FeatureSpec, nothing refitted). One process; the model runs once on all requested windows.

import CGMData
import CGMSchema
import CGMTensor
import Foundation
import Models
import Training

/// A checkpoint ready to forecast from raw data.
public struct CheckpointForecaster {
    /// The checkpoint file.
    public let file: String
    /// The rebuilt model and the checkpoint's contents.
    public let restored: CheckpointModel
    /// The recorded preprocessing and the recipe made from it.
    public let preprocessing: CheckpointPreprocessing
    public let recipe: InferenceRecipe

    /// Reads `path`; refuses checkpoints without recorded preprocessing, and models that need extra
    /// per-window inputs (`extras`: ODE states, the twin forecast) raw data cannot provide. Errors are `CheckpointError`s naming the file.
    public init(checkpoint path: String) throws {
        let contents = try Checkpoint.read(path)
        guard let p = contents.preprocessing else { throw CheckpointPreprocessing.missing(file: path) }
        // Raw data gives no per-window extras (ODE states, twin forecast): the model must build without them
        // (seq2seq or naive trained on an ode_states dataset do; physio_seq2seq and digital_twin do not).
        // GluFormer's `tokens` are rebuilt by the model from its cgm_scaled history (GluFormerForecaster.contexts).
        var shape = p.shape
        shape.extras = p.shape.extras.filter { $0.key == "tokens" && p.shape.pastFeatures.contains(FeatureCatalog.cgmScaled) }
        let needed = p.shape.extras.keys.filter { shape.extras[$0] == nil }
        if !needed.isEmpty, (try? ModelRegistry.build(try RunConfig.parseStored(yaml: contents.configYAML, source: "stored config").model,
                                                      shape: shape, seed: contents.seed)) == nil {
            throw CheckpointError(file: path, "its model was trained with extra per-window inputs ("
                                  + needed.sorted().joined(separator: ", ") + ") that forecast cannot form from raw data")
        }
        do {
            recipe = try InferenceRecipe(spec: try p.featureSpec(file: path), history: p.shape.history, horizon: p.shape.horizon)
        } catch let e as DataError {
            throw CheckpointError(file: path, "its recorded preprocessing is unusable: \(e)")
        }
        file = path
        preprocessing = p
        restored = try CheckpointModel(contents: contents, file: path, shape: shape)
    }

    /// Windows of `cgmPath` (see `InferencePipeline.windows`) and their forecasts.
    public func forecast(cgmPath: String, subjectsPath: String? = nil, subject: String? = nil,
                         at request: DecisionTimeRequest = .latest) throws -> ForecastTable {
        let windows = try InferencePipeline(recipe: recipe)
            .windows(cgmPath: cgmPath, subjectsPath: subjectsPath, subject: subject, at: request)
        return forecast(windows)
    }

    /// The model's forecasts of `windows` (inference graph: no dropout, no tape).
    public func forecast(_ windows: InferenceWindows) -> ForecastTable {
        let f = restored.model.forecast(windows.batch, Graph(training: false, recording: false))
        return ForecastTable(windows: windows, point: f.point.scalars, quantiles: f.quantiles?.scalars,
                             quantileLevels: f.quantiles == nil ? [] : f.quantileLevels)
    }
}
