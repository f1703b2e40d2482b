// GluFormer as a `ForecastModel`, so `train` (MPI, checkpoints, early stopping, resume), `evaluate` and the
// validation loop work unchanged on token windows (data.preset: gluformer, extras["tokens"] of L + H tokens).
//   loss(batch)      next-token cross-entropy over every position of the L + H tokens (S − 1 predictions per
//                    row), ignoring padding targets and targets after a padding input; mean over counted tokens.
//   forecast(batch)  conditioned on the first L tokens only, H tokens by median continuation with the KV cache:
//                    each step reports and feeds back the median token of the predicted distribution
//                    (`GluFormerDecoding.median`). Measured on the proof test's 1-hour gaps, the expectation
//                    Σ p_k (k + 40) was far worse (MAE 26.8 vs 10.8 mg/dL; greedy 11.0): a briefly trained model
//                    spreads mass over far tokens, which drags the mean toward the middle of 40…500.
//                    With diet tokens (model trained on data.diet_tokens) the context's meals and the horizon's
//                    logged meals (known future, as announced meals) are fed with their steps.
//                    Windows without a tokens extra (`cgmtrain forecast` builds them from raw CSV) are tokenized from
//                    their scaled-CGM past column (eq. 14 back to mg/dL).

import CGMSchema
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
    /// Column of `cgm_scaled` among the past features, for windows without a tokens extra.
    public let scaledCGMColumn: Int?
    public var store: ParameterStore { network.store }

    /// A model for windows of `history` + `horizon` tokens (`config.maxLength` should be their sum).
    public init(_ config: GluFormerConfig, history: Int, horizon: Int, scaledCGMColumn: Int? = nil, seed: UInt64) {
        network = GluFormerNetwork(config, seed: seed)
        self.history = history
        self.horizon = horizon
        self.scaledCGMColumn = scaledCGMColumn
    }

    /// The context tokens (B rows, oldest first, padding dropped) of a batch's windows.
    public func contexts(_ batch: Batch) -> [[Int]] {
        if batch.extras["tokens"] != nil {
            let tokens = GluFormerTokenBatch(batch).prefix(history)
            return (0 ..< tokens.batch).map { tokens.realTokens(row: $0) }
        }
        guard let c = scaledCGMColumn else {
            preconditionFailure("gluformer: the batch has neither a tokens extra nor a cgm_scaled past feature")
        }
        let p = batch.pastFeatureCount, l = batch.history
        return (0 ..< batch.count).map { b in
            (0 ..< l).map { GlucoseTokenizer.token(FeatureCatalog.unscaleCGM(batch.past[(b * l + $0) * p + c])) }
                .filter { $0 != GlucoseTokenizer.padding }
        }
    }

    /// The diet tokens of a batch's windows for `forecast` (nil when the model or the batch has none): the
    /// context's, and the horizon's as known-future (logged, announced) meals.
    public func diet(_ batch: Batch) -> GluFormerDiet? {
        guard network.config.dietSlots > 0, batch.extras["tokens"] != nil, batch.extras["diet"] != nil else { return nil }
        let tokens = GluFormerTokenBatch(batch), n = tokens.slots
        guard n == network.config.dietSlots else { return nil }
        let context = tokens.prefix(history)
        return GluFormerDiet(slots: n, context: (0 ..< tokens.batch).map { context.realDiet(row: $0)! },
                             future: (0 ..< tokens.batch).map { tokens.diet(row: $0, history ..< tokens.length)! })
    }

    /// Logits (B, S − 1, 461) of the next-token predictions and their targets (−100 = ignored).
    public func nextTokenLogits(_ tokens: GluFormerTokenBatch, _ g: Graph) -> (logits: Var, targets: [Int]) {
        let (input, targets) = tokens.nextTokenPairs()
        let logits = network.logits(tokens: input.tokens, positions: input.positions, padding: input.padding,
                                    diet: network.config.dietSlots > 0 ? input.diet : nil,
                                    batch: input.batch, length: input.length, store.bind(g))
        return (logits, targets)
    }

    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        let (logits, targets) = nextTokenLogits(GluFormerTokenBatch(batch), g)
        return g.crossEntropy(logits, targets: targets, ignoreIndex: -100)
    }

    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        let generated = GluFormerGenerator(network: network).generate(contexts: contexts(batch), steps: horizon,
                                                                      decoding: .median, diet: diet(batch))
        return Forecast(point: Tensor(shape: [batch.count, horizon], scalars: generated.glucose.flatMap { $0 }))
    }
}
