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
// optimizer state and all counters) are broadcast from rank 0. Setup returns one TrainingSession holding
// everything it prepared; the loop (TrainingLoop.swift) and the loop-less runs are the session's methods.

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
    /// What `setup` prepared (after `run`).
    private(set) var session: TrainingSession?

    public init(config: RunConfig, options: TrainOptions, comm: any Communicator, stop: StopSignal, progress: Progress) {
        self.config = config
        self.options = options
        self.comm = comm
        self.stop = stop
        self.progress = progress
    }

    /// The opened dataset (after `run`).
    public var dataset: ShardDataset? { session?.dataset }
    /// The trained model (after `run`).
    public var trainedModel: (any ForecastModel)? { session?.model }

    /// Trains (or resumes) to the end, an early stop or a signal. Collective.
    public func run() throws -> TrainingOutcome {
        let (session, start) = try setup()
        self.session = session
        var state = start
        if !state.finished.isEmpty {
            let why = ["early_stopping": "early stopping",
                       TrainingSession.finishedWithoutParameters: "the model has no parameters",
                       TrainingSession.finishedClosedForm: "the model was fitted in closed form"]
            progress.line("run already finished (\(why[state.finished] ?? "max_epochs reached")) "
                          + "at epoch \(state.epoch), step \(state.globalStep); nothing to do")
            return .completed(reason: "already finished", state: state)
        }
        if session.model.store.count == 0 { return try session.finishWithoutTraining(&state) }   // naive, digital_twin
        if let linear = session.model as? LinearARForecaster { return try session.fitClosedForm(linear, &state) }
        return try session.trainLoop(&state)
    }

    // MARK: Setup

    /// Collective setup: the session every rank trains with and the state to start from.
    func setup() throws -> (TrainingSession, TrainingState) {
        let t = config.train
        let rank = comm.rank
        let runDir = RunDirectory(options.runDirectory)
        CollectiveWatchdog.timeoutSeconds = t.collectiveTimeoutSeconds       // the same config on every rank
        CollectiveWatchdog.activity = "setting up training"
        // 1. Local, then agreed: dataset, model, optimizer, scheduler; rank 0 also the run directory.
        var prepared: TrainingSession.Parts?
        var resumedFrom: String?            // rank 0: last.h5, or the latest full-state checkpoint without it
        let loaded: CheckpointContents? = try AgreedFailure.agree(comm, context: "cannot start training") {
            let ds = try ShardDataset(directory: options.dataDirectory)
            let m = ds.manifest
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
            let model = try ModelRegistry.build(config.model, shape: DatasetShape(m), seed: t.seed)
            let optimizer = TrainerComponents.optimizer(t.optimizer, model.store)
            let geometry = EpochGeometry(sampler: TrainingSession.trainSampler(ds, comm: comm, train: t, epoch: 0), train: t)
            if case .steps(let n) = t.valCheckInterval, n > geometry.steps {
                throw ConfigError(source: configSource, key: "train.val_check_interval",
                                     "= \(n) steps exceeds the \(geometry.steps) optimizer steps of an epoch "
                                     + "(\(comm.size) rank(s) × batch \(t.batchSize))")
            }
            prepared = TrainingSession.Parts(
                dataset: ds, manifestHash: try Self.manifestHash(options.dataDirectory),
                preprocessing: CheckpointPreprocessing(manifest: m), model: model, optimizer: optimizer,
                schedule: try TrainerComponents.scheduler(t, optimizer, stepsPerEpoch: geometry.steps, source: configSource),
                earlyStopping: t.earlyStopping.patience.map { EarlyStopping(patience: $0, minDelta: t.earlyStopping.minDelta) },
                geometry: geometry, trainReader: ShardReader(dataset: ds, split: .train, rank: rank),
                validator: DistributedValidator(reader: ShardReader(dataset: ds, split: .val, rank: rank), comm: comm,
                                                batchSize: t.batchSize, prefetchDepth: t.prefetchDepth))
            if options.writePIDs { try runDir.writePID(rank: rank) }
            guard rank == 0 else { return nil }
            if config.data == nil {
                FileHandle.standardError.write(Data(("warning: the config has no data: section, so the trainer cannot check "
                    + "that \(options.dataDirectory) was prepared with the intended recipe\n").utf8))
            }
            if options.resume {
                let file = try runDir.resumeCheckpoint(dataDirectory: options.dataDirectory)
                resumedFrom = file
                return try loadCheckpoint(file, prepared!)
            }
            try runDir.checkFresh(dataDirectory: options.dataDirectory)
            return nil
        }
        // Every rank built its parts: a rank that failed made every rank throw above.
        guard let parts = prepared else { preconditionFailure("setup agreed without building the session") }
        // 2. Replicas: same layout everywhere, rank 0's values.
        let sync = try AgreedFailure.agree(comm, context: "cannot set up gradient synchronization") {
            try makeGradientSync(comm: comm, store: parts.model.store, bucketCapBytes: t.bucketCapMB << 20)
        }
        // GradientSync's checks throw identically on every rank (see the protocol); MPI failures are not agreed.
        do { try sync.verifyLayout() } catch let e as MPIError { throw e } catch { throw AgreedFailure("\(error)") }
        let session = TrainingSession(trainer: self, parts: parts, sync: sync)
        session.resumedFrom = resumedFrom
        session.runDirectoryCreated = options.resume     // a new run creates it with its first record
        var state = TrainingState()
        state.worldSize = comm.size
        state.learningRate = parts.optimizer.learningRate
        if options.resume {
            state = try session.restore(loaded)
        } else {
            try sync.broadcastParameters()
            state.schedulerName = t.scheduler.name.rawValue
            if let s = parts.schedule.scheduler { state.scheduler = s.exportState() }
            if let es = parts.earlyStopping { state.earlyStopping = es.exportState() }
        }
        session.announce(state)
        return (session, state)
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
    func loadCheckpoint(_ file: String, _ parts: TrainingSession.Parts) throws -> CheckpointContents {
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
        try c.validate(modelName: parts.model.name, store: parts.model.store, file: file)
        let manifestHash = parts.manifestHash
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
}
