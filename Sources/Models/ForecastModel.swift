import CGMSchema
import CGMTensor
import Layers

/// What the trainer, `evaluate` and `forecast` need from a forecasting model.
///
/// A model reads a `Batch` (past (B, L, P), future (B, H, F), statics, targets in mg/dL) and owns its
/// parameters in one `ParameterStore`. Random ops read `graph.random`, which the trainer keys by
/// (seed, step, global sample index), so results do not depend on the number of ranks.
public protocol ForecastModel: AnyObject {
    /// Registry name (`model.name` in configs), recorded in checkpoints.
    var name: String { get }
    var store: ParameterStore { get }
    /// The training objective of a batch, a scalar on `graph` (mean over the batch's elements).
    func loss(_ batch: Batch, _ graph: Graph) -> Var
    /// Forecasts in mg/dL.
    func forecast(_ batch: Batch, _ graph: Graph) -> Forecast
}

/// A model's forecast of a batch, in mg/dL.
public struct Forecast {
    /// Point forecast (B, H): the median for quantile models.
    public var point: Tensor
    /// Quantile forecasts (B, H, Q) at `quantileLevels`, when the model has a quantile head.
    public var quantiles: Tensor?
    public var quantileLevels: [Float]

    public init(point: Tensor, quantiles: Tensor? = nil, quantileLevels: [Float] = []) {
        self.point = point
        self.quantiles = quantiles
        self.quantileLevels = quantileLevels
    }
}

extension Batch {
    /// Targets in eq. 11's scaled space (B, H), the space PhysioSeq2Seq's Huber loss is taken in.
    public var scaledTarget: Tensor {
        Tensor(shape: targetShape, scalars: target.map(FeatureCatalog.scaleCGM))
    }
    public var pastTensor: Tensor { Tensor(shape: pastShape, scalars: past) }
    public var futureTensor: Tensor { Tensor(shape: futureShape, scalars: future) }
    /// The future features (B, H, F), or one zero column (B, H, 1) when there are none (F = 0): the input of a
    /// decoder that then runs on its state alone.
    public var decoderTensor: Tensor {
        futureFeatureCount > 0 ? futureTensor : Tensor(zeros: [count, horizon, 1])
    }
}
