// The TFT baseline as a `ForecastModel`: glucose targets are modelled in eq. 11's scaled space
// (PhysioSeq2Seq), the loss is pytorch-forecasting's QuantileLoss at the configured quantiles
// (SSM-CGM A.9), and forecasts are mapped back to mg/dL by eq. 14 (monotone, so quantiles keep their order).

import CGMSchema
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

/// The Temporal Fusion Transformer forecaster (pytorch-forecasting architecture, SSM-CGM's baseline): a
/// `TemporalFusionModel` over its network.
public typealias TFTModel = TemporalFusionModel<TFTNetwork>

extension TFTModel {
    /// Variable selection weights and attention of a batch (run it on an inference graph).
    public func interpret(_ batch: Batch, _ g: Graph) -> TFTInterpretation {
        let o = outputs(batch, g)
        return TFTInterpretation(staticWeights: o.staticWeights.value, encoderWeights: o.encoderWeights.value,
                                 decoderWeights: o.decoderWeights.value, attention: o.attention.value,
                                 staticNames: config.statics.map(\.name), pastNames: config.pastNames,
                                 futureNames: config.futureNames)
    }
}
