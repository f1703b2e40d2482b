// `cgmtrain forecast --stream FILE`: forecasting one subject as readings arrive, keeping the model's Mamba
// state and conv windows in FILE between calls (StreamingForecaster, ForecastStreamFile).
//   first call (no FILE):  the window of L past rows ending at the decision time T is consumed (prefill),
//                          the forecast made, FILE written (last reading T);
//   later calls:           the k = (T − last)/5 min readings after the last one are consumed one step each
//                          (O(1) per reading), the forecast made from the kept state, FILE updated.
// The forecast equals `forecast` on the window of L + (readings since the start) past rows ending at T —
// the stream's context is everything since it started (tested). FILE is refused if another checkpoint
// (parameter fingerprint), model or subject wrote it, or if T is before its last reading; a gap in the new
// readings is the pipeline's usual history error (start a new stream after a gap).
// A reading once consumed is frozen in the state: a later revision of earlier rows (late uploads,
// backfilled insulin) is not seen — delete FILE to restart from the current data. The features of a past
// row depend only on data up to that row (trailing rolling means, IOB from past doses, gaps interpolated
// only between two readings), so a growing feed gives the same rows as the full file (tested).

import CGMData
import CGMTensor
import Foundation
import Training
import Models

/// One call of a streaming forecast.
public struct StreamingForecastRun {
    /// The checkpoint's forecaster (its model must be a `StreamingForecaster`).
    public let forecaster: CheckpointForecaster

    public init(_ forecaster: CheckpointForecaster) { self.forecaster = forecaster }

    /// What a call did.
    public struct Outcome {
        public var table: ForecastTable
        /// Readings consumed by this call (L on the first call).
        public var consumed: Int
        /// Whether this call started the stream.
        public var started: Bool
        public var file: ForecastStreamFile
    }

    /// Forecasts `subject` (or the file's only subject) at `request` from the state in `stateFile`
    /// (created when absent), and writes the advanced state back atomically.
    public func run(cgmPath: String, subjectsPath: String?, subject: String?, at request: DecisionTimeRequest,
                    stateFile: String) throws -> Outcome {
        let path = forecaster.file
        guard let model = forecaster.restored.model as? any StreamingForecaster else {
            throw CheckpointError(file: path, "model \(forecaster.restored.model.name) cannot stream: --stream needs a model "
                                  + "whose encoder keeps a recurrent state (ssm_cgm)")
        }
        let cohort = try CohortReader().read(cgmPath: cgmPath, subjectsPath: subjectsPath)
        let ids = subject.map { [$0] } ?? cohort.series.map(\.subject)
        guard ids.count == 1, let id = ids.first else {
            throw DataError(file: cgmPath, "--stream follows one subject: pass --subject (the file has \(ids.count) subjects)")
        }
        let recipe = forecaster.recipe
        let fingerprint = ForecastStreamFile.fingerprint(model.store)
        // The state file is checked first, so a foreign file is named before any data error.
        let existing = FileManager.default.fileExists(atPath: stateFile) ? try ForecastStreamFile.read(stateFile) : nil
        if let saved = existing {
            guard saved.model == model.name, saved.parameters == fingerprint else {
                throw CheckpointError(file: stateFile, "the stream state was written with another checkpoint (model "
                                      + "\(saved.model), parameters \(saved.parameters); \(path) has \(model.name), \(fingerprint)): "
                                      + "delete it to start a new stream")
            }
            guard saved.subject == id else {
                throw CheckpointError(file: stateFile, "the stream state follows subject \(saved.subject), not \(id)")
            }
        }
        let window = try InferencePipeline(recipe: recipe).windows(cohort: cohort, subject: id, at: request)
        let t = window.batch.decisionTime[0]
        var state: ForecastStreamState
        var first = t - Int64(300 * (recipe.history - 1)), consumed = recipe.history, started = true
        if let saved = existing {
            guard t >= saved.lastTime else {
                throw CheckpointError(file: stateFile, "decision time \(GridTime.iso8601(t)) is before the stream's last reading "
                                      + "\(GridTime.iso8601(saved.lastTime))")
            }
            state = saved.state
            first = saved.firstTime
            started = false
            consumed = Int((t - saved.lastTime) / 300)
            if consumed > 0 {
                // The new readings' encoder rows, formed exactly as a window ending at t forms them.
                let rows = try InferencePipeline(recipe: try InferenceRecipe(spec: recipe.spec, history: consumed, horizon: recipe.horizon))
                    .windows(cohort: cohort, subject: id, at: .at(t)).batch
                let p = rows.pastFeatureCount
                for i in 0..<consumed { model.streamStep(&state, past: Array(rows.past[(i * p)..<((i + 1) * p)]), window.batch) }
            }
        } else {
            state = model.streamStart(window.batch)
        }
        let f = model.streamForecast(state, window.batch)
        let file = ForecastStreamFile(model: model.name, parameters: fingerprint, subject: id, firstTime: first, lastTime: t,
                                      state: state)
        try file.write(to: stateFile)
        let table = ForecastTable(windows: window, point: f.point.scalars, quantiles: f.quantiles?.scalars,
                                  quantileLevels: f.quantiles == nil ? [] : f.quantileLevels)
        return Outcome(table: table, consumed: consumed, started: started, file: file)
    }
}
