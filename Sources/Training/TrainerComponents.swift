// Optimizer and learning-rate scheduler from the `train:` config, and the epoch geometry (batches,
// optimizer steps, validation interval) that the scheduler lengths and the validation cadence derive from.

import CGMData
import Config
import Foundation
import Layers
import Optim

/// How an epoch is cut into batches and optimizer steps on every rank.
public struct EpochGeometry: Equatable {
    /// Batches per rank per epoch (DistributedSampler pads N to a multiple of the ranks).
    public var batches: Int
    /// Micro-batches per optimizer step.
    public var accumulate: Int
    /// Optimizer steps per epoch (the last one may accumulate fewer micro-batches).
    public var steps: Int { (batches + accumulate - 1) / accumulate }
    /// Optimizer steps between validation checks.
    public var valInterval: Int

    /// The geometry of the epochs `sampler` cuts into batches of `train.batch_size` (every epoch has the same).
    public init(sampler: DistributedSampler, train: TrainConfig) {
        batches = sampler.batchCount(batchSize: train.batchSize)
        accumulate = train.accumulateGradBatches
        valInterval = 1
        valInterval = train.valCheckInterval.interval(stepsPerEpoch: steps)
    }

    /// Whether step `stepInEpoch` (0-based) ends with a validation check: every `valInterval` steps, and
    /// at the end of the epoch.
    public func validatesAfter(stepInEpoch s: Int) -> Bool { (s + 1) % valInterval == 0 || s + 1 == steps }
}

/// The scheduler and when it is stepped.
struct SchedulerSetup {
    let scheduler: (any LRScheduler)?
    /// Stepped after every optimizer step (one_cycle, cosine_warmup), else at epoch ends.
    let perStep: Bool
    /// Needs the epoch's validation loss (reduce_on_plateau).
    let needsMetric: Bool
}

enum TrainerComponents {
    static func optimizer(_ c: OptimizerConfig, _ store: ParameterStore) -> any Optimizer {
        switch c.name {
        case .adam:
            return Adam(store, lr: c.lr, beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, weightDecay: c.weightDecay)
        case .adamw:
            return AdamW(store, lr: c.lr, beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, weightDecay: c.weightDecay)
        case .sgd:
            return SGD(store, lr: c.lr, momentum: c.momentum, dampening: c.dampening, weightDecay: c.weightDecay,
                       nesterov: c.nesterov)
        }
    }

    /// Builds the scheduler; `totalSteps` = max_epochs × steps per epoch (one_cycle, cosine_warmup).
    static func scheduler(_ c: TrainConfig, _ opt: any Optimizer, stepsPerEpoch: Int, source: String) throws -> SchedulerSetup {
        let s = c.scheduler
        let total = c.maxEpochs * stepsPerEpoch
        switch s.name {
        case .none:
            return SchedulerSetup(scheduler: nil, perStep: false, needsMetric: false)
        case .reduceOnPlateau:
            return SchedulerSetup(scheduler: ReduceLROnPlateau(opt, mode: .min, factor: s.factor, patience: s.patience,
                                                               threshold: s.threshold,
                                                               thresholdMode: s.thresholdMode == .abs ? .abs : .rel,
                                                               cooldown: s.cooldown, minLR: s.minLR),
                                  perStep: false, needsMetric: true)
        case .oneCycle:
            return SchedulerSetup(scheduler: OneCycleLR(opt, maxLR: s.maxLR ?? c.optimizer.lr, totalSteps: total,
                                                        pctStart: s.pctStart, anneal: s.anneal == .linear ? .linear : .cos,
                                                        divFactor: s.divFactor, finalDivFactor: s.finalDivFactor,
                                                        threePhase: s.threePhase, cycleMomentum: s.cycleMomentum,
                                                        baseMomentum: s.baseMomentum, maxMomentum: s.maxMomentum),
                                  perStep: true, needsMetric: false)
        case .step:
            return SchedulerSetup(scheduler: StepLR(opt, stepSize: s.stepSize, gamma: s.gamma), perStep: false, needsMetric: false)
        case .cosineWarmup:
            guard s.warmupSteps <= total else {
                throw ConfigError(source: source, key: "train.scheduler.warmup_steps",
                                     "must be ≤ the run's \(total) optimizer steps (max_epochs × \(stepsPerEpoch) steps per epoch)")
            }
            return SchedulerSetup(scheduler: CosineWithWarmup(opt, warmupSteps: s.warmupSteps, totalSteps: total,
                                                              minLRRatio: s.minLRRatio),
                                  perStep: true, needsMetric: false)
        }
    }
}
