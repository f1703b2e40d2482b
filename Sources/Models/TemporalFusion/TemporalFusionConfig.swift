// The input interface and head settings TFT and SSM-CGM share (SSM-CGM Figure 1 / A.4 keeps TFT's inputs):
// past, known-future and static inputs in `Batch` column order, reals prescaled to `hiddenContinuous`
// features, categorical statics embedded (pytorch-forecasting's width rule), and a quantile head whose
// median is the point forecast. TFTConfig and SSMCGMConfig conform; the shared scaffold (TemporalFusionInputs,
// TemporalEnrichment, QuantileHead) is built from it.

import CGMSchema
import Config
import Foundation
import Layers

/// One static input column.
public struct StaticInput: Equatable, Sendable {
    /// Column name (used in parameter names and interpretation output; no dots).
    public var name: String
    /// Category count (embedding rows) for a categorical column, nil for a real column.
    public var cardinality: Int?
    /// Embedding width; nil means pytorch-forecasting's rule (`embeddingSize(cardinality:width:)`).
    public var embeddingSize: Int?

    /// A real static column.
    public static func real(_ name: String) -> StaticInput { StaticInput(name: name, cardinality: nil, embeddingSize: nil) }
    /// A categorical static column holding indices 0..<cardinality.
    public static func categorical(_ name: String, cardinality: Int, embeddingSize: Int? = nil) -> StaticInput {
        StaticInput(name: name, cardinality: cardinality, embeddingSize: embeddingSize)
    }

    /// pytorch-forecasting's embedding width for `cardinality` classes: round(1.6 · n^0.56) capped at 100
    /// for n > 2, else 1 (fastai's rule), then capped at the model width.
    public static func embeddingSize(cardinality n: Int, width: Int) -> Int {
        let size = n > 2 ? min(Int((1.6 * pow(Double(n), 0.56)).rounded()), 100) : 1
        return min(size, width)
    }
}

extension StaticInput {
    /// The static inputs of a dataset (categorical with the spec's cardinality, or real); an error when the
    /// dataset records no feature spec for its statics.
    public static func inputs(of shape: DatasetShape, model: String) throws -> [StaticInput] {
        if shape.staticFeatures.isEmpty { return [] }
        guard shape.staticCardinalities.count == shape.staticFeatures.count else {
            throw ModelBuildError("model \(model) needs the kinds of the static features "
                                  + "\(shape.staticFeatures) (categorical cardinalities), but the dataset's manifest "
                                  + "records no matching feature spec; prepare it again with this cgmtrain version")
        }
        return zip(shape.staticFeatures, shape.staticCardinalities).map { name, cardinality in
            cardinality.map { .categorical(name, cardinality: $0) } ?? .real(name)
        }
    }
}

/// The `model:` keys of the shared scaffold, which TFTSpec and SSMCGMSpec both have: dropout, the prescaled width,
/// the quantile levels and the target space.
public protocol TemporalFusionSpec: ModelSpec {
    /// Model width d (TFT's `hidden`, SSM-CGM's `d_model`).
    var width: Int { get }
    /// Dropout everywhere pytorch-forecasting applies it (SSM-CGM: also on each stack block's output).
    var dropout: Double { get set }
    /// Width of a real variable's prescaled embedding (pytorch-forecasting `hidden_continuous_size`).
    var hiddenContinuous: Int { get set }
    /// QuantileLoss levels; the median is the point forecast.
    var quantiles: [Double] { get set }
    /// Quantiles of the standardized change from the last glucose (TargetSpace); false: of eq. 11-scaled
    /// glucose, as the papers.
    var residual: Bool { get set }
}

extension TemporalFusionSpec {
    /// The model of `Network` for a dataset of `shape` (its features and static kinds), initialized from `seed`.
    func buildModel<Network: TemporalFusionNetwork>(_: Network.Type, for shape: DatasetShape, seed: UInt64) throws
        -> any ForecastModel where Network.Config.Spec == Self {
        let c = Network.Config(pastNames: shape.pastFeatures, futureNames: shape.futureFeatures,
                               statics: try StaticInput.inputs(of: shape, model: Self.name), spec: self)
        let errors = c.validationErrors()
        guard errors.isEmpty else {
            throw ModelBuildError("model \(Self.name) cannot be built for this dataset: " + errors.joined(separator: "; "))
        }
        return TemporalFusionModel<Network>(c, targetSpace: try shape.targetSpace(residual: residual, model: Self.name), seed: seed)
    }

    /// dropout, hidden_continuous, quantiles, residual: the keys after the model's own.
    public static var scaffoldKeys: [ConfigKey<Self>] {
        [.dropout(\.dropout), .int("hidden_continuous", \.hiddenContinuous, 1...4096), .quantiles(\.quantiles),
         .residual(\.residual)]
    }
}

/// The settings a TFT-style network shares (see the file header).
public protocol TemporalFusionConfig: ModelSpecHolder where Spec: TemporalFusionSpec {
    /// Past (encoder) real features, `Batch.past` column order.
    var pastNames: [String] { get }
    /// Known-future (decoder) real features, `Batch.future` column order (a name also in `pastNames` shares
    /// its prescaler, as in pytorch-forecasting).
    var futureNames: [String] { get }
    /// Static columns, `Batch.statics` column order.
    var statics: [StaticInput] { get }
    /// GRN skip path when widths differ (pytorch-forecasting: ResampleNorm).
    var grnSkip: GatedResidualNetwork.Skip { get }
    /// Problems with the config (empty when valid), each naming the offending setting.
    func validationErrors() -> [String]
    /// The network settings of `spec` over the named inputs.
    init(pastNames: [String], futureNames: [String], statics: [StaticInput], spec: Spec)
}

extension TemporalFusionConfig {
    /// Model width d.
    public var width: Int { spec.width }
    /// Width of a real variable's prescaled embedding.
    public var hiddenContinuous: Int { spec.hiddenContinuous }
    /// Dropout probability as the graph takes it.
    public var dropout: Float { Float(spec.dropout) }
    /// Predicted quantile levels as the loss takes them.
    public var quantiles: [Float] { spec.quantiles.map(Float.init) }

    /// The embedding width used for static input `s`.
    public func embeddingSize(of s: StaticInput) -> Int? {
        s.cardinality.map { s.embeddingSize ?? StaticInput.embeddingSize(cardinality: $0, width: width) }
    }

    /// The index of the median quantile (0.5, or the level nearest to it): the point forecast.
    public var medianIndex: Int { Self.medianIndex(of: quantiles) }

    /// The index of the level nearest 0.5 in `quantiles` (the point forecast of a quantile head).
    public static func medianIndex(of quantiles: [Float]) -> Int {
        quantiles.indices.min { abs(quantiles[$0] - 0.5) < abs(quantiles[$1] - 0.5) } ?? 0
    }

    /// Problems with the inputs and head settings (dropout, prescaler width, quantile levels, variable names,
    /// static cardinalities), each naming the offending setting.
    public var inputErrors: [String] {
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
