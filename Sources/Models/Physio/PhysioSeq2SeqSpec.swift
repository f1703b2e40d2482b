// `model.name: physio_seq2seq`: PhysioSeq2Seq (section 3.5, eqs. 9–10) — the seq2seq network with the
// matched twin's ODE states (`ode_hist`, `ode_fut` extras) appended to encoder and decoder inputs. The same
// keys and defaults as seq2seq; the dataset must be prepared with data.ode_states: true.

import CGMSchema
import Config

/// The hyperparameters of `physio_seq2seq`.
public struct PhysioSeq2SeqSpec: LSTMForecasterSpec {
    public static let name = "physio_seq2seq"
    /// Every default.
    public static let defaults = PhysioSeq2SeqSpec()
    public var hidden = 64
    public var dropout = 0.2
    public var huberDelta = 1.0
    public var residual = true

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        if let problem = shape.odeStatesProblem(model: Self.name, names: [ODEStateExtras.history, ODEStateExtras.future]) {
            throw ModelBuildError(problem)
        }
        return PhysioSeq2SeqForecaster(pastFeatures: shape.pastFeatures.count, futureFeatures: shape.futureFeatures.count,
                                       spec: self, targetSpace: try shape.targetSpace(residual: residual, model: Self.name),
                                       seed: seed)
    }
}
