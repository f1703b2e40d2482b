import CGMSchema
import CGMTensor
import Layers

/// PhysioSeq2Seq (section 3.5): the Seq2Seq encoder–decoder LSTM with the matched twin's ODE states
/// appended to its inputs.
///
///   encoder input E_t^(k) = [past features_k, x̃_k]      (B, L, P + 10)   eq. 9  (paper: [g̃_k, IOB~_k, x_k])
///   decoder input D_t^(i) = [future features_i, x̃_{t+i}] (B, H, F + 10)  eq. 10 (paper: [IOB~_{t+i}, x_{t+i}])
///
/// `x` comes from the batch's `ode_hist` (L, 10) and `ode_fut` (H, 10) extras written by `prepare` with
/// `data.ode_states: true`, in physical units; `x̃ = ODEStateScaling.scale(x)` (a fixed per-state symmetric
/// log). Loss and output mapping are Seq2Seq's: Huber (δ) on eq. 11-scaled glucose (eq. 15) or its standardized
/// change (`TargetSpace.residual`), eq. 14 back to mg/dL.
public final class PhysioSeq2SeqForecaster: ForecastModel {
    public let name = "physio_seq2seq"
    public let network: Seq2SeqLSTM
    public let huberDelta: Float
    public let pastFeatures: Int, futureFeatures: Int
    /// What the head predicts: eq. 11-scaled glucose or its standardized change (`TargetSpace`).
    public let targetSpace: TargetSpace
    public var store: ParameterStore { network.store }

    /// A model for `pastFeatures` encoder and `futureFeatures` decoder dataset features (ODE states are added).
    public init(pastFeatures: Int, futureFeatures: Int, spec: PhysioSeq2SeqSpec = .defaults,
                targetSpace: TargetSpace = .absolute, seed: UInt64) {
        let k = ODEStateExtras.stateCount
        network = Seq2SeqLSTM(.init(encoderInputs: targetSpace.encoderWidth(pastFeatures: pastFeatures) + k,
                                    decoderInputs: futureFeatures + k,
                                    hidden: spec.hidden, dropout: Float(spec.dropout)), seed: seed)
        self.pastFeatures = pastFeatures
        self.futureFeatures = futureFeatures
        huberDelta = Float(spec.huberDelta)
        self.targetSpace = targetSpace
        if targetSpace.isResidual { network.head.zeroInitialize(network.store) }
    }

    /// `(B, steps, features) ⊕ (B, steps, 10)` along the last axis, the states scaled.
    static func append(_ base: [Float], features: Int, states extra: BatchExtra?, name: String,
                       count: Int, steps: Int) -> Tensor {
        let k = ODEStateExtras.stateCount
        guard let extra, extra.shape == [steps, k], extra.values.count == count * steps * k else {
            preconditionFailure("physio_seq2seq: batch extras[\(name)] must have per-window shape [\(steps), \(k)] "
                                + "(got \(extra.map { "\($0.shape)" } ?? "none")); prepare the data with data.ode_states: true")
        }
        let states = ODEStateScaling.scale(extra.values)
        var out = [Float](repeating: 0, count: count * steps * (features + k))
        for r in 0 ..< count * steps {
            let o = r * (features + k)
            for f in 0 ..< features { out[o + f] = base[r * features + f] }
            for s in 0 ..< k { out[o + features + s] = states[r * k + s] }
        }
        return Tensor(shape: [count, steps, features + k], scalars: out)
    }

    /// Encoder input (B, L, P + 10), eq. 9 (P + 1 + 10 with a residual head's relative-history column).
    public func encoderInput(_ batch: Batch) -> Tensor {
        let base = targetSpace.encoderInput(batch)
        return Self.append(base.scalars, features: base.shape[2], states: batch.extras[ODEStateExtras.history],
                           name: ODEStateExtras.history, count: batch.count, steps: batch.history)
    }

    /// Decoder input (B, H, F + 10), eq. 10.
    public func decoderInput(_ batch: Batch) -> Tensor {
        Self.append(batch.future, features: batch.futureFeatureCount, states: batch.extras[ODEStateExtras.future],
                    name: ODEStateExtras.future, count: batch.count, steps: batch.horizon)
    }

    /// The head's output (B, H) in `targetSpace`.
    private func headOutput(_ batch: Batch, _ g: Graph) -> Var {
        network(encoderInput: g.constant(encoderInput(batch)), decoderInput: g.constant(decoderInput(batch)), store.bind(g))
    }

    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        g.huberLoss(headOutput(batch, g), g.constant(targetSpace.targets(batch)), delta: huberDelta)   // eq. 15
    }

    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        Forecast(point: targetSpace.milligrams(headOutput(batch, g).value, batch))   // eq. 14
    }
}
