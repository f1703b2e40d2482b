// TrainingState: every number besides tensors that a resumed run needs to continue exactly where the
// checkpointed run was — position in the data order, step counters, scheduler, early stopping, checkpoint
// retention, and the running loss sums of the metrics log. Rank 0 reads it from the checkpoint and
// broadcasts it as JSON (non-finite numbers spelled out), so every rank resumes from the same state.

import Foundation

/// One kept top-k checkpoint.
public struct TopKEntry: Codable, Equatable {
    /// File name inside the run directory (changes as its rank changes).
    public var file: String
    /// Validation loss of the check that wrote it.
    public var valLoss: Double
    /// 1-based epoch in progress when it was written.
    public var epoch: Int
    /// Optimizer steps completed when it was written.
    public var step: Int
}

/// Counters and states of a run (see the file comment).
public struct TrainingState: Codable, Equatable {
    /// The epoch in progress, 0-based (the sampler's epoch); at an epoch boundary, the number of
    /// completed epochs.
    public var epoch = 0
    /// Index of the next batch of the epoch (a multiple of accumulate_grad_batches).
    public var position = 0
    /// Optimizer steps completed.
    public var globalStep = 0
    /// Training windows processed, summed over ranks (padding duplicates included).
    public var samplesSeen = 0
    /// Wall-clock seconds spent training (resumes continue counting).
    public var elapsedSeconds = 0.0
    /// Ranks of the run that wrote the state (mid-epoch positions are per rank).
    public var worldSize = 1
    /// `EarlyStopping.exportState()`, empty when early stopping is off.
    public var earlyStopping: [String: Double] = [:]
    /// Scheduler name and `LRScheduler.exportState()` (empty for no scheduler).
    public var schedulerName = "none"
    public var scheduler: [String: Double] = [:]
    /// Optimizer learning rate and β₁/momentum after the last step (for schedulers that don't store them).
    public var learningRate = 0.0
    /// Kept top-k checkpoints, best first.
    public var topK: [TopKEntry] = []
    /// Best validation loss so far and the step it was measured at (-1: none).
    public var bestValLoss = Double.infinity
    public var bestStep = -1
    /// Validation loss of the last check (NaN before the first).
    public var lastValLoss = Double.nan
    /// Why the run ended ("" while it can continue; "max_epochs", "early_stopping").
    public var finished = ""
    /// Loss sums for the metrics log: since the last validation check, and over the epoch in progress.
    public var intervalLossSum = 0.0
    public var intervalLossCount = 0.0
    public var epochLossSum = 0.0
    public var epochLossCount = 0.0

    public init() {}

    /// JSON with non-finite numbers as strings (identical bytes on every rank).
    public func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try e.encode(self), as: UTF8.self)
    }

    /// Parses `json()` output.
    public static func fromJSON(_ text: String) throws -> TrainingState {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try d.decode(TrainingState.self, from: Data(text.utf8))
    }
}
