// `model.name: digital_twin`: the "Digital twin" baseline of PhysioSeq2Seq (section 4.2) — the stored
// basal-only forecast of the matched Hovorka twin (Algorithm 1 pass 3), for a dataset prepared with
// data.ode_states: true. Parameter-less; its only key is huber_delta (NaiveSpec.swift).

import CGMSchema
import Config

/// The settings of `digital_twin`.
public struct DigitalTwinSpec: BaselineSpec {
    public static let name = "digital_twin"
    /// Every default.
    public static let defaults = DigitalTwinSpec()
    public var huberDelta = 1.0

    /// The forecaster, or `ModelBuildError` if the dataset has no `twin_forecast` extra of shape [H].
    public func forecaster(for shape: DatasetShape) throws -> DigitalTwinForecaster {
        if let problem = shape.odeStatesProblem(model: Self.name, names: [ODEStateExtras.twinForecast]) {
            throw ModelBuildError(problem)
        }
        return DigitalTwinForecaster(huberDelta: Float(huberDelta))
    }

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel { try forecaster(for: shape) }
}
