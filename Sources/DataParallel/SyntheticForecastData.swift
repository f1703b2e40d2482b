// Deterministic synthetic forecasting batches keyed by global sample index, for data-parallel checks and
// benchmarks that need no files: sample i is a pure function of (seed, i), so any split of a global
// batch across ranks and micro-batches sees exactly the same samples.
//
//   past   (L, P): standard normals; column 0 plays CGM
//   future (H, F): standard normals
//   target (H):    mg/dL, 120 + 25·(mean of past column 0 over the last 3 steps) + 10·future[h, 0]
//                  + 3·noise — learnable from both encoder and decoder inputs

import CGMSchema
import CGMTensor

/// Synthetic `Batch`es whose rows depend only on (seed, global sample index).
public struct SyntheticForecastData: Sendable {
    public var history: Int
    public var horizon: Int
    public var pastFeatures: Int
    public var futureFeatures: Int
    public var seed: UInt64

    public init(history: Int, horizon: Int, pastFeatures: Int, futureFeatures: Int, seed: UInt64) {
        precondition(history >= 1 && horizon >= 1 && pastFeatures >= 1 && futureFeatures >= 1,
                     "synthetic data: dimensions must be positive")
        self.history = history
        self.horizon = horizon
        self.pastFeatures = pastFeatures
        self.futureFeatures = futureFeatures
        self.seed = seed
    }

    /// PhysioSeq2Seq's shapes: L = 37, H = 48, 12 past and 11 future features.
    public static func physio(seed: UInt64) -> SyntheticForecastData {
        SyntheticForecastData(history: 37, horizon: 48, pastFeatures: 12, futureFeatures: 11, seed: seed)
    }

    /// The batch of the given global sample indices, rows in that order.
    public func batch(_ indices: [Int]) -> Batch {
        let (l, h, p, f) = (history, horizon, pastFeatures, futureFeatures)
        var b = Batch(count: indices.count, history: l, horizon: h, pastFeatureCount: p,
                      futureFeatureCount: f, staticFeatureCount: 0)
        for (row, index) in indices.enumerated() {
            precondition(index >= 0, "synthetic data: negative sample index \(index)")
            var rng = PhiloxGenerator(seed: seed, stream: UInt64(index))
            for k in 0..<(l * p) { b.past[row * l * p + k] = rng.nextNormal() }
            for k in 0..<(h * f) { b.future[row * h * f + k] = rng.nextNormal() }
            var level: Float = 0
            let recent = min(3, l)
            for t in (l - recent)..<l { level += b.past[row * l * p + t * p] }
            level /= Float(recent)
            for t in 0..<h {
                b.target[row * h + t] = 120 + 25 * level + 10 * b.future[row * h * f + t * f] + 3 * rng.nextNormal()
            }
            b.indices[row] = index
        }
        return b
    }
}
