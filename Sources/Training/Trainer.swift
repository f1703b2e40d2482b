// Trainer: data-parallel training of a ForecastModel over a prepared (sharded) dataset.
//
// Every rank holds a replica of the model, reads its own share of each epoch's shuffled windows
// (DistributedSampler, PyTorch semantics: the union over ranks of step s is step s of one rank with the
// global batch) and computes gradients; GradientSync averages them; every rank applies the same optimizer
// update, so the replicas stay bit-identical. Rank 0 owns the run directory: config, metrics, checkpoints.
//
// Setup (this file) is collective and agreed: each rank opens the dataset, builds the model, optimizer
// and scheduler; rank 0 prepares the run directory or reads and checks the checkpoint to resume from;
// if any rank failed, every rank throws the same AgreedFailure. Then the parameters (and, on resume, the
// optimizer state and all counters) are broadcast from rank 0. The loop is in TrainingLoop.swift.

import CGMData
import CGMSchema
import CGMTensor
import Config
import DataParallel
import Distributed
import Foundation
import Layers
import Models
import Optim

/// Command-line level options of a run (everything that is not in the config).
public struct TrainOptions {
    /// Prepared dataset directory (manifest.json + shards), visible to every rank.
    public var dataDirectory: String
    /// Run directory (rank 0 writes it).
    public var runDirectory: String
    /// Continue the run from RUN/last.h5.
    public var resume = false
    /// Resume even if the dataset's manifest differs from the one the checkpoint was trained on.
    public var allowDataChange = false
    /// Write RUN/pids/rank-R.pid (tests use it to kill one rank).
    public var writePIDs = false
    /// The command that resumes this run, printed when a signal stops it.
    public var resumeCommand = "cgmtrain train ... --resume"
    /// Test hook: seconds slept after every optimizer step (slows tiny runs down so tests can signal them).
    public var stepDelaySeconds = 0.0
    /// Test hook: behave as if a stop signal arrived during optimizer step N (1-based; identical on every rank).
    public var stopAtStep: Int?

    public init(dataDirectory: String, runDirectory: String) {
        self.dataDirectory = dataDirectory
        self.runDirectory = runDirectory
    }
}

/// How a run ended (errors are thrown instead).
public enum TrainingOutcome: Equatable {
    /// Ran to the end: `reason` is "max_epochs", "early_stopping", "no_parameters" (nothing to train) or
    /// "already finished" (on resume).
    case completed(reason: String, state: TrainingState)
    /// Stopped by a signal after `state.globalStep`; last.h5 holds the state.
    case stopped(signal: String, state: TrainingState)

    public static func == (a: TrainingOutcome, b: TrainingOutcome) -> Bool {
        switch (a, b) {
        case let (.completed(r1, s1), .completed(r2, s2)): return r1 == r2 && (try? s1.json()) == (try? s2.json())
        case let (.stopped(g1, s1), .stopped(g2, s2)): return g1 == g2 && (try? s1.json()) == (try? s2.json())
        default: return false
        }
    }
}

/// One training run (see the file comment).
public final class Trainer {
    public let config: RunConfig
    public let options: TrainOptions
    public let comm: any Communicator
    public let stop: StopSignal
    public let progress: Progress
    /// Source named in config errors raised during setup.
    public var configSource = "config"

    // Built by `setup`.
    /// The opened dataset (after `run`).
    public internal(set) var dataset: ShardDataset!
    var manifestHash = ""
    var model: (any ForecastModel)!
    var optimizer: (any Optimizer)!
    var schedule: SchedulerSetup!
    var earlyStopping: EarlyStopping?
    var sync: (any GradientSync)!
    var geometry: EpochGeometry!
    var trainReader: ShardReader!
    var validator: DistributedValidator!
    var runDir: RunDirectory { RunDirectory(options.runDirectory) }
    /// The dataset's preprocessing, recorded in every checkpoint (for `cgmtrain forecast`).
    var preprocessing: CheckpointPreprocessing?
    var retention: CheckpointRetention {
        CheckpointRetention(directory: options.runDirectory, topK: config.train.topK, preprocessing: preprocessing)
    }
    var metrics: MetricsLog { MetricsLog(run: runDir) }
    /// The state of the last checkpoint written (for the non-finite-loss message).
    var lastSaved: (file: String, epoch: Int, step: Int)?
    /// Rank 0: the checkpoint a resumed run started from (last.h5, or the latest full-state checkpoint).
    var resumedFrom: String?
    /// Rank 0: whether the run directory exists with this run's config.yaml (a new run creates it with its
    /// first record, so a run that fails before then leaves nothing in --run).
    var runDirectoryCreated = false

    public init(config: RunConfig, options: TrainOptions, comm: any Communicator, stop: StopSignal, progress: Progress) {
        self.config = config
        self.options = options
        self.comm = comm
        self.stop = stop
        self.progress = progress
    }

    /// The trained model (after `run`).
    public var trainedModel: (any ForecastModel)? { model }

    /// Trains (or resumes) to the end, an early stop or a signal. Collective.
    public func run() throws -> TrainingOutcome {
        var state = try setup()
        if !state.finished.isEmpty {
            let why = ["early_stopping": "early stopping", Self.finishedWithoutParameters: "the model has no parameters",
                       Self.finishedClosedForm: "the model was fitted in closed form"]
            progress.line("run already finished (\(why[state.finished] ?? "max_epochs reached")) "
                          + "at epoch \(state.epoch), step \(state.globalStep); nothing to do")
            return .completed(reason: "already finished", state: state)
        }
        if model.store.count == 0 { return try finishWithoutTraining(&state) }   // naive, digital_twin
        if let linear = model as? LinearARForecaster { return try fitClosedForm(linear, &state) }
        return try trainLoop(&state)
    }

    // MARK: Setup

    /// Collective setup; returns the state to start from.
    func setup() throws -> TrainingState {
        let t = config.train
        let rank = comm.rank
        CollectiveWatchdog.timeoutSeconds = t.collectiveTimeoutSeconds       // the same config on every rank
        CollectiveWatchdog.activity = "setting up training"
        // 1. Local, then agreed: dataset, model, optimizer, scheduler; rank 0 also the run directory.
        let loaded: CheckpointContents? = try AgreedFailure.agree(comm, context: "cannot start training") {
            let ds = try ShardDataset(directory: options.dataDirectory)
            dataset = ds
            manifestHash = try Self.manifestHash(options.dataDirectory)
            let m = ds.manifest
            preprocessing = CheckpointPreprocessing(manifest: m)
            if let data = config.data, data.hash != m.configHash {
                throw AgreedFailure("the config's data: section (hash \(data.hash)) does not match the recipe the dataset "
                                    + "\(options.dataDirectory) was prepared with (config_hash \(m.configHash) in its "
                                    + "manifest.json): re-run prepare with this config, or fix the data: section")
            }
            guard ds.count(.train) > 0 else { throw AgreedFailure("the dataset \(options.dataDirectory) has no training windows") }
            guard ds.count(.val) > 0 else {
                throw AgreedFailure("the dataset \(options.dataDirectory) has no validation windows; validation (early "
                                    + "stopping, best checkpoints) needs a val split")
            }
            model = try ModelRegistry.build(config.model, shape: DatasetShape(m), seed: t.seed)
            optimizer = TrainerComponents.optimizer(t.optimizer, model.store)
            geometry = EpochGeometry(count: ds.count(.train), ranks: comm.size, train: t)
            if case .steps(let n) = t.valCheckInterval, n > geometry.steps {
                throw ConfigError(source: configSource, key: "train.val_check_interval",
                                     "= \(n) steps exceeds the \(geometry.steps) optimizer steps of an epoch "
                                     + "(\(comm.size) rank(s) × batch \(t.batchSize))")
            }
            schedule = try TrainerComponents.scheduler(t, optimizer, stepsPerEpoch: geometry.steps, source: configSource)
            earlyStopping = t.earlyStopping.patience.map { EarlyStopping(patience: $0, minDelta: t.earlyStopping.minDelta) }
            trainReader = ShardReader(dataset: ds, split: .train, rank: rank)
            validator = DistributedValidator(reader: ShardReader(dataset: ds, split: .val, rank: rank), comm: comm,
                                  batchSize: t.batchSize, prefetchDepth: t.prefetchDepth)
            if options.writePIDs { try runDir.writePID(rank: rank) }
            guard rank == 0 else { return nil }
            if config.data == nil {
                FileHandle.standardError.write(Data(("warning: the config has no data: section, so the trainer cannot check "
                    + "that \(options.dataDirectory) was prepared with the intended recipe\n").utf8))
            }
            if options.resume {
                let file = try runDir.resumeCheckpoint(dataDirectory: options.dataDirectory)
                resumedFrom = file
                runDirectoryCreated = true
                return try loadCheckpoint(file)
            }
            try runDir.checkFresh(dataDirectory: options.dataDirectory)
            return nil
        }
        // 2. Replicas: same layout everywhere, rank 0's values.
        sync = try AgreedFailure.agree(comm, context: "cannot set up gradient synchronization") {
            try makeGradientSync(comm: comm, store: model.store, bucketCapBytes: t.bucketCapMB << 20)
        }
        // GradientSync's checks throw identically on every rank (see the protocol); MPI failures are not agreed.
        do { try sync.verifyLayout() } catch let e as MPIError { throw e } catch { throw AgreedFailure("\(error)") }
        var state = TrainingState()
        state.worldSize = comm.size
        state.learningRate = optimizer.learningRate
        if options.resume {
            state = try restore(loaded)
        } else {
            try sync.broadcastParameters()
            state.schedulerName = t.scheduler.name.rawValue
            if let s = schedule.scheduler { state.scheduler = s.exportState() }
            if let es = earlyStopping { state.earlyStopping = es.exportState() }
        }
        announce(state)
        return state
    }

    /// FNV-1a 64 of DIR/manifest.json.
    static func manifestHash(_ dir: String) throws -> String {
        let path = (dir as NSString).appendingPathComponent(Manifest.fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AgreedFailure("cannot read \(path)")
        }
        var h = FNV1a64()
        data.withUnsafeBytes { h.add($0) }
        return h.hex
    }

    /// Rank 0: reads and checks the checkpoint against this run's model, config and data.
    func loadCheckpoint(_ file: String) throws -> CheckpointContents {
        let c = try Checkpoint.read(file)
        let saved: RunConfig
        do {
            saved = try RunConfig.parseStored(yaml: c.configYAML, source: "\(file) (config_yaml)")
        } catch {
            throw CheckpointError(file: file, "its stored configuration no longer parses: \(error)")
        }
        let differences = config.resumeDifferences(from: saved)
        guard differences.isEmpty else {
            throw CheckpointError(file: file, "was written with a different configuration; refusing to resume: "
                                  + differences.joined(separator: "; "))
        }
        try c.validate(modelName: model.name, store: model.store, file: file)
        if c.manifestHash != manifestHash && !options.allowDataChange {
            throw CheckpointError(file: file, "was trained on a different dataset (manifest hash \(c.manifestHash), "
                                  + "\(options.dataDirectory)/manifest.json now hashes to \(manifestHash)); pass "
                                  + "--allow-data-change to resume anyway")
        }
        if c.state.worldSize != comm.size {
            guard c.state.position == 0 else {
                throw CheckpointError(file: file, "was written in the middle of an epoch by \(c.state.worldSize) rank(s); "
                                      + "resume it with \(c.state.worldSize) rank(s) (positions within an epoch are per rank)")
            }
            FileHandle.standardError.write(Data(("warning: \(file) was written by \(c.state.worldSize) rank(s), resuming with "
                + "\(comm.size): the data order of later epochs differs from an uninterrupted run\n").utf8))
        }
        return c
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
        let t = config.train, g = geometry!
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
