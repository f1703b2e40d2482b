import CGMSchema
import CGMTensor
import Layers

/// PhysioSeq2Seq's encoder–decoder as a `ForecastModel`: every past feature feeds the encoder, every
/// known-future feature the decoder; Huber loss (δ = 1) on eq. 11-scaled glucose (eq. 15) — or, with a
/// residual `TargetSpace`, on the standardized change from the last observed glucose (the head then starts at
/// zero, i.e. at persistence); forecasts mapped back to mg/dL by eq. 14. Without ODE features this is the
/// paper's "Seq2Seq − ODE". Without known-future features (glucose-only data) the decoder reads one constant zero
/// input per step and runs on its state alone, from the encoder's (h_L, c_L).
public final class Seq2SeqForecaster: ForecastModel {
    public let name = "seq2seq"
    public let network: Seq2SeqLSTM
    public let huberDelta: Float
    /// What the head predicts: eq. 11-scaled glucose or its standardized change.
    public let targetSpace: TargetSpace
    public var store: ParameterStore { network.store }

    /// A model for `pastFeatures` encoder and `futureFeatures` decoder features with `spec`'s hyperparameters,
    /// its head predicting in `targetSpace`.
    public init(pastFeatures: Int, futureFeatures: Int, spec: Seq2SeqSpec = .defaults, targetSpace: TargetSpace = .absolute,
                seed: UInt64) {
        network = Seq2SeqLSTM(.init(encoderInputs: targetSpace.encoderWidth(pastFeatures: pastFeatures),
                                    decoderInputs: max(futureFeatures, 1),
                                    hidden: spec.hidden, dropout: Float(spec.dropout)), seed: seed)
        huberDelta = Float(spec.huberDelta)
        self.targetSpace = targetSpace
        if targetSpace.isResidual { network.head.zeroInitialize(network.store) }
    }

    /// The head's output (B, H) in `targetSpace`.
    private func headOutput(_ batch: Batch, _ g: Graph) -> Var {
        network(encoderInput: g.constant(targetSpace.encoderInput(batch)), decoderInput: g.constant(batch.decoderTensor),
                store.bind(g))
    }

    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        g.huberLoss(headOutput(batch, g), g.constant(targetSpace.targets(batch)), delta: huberDelta)   // eq. 15
    }

    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        Forecast(point: targetSpace.milligrams(headOutput(batch, g).value, batch))   // eq. 14
    }
}
