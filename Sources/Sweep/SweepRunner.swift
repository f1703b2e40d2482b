// `cgmtrain sweep run`: the trials of a sweep inside one MPI job.
//
//   1. Rank 0 reads the sweep file and its base config and broadcasts both texts; every rank samples the same
//      trial list from the seed (SweepPlan); an all-gather of the list's hash checks that they agree.
//   2. Rank 0 creates or checks OUT/plan.json and reads every trial's status.json: finished and pruned
//      trials are skipped, failed ones too (unless --retry-failed), running/interrupted ones are resumed
//      from their last.h5 (or restarted when none was written), the rest are new. Invalid configurations
//      are recorded as failed without training. The to-do list is broadcast.
//   3. The world communicator is split into np/K groups of K consecutive ranks (MPI_Comm_split); group g
//      trains to-do entries g, g + G, g + 2G, … one after the other with the ordinary Trainer on its
//      sub-communicator, so G trials train concurrently. (A static round-robin: no dispatcher rank, no
//      point-to-point messages; groups may finish at different times.)
//   4. A trial whose training fails with an agreed error (every rank of its group throws the same
//      AgreedFailure: bad data, a config value the trainer refuses, a non-finite loss, …) is recorded as
//      failed with the error, and the group moves on. Those errors only involve the group's own
//      communicator, so the other groups never notice.
//   5. All groups meet at a world barrier; rank 0 writes the report.
//
// Limits (MPI semantics): a rank that crashes, or an error that is not agreed (an MPI failure, a trap),
// takes the whole job down — mpirun/srun kill every rank. Rerunning the same command resumes: finished
// trials are untouched, the interrupted ones continue from last.h5. A stop signal (SIGTERM/SIGINT/SIGUSR1)
// stops each group's current trial after its step with last.h5 written; no new trial starts.
// Also: trials are assigned round-robin, not dynamically, so a group that finishes early waits at the final
// collective (Open MPI busy-polls there unless oversubscribed or OMPI_MCA_mpi_yield_when_idle=1); resume
// with the same --group-size (a trial stopped mid-epoch resumes only on as many ranks as wrote it); OUT
// must be on a filesystem every rank sees; one job per sweep directory at a time (or one array task per trial).

import CGMData
import CGMSchema
import Config
import DataParallel
import Distributed
import Foundation
import Training

/// Options of `sweep run` / `sweep run-trial`.
public struct SweepRunOptions {
    /// Sweep directory (trial run directories, plan, statuses, report).
    public var outDirectory: String
    /// Prepared dataset; nil: the sweep file's `data:`.
    public var dataDirectory: String?
    /// Ranks per trial (K); nil: all ranks train one trial at a time.
    public var groupSize: Int?
    /// Run failed trials again.
    public var retryFailed = false
    /// Run only this trial (`sweep run-trial`, e.g. one SLURM array task).
    public var onlyTrial: Int?
    /// Test hook: seconds slept after every optimizer step.
    public var stepDelaySeconds = 0.0
    /// The command to rerun (printed when the sweep is stopped).
    public var rerunCommand = "cgmtrain sweep run ..."

    public init(outDirectory: String) { self.outDirectory = outDirectory }
}

/// What a `sweep run` did.
public struct SweepRunSummary {
    /// Trials by state after the run (over the whole plan).
    public var counts: [SweepTrialState: Int]
    /// Trials not started yet (no status).
    public var pending: Int
    /// A stop signal ended the run early.
    public var interrupted: Bool
}

extension SweepPlan {
    /// Collective: rank 0 reads the sweep file and base config, broadcasts them; every rank resolves the plan.
    public static func load(sweepFile: String, comm: any Communicator) throws -> SweepPlan {
        var sweepText = "", baseText = "", problem = ""
        if comm.rank == 0 {
            do {
                let c = try SweepConfig.load(path: sweepFile)
                sweepText = try String(contentsOfFile: sweepFile, encoding: .utf8)
                guard let t = try? String(contentsOfFile: c.base, encoding: .utf8) else {
                    throw ConfigError(source: sweepFile, key: "base", "cannot read the base config \(c.base)")
                }
                baseText = t
            } catch {
                problem = "\(error)"
            }
        }
        problem = try comm.broadcast(problem, root: 0)
        if !problem.isEmpty { throw AgreedFailure(problem) }
        sweepText = try comm.broadcast(sweepText, root: 0)
        baseText = try comm.broadcast(baseText, root: 0)
        let plan = try AgreedFailure.agree(comm, context: "invalid sweep") {
            try SweepPlan(config: try SweepConfig.parse(yaml: sweepText, source: sweepFile), baseText: baseText)
        }
        // Every rank sampled the same list (it would differ only with different cgmtrain builds on the nodes).
        var h = FNV1a64()
        for t in plan.trials { h.add(t.overrides.map(\.argument).joined(separator: " ") + "\n") }
        let hashes = try comm.allGather([Int64(bitPattern: h.value)])
        if let r = hashes.firstIndex(where: { $0 != hashes[0] }) {
            throw AgreedFailure("rank \(r) sampled a different trial list than rank 0 (different cgmtrain builds on the nodes?)")
        }
        return plan
    }
}

/// Runs a sweep's trials (see the file comment).
public final class SweepRunner {
    public let plan: SweepPlan
    public let options: SweepRunOptions
    public let world: any Communicator
    public let stop: StopSignal
    let dir: SweepDirectory
    let dataDirectory: String
    /// Rank 0's sweep-level lines.
    public var log: (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }

    public init(plan: SweepPlan, options: SweepRunOptions, world: any Communicator, stop: StopSignal) throws {
        self.plan = plan
        self.options = options
        self.world = world
        self.stop = stop
        dir = SweepDirectory(options.outDirectory)
        guard let data = options.dataDirectory ?? plan.config.data else {
            throw AgreedFailure("\(plan.config.source): no prepared dataset: pass --data DIR or set data: in the sweep file")
        }
        dataDirectory = data
    }

    /// Runs every pending trial (collective over `world`).
    public func run() throws -> SweepRunSummary {
        let K = options.groupSize ?? world.size
        guard K >= 1, world.size % K == 0 else {
            throw AgreedFailure("--group-size \(K) must divide the number of ranks (\(world.size))")
        }
        if let only = options.onlyTrial, !(0..<plan.trials.count).contains(only) {
            throw AgreedFailure("--trial \(only) is out of range: the sweep has trials 0…\(plan.trials.count - 1)")
        }
        // 2. Rank 0: plan file, statuses, to-do list.
        let todoText: String = try AgreedFailure.agree(world, context: "cannot start the sweep in \(dir.path)") {
            guard world.rank == 0 else { return "" }
            return try pendingTrials().map(String.init).joined(separator: ",")
        }
        let todo = try world.broadcast(todoText, root: 0).split(separator: ",").compactMap { Int($0) }
        // 3. Groups.
        let G = world.size / K, color = world.rank / K
        if world.rank == 0 {
            log("sweep \(plan.config.name): \(plan.trials.count) trials, \(todo.count) to run"
                + (G > 1 ? " on \(G) groups of \(K) rank(s) concurrently" : " on \(K) rank(s)")
                + "; data \(dataDirectory); out \(dir.path)")
        }
        var interrupted = false
        do {
            let group = try world.split(color: color, key: world.rank)
            for (j, t) in todo.enumerated() where j % G == color {
                if try group.allReduce(Int32(stop.requested != nil ? 1 : 0), op: .max) != 0 { interrupted = true; break }
                if try runTrial(t, group: group, groupIndex: color) == .interrupted { interrupted = true; break }
            }
            try group.shutdown()
        } catch {
            // Agreed at most within one group: the other groups cannot be told, so the job must end.
            throw SweepAbort(rank: world.rank, message: "\(error)")
        }
        // 5. Everyone done. Groups finish at different times (hours apart in a long sweep): no watchdog deadline here.
        let anyInterrupted = try CollectiveWatchdog.withoutDeadline {
            try world.allReduce(Int32(interrupted ? 1 : 0), op: .max) != 0
        }
        var summary = SweepRunSummary(counts: [:], pending: 0, interrupted: anyInterrupted)
        if world.rank == 0 {
            for t in plan.trials {
                if let s = try? dir.readStatus(t.index) { summary.counts[s.state, default: 0] += 1 } else { summary.pending += 1 }
            }
            if anyInterrupted {
                log("sweep stopped by a signal; every interrupted trial wrote last.h5. Continue with: \(options.rerunCommand)")
            }
        }
        return summary
    }

    /// Rank 0: checks/writes plan.json, records invalid trials as failed, returns the trials to run.
    func pendingTrials() throws -> [Int] {
        try dir.preparePlan(plan)
        var todo: [Int] = []
        for t in options.onlyTrial.map({ [plan.trials[$0]] }) ?? plan.trials {
            let status = try dir.readStatus(t.index)
            if case .failure(let e) = plan.configs[t.index] {
                if status?.state != .failed {
                    var s = SweepTrialStatus(trial: t.index, state: .failed, overrides: t.overrides)
                    s.error = "\(e)"
                    s.endedAt = Date().timeIntervalSince1970
                    try dir.writeStatus(s)
                }
                log("\(t.name): invalid configuration, recorded as failed: \(e)")
                continue
            }
            switch status?.state {
            case nil: todo.append(t.index)
            case .running?, .interrupted?:
                todo.append(t.index)
                log("\(t.name): was \(status!.state.rawValue); "
                    + (FileManager.default.fileExists(atPath: RunDirectory(dir.trialDirectory(t.index)).lastCheckpoint)
                       ? "resuming from its last.h5" : "no last.h5 was written, starting it again"))
            case .failed?:
                if options.retryFailed { todo.append(t.index); log("\(t.name): failed before, retrying (--retry-failed)") }
                else { log("\(t.name): failed before, skipped (pass --retry-failed to run it again): \(status!.error ?? "")") }
            case .finished?, .pruned?:
                log("\(t.name): \(status!.state.rawValue), skipped")
            }
        }
        return todo
    }

    // MARK: One trial

    /// Trains trial `t` on `group` (collective over the group); returns how it ended.
    func runTrial(_ t: Int, group: any Communicator, groupIndex: Int) throws -> SweepTrialState {
        let trial = plan.trials[t]
        let config = try plan.runConfig(t)
        let runDir = RunDirectory(dir.trialDirectory(t))
        let root = group.rank == 0
        let identities = try group.allGatherText("\(world.rank)|\(ProcessInfo.processInfo.hostName)|\(getpid())")
            .map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }

        // Rank 0 of the group: resume or start fresh; status "running".
        var status = SweepTrialStatus(trial: t, state: .running, overrides: trial.overrides)
        let mode: String = try AgreedFailure.agree(group, context: "\(trial.name)") {
            guard root else { return "" }
            status = try dir.readStatus(t) ?? status
            let resume = FileManager.default.fileExists(atPath: runDir.lastCheckpoint)
            if !resume { try dir.clearRunFiles(t) }
            status.state = .running
            status.overrides = trial.overrides
            status.attempts += 1
            status.group = groupIndex
            status.ranks = identities.map { Int($0[0]) ?? -1 }
            status.hosts = identities.map { $0[1] }
            status.pids = identities.map { Int32($0[2]) ?? -1 }
            status.startedAt = Date().timeIntervalSince1970
            status.endedAt = nil
            status.error = nil
            status.reason = nil
            status.resumedFromStep = resume ? (try? Checkpoint.read(runDir.lastCheckpoint).state.globalStep) : nil
            try dir.writeStatus(status)
            return resume ? "resume" : "fresh"
        }
        let resume = try group.broadcast(mode, root: 0) == "resume"
        if root {
            log("\(trial.name) \(resume ? "resuming" : "starting") on group \(groupIndex) (rank\(status.ranks.count > 1 ? "s" : "") "
                + "\(status.ranks.map(String.init).joined(separator: ","))): \(trial.overrides.map(\.argument).joined(separator: " "))")
        }

        // Training, with the stop/pruning monitor beside it.
        var topts = TrainOptions(dataDirectory: dataDirectory, runDirectory: runDir.path)
        topts.resume = resume
        topts.stepDelaySeconds = options.stepDelaySeconds
        topts.resumeCommand = options.rerunCommand
        let pruneCheck: (() -> String?)? = root && plan.config.pruning != nil ? pruningCheck(t) : nil
        let monitor = SweepTrialMonitor(processStop: stop, label: "\(trial.name) rank \(world.rank)", check: pruneCheck)
        let progress = Progress(enabled: root, every: config.train.logEverySeconds, isTerminal: false)
        let logFile = runDir.file("train.log")
        progress.sink = { [log] text in
            let line = text.hasSuffix("\n") ? String(text.dropLast()) : text
            log("[\(trial.name)] \(line)")
            if let h = FileHandle(forWritingAtPath: logFile) ?? {
                _ = FileManager.default.createFile(atPath: logFile, contents: nil)
                return FileHandle(forWritingAtPath: logFile)
            }() {
                _ = try? h.seekToEnd()
                try? h.write(contentsOf: Data((line + "\n").utf8))
                try? h.close()
            }
        }
        let trainer = Trainer(config: config, options: topts, comm: group, stop: monitor.trialStop, progress: progress)
        trainer.configSource = "\(plan.config.source) (\(trial.name))"
        var outcome: TrainingOutcome?
        var failure: String?
        monitor.start()
        do {
            outcome = try trainer.run()
        } catch let e as AgreedFailure {
            failure = e.description
        } catch {
            monitor.finish()
            throw error                 // not agreed: the group's ranks may disagree on where they are
        }
        monitor.finish()

        // How it ended, as group rank 0 saw it (the pruning note lives there).
        var verdict = ""
        if root {
            switch outcome {
            case nil: verdict = "failed"
            case .completed?: verdict = "finished"
            case .stopped?: verdict = monitor.pruneReason != nil && stop.requested == nil ? "pruned" : "interrupted"
            }
        }
        let state = SweepTrialState(rawValue: try group.broadcast(verdict, root: 0)) ?? .failed

        try AgreedFailure.agree(group, context: "\(trial.name): cannot record the result") {
            guard root else { return }
            status.state = state
            status.endedAt = Date().timeIntervalSince1970
            status.error = failure
            let losses = dir.validationLosses(t).filter(\.isFinite)
            status.bestValLoss = losses.min()
            if let model = trainer.trainedModel { status.params = model.store.count }
            switch outcome {
            case .completed(let reason, let s)?:
                status.reason = reason
                record(s, into: &status)
            case .stopped(let signal, let s)?:
                status.reason = state == .pruned ? monitor.pruneReason : "stopped by \(signal)"
                record(s, into: &status)
            case nil: break
            }
            if state == .finished || state == .pruned { evaluate(trainer, runDir, into: &status) }
            try dir.writeStatus(status)
            let m = [("val_loss", status.bestValLoss), ("val_ql", status.valQL), ("val_mae", status.valMAE), ("val_rmse", status.valRMSE)]
                .compactMap { name, v in v.map { "\(name) \(Progress.fmt($0))" } }
            log("\(trial.name) \(state.rawValue)" + (m.isEmpty ? "" : ": " + m.joined(separator: ", "))
                + (status.reason.map { " (\($0))" } ?? "") + (failure.map { ": \($0)" } ?? ""))
        }
        return state
    }

    /// Counters of the trainer's final state.
    private func record(_ s: TrainingState, into status: inout SweepTrialStatus) {
        status.epochs = s.epoch
        status.steps = s.globalStep
        if s.bestValLoss.isFinite { status.bestValLoss = s.bestValLoss }
        status.wallSeconds = s.elapsedSeconds
    }

    /// Rank 0 of the group: MAE/RMSE/QL of best.h5 on the validation split (a failure is noted, not fatal).
    private func evaluate(_ trainer: Trainer, _ runDir: RunDirectory, into status: inout SweepTrialStatus) {
        let best = runDir.file(CheckpointRetention.best)
        guard let dataset = trainer.dataset, FileManager.default.fileExists(atPath: best) else { return }
        do {
            let restored = try CheckpointModel(checkpoint: best, shape: DatasetShape(dataset.manifest))
            let m = try SweepValidationMetrics.compute(model: restored.model, dataset: dataset,
                                                       batchSize: max(64, restored.config.train.batchSize))
            status.valMAE = m.mae
            status.valRMSE = m.rmse
            status.valQL = m.quantileLoss
        } catch {
            status.error = "validation metrics of \(best): \(error)"
        }
    }

    /// The median stopping rule for trial `t`, re-evaluated when the trial logs a new validation check.
    private func pruningCheck(_ t: Int) -> () -> String? {
        let rule = plan.config.pruning!, dir = self.dir, others = plan.trials.map(\.index).filter { $0 != t }
        var seenChecks = 0
        return {
            let own = dir.validationLosses(t)
            guard own.count > seenChecks else { return nil }
            seenChecks = own.count
            let completed = others.filter { (try? dir.readStatus($0))??.state == .finished }.map { dir.validationLosses($0) }
            return rule.shouldStop(own: own, completed: completed)
        }
    }
}

/// An error inside a group's trial loop that is not agreed across the whole job (see the file comment):
/// the command prints it and aborts the MPI job; rerunning resumes the sweep.
public struct SweepAbort: Error, CustomStringConvertible {
    public let rank: Int
    public let message: String
    public var description: String { "rank \(rank): \(message)" }
}
