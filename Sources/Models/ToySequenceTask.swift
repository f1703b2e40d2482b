import CGMTensor
import Foundation

/// A toy forecasting task for the foundation issue's end-to-end check: from `history` steps of a
/// noisy two-tone signal, predict the next `horizon` steps. Samples are a pure function of
/// (seed, index), so any batch can be regenerated on any rank.
public struct ToySequenceTask {
    public let history: Int, horizon: Int, seed: UInt64
    public let noise: Float

    public init(history: Int = 24, horizon: Int = 8, noise: Float = 0.02, seed: UInt64 = 0) {
        self.history = history
        self.horizon = horizon
        self.noise = noise
        self.seed = seed
    }

    /// Inputs (B, history, 1) and targets (B, horizon) for the given sample indices.
    public func batch(_ indices: [Int]) -> (inputs: Tensor, targets: Tensor) {
        let total = history + horizon
        var x = Tensor(uninitialized: [indices.count, history, 1])
        var y = Tensor(uninitialized: [indices.count, horizon])
        x.withUnsafeMutableBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                for (row, index) in indices.enumerated() {
                    var rng = PhiloxGenerator(seed: seed, stream: UInt64(index))
                    let f1 = rng.nextUniform(0.15, 0.35), f2 = rng.nextUniform(0.02, 0.08)
                    let p1 = rng.nextUniform(0, 6.2832), p2 = rng.nextUniform(0, 6.2832)
                    let a2 = rng.nextUniform(0.2, 0.6)
                    for t in 0..<total {
                        let clean = 0.5 * sin(f1 * Float(t) + p1) + a2 * sin(f2 * Float(t) + p2)
                        if t < history { xp[row * history + t] = clean + noise * rng.nextNormal() }
                        else { yp[row * horizon + t - history] = clean }
                    }
                }
            }
        }
        return (x, y)
    }
}

