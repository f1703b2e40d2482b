import CGMSchema
import CGMTensor
import Layers

/// The naive baseline of PhysioSeq2Seq (section 4.2) as a model: every future value is the last observed
/// glucose, ĝ(t+h) = g(t) for h = 1…H. Nothing is learned (an empty store).
///
/// It reads g(t) from the last history step of the `cgm_scaled` past feature (eq. 11) and inverts eq. 11
/// (eq. 14), exactly as the evaluator's built-in baseline does, so its forecasts equal that baseline bit for bit.
/// `loss` is eq. 15's Huber loss of that forecast in scaled space, a constant of the graph.
public final class NaiveForecaster: ForecastModel {
    public let name = "naive"
    public let store = ParameterStore()
    /// Index of `cgm_scaled` among the past features.
    public let cgmScaledIndex: Int
    public let huberDelta: Float

    /// - Parameter cgmScaledIndex: position of `cgm_scaled` in the dataset's past features.
    public init(cgmScaledIndex: Int, huberDelta: Float = 1) {
        self.cgmScaledIndex = cgmScaledIndex
        self.huberDelta = huberDelta
    }

    /// The last history step's scaled CGM of every window, repeated over the horizon (B, H).
    private func lastScaled(_ batch: Batch) -> [Float] {
        precondition(cgmScaledIndex < batch.pastFeatureCount,
                     "naive: cgm_scaled index \(cgmScaledIndex) outside the batch's \(batch.pastFeatureCount) past features")
        let p = batch.pastFeatureCount, l = batch.history, h = batch.horizon
        var out = [Float](repeating: 0, count: batch.count * h)
        for b in 0..<batch.count {
            let s = batch.past[(b * l + l - 1) * p + cgmScaledIndex]
            for j in 0..<h { out[b * h + j] = s }
        }
        return out
    }

    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        g.huberLoss(g.constant(Tensor(shape: batch.targetShape, scalars: lastScaled(batch))), g.constant(batch.scaledTarget),
                    delta: huberDelta)
    }

    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        Forecast(point: Tensor(shape: batch.targetShape, scalars: lastScaled(batch).map(FeatureCatalog.unscaleCGM)))
    }
}
