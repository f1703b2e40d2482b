// Learning-rate schedulers: the protocol, StepLR and cosine-with-warmup.
// (ReduceLROnPlateau and OneCycleLR have their own files.)
//
// As in PyTorch, a scheduler applies its learning rate for step 0 when it is created, and each
// `step` advances its counter (`lastEpoch`, PyTorch's `last_epoch`) and applies the next value.
// Arithmetic is in Double, like PyTorch's Python floats.

import Foundation

/// Sets an optimizer's learning rate (and possibly its momentum) over training.
public protocol LRScheduler: AnyObject {
    /// The optimizer whose `learningRate` (and `beta1`) this scheduler sets.
    var optimizer: any Optimizer { get }
    /// The learning rate after the most recent `step` (or construction), PyTorch's `get_last_lr()`.
    var lastLearningRate: Double { get }
    /// Advances one step. `metric` is required by `ReduceLROnPlateau` and ignored by the others.
    func step(metric: Double?)
    /// The scheduler's counters as a small dictionary of numbers, for checkpoints.
    func exportState() -> [String: Double]
    /// Restores `exportState()` output and re-applies the learning rate (and momentum) it implies.
    func importState(_ state: [String: Double]) throws
}

extension LRScheduler {
    /// Advances one step (schedulers that need no metric).
    public func step() { step(metric: nil) }
}

/// Why `importState` refused a scheduler state dictionary.
public enum SchedulerStateError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    /// A message naming the missing key.
    public var description: String {
        switch self { case .missing(let key): return "scheduler state has no value '\(key)'" }
    }
}

func value(_ state: [String: Double], _ key: String) throws -> Double {
    guard let v = state[key] else { throw SchedulerStateError.missing(key) }
    return v
}

// MARK: - Closed-form schedules

/// A schedule whose learning rate is a function of the step alone: the shared counter (`lastEpoch`), base
/// rate, stepping and checkpoint state of `StepLR` and `CosineWithWarmup`. Subclasses give `learningRate(at:)`.
public class ClosedFormLRScheduler: LRScheduler {
    /// The optimizer whose learning rate is set.
    public let optimizer: any Optimizer
    /// The optimizer's learning rate when the scheduler was created (PyTorch's `initial_lr`).
    public private(set) var baseLR: Double
    /// Steps taken since creation (PyTorch `last_epoch`).
    public private(set) var lastEpoch = 0
    /// The learning rate applied by the last step.
    public private(set) var lastLearningRate: Double

    /// Takes the optimizer's current learning rate as the base and applies step 0. Subclasses set their
    /// own properties before calling this, so `learningRate(at:)` can use them.
    init(_ optimizer: any Optimizer) {
        self.optimizer = optimizer
        self.baseLR = optimizer.learningRate
        self.lastLearningRate = optimizer.learningRate
        apply()
    }

    /// The learning rate at step `epoch`.
    public func learningRate(at epoch: Int) -> Double { fatalError("\(Self.self) must override learningRate(at:)") }

    /// Advances one step and applies its learning rate; `metric` is ignored.
    public func step(metric: Double?) {
        lastEpoch += 1
        apply()
    }

    private func apply() {
        lastLearningRate = learningRate(at: lastEpoch)
        optimizer.learningRate = lastLearningRate
    }

    /// `last_epoch`, `base_lr`.
    public func exportState() -> [String: Double] { ["last_epoch": Double(lastEpoch), "base_lr": baseLR] }

    /// Restores `last_epoch` and `base_lr` and re-applies the learning rate.
    public func importState(_ state: [String: Double]) throws {
        let epoch = try value(state, "last_epoch"), base = try value(state, "base_lr")
        lastEpoch = Int(epoch)
        baseLR = base
        apply()
    }
}

// MARK: - StepLR

/// Multiplies the learning rate by `gamma` every `stepSize` steps (PyTorch `StepLR`):
/// lr(e) = baseLR · gamma^⌊e / stepSize⌋.
public final class StepLR: ClosedFormLRScheduler {
    /// Steps between two decays.
    public let stepSize: Int
    /// Decay factor.
    public let gamma: Double

    /// Takes the optimizer's current learning rate as the base and applies step 0.
    public init(_ optimizer: any Optimizer, stepSize: Int, gamma: Double = 0.1) {
        precondition(stepSize > 0, "StepLR: stepSize \(stepSize) must be positive")
        self.stepSize = stepSize
        self.gamma = gamma
        super.init(optimizer)
    }

    /// The learning rate at step `epoch`.
    public override func learningRate(at epoch: Int) -> Double { baseLR * pow(gamma, Double(epoch / stepSize)) }
}

// MARK: - Cosine with warmup

/// Linear warmup from 0 to the base learning rate over `warmupSteps`, then a half cosine down to
/// `minLRRatio · baseLR` at `totalSteps` (HuggingFace `get_cosine_with_min_lr_schedule_with_warmup`
/// with num_cycles 0.5; `minLRRatio` 0 is `get_cosine_schedule_with_warmup`):
///
///   f(s) = s / max(1, W)                                   for s < W
///   p    = (s − W) / max(1, T − W),  f(s) = r + (1 − r) · ½(1 + cos(π p))   otherwise
///
/// Unlike HuggingFace, p is clamped to 1, so stepping past `totalSteps` holds the minimum instead
/// of climbing the cosine back up.
public final class CosineWithWarmup: ClosedFormLRScheduler {
    /// W: steps of linear warmup from 0.
    public let warmupSteps: Int
    /// T: the step at which the cosine reaches its minimum.
    public let totalSteps: Int
    /// r: the final learning rate as a fraction of the base.
    public let minLRRatio: Double

    /// Takes the optimizer's current learning rate as the peak and applies step 0 (learning rate 0 when W > 0).
    public init(_ optimizer: any Optimizer, warmupSteps: Int, totalSteps: Int, minLRRatio: Double = 0) {
        precondition(warmupSteps >= 0 && totalSteps >= warmupSteps,
                     "CosineWithWarmup: need 0 ≤ warmupSteps (\(warmupSteps)) ≤ totalSteps (\(totalSteps))")
        precondition((0...1).contains(minLRRatio), "CosineWithWarmup: minLRRatio \(minLRRatio) outside [0, 1]")
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minLRRatio = minLRRatio
        super.init(optimizer)
    }

    /// The multiplier of the base learning rate at step `s`.
    public func factor(at s: Int) -> Double {
        if s < warmupSteps { return Double(s) / Double(max(1, warmupSteps)) }
        let progress = min(1, Double(s - warmupSteps) / Double(max(1, totalSteps - warmupSteps)))
        let f = 0.5 * (1.0 + cos(Double.pi * 0.5 * 2.0 * progress))
        return max(0, f * (1 - minLRRatio) + minLRRatio)
    }

    /// The learning rate at step `s`.
    public override func learningRate(at s: Int) -> Double { baseLR * factor(at: s) }
}
