// GluFormer as a `ForecastModel`, so `train` (MPI, checkpoints, early stopping, resume), `evaluate` and the
// validation loop work unchanged on token windows (data.preset: gluformer, extras["tokens"] of L + H tokens).
//   loss(batch)      next-token cross-entropy over every position of the L + H tokens (S − 1 predictions per
//                    row), ignoring padding targets and targets after a padding input; mean over counted tokens.
//   forecast(batch)  conditioned on the first L tokens only, H tokens by expected-value continuation with the KV
//                    cache: each step reports E[g] = Σ p_k (k + 40) mg/dL and feeds back the token nearest it
//                    (a point forecast with lower squared error than the argmax; `GluFormerDecoding`).

import CGMData
import CGMTensor
import Layers

/// GluFormer pretraining and forecasting over token windows.
public final class GluFormerForecaster: ForecastModel {
    public let name = "gluformer"
    /// The transformer.
    public let network: GluFormerNetwork
    /// Context tokens L of a window (the forecast conditions on these).
    public let history: Int
    /// Forecast steps H.
    public let horizon: Int
    public var store: ParameterStore { network.store }

    /// A model for windows of `history` + `horizon` tokens (`config.maxLength` should be their sum).
    public init(_ config: GluFormerConfig, history: Int, horizon: Int, seed: UInt64) {
        network = GluFormerNetwork(config, seed: seed)
        self.history = history
        self.horizon = horizon
    }

    /// Logits (B, S − 1, 461) of the next-token predictions and their targets (−100 = ignored).
    public func nextTokenLogits(_ tokens: GluFormerTokenBatch, _ g: Graph) -> (logits: Var, targets: [Int]) {
        let (input, targets) = tokens.nextTokenPairs()
        let logits = network.logits(tokens: input.tokens, positions: input.positions, padding: input.padding,
                                    batch: input.batch, length: input.length, store.bind(g))
        return (logits, targets)
    }

    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        let (logits, targets) = nextTokenLogits(GluFormerTokenBatch(batch), g)
        return g.crossEntropy(logits, targets: targets, ignoreIndex: -100)
    }

    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        let tokens = GluFormerTokenBatch(batch).prefix(history)
        let contexts = (0 ..< tokens.batch).map { tokens.realTokens(row: $0) }
        let generated = GluFormerGenerator(network: network).generate(contexts: contexts, steps: horizon,
                                                                      decoding: .expectedValue)
        return Forecast(point: Tensor(shape: [tokens.batch, horizon], scalars: generated.glucose.flatMap { $0 }))
    }
}
