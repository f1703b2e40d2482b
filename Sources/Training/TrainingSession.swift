// Everything `Trainer.setup` prepared on every rank, as one value: the dataset and its readers, the model,
// optimizer, scheduler, early stopping, gradient sync and the epoch geometry. Nothing in it is filled in later.
// The loop (TrainingLoop.swift), the checkpoint it writes, and the runs without a loop (Trainer+Parameterless,
// Trainer+ClosedForm) are its methods; restoring a checkpoint into it and the start banner are here.

import CGMData
import CGMTensor
import DataParallel
import Distributed
import Foundation
import Layers
import Models
import Optim

/// One run's prepared parts, identical in layout on every rank (see the file comment).
final class TrainingSession {
    /// What setup builds on each rank before the ranks agree (the gradient sync comes after).
    struct Parts {
        let dataset: ShardDataset
        /// FNV-1a 64 of the dataset's manifest.json, recorded in every checkpoint.
        let manifestHash: String
        /// The dataset's preprocessing, recorded in every checkpoint (for `cgmtrain forecast`).
        let preprocessing: CheckpointPreprocessing
        let model: any ForecastModel
        let optimizer: any Optimizer
        let schedule: SchedulerSetup
        let earlyStopping: EarlyStopping?
        let geometry: EpochGeometry
        let trainReader: ShardReader
        let validator: DistributedValidator
    }

    let config: RunConfig
    let options: TrainOptions
    let comm: any Communicator
    let stop: StopSignal
    let progress: Progress
    let dataset: ShardDataset
    let manifestHash: String
    let preprocessing: CheckpointPreprocessing
    let model: any ForecastModel
    let optimizer: any Optimizer
    let schedule: SchedulerSetup
    var earlyStopping: EarlyStopping?
    let sync: any GradientSync
    let geometry: EpochGeometry
    let trainReader: ShardReader
    let validator: DistributedValidator
    /// The state of the last checkpoint written (for the non-finite-loss message).
    var lastSaved: (file: String, epoch: Int, step: Int)?
    /// Rank 0: the checkpoint a resumed run started from (last.h5, or the latest full-state checkpoint).
    var resumedFrom: String?
    /// Rank 0: whether the run directory exists with this run's config.yaml (a new run creates it with its
    /// first record, so a run that fails before then leaves nothing in --run).
    var runDirectoryCreated = false

    init(trainer: Trainer, parts: Parts, sync: any GradientSync) {
        config = trainer.config
        options = trainer.options
        comm = trainer.comm
        stop = trainer.stop
        progress = trainer.progress
        dataset = parts.dataset
        manifestHash = parts.manifestHash
        preprocessing = parts.preprocessing
        model = parts.model
        optimizer = parts.optimizer
        schedule = parts.schedule
        earlyStopping = parts.earlyStopping
        self.sync = sync
        geometry = parts.geometry
        trainReader = parts.trainReader
        validator = parts.validator
    }

    var runDir: RunDirectory { RunDirectory(options.runDirectory) }
    var retention: CheckpointRetention {
        CheckpointRetention(directory: options.runDirectory, topK: config.train.topK, preprocessing: preprocessing)
    }
    var metrics: MetricsLog { MetricsLog(run: runDir) }

    /// This rank's sampler of the training split for `epoch`: the loop's batches and the epoch geometry both come
    /// from it (PyTorch's DistributedSampler: shuffled by seed + epoch, padded to a multiple of the ranks).
    static func trainSampler(_ dataset: ShardDataset, comm: any Communicator, train: TrainConfig, epoch: Int) -> DistributedSampler {
        var sampler = DistributedSampler(count: dataset.count(.train), numReplicas: comm.size, rank: comm.rank,
                                         shuffle: true, seed: train.seed, dropLast: false)
        sampler.setEpoch(epoch)
        return sampler
    }

    /// Collective: rank 0's checkpoint → every rank's model, optimizer, scheduler, early stopping, counters.
    func restore(_ loaded: CheckpointContents?) throws -> TrainingState {
        let rank = comm.rank
        var json = ""
        var keys = ""
        if rank == 0, let c = loaded {
            json = try c.state.json()
            keys = c.optimizerState.keys.sorted().map { "\($0)=\(c.optimizerState[$0]!.shape.map(String.init).joined(separator: "x"))" }
                .joined(separator: ",")
            c.applyParameters(to: model.store)
        }
        json = try comm.broadcast(json, root: 0)
        keys = try comm.broadcast(keys, root: 0)
        try sync.broadcastParameters()
        var opt: [String: Tensor] = [:]
        for item in keys.split(separator: ",") where !item.isEmpty {
            let parts = item.split(separator: "=")
            let name = String(parts[0])
            let shape = parts.count > 1 ? parts[1].split(separator: "x").compactMap { Int($0) } : []
            var values = rank == 0 ? Array(UnsafeBufferPointer(start: loaded!.optimizerState[name]!.pointer,
                                                                 count: loaded!.optimizerState[name]!.count))
                                   : [Float](repeating: 0, count: shape.reduce(1, *))
            try comm.broadcast(&values, root: 0)
            opt[name] = Tensor(shape: shape, scalars: values)
        }
        var state = try TrainingState.fromJSON(json)
        try AgreedFailure.agree(comm, context: "cannot restore the checkpoint") {
            try optimizer.importState(opt)
            if let s = schedule.scheduler {
                guard state.schedulerName == config.train.scheduler.name.rawValue else {
                    throw CheckpointError(file: resumedFrom ?? runDir.lastCheckpoint, "holds \(state.schedulerName) scheduler state")
                }
                try s.importState(state.scheduler)
            } else {
                optimizer.learningRate = state.learningRate
            }
            if earlyStopping != nil { try earlyStopping!.importState(state.earlyStopping) }
        }
        // max_epochs may grow on resume (schedulers permitting): a run that ended at max_epochs continues.
        if state.finished == "max_epochs" && state.epoch < config.train.maxEpochs { state.finished = "" }
        state.worldSize = comm.size
        lastSaved = (runDir.lastCheckpoint, state.epoch, state.globalStep)
        if rank == 0 {
            if let file = resumedFrom, file != runDir.lastCheckpoint {
                progress.line("resume: \(runDir.lastCheckpoint) is missing; \((file as NSString).lastPathComponent) holds "
                              + "the latest state (step \(state.globalStep))")
            }
            for note in retention.reconcile(with: state, resumedFrom: resumedFrom ?? runDir.lastCheckpoint) {
                progress.line("resume: \(note)")
            }
            try? metrics.truncate(afterStep: state.globalStep)
        }
        return state
    }

    /// Rank 0's start banner.
    func announce(_ state: TrainingState) {
        let t = config.train, g = geometry
        let count = model.store.count
        let global = comm.size * t.batchSize * t.accumulateGradBatches
        progress.line("train: model \(model.name) (\(count) parameters), data \(options.dataDirectory) "
                      + "(\(dataset.count(.train)) train / \(dataset.count(.val)) val windows)")
        progress.line("train: \(comm.size) rank(s) × batch \(t.batchSize)"
                      + (t.accumulateGradBatches > 1 ? " × \(t.accumulateGradBatches) accumulated" : "")
                      + " = \(global) windows per step, \(g.steps) steps per epoch, validation every \(g.valInterval) "
                      + "step(s), up to \(t.maxEpochs) epochs; run directory \(options.runDirectory)")
        if options.resume {
            progress.line("train: resuming from \(resumedFrom ?? runDir.lastCheckpoint) at epoch \(state.epoch + 1), "
                          + "batch \(state.position), step \(state.globalStep)")
        }
    }
}
