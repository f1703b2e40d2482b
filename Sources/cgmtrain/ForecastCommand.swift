// `cgmtrain forecast`: a trained checkpoint's forecast for new raw data, as CSV.
//
//   cgmtrain forecast --checkpoint checkpoints/seq2seq/best.h5 --cgm new/cgm.csv [--subjects new/subjects.csv] \
//                     [--subject S0007] [--at 2026-01-06T10:00:00Z | --at 1767693600] [--out forecast.csv]
//
// The data is preprocessed exactly as training's `prepare` did, from the preprocessing recorded in the
// checkpoint (InferencePipeline: the fitted FeatureSpec, L, H, feature lists; nothing refitted). One window
// per subject (or only --subject) ends at --at floored to the 5-minute grid, or by default at the subject's
// latest time with a complete history. Columns: see ForecastTable. Notes about fallbacks (subjects not in
// the training data) go to stderr; errors print `cgmtrain forecast: error: …` and exit 1 without writing.
// One process, no MPI. With --stream FILE (models with Mamba state, ssm_cgm) the encoder state is kept in FILE
// between calls and only the readings since the last call are consumed (StreamingForecastRun).

import ArgumentParser
import CGMData
import CGMTensor
import Foundation
import Inference
import Models
import Training

struct ForecastCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forecast",
        abstract: "Forecast new CGM data with a trained checkpoint, preprocessed as in training; writes CSV.",
        discussion: """
        Columns: subject_id, decision_time, step, minutes_ahead, timestamp, forecast_mg_dl, q<level>_mg_dl \
        (quantile models), last_glucose_mg_dl, actual_mg_dl (glucose the file holds at that time, if any). \
        Times are ISO 8601 UTC.
        """)

    @Option(help: "Checkpoint file written by `cgmtrain train` (e.g. RUN/best.h5).")
    var checkpoint: String
    @Option(help: "Measurements CSV in the canonical format (subject_id, timestamp, glucose_mg_dl, optional columns).")
    var cgm: String
    @Option(help: "subjects.csv with static covariates (needed when the model uses subjects.csv columns).")
    var subjects: String?
    @Option(help: "Forecast only this subject.")
    var subject: String?
    @Option(help: "Decision time: ISO 8601 (zone-less = UTC) or Unix seconds, floored to the 5-minute grid (default: each subject's latest time with a complete history).")
    var at: String?
    @Option(help: "Output CSV file (default: stdout).")
    var out: String?
    @Option(help: "Streaming state file (ssm_cgm): keep the model's Mamba state between calls; each call consumes the readings since the last one (created on the first call; one subject).")
    var stream: String?

    func run() throws {
        CommandRanks.useOneBLASThreadUnlessSet()
        do {
            let request = try at.map { try DecisionTimeRequest.parse($0) } ?? .latest
            let forecaster = try CheckpointForecaster(checkpoint: checkpoint)
            let table: ForecastTable
            if let stream {
                let outcome = try StreamingForecastRun(forecaster).run(cgmPath: cgm, subjectsPath: subjects, subject: subject,
                                                                       at: request, stateFile: stream)
                table = outcome.table
                FileHandle.standardError.write(Data(("cgmtrain forecast: stream \(stream): "
                    + (outcome.started ? "started with \(outcome.consumed) readings" : "\(outcome.consumed) new reading(s)")
                    + ", \(outcome.file.state.positions) consumed since \(GridTime.iso8601(outcome.file.firstTime))\n").utf8))
            } else {
                table = try forecaster.forecast(cgmPath: cgm, subjectsPath: subjects, subject: subject, at: request)
            }
            for note in table.windows.notes {
                FileHandle.standardError.write(Data("cgmtrain forecast: note: \(note)\n".utf8))
            }
            if let out {
                try table.write(to: out)
                FileHandle.standardError.write(Data(("cgmtrain forecast: wrote \(out): \(table.windows.batch.count) window(s) × "
                    + "\(forecaster.recipe.horizon) steps, model \(forecaster.restored.model.name)\n").utf8))
            } else {
                FileHandle.standardOutput.write(Data(table.csv().utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("cgmtrain forecast: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
