// Early stopping on the validation loss, with Lightning's `EarlyStopping(monitor="val_loss", mode="min")`
// semantics:
//
//   improvement   current < best − min_delta            (best starts at +∞)
//   on improvement: best ← current, wait ← 0;  otherwise wait ← wait + 1
//   stop when wait ≥ patience, or when the loss is not finite (Lightning's check_finite)
//
// Patience is counted in validation checks, not epochs: with val_check_interval 0.2, patience 15 is three
// epochs. The trainer feeds it the all-reduced validation loss, identical on every rank, so every rank
// takes the same decision.

import Config
import Foundation

/// Validation-loss early stopping (Lightning semantics, see the file comment).
public struct EarlyStopping: Equatable {
    /// Checks without improvement that stop the run.
    public let patience: Int
    /// Minimum decrease that counts as an improvement.
    public let minDelta: Double
    /// Best validation loss so far (+∞ before the first check).
    public private(set) var best: Double = .infinity
    /// Consecutive checks without improvement.
    public private(set) var wait = 0
    /// Checks seen.
    public private(set) var checks = 0
    /// Set once the run should stop.
    public private(set) var shouldStop = false
    /// Why it stopped (nil while running).
    public private(set) var reason: String?

    /// Creates the state; `patience` ≥ 1, `minDelta` ≥ 0.
    public init(patience: Int, minDelta: Double = 0) {
        precondition(patience >= 1 && minDelta >= 0, "EarlyStopping: patience \(patience) ≥ 1, minDelta \(minDelta) ≥ 0")
        self.patience = patience
        self.minDelta = minDelta
    }

    /// Records one validation check. Returns true when it improved on the best loss.
    @discardableResult
    public mutating func update(_ loss: Double) -> Bool {
        checks += 1
        guard loss.isFinite else {
            shouldStop = true
            reason = "validation loss is \(loss) (not finite)"
            return false
        }
        if loss < best - minDelta {
            best = loss
            wait = 0
            return true
        }
        wait += 1
        if wait >= patience {
            shouldStop = true
            reason = "validation loss did not improve by more than \(minDelta) for \(wait) check(s) "
                + "(best \(YAMLNode.formatDouble(best)))"
        }
        return false
    }

    /// State for checkpoints.
    public func exportState() -> [String: Double] {
        ["best": best, "wait": Double(wait), "checks": Double(checks), "should_stop": shouldStop ? 1 : 0,
         "patience": Double(patience), "min_delta": minDelta]
    }

    /// Restores `exportState()` output (patience and min_delta come from the config, not the state).
    public mutating func importState(_ s: [String: Double]) throws {
        for key in ["best", "wait", "checks", "should_stop"] where s[key] == nil {
            throw CheckpointStateError(message: "early-stopping state has no value '\(key)'")
        }
        best = s["best"]!
        wait = Int(s["wait"]!)
        checks = Int(s["checks"]!)
        shouldStop = s["should_stop"]! != 0
        reason = shouldStop ? "early stopping had already stopped the run" : nil
    }
}

/// A checkpoint's state dictionary lacks a value.
public struct CheckpointStateError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
