// Quantile forecasts of eq. 11-scaled glucose mapped back to mg/dL (eq. 14, monotone, so the quantiles
// keep their order), with the median as the point forecast: shared by the TFT and SSM-CGM heads.

import CGMSchema
import CGMTensor

extension Forecast {
    /// The forecast of `scaled` (…, H, Q) quantile predictions at `levels` in eq. 11's scaled space:
    /// quantiles in mg/dL and the `medianIndex` quantile as the point forecast (…, H).
    public init(scaledQuantiles scaled: Tensor, levels: [Float], medianIndex m: Int) {
        let q = levels.count
        precondition(scaled.shape.last == q && m >= 0 && m < q,
                     "Forecast: quantiles \(scaled.shape) must end in \(q) levels, median index \(m)")
        let quantiles = Tensor(shape: scaled.shape, scalars: scaled.scalars.map(FeatureCatalog.unscaleCGM))
        let rows = scaled.count / q
        let point = Tensor(shape: Array(scaled.shape.dropLast()), scalars: (0..<rows).map { quantiles.pointer[$0 * q + m] })
        self.init(point: point, quantiles: quantiles, quantileLevels: levels)
    }
}

/// A forecaster whose head predicts quantiles of eq. 11's scaled glucose or of its standardized change
/// (`TargetSpace`; TFT, SSM-CGM): its loss is pytorch-forecasting's QuantileLoss (2·Σρ / (N·Q)) of the head-space
/// targets and its forecast the quantiles in mg/dL (eq. 14) with the median as the point forecast, both from
/// `scaledQuantiles` alone.
public protocol ScaledQuantileForecaster: ForecastModel {
    /// Predicted quantile levels.
    var quantiles: [Float] { get }
    /// What the head predicts.
    var targetSpace: TargetSpace { get }
    /// The head's output (B, H, Q) in `targetSpace`.
    func scaledQuantiles(_ batch: Batch, _ g: Graph) -> Var
}

extension ScaledQuantileForecaster {
    /// QuantileLoss (pytorch-forecasting reduction) of the head-space targets.
    public func loss(_ batch: Batch, _ g: Graph) -> Var {
        g.quantileLoss(scaledQuantiles(batch, g), g.constant(targetSpace.targets(batch)), quantiles: quantiles,
                       reduction: .pytorchForecasting)
    }

    /// Quantiles (B, H, Q) and the median as the point forecast (B, H), in mg/dL (eq. 14).
    public func forecast(_ batch: Batch, _ g: Graph) -> Forecast {
        forecast(headOutput: scaledQuantiles(batch, g).value, batch)
    }

    /// The mg/dL forecast of a head output (B, H, Q) computed for `batch`.
    public func forecast(headOutput: Tensor, _ batch: Batch) -> Forecast {
        Forecast(scaledQuantiles: targetSpace.scaled(headOutput, batch), levels: quantiles,
                 medianIndex: TFTConfig.medianIndex(of: quantiles))
    }
}
