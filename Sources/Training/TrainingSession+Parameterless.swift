// A model without parameters (the naive and digital-twin baselines) has nothing to train. So that `evaluate`,
// `compare` and `forecast` accept it like any trained model, `train` still does everything around the loop:
// the run directory with config.yaml, one exact validation pass (the loss the model would be selected by),
// one metrics.jsonl record, and best.h5 = last.h5 at step 0 — but takes no optimizer step and says so.
// The run is marked finished ("no_parameters"), so `--resume` reports it done instead of looping.

import Foundation

extension TrainingSession {
    /// The `TrainingState.finished` value of a parameter-less run.
    static let finishedWithoutParameters = "no_parameters"

    /// Collective: validates once and writes best.h5 and last.h5 for a model with an empty store.
    func finishWithoutTraining(_ state: inout TrainingState) throws -> TrainingOutcome {
        progress.line("train: model \(model.name) has no parameters, so there is nothing to train: no optimizer steps; "
                      + "validating once and writing \(CheckpointRetention.best) and \(CheckpointRetention.last)")
        return try validateOnceAndFinish(&state, reason: Self.finishedWithoutParameters, since: Date())
    }

    /// Collective: one validation pass of the model as it is, its metrics record, best.h5 = last.h5, and the run marked
    /// finished with `reason` (a model that takes no optimizer steps: parameter-less, or fitted in closed form).
    /// `start` is when the model's work began (for the elapsed time and the rate of the record).
    func validateOnceAndFinish(_ state: inout TrainingState, reason: String, since start: Date,
                               windowsSeen: Double = 0) throws -> TrainingOutcome {
        let v = try validator.run(model)
        state.lastValLoss = v.loss
        if v.loss.isFinite { state.bestValLoss = v.loss }
        state.bestStep = state.globalStep
        state.finished = reason
        state.elapsedSeconds += Date().timeIntervalSince(start)
        let record = MetricsRecord(
            kind: .val, epoch: 0, epochProgress: 0, step: state.globalStep, trainLoss: .nan, valLoss: v.loss,
            bestValLoss: state.bestValLoss, improved: nil, earlyStoppingWait: nil, learningRate: optimizer.learningRate,
            samplesPerSecond: (windowsSeen + Double(v.count)) / max(1e-9, Date().timeIntervalSince(start)),
            elapsedSeconds: state.elapsedSeconds)
        try persist(state, names: [CheckpointRetention.best, CheckpointRetention.last], topUpdate: nil, records: [record],
                    valLoss: v.loss, curve: false)
        progress.line("finished: val_loss \(Progress.fmt(v.loss)) on \(v.count) validation windows, 0 steps "
                      + "(\(runDir.file(CheckpointRetention.best)))")
        return .completed(reason: reason, state: state)
    }
}
