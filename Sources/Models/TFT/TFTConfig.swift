// Hyperparameters and input interface of the TFT baseline (SSM-CGM A.9, Table 4: hidden 128, 8 heads,
// 4 LSTM layers, dropout 0.2, QuantileLoss at {0.1, 0.5, 0.9}; other settings pytorch-forecasting defaults).

import CGMSchema
import Foundation
import Layers

/// Settings of a `TFTModel`: sizes, quantiles, and the names and kinds of its inputs, in `Batch` column order.
@dynamicMemberLookup
public struct TFTConfig: Equatable, Sendable {
    /// One static input column.
    public struct StaticInput: Equatable, Sendable {
        /// Column name (used in parameter names and interpretation output; no dots).
        public var name: String
        /// Category count (embedding rows) for a categorical column, nil for a real column.
        public var cardinality: Int?
        /// Embedding width; nil means pytorch-forecasting's rule (see `TFTConfig.embeddingSize`).
        public var embeddingSize: Int?

        /// A real static column.
        public static func real(_ name: String) -> StaticInput { StaticInput(name: name, cardinality: nil, embeddingSize: nil) }
        /// A categorical static column holding indices 0..<cardinality.
        public static func categorical(_ name: String, cardinality: Int, embeddingSize: Int? = nil) -> StaticInput {
            StaticInput(name: name, cardinality: cardinality, embeddingSize: embeddingSize)
        }
    }

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

    /// A hyperparameter of `spec` (hidden, heads, lstmLayers, hiddenContinuous).
    public subscript<T>(dynamicMember keyPath: WritableKeyPath<TFTSpec, T>) -> T {
        get { spec[keyPath: keyPath] }
        set { spec[keyPath: keyPath] = newValue }
    }

    /// Dropout probability as the graph takes it.
    public var dropout: Float { Float(spec.dropout) }
    /// Predicted quantile levels as the loss takes them.
    public var quantiles: [Float] { spec.quantiles.map(Float.init) }

    /// pytorch-forecasting's embedding width for `cardinality` classes: round(1.6 · n^0.56) capped at 100
    /// for n > 2, else 1 (fastai's rule), then capped at the hidden size.
    public static func embeddingSize(cardinality n: Int, hidden: Int) -> Int {
        let size = n > 2 ? min(Int((1.6 * pow(Double(n), 0.56)).rounded()), 100) : 1
        return min(size, hidden)
    }

    /// The embedding width used for static input `s`.
    public func embeddingSize(of s: StaticInput) -> Int? {
        s.cardinality.map { s.embeddingSize ?? TFTConfig.embeddingSize(cardinality: $0, hidden: spec.hidden) }
    }

    /// The index of the median quantile (0.5, or the level nearest to it): the point forecast.
    public var medianIndex: Int { TFTConfig.medianIndex(of: quantiles) }

    /// Problems with the config (empty when valid), each naming the offending setting.
    public func validationErrors() -> [String] {
        var errors: [String] = []
        if spec.hidden < 1 { errors.append("hidden = \(spec.hidden) must be ≥ 1") }
        if spec.heads < 1 || spec.heads > spec.hidden { errors.append("heads = \(spec.heads) must be in 1…hidden (\(spec.hidden))") }
        if spec.lstmLayers < 1 { errors.append("lstm_layers = \(spec.lstmLayers) must be ≥ 1") }
        return errors + TFTConfig.inputErrors(dropout: dropout, hiddenContinuous: spec.hiddenContinuous, quantiles: quantiles,
                                              pastNames: pastNames, futureNames: futureNames, statics: statics)
    }

    /// The index of the level nearest 0.5 in `quantiles` (the point forecast of a quantile head).
    public static func medianIndex(of quantiles: [Float]) -> Int {
        quantiles.indices.min { abs(quantiles[$0] - 0.5) < abs(quantiles[$1] - 0.5) } ?? 0
    }

    /// Problems with the input interface and head settings TFT and SSM-CGM share (dropout, prescaler width,
    /// quantile levels, variable names, static cardinalities), each naming the offending setting.
    public static func inputErrors(dropout: Float, hiddenContinuous: Int, quantiles: [Float], pastNames: [String],
                                   futureNames: [String], statics: [StaticInput]) -> [String] {
        var errors: [String] = []
        if !(dropout >= 0 && dropout < 1) { errors.append("dropout = \(dropout) must be in [0, 1)") }
        if hiddenContinuous < 1 { errors.append("hidden_continuous = \(hiddenContinuous) must be ≥ 1") }
        if quantiles.isEmpty || !quantiles.allSatisfy({ $0 >= 0 && $0 <= 1 }) {
            errors.append("quantiles \(quantiles) must be non-empty and in [0, 1]")
        }
        if pastNames.isEmpty { errors.append("the encoder needs at least one past feature") }
        for (list, names) in [("past", pastNames), ("future", futureNames), ("static", statics.map(\.name))] {
            if Set(names).count != names.count { errors.append("\(list) feature names repeat: \(names)") }
            for n in names where n.isEmpty || n.contains(".") {
                errors.append("\(list) feature name '\(n)' must be non-empty and contain no '.'")
            }
        }
        for s in statics {
            if let c = s.cardinality, c < 1 { errors.append("static '\(s.name)': cardinality \(c) must be ≥ 1") }
            if let e = s.embeddingSize, e < 1 { errors.append("static '\(s.name)': embedding size \(e) must be ≥ 1") }
        }
        return errors
    }
}
