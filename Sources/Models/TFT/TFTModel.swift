// The TFT baseline as a `ForecastModel`: glucose targets are modelled in eq. 11's scaled space
// (PhysioSeq2Seq), the loss is pytorch-forecasting's QuantileLoss at the configured quantiles
// (SSM-CGM A.9), and forecasts are mapped back to mg/dL by eq. 14 (monotone, so quantiles keep their order).

import CGMData
import CGMTensor
import Layers

/// Interpretability outputs of a TFT forward pass (values, mg/dL-free), with the input names.
public struct TFTInterpretation {
    /// Static selection weights (B, S), columns `staticNames`.
    public var staticWeights: Tensor
    /// Encoder selection weights (B, L, P), columns `pastNames`.
    public var encoderWeights: Tensor
    /// Decoder selection weights (B, H, F), columns `futureNames`.
    public var decoderWeights: Tensor
    /// Head-averaged attention (B, H, L + H): decoder step i over the L encoder then H decoder steps.
    public var attention: Tensor
    /// Variable names of the weight columns.
    public var staticNames: [String], pastNames: [String], futureNames: [String]

    /// Mean over the batch (and time) of each variable's selection weight: the global importances
    /// of SSM-CGM Fig. 2A; each list sums to 1 (when it has variables).
    public var meanStaticImportance: [Float] { TFTInterpretation.columnMeans(staticWeights) }
    /// Mean encoder selection weight per past variable.
    public var meanEncoderImportance: [Float] { TFTInterpretation.columnMeans(encoderWeights) }
    /// Mean decoder selection weight per future variable.
    public var meanDecoderImportance: [Float] { TFTInterpretation.columnMeans(decoderWeights) }

    static func columnMeans(_ t: Tensor) -> [Float] {
        guard let n = t.shape.last, n > 0, t.count > 0 else { return [] }
        let rows = t.count / n
        var sums = [Double](repeating: 0, count: n)
        for r in 0..<rows { for c in 0..<n { sums[c] += Double(t.pointer[r * n + c]) } }
        return sums.map { Float($0 / Double(rows)) }
    }
}

/// The Temporal Fusion Transformer forecaster (pytorch-forecasting architecture, SSM-CGM's baseline).
public final class TFTModel: ScaledQuantileForecaster {
    /// Registry name.
    public let name = "tft"
    /// The network and its parameters.
    public let network: TFTNetwork
    /// The network's settings.
    public var config: TFTConfig { network.config }
    /// All parameters (pytorch-forecasting names).
    public var store: ParameterStore { network.store }

    /// What the quantile head predicts (eq. 11-scaled glucose or its standardized change).
    public let targetSpace: TargetSpace

    /// Builds the network with parameters drawn from `seed`; a residual head starts at zero (persistence).
    public init(_ config: TFTConfig, targetSpace: TargetSpace = .absolute, seed: UInt64) {
        network = TFTNetwork(config, seed: seed)
        self.targetSpace = targetSpace
        if targetSpace.isResidual { network.outputLayer.zeroInitialize(network.store) }
    }

    /// The forward pass on a batch (prediction in eq. 11's scaled space).
    public func outputs(_ batch: Batch, _ g: Graph) -> TFTOutput {
        let x = batch.tftInputs(g, past: config.pastNames.count, future: config.futureNames.count,
                                statics: config.statics.count, model: "tft")
        return network(past: x.past, future: x.future, statics: x.statics, store.bind(g))
    }

    /// Predicted quantile levels (the loss and the mg/dL forecast: `ScaledQuantileForecaster`).
    public var quantiles: [Float] { config.quantiles }

    /// The quantile head's output (B, H, Q) in `targetSpace`.
    public func scaledQuantiles(_ batch: Batch, _ g: Graph) -> Var { outputs(batch, g).prediction }

    /// Variable selection weights and attention of a batch (run it on an inference graph).
    public func interpret(_ batch: Batch, _ g: Graph) -> TFTInterpretation {
        let o = outputs(batch, g)
        return TFTInterpretation(staticWeights: o.staticWeights.value, encoderWeights: o.encoderWeights.value,
                                 decoderWeights: o.decoderWeights.value, attention: o.attention.value,
                                 staticNames: config.statics.map(\.name), pastNames: config.pastNames,
                                 futureNames: config.futureNames)
    }
}
