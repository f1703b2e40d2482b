// Hyperparameters and input interface of the TFT baseline (SSM-CGM A.9, Table 4: hidden 128, 8 heads,
// 4 LSTM layers, dropout 0.2, QuantileLoss at {0.1, 0.5, 0.9}; other settings pytorch-forecasting defaults).

import CGMSchema
import Layers

/// Settings of a `TFTModel`: sizes, quantiles, and the names and kinds of its inputs, in `Batch` column order.
@dynamicMemberLookup
public struct TFTConfig: TemporalFusionConfig, Equatable, Sendable {
    /// Sizes, dropout and quantile levels (the `model:` keys; TFTSpec.swift).
    public var spec: TFTSpec
    /// Names of the past (encoder) real features, `Batch.past` column order.
    public var pastNames: [String]
    /// Names of the known-future (decoder) real features, `Batch.future` column order. A name also in
    /// `pastNames` shares its prescaler with the encoder, as in pytorch-forecasting.
    public var futureNames: [String]
    /// Static columns, `Batch.statics` column order.
    public var statics: [StaticInput]
    /// Decoder attention mask (pytorch-forecasting default: earlier decoder steps, not the step itself).
    public var attentionMask: InterpretableMultiHeadAttention.Mask = .causalExcludingSelf
    /// GRN skip path when widths differ (pytorch-forecasting: ResampleNorm).
    public var grnSkip: GatedResidualNetwork.Skip = .resampleNorm

    /// The network of `spec` (default: SSM-CGM Table 4) over the named inputs.
    public init(pastNames: [String], futureNames: [String], statics: [StaticInput] = [], spec: TFTSpec = .defaults) {
        self.pastNames = pastNames
        self.futureNames = futureNames
        self.statics = statics
        self.spec = spec
    }

    /// A config from feature counts: past features "past_<i>", future features "future_<i>" (no shared
    /// prescalers), static columns `staticReals` reals "static_<i>" first, then one categorical column
    /// "static_cat_<j>" per entry of `staticCategoricalCardinalities`.
    public init(pastReals: Int, futureReals: Int, staticReals: Int = 0, staticCategoricalCardinalities: [Int] = [],
                spec: TFTSpec = .defaults) {
        self.init(pastNames: (0..<pastReals).map { "past_\($0)" }, futureNames: (0..<futureReals).map { "future_\($0)" },
                  statics: (0..<staticReals).map { .real("static_\($0)") }
                      + staticCategoricalCardinalities.enumerated().map { .categorical("static_cat_\($0.offset)", cardinality: $0.element) },
                  spec: spec)
    }



    /// Problems with the config (empty when valid), each naming the offending setting.
    public func validationErrors() -> [String] {
        var errors: [String] = []
        if spec.hidden < 1 { errors.append("hidden = \(spec.hidden) must be ≥ 1") }
        if spec.heads < 1 || spec.heads > spec.hidden { errors.append("heads = \(spec.heads) must be in 1…hidden (\(spec.hidden))") }
        if spec.lstmLayers < 1 { errors.append("lstm_layers = \(spec.lstmLayers) must be ≥ 1") }
        return errors + inputErrors
    }
}
