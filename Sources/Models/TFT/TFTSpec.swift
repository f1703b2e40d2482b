// `model.name: tft`: the Temporal Fusion Transformer baseline of SSM-CGM (A.9), pytorch-forecasting's
// architecture, built for a prepared dataset's feature lists and static kinds (DatasetShape). Defaults are
// SSM-CGM Table 4:
//
//   model:
//     name: tft
//     hidden: 128                 # d_model (hidden_size)
//     heads: 8                    # attention heads (attention_head_size)
//     lstm_layers: 4              # layers of each of the encoder and decoder LSTMs
//     dropout: 0.2
//     hidden_continuous: 8        # prescaled width of each real variable (pytorch-forecasting default)
//     quantiles: [0.1, 0.5, 0.9]  # QuantileLoss levels; the median is the point forecast
//     residual: true              # quantiles of the standardized change from the last glucose (TargetSpace);
//                                 # false: of eq. 11-scaled glucose, as SSM-CGM's TFT

import CGMSchema
import Config

/// The hyperparameters of `tft` (SSM-CGM A.9, Table 4).
public struct TFTSpec: TemporalFusionSpec {
    public static let name = "tft"
    /// Every default.
    public static let defaults = TFTSpec()
    /// Model width d (`hidden_size`), attention heads (`attention_head_size`; when not given, min(8, hidden)) and
    /// the layers of each of the encoder and decoder LSTMs (`lstm_layers`).
    public var hidden = 128, heads = 8, lstmLayers = 4
    /// The scaffold's keys (TemporalFusionSpec): dropout, hidden_continuous (pytorch-forecasting's 8), quantiles, residual.
    public var dropout = 0.2, hiddenContinuous = 8, quantiles = [0.1, 0.5, 0.9], residual = true

    /// Model width d.
    public var width: Int { hidden }

    public var keys: [ConfigKey<TFTSpec>] {
        [.int("hidden", \.hidden, 1...4096), .int("heads", \.heads, 1...4096), .int("lstm_layers", \.lstmLayers, 1...64)]
            + Self.scaffoldKeys
    }

    public mutating func validate(_ m: ConfigMap) throws {
        if !m.has("heads") { heads = min(heads, hidden) }
        if heads > hidden { throw m.error("heads", "must be ≤ \(hidden) (got \(heads))") }
    }

    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        try buildModel(TFTNetwork.self, for: shape, seed: seed)
    }
}
