// The 1cycle policy (Smith & Topin 2017, "Super-Convergence"), with torch.optim.lr_scheduler.OneCycleLR's
// exact semantics. Two phases (default) or three (threePhase):
//
//   phase   ends at step                     lr                      momentum (β₁ for Adam)
//   1       pctStart·T − 1                   initial → max           max → base
//   2       T − 1                            max → min               base → max
//   (three-phase: 2 ends at 2·pctStart·T − 2 going max → initial, base → max; 3 ends at T − 1
//    going initial → min, momentum held at max)
//
//   initial = maxLR / divFactor,  min = initial / finalDivFactor
//   cos anneal: end + (start − end)/2 · (1 + cos(π pct)); linear: start + (end − start) pct
//   pct = (s − phase start) / (phase end − phase start)

import Foundation

/// One-cycle learning-rate (and inverse momentum) schedule, stepped once per batch; valid for steps
/// 0…totalSteps, as PyTorch.
public final class OneCycleLR: LRScheduler {
    /// How each phase interpolates.
    public enum Anneal: String {
        case cos, linear
    }

    struct Phase {
        let endStep: Double
        let startLR: Double, endLR: Double
        let startMomentum: Double, endMomentum: Double
    }

    /// The optimizer whose learning rate (and β₁ / momentum) is set.
    public let optimizer: any Optimizer
    /// T: steps in the cycle.
    public let totalSteps: Int
    /// Interpolation within a phase.
    public let anneal: Anneal
    /// Whether momentum (β₁) is cycled inversely to the learning rate.
    public let cycleMomentum: Bool
    /// The learning rates at the start (maxLR/divFactor), peak and end (initial/finalDivFactor).
    public let initialLR: Double, maxLR: Double, minLR: Double
    /// Momentum bounds: max at the start and end, base at the learning-rate peak.
    public let baseMomentum: Double, maxMomentum: Double
    let phases: [Phase]
    /// Steps taken since creation (PyTorch `last_epoch`).
    public private(set) var lastEpoch = 0
    /// The learning rate applied by the last step.
    public private(set) var lastLearningRate: Double
    /// The momentum (β₁) set by the last step; nil without momentum cycling.
    public private(set) var lastMomentum: Double?

    /// Sets β₁ to maxMomentum (when cycling) and applies step 0, as PyTorch.
    public init(_ optimizer: any Optimizer, maxLR: Double, totalSteps: Int, pctStart: Double = 0.3,
                anneal: Anneal = .cos, divFactor: Double = 25, finalDivFactor: Double = 1e4,
                threePhase: Bool = false, cycleMomentum: Bool = true,
                baseMomentum: Double = 0.85, maxMomentum: Double = 0.95) {
        precondition(totalSteps > 0, "OneCycleLR: totalSteps \(totalSteps) must be positive")
        precondition((0...1).contains(pctStart), "OneCycleLR: pctStart \(pctStart) outside [0, 1]")
        precondition(!cycleMomentum || optimizer.beta1 != nil,
                     "OneCycleLR: optimizer must support momentum or beta1 with cycleMomentum")
        self.optimizer = optimizer
        self.totalSteps = totalSteps
        self.anneal = anneal
        self.cycleMomentum = cycleMomentum
        self.maxLR = maxLR
        self.initialLR = maxLR / divFactor
        self.minLR = initialLR / finalDivFactor
        self.baseMomentum = baseMomentum
        self.maxMomentum = maxMomentum
        let total = Double(totalSteps)
        if threePhase {
            phases = [
                Phase(endStep: pctStart * total - 1, startLR: initialLR, endLR: maxLR,
                      startMomentum: maxMomentum, endMomentum: baseMomentum),
                Phase(endStep: 2 * pctStart * total - 2, startLR: maxLR, endLR: initialLR,
                      startMomentum: baseMomentum, endMomentum: maxMomentum),
                Phase(endStep: total - 1, startLR: initialLR, endLR: minLR,
                      startMomentum: maxMomentum, endMomentum: maxMomentum),
            ]
        } else {
            phases = [
                Phase(endStep: pctStart * total - 1, startLR: initialLR, endLR: maxLR,
                      startMomentum: maxMomentum, endMomentum: baseMomentum),
                Phase(endStep: total - 1, startLR: maxLR, endLR: minLR,
                      startMomentum: baseMomentum, endMomentum: maxMomentum),
            ]
        }
        self.lastLearningRate = initialLR
        if cycleMomentum { optimizer.beta1 = maxMomentum }
        apply()
    }

    /// The (learning rate, momentum) at step `s`.
    public func values(at s: Int) -> (learningRate: Double, momentum: Double) {
        precondition(s <= totalSteps, "OneCycleLR: tried to step \(s) times; totalSteps is \(totalSteps)")
        let stepNum = Double(s)
        var start = 0.0
        for (i, phase) in phases.enumerated() {
            if stepNum <= phase.endStep || i == phases.count - 1 {
                let pct = (stepNum - start) / (phase.endStep - start)
                return (interpolate(phase.startLR, phase.endLR, pct),
                        interpolate(phase.startMomentum, phase.endMomentum, pct))
            }
            start = phase.endStep
        }
        fatalError("unreachable: the last phase always matches")
    }

    private func interpolate(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        switch anneal {
        case .cos: return end + (start - end) / 2.0 * (cos(Double.pi * pct) + 1)
        case .linear: return (end - start) * pct + start
        }
    }

    /// Advances one step (one batch) and applies its learning rate and momentum; `metric` is ignored.
    public func step(metric: Double?) {
        lastEpoch += 1
        apply()
    }

    private func apply() {
        let (lr, momentum) = values(at: lastEpoch)
        lastLearningRate = lr
        optimizer.learningRate = lr
        if cycleMomentum {
            lastMomentum = momentum
            optimizer.beta1 = momentum
        }
    }

    /// `last_epoch`.
    public func exportState() -> [String: Double] { ["last_epoch": Double(lastEpoch)] }

    /// Restores `last_epoch` and re-applies that step's learning rate and momentum.
    public func importState(_ state: [String: Double]) throws {
        lastEpoch = Int(try value(state, "last_epoch"))
        apply()
    }
}
