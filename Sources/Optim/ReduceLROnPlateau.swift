// Reduce the learning rate when a metric stops improving, with
// torch.optim.lr_scheduler.ReduceLROnPlateau's exact semantics:
//
//   better(a, best):  min/rel: a < best·(1 − threshold)     min/abs: a < best − threshold
//                     max/rel: a > best·(1 + threshold)     max/abs: a > best + threshold
//   each step: best/bad-epoch bookkeeping; in cooldown, count the cooldown down and forget bad epochs;
//   after more than `patience` bad epochs: lr ← max(lr·factor, minLR) if that lowers lr by more than
//   eps, then start a cooldown of `cooldown` steps.

import Foundation

/// Divides the learning rate by 1/`factor` once the metric has not improved for more than
/// `patience` steps (PyTorch `ReduceLROnPlateau`). Step it once per evaluation with the metric.
public final class ReduceLROnPlateau: LRScheduler {
    /// Whether lower (`min`) or higher (`max`) metrics are better.
    public enum Mode: String {
        case min, max
    }

    /// Whether `threshold` is relative to the best value (`rel`) or an absolute margin (`abs`).
    public enum ThresholdMode: String {
        case rel, abs
    }

    /// The optimizer whose learning rate is reduced.
    public let optimizer: any Optimizer
    /// Whether lower or higher metrics are better.
    public let mode: Mode
    /// Multiplier of the learning rate at each reduction (< 1).
    public let factor: Double
    /// Bad steps tolerated before a reduction (the reduction happens on bad step patience + 1).
    public let patience: Int
    /// Minimum improvement that counts, relative or absolute per `thresholdMode`.
    public let threshold: Double
    /// How `threshold` is applied.
    public let thresholdMode: ThresholdMode
    /// Steps after a reduction during which bad steps are not counted.
    public let cooldown: Int
    /// Lower bound of the learning rate.
    public let minLR: Double
    /// Reductions smaller than this are skipped.
    public let eps: Double

    /// Best metric seen (±∞ before the first step).
    public private(set) var best: Double
    /// Consecutive steps without improvement (outside cooldown).
    public private(set) var numBadEpochs = 0
    /// Remaining cooldown steps.
    public private(set) var cooldownCounter = 0
    /// Steps taken (PyTorch `last_epoch`).
    public private(set) var lastEpoch = 0
    /// The optimizer's learning rate after the last step.
    public private(set) var lastLearningRate: Double

    /// PyTorch's defaults; the learning rate is not changed until a reduction.
    public init(_ optimizer: any Optimizer, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10,
                threshold: Double = 1e-4, thresholdMode: ThresholdMode = .rel, cooldown: Int = 0,
                minLR: Double = 0, eps: Double = 1e-8) {
        precondition(factor < 1, "ReduceLROnPlateau: factor \(factor) should be < 1.0")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minLR = minLR
        self.eps = eps
        self.best = mode == .min ? .infinity : -.infinity
        self.lastLearningRate = optimizer.learningRate
    }

    /// Whether `a` improves on `best` under the mode and threshold.
    public func isBetter(_ a: Double, than best: Double) -> Bool {
        switch (mode, thresholdMode) {
        case (.min, .rel): return a < best * (1.0 - threshold)
        case (.min, .abs): return a < best - threshold
        case (.max, .rel): return a > best * (threshold + 1.0)
        case (.max, .abs): return a > best + threshold
        }
    }

    /// Whether the last reduction's cooldown is still running.
    public var inCooldown: Bool { cooldownCounter > 0 }

    /// Records one evaluation of the metric (required).
    public func step(metric: Double?) {
        guard let current = metric else { preconditionFailure("ReduceLROnPlateau.step needs a metric") }
        lastEpoch += 1
        if isBetter(current, than: best) {
            best = current
            numBadEpochs = 0
        } else {
            numBadEpochs += 1
        }
        if inCooldown {
            cooldownCounter -= 1
            numBadEpochs = 0   // bad epochs in cooldown are ignored
        }
        if numBadEpochs > patience {
            reduceLearningRate()
            cooldownCounter = cooldown
            numBadEpochs = 0
        }
        lastLearningRate = optimizer.learningRate
    }

    private func reduceLearningRate() {
        let old = optimizer.learningRate
        let new = max(old * factor, minLR)
        if old - new > eps { optimizer.learningRate = new }
    }

    /// `best`, `num_bad_epochs`, `cooldown_counter`, `last_epoch` and the current `learning_rate`
    /// (this scheduler reads the rate back from the optimizer, so a checkpoint must carry it).
    public func exportState() -> [String: Double] {
        ["best": best, "num_bad_epochs": Double(numBadEpochs), "cooldown_counter": Double(cooldownCounter),
         "last_epoch": Double(lastEpoch), "learning_rate": optimizer.learningRate]
    }

    /// Restores the counters, the best metric and the optimizer's learning rate.
    public func importState(_ state: [String: Double]) throws {
        let b = try value(state, "best"), bad = try value(state, "num_bad_epochs")
        let cool = try value(state, "cooldown_counter"), epoch = try value(state, "last_epoch")
        let lr = try value(state, "learning_rate")
        best = b
        numBadEpochs = Int(bad)
        cooldownCounter = Int(cool)
        lastEpoch = Int(epoch)
        optimizer.learningRate = lr
        lastLearningRate = lr
    }
}
