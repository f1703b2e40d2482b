// The epoch loop: `trainStep` is steps 1–5 below, `validateAndCheckpoint` steps 6–8. One optimizer step, on every rank:
//
//   1. zero gradients; for each of the step's micro-batches (accumulate_grad_batches, fewer at the end of
//      an epoch): read the batch (prefetched), forward with dropout keyed by RandomContext(seed, step,
//      global sample indices), backward (gradients accumulate)
//   2. GradientSync.allReduceGradients(divisor: micro-batches × ranks)     → the global mean gradient
//   3. all-gather per rank (loss sum, windows, stop requested, loss non-finite, gradient non-finite, read
//      error); every rank adds them up in rank order, so the values — and every decision taken from
//      them — are identical on all ranks
//   4. a read error or a non-finite loss/gradient stops the run on every rank with an error naming the
//      step (no update is applied; the last checkpoint written stays the last good one)
//   5. clip the global gradient norm (if set), optimizer step, per-step scheduler step
//   6. validation when due (every valInterval steps and at the epoch end): exact all-reduced loss →
//      early stopping, top-k / best checkpoints
//   7. epoch end: per-epoch scheduler step (ReduceLROnPlateau with the epoch's validation loss, StepLR),
//      epoch-NNN.h5
//   8. last.h5 (the full state) after every validation check, epoch end and stop, and when
//      train.checkpoint_interval_minutes have passed on rank 0's clock (its flag is one of the facts of 3, so
//      every rank decides alike): a kill loses at most one validation interval (or N minutes). It is written
//      first, the step's other names are links to it. Then stop (early stopping, or a signal seen in 3 —
//      "finish the step") and return
//
// Metrics are appended before the checkpoint of the same step is written, so after a crash the metrics
// file never lacks records up to the resume point (later records are dropped on resume).

import CGMData
import CGMSchema
import CGMTensor
import DataParallel
import Distributed
import Foundation
import Layers
import Optim

/// The loop's clocks: the session's start (elapsed time, ETA), the starts of the current validation
/// interval and epoch (their sample rates) and the last time last.h5 was written (checkpoint_interval_minutes).
struct LoopClock {
    let sessionStart = Date()
    let elapsedAtStart: Double
    let stepsAtStart: Int
    var intervalStart: (time: Date, samples: Int)
    var epochStart: (time: Date, samples: Int)
    var lastCheckpoint = Date()

    init(_ state: TrainingState) {
        elapsedAtStart = state.elapsedSeconds
        stepsAtStart = state.globalStep
        intervalStart = (Date(), state.samplesSeen)
        epochStart = (Date(), state.samplesSeen)
    }
}

/// What every rank agreed on after one optimizer step (steps 1–5).
struct StepResult {
    /// 0-based optimizer step within the epoch.
    let stepInEpoch: Int
    /// Σ loss × windows and windows over all ranks.
    let lossSum: Double, windows: Double
    /// Ranks that saw a stop signal (or the stop-at-step test hook) during the step.
    let stopRanks: [Int]
    /// The step consumed the epoch's last batch.
    let epochEnded: Bool
    /// train.checkpoint_interval_minutes have passed since last.h5 was written (rank 0's clock).
    let checkpointDue: Bool
}

extension TrainingSession {
    func trainLoop(_ state: inout TrainingState) throws -> TrainingOutcome {
        let t = config.train
        var clock = LoopClock(state)
        progress.resetTimer()
        while state.epoch < t.maxEpochs {
            let batches = Self.trainSampler(dataset, comm: comm, train: t, epoch: state.epoch).batches(batchSize: t.batchSize)
            let first = state.position
            let reader = trainReader
            let prefetcher = Prefetcher(count: batches.count - first, depth: t.prefetchDepth) { i in
                try reader.read(indices: batches[first + i])
            }
            defer { prefetcher.cancel() }
            var next = first
            while next < batches.count {
                let step = try trainStep(&state, prefetcher: prefetcher, next: &next, of: batches.count, clock: clock)
                if let outcome = try validateAndCheckpoint(&state, after: step, clock: &clock) { return outcome }
            }
        }
        progress.line("finished: \(t.maxEpochs) epoch(s), \(state.globalStep) steps; best val_loss "
                      + "\(Progress.fmt(state.bestValLoss)) at step \(state.bestStep) (\(runDir.file(CheckpointRetention.best)))")
        return .completed(reason: "max_epochs", state: state)
    }

    /// Steps 1–5 of the file comment: one optimizer step over the micro-batches from `next` on (advanced past
    /// them), agreed on every rank.
    func trainStep(_ state: inout TrainingState, prefetcher: Prefetcher<Batch>, next: inout Int, of batchCount: Int,
                   clock: LoopClock) throws -> StepResult {
        let t = config.train
        let R = comm.size
        let g = geometry
        let stepInEpoch = next / g.accumulate
        let micro = min(g.accumulate, batchCount - next)
        CollectiveWatchdog.activity = "training step \(state.globalStep + 1), epoch \(state.epoch + 1)"
        // 1. Local forward/backward over the step's micro-batches.
        model.store.zeroGradients()
        var lossSum = 0.0, windows = 0.0, lossBad = 0.0
        var readError = ""
        for _ in 0..<micro {
            do {
                guard let batch = try prefetcher.next() else { throw AgreedFailure("the batch reader stopped early") }
                let graph = Graph(training: true, random: RandomContext(seed: t.seed, step: UInt64(state.globalStep),
                                                                          sampleIndices: batch.indices))
                let loss = model.loss(batch, graph)
                let value = loss.value.scalar
                graph.backward(loss)
                if !value.isFinite { lossBad = 1 }
                lossSum += Double(value) * Double(batch.count)
                windows += Double(batch.count)
            } catch {
                readError = "training data: \(error)"
                break
            }
        }
        next += micro
        // 2. Global mean gradient.
        try sync.allReduceGradients(divisor: Float(micro * R))
        let gradBad: Double = Self.sumOfSquares(model.store).isFinite ? 0 : 1
        // 3. Agree on the step's facts.
        let stopHere = stop.requested != nil || options.stopAtStep == state.globalStep + 1
        let minutes = t.checkpointIntervalMinutes
        let timeDue = minutes > 0 && Date().timeIntervalSince(clock.lastCheckpoint) >= minutes * 60
        let facts = try comm.allGather([lossSum, windows, stopHere ? 1 : 0, lossBad, gradBad, readError.isEmpty ? 0 : 1,
                                        timeDue ? 1 : 0])
        let n = 7
        var sum = 0.0, count = 0.0
        var stopRanks: [Int] = [], lossRanks: [Int] = [], gradRanks: [Int] = [], readRanks: [Int] = []
        for r in 0..<R {
            sum += facts[n * r]
            count += facts[n * r + 1]
            if facts[n * r + 2] != 0 { stopRanks.append(r) }
            if facts[n * r + 3] != 0 { lossRanks.append(r) }
            if facts[n * r + 4] != 0 { gradRanks.append(r) }
            if facts[n * r + 5] != 0 { readRanks.append(r) }
        }
        let stepNumber = state.globalStep + 1
        let at = "step \(stepNumber) (epoch \(state.epoch + 1), batch \(next - micro + 1)–\(next) of \(batchCount))"
        // 4. Errors every rank sees.
        if !readRanks.isEmpty {
            throw try AgreedFailure.gather(comm, local: readError, context: "reading the batches of \(at) failed")
        }
        if !lossRanks.isEmpty || !gradRanks.isEmpty {
            let what = !lossRanks.isEmpty ? "non-finite training loss on rank(s) \(lossRanks.map(String.init).joined(separator: ", "))"
                                          : "non-finite gradient (NaN/Inf after averaging)"
            let kept = lastSaved.map { "the last good checkpoint, \($0.file) (epoch \($0.epoch), step \($0.step)), is kept" }
                ?? "no checkpoint was written yet"
            throw AgreedFailure("\(what) at \(at); stopped without applying the update: \(kept). Lower the learning "
                                + "rate or set train.gradient_clip")
        }
        // 5. Update.
        if t.gradientClip > 0 { clipGradientNorm(model.store, maxNorm: t.gradientClip) }
        optimizer.step()
        if schedule.perStep { schedule.scheduler!.step() }
        state.globalStep += 1
        state.position = next
        state.samplesSeen += Int(count)
        state.intervalLossSum += sum
        state.intervalLossCount += count
        state.epochLossSum += sum
        state.epochLossCount += count
        state.learningRate = optimizer.learningRate
        state.elapsedSeconds = clock.elapsedAtStart + Date().timeIntervalSince(clock.sessionStart)
        if t.checkReplicas > 0 && state.globalStep % t.checkReplicas == 0 {
            do { try sync.checkReplicas() } catch let e as MPIError { throw e } catch {
                throw AgreedFailure("\(error) at step \(state.globalStep)")      // thrown on every rank alike
            }
        }
        let sessionSteps = state.globalStep - clock.stepsAtStart
        let perStep = Date().timeIntervalSince(clock.sessionStart) / Double(max(1, sessionSteps))
        let remaining = (t.maxEpochs - state.epoch) * g.steps - (stepInEpoch + 1)
        progress.step(epoch: state.epoch + 1, maxEpochs: t.maxEpochs, stepInEpoch: stepInEpoch + 1,
                      stepsPerEpoch: g.steps, loss: count > 0 ? sum / count : .nan,
                      samplesPerSecond: Double(state.samplesSeen - clock.epochStart.samples)
                          / max(1e-9, Date().timeIntervalSince(clock.epochStart.time)),
                      etaSeconds: perStep * Double(remaining))
        if options.stepDelaySeconds > 0 { Thread.sleep(forTimeInterval: options.stepDelaySeconds) }
        return StepResult(stepInEpoch: stepInEpoch, lossSum: sum, windows: count, stopRanks: stopRanks,
                          epochEnded: next == batchCount, checkpointDue: facts[6] != 0)     // rank 0's clock
    }

    /// Steps 6–8 of the file comment after `step`: validation when due, the epoch end, checkpoints and metrics,
    /// and the stops. Returns the outcome when the run ends here.
    func validateAndCheckpoint(_ state: inout TrainingState, after step: StepResult,
                               clock: inout LoopClock) throws -> TrainingOutcome? {
        let t = config.train
        let g = geometry
        let stepInEpoch = step.stepInEpoch
        // 6. Validation.
        var names: [String] = []
        var topUpdate: CheckpointRetention.TopKUpdate?
        var records: [MetricsRecord] = []
        var valLoss = Double.nan
        let validated = g.validatesAfter(stepInEpoch: stepInEpoch)
        if validated {
            CollectiveWatchdog.activity = "validation after step \(state.globalStep), epoch \(state.epoch + 1)"
            let v = try validator.run(model)
            valLoss = v.loss
            state.lastValLoss = v.loss
            var improvedES: Bool?
            if earlyStopping != nil {
                improvedES = earlyStopping!.update(v.loss)
                state.earlyStopping = earlyStopping!.exportState()
            }
            let update = retention.update(state.topK, valLoss: v.loss, epoch: state.epoch + 1, step: state.globalStep)
            if let added = update.added { names.append(added); topUpdate = update; state.topK = update.entries }
            let isBest = v.loss.isFinite && v.loss < state.bestValLoss
            if isBest {
                state.bestValLoss = v.loss
                state.bestStep = state.globalStep
                names.append(CheckpointRetention.best)
            }
            let now = Date()
            records.append(MetricsRecord(
                kind: .val, epoch: state.epoch + 1, epochProgress: Double(state.epoch) + Double(stepInEpoch + 1) / Double(g.steps),
                step: state.globalStep, trainLoss: state.intervalLossSum / max(1, state.intervalLossCount),
                valLoss: v.loss, bestValLoss: state.bestValLoss, improved: improvedES ?? isBest,
                earlyStoppingWait: earlyStopping?.wait, learningRate: optimizer.learningRate,
                samplesPerSecond: Double(state.samplesSeen - clock.intervalStart.samples)
                    / max(1e-9, now.timeIntervalSince(clock.intervalStart.time)),
                elapsedSeconds: state.elapsedSeconds))
            progress.line("val  epoch \(state.epoch + 1) step \(state.globalStep): val_loss \(Progress.fmt(v.loss))"
                          + (isBest ? " (best)" : " (best \(Progress.fmt(state.bestValLoss)))")
                          + " train_loss \(Progress.fmt(state.intervalLossSum / max(1, state.intervalLossCount)))"
                          + (earlyStopping.map { " patience \($0.wait)/\($0.patience)" } ?? ""))
            state.intervalLossSum = 0
            state.intervalLossCount = 0
            clock.intervalStart = (now, state.samplesSeen)
        }

        // 7. Epoch end.
        let epochEnded = step.epochEnded
        if epochEnded {
            if let s = schedule.scheduler, !schedule.perStep {
                s.step(metric: schedule.needsMetric ? state.lastValLoss : nil)
            }
            if let s = schedule.scheduler { state.scheduler = s.exportState() }
            state.learningRate = optimizer.learningRate
            let now = Date()
            records.append(MetricsRecord(
                kind: .epoch, epoch: state.epoch + 1, epochProgress: nil, step: state.globalStep,
                trainLoss: state.epochLossSum / max(1, state.epochLossCount), valLoss: valLoss,
                bestValLoss: state.bestValLoss, improved: nil, earlyStoppingWait: nil,
                learningRate: optimizer.learningRate,
                samplesPerSecond: Double(state.samplesSeen - clock.epochStart.samples)
                    / max(1e-9, now.timeIntervalSince(clock.epochStart.time)),
                elapsedSeconds: state.elapsedSeconds))
            progress.line("epoch \(state.epoch + 1)/\(t.maxEpochs) done: train_loss "
                          + "\(Progress.fmt(state.epochLossSum / max(1, state.epochLossCount))) val_loss \(Progress.fmt(valLoss)) "
                          + "lr \(String(format: "%.3g", optimizer.learningRate)) "
                          + "\(Progress.rate(records.last!.samplesPerSecond)) samples/s, "
                          + "\(Progress.clock(now.timeIntervalSince(clock.epochStart.time))) (elapsed \(Progress.clock(state.elapsedSeconds)))")
            state.epoch += 1
            state.position = 0
            state.epochLossSum = 0
            state.epochLossCount = 0
            clock.epochStart = (now, state.samplesSeen)
            names.append(CheckpointRetention.epochFile(state.epoch))
            if state.epoch >= t.maxEpochs { state.finished = "max_epochs" }
        }
        if let s = schedule.scheduler { state.scheduler = s.exportState() }

        // 8. Stops.
        let earlyStop = earlyStopping?.shouldStop == true
        if earlyStop { state.finished = "early_stopping" }
        let signalled = !step.stopRanks.isEmpty
        if validated || epochEnded || earlyStop || signalled || step.checkpointDue {
            names.insert(CheckpointRetention.last, at: 0)
            clock.lastCheckpoint = Date()
        }
        try persist(state, names: names, topUpdate: topUpdate, records: records, valLoss: valLoss,
                    curve: epochEnded || earlyStop || signalled)

        if earlyStop {
            progress.line("early stopping at epoch \(state.epoch + (epochEnded ? 0 : 1)), step \(state.globalStep): "
                          + (earlyStopping?.reason ?? "") + "; best checkpoint \(runDir.file(CheckpointRetention.best))")
            return .completed(reason: "early_stopping", state: state)
        }
        if signalled {
            let name = stop.requested ?? (options.stopAtStep == state.globalStep ? "a stop request" : "SIGTERM/SIGINT")
            let ranks = comm.size > 1 ? " on rank(s) \(step.stopRanks.map(String.init).joined(separator: ", "))" : ""
            progress.line("stopped by \(name)\(ranks) at step \(state.globalStep) (epoch \(state.epoch + (epochEnded ? 0 : 1)), "
                          + "batch \(state.position)); \(runDir.lastCheckpoint) written; resume with: \(options.resumeCommand)")
            return .stopped(signal: name, state: state)
        }
        return nil
    }

    /// Rank 0 writes the step's metrics records and checkpoint files; every rank learns whether that
    /// worked (broadcast), so a failed write stops every rank with the same error.
    func persist(_ state: TrainingState, names: [String], topUpdate: CheckpointRetention.TopKUpdate?,
                 records: [MetricsRecord], valLoss: Double, curve: Bool) throws {
        guard !names.isEmpty || !records.isEmpty else { return }
        var failure = ""
        if comm.rank == 0 {
            do {
                if !runDirectoryCreated {
                    try runDir.create(dataDirectory: options.dataDirectory, configYAML: config.yaml)
                    runDirectoryCreated = true
                }
                for r in records { try metrics.append(r) }
                if !names.isEmpty {
                    try retention.save(contents(state, valLoss: valLoss), as: names)
                    if let u = topUpdate { try retention.apply(u) }
                }
                if curve { metrics.writeLearningCurve() }
            } catch {
                failure = "\(error)"
            }
        }
        failure = try comm.broadcast(failure, root: 0)
        guard failure.isEmpty else { throw AgreedFailure("rank 0 could not write to the run directory: \(failure)") }
        if names.contains(CheckpointRetention.last) { lastSaved = (runDir.lastCheckpoint, state.epoch, state.globalStep) }
    }

    /// The checkpoint of the current model, optimizer and `state`.
    func contents(_ state: TrainingState, valLoss: Double) -> CheckpointContents {
        CheckpointContents(
            modelName: model.name, layoutHash: hex16(ParameterFingerprint.hash(model.store)), configYAML: config.yaml,
            configHash: config.hash, manifestHash: manifestHash, dataConfigHash: dataset.manifest.configHash,
            seed: config.train.seed, parameters: CheckpointContents.parameters(of: model.store),
            optimizerName: config.train.optimizer.name.rawValue, optimizerState: optimizer.exportState(),
            state: state, valLoss: valLoss)
    }

    /// Σ g² over the store's gradients, in Double.
    static func sumOfSquares(_ store: ParameterStore) -> Double {
        let g = store.gradients.pointer
        var s = 0.0
        for i in 0..<store.count { s += Double(g[i]) * Double(g[i]) }
        return s
    }
}

/// 16 lowercase hex digits of a UInt64.
func hex16(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}
