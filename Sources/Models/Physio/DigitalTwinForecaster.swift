import CGMSchema
import CGMTensor
import Layers

/// The "Digital twin" baseline of PhysioSeq2Seq (section 4.2): the matched Hovorka twin propagated under
/// basal-only inputs (Algorithm 1 pass 3). Nothing is learned; the forecast is the batch's
/// `twin_forecast` extra (H, mg/dL), computed once by `prepare` with `data.ode_states: true`.
///
/// It has no parameters (an empty store). `loss` is the Huber loss of eq. 15 on its forecast, a constant
/// of the graph, so it can be reported beside the trained models but not trained.
public final class DigitalTwinForecaster: ForecastModel {
    public let name = "digital_twin"
    public let store = ParameterStore()
    public let huberDelta: Float

    public init(huberDelta: Float = 1) {
        self.huberDelta = huberDelta
    }

    /// The stored twin forecast (B, H), mg/dL.
    public func twinForecast(_ batch: Batch) -> Tensor {
        let name = ODEStateExtras.twinForecast
        guard let e = batch.extras[name], e.shape == [batch.horizon], e.values.count == batch.count * batch.horizon else {
            preconditionFailure("digital_twin: batch extras[\(name)] must have per-window shape [\(batch.horizon)] (got "
                                + "\(batch.extras[name].map { "\($0.shape)" } ?? "none")); prepare the data with data.ode_states: true")
        }
        return Tensor(shape: batch.targetShape, scalars: e.values)
    }

    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        let scaled = twinForecast(batch).scalars.map(FeatureCatalog.scaleCGM)
        return g.huberLoss(g.constant(Tensor(shape: batch.targetShape, scalars: scaled)), g.constant(batch.scaledTarget),
                           delta: huberDelta)
    }

    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        Forecast(point: twinForecast(batch))
    }
}
