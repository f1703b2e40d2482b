import CGMSchema
import CGMTensor
import Layers

/// PhysioSeq2Seq's encoder–decoder as a `ForecastModel`: every past feature feeds the encoder, every
/// known-future feature the decoder; Huber loss (δ = 1) on eq. 11-scaled glucose (eq. 15); forecasts
/// mapped back to mg/dL by eq. 14. Without ODE features this is the paper's "Seq2Seq − ODE".
public final class Seq2SeqForecaster: ForecastModel {
    public let name = "seq2seq"
    public let network: Seq2SeqLSTM
    public let huberDelta: Float
    public var store: ParameterStore { network.store }

    /// A model for `pastFeatures` encoder and `futureFeatures` decoder features with `spec`'s hyperparameters.
    public init(pastFeatures: Int, futureFeatures: Int, spec: Seq2SeqSpec = .defaults, seed: UInt64) {
        precondition(futureFeatures >= 1, "seq2seq: the decoder needs at least one known-future feature")
        network = Seq2SeqLSTM(.init(encoderInputs: pastFeatures, decoderInputs: futureFeatures,
                                    hidden: spec.hidden, dropout: Float(spec.dropout)), seed: seed)
        huberDelta = Float(spec.huberDelta)
    }

    private func scaledForecast(_ batch: Batch, _ g: Graph) -> Var {
        network(encoderInput: g.constant(batch.pastTensor), decoderInput: g.constant(batch.futureTensor), store.bind(g))
    }

    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        g.huberLoss(scaledForecast(batch, g), g.constant(batch.scaledTarget), delta: huberDelta)   // eq. 15
    }

    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        let scaled = scaledForecast(batch, g).value
        return Forecast(point: Tensor(shape: scaled.shape, scalars: scaled.scalars.map(FeatureCatalog.unscaleCGM)))  // eq. 14
    }
}
