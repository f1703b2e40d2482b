// Model registry: `model.name` in a config → a strict parser of the model's keys (defaults filled in,
// unknown keys / wrong types / out-of-range values are errors naming the key) and a builder that makes
// the `ForecastModel` for a prepared dataset's dimensions. New models register one `ModelSpec`.
//
//   model:
//     name: seq2seq       # PhysioSeq2Seq's encoder–decoder LSTM (section 3.5), without ODE features
//     hidden: 64          # d, LSTM hidden units (eq. 12)
//     dropout: 0.2        # p on the decoder outputs
//     huber_delta: 1.0    # δ of the Huber loss in eq. 11-scaled space (eq. 15)
//     residual: true      # the head predicts the change from the last observed glucose, standardized per horizon
//                         # step (TargetSpace; issue 14); false: eq. 11-scaled glucose itself, as the paper
//
//   model:
//     name: physio_seq2seq  # the same network with the matched twin's ODE states appended (section 3.5,
//     hidden: 64            # eqs. 9–10); same keys; the dataset must be prepared with data.ode_states: true
//
// The parameter-less baselines `naive` and `digital_twin` (section 4.2) are in ModelRegistry+Baselines.swift.

import CGMData
import Foundation
import Models

/// What a model builder knows about the data: the dimensions of the prepared windows.
public struct DatasetShape: Equatable {
    public var history: Int
    public var horizon: Int
    public var pastFeatures: [String]
    public var futureFeatures: [String]
    public var staticFeatures: [String]
    /// Per-window shapes of the extra arrays (e.g. `ode_hist`), by name.
    public var extras: [String: [Int]]
    /// Per static feature, its category count (embedding rows, unknown class included) when categorical,
    /// nil when real — from the dataset's fitted `FeatureSpec`; empty when that spec is not available.
    /// Derived from the recorded spec, so checkpoints do not store it separately.
    public var staticCardinalities: [Int?]
    /// σ_h of residual targets (`GlucoseChangeScale`, h = 1 … H) from the dataset's fitted spec; nil for datasets
    /// prepared before it was recorded.
    public var glucoseChangeScale: [Float]?

    public init(history: Int, horizon: Int, pastFeatures: [String], futureFeatures: [String], staticFeatures: [String],
                extras: [String: [Int]] = [:], staticCardinalities: [Int?] = [], glucoseChangeScale: [Float]? = nil) {
        self.history = history
        self.horizon = horizon
        self.pastFeatures = pastFeatures
        self.futureFeatures = futureFeatures
        self.staticFeatures = staticFeatures
        self.extras = extras
        self.staticCardinalities = staticCardinalities
        self.glucoseChangeScale = glucoseChangeScale
    }

    /// The dimensions recorded in a dataset's manifest.
    public init(_ m: Manifest) {
        self.init(history: m.history, horizon: m.horizon, pastFeatures: m.pastFeatures,
                  futureFeatures: m.futureFeatures, staticFeatures: m.staticFeatures, extras: m.extras,
                  staticCardinalities: Self.staticCardinalities(featureSpecJSON: m.featureSpecJSON,
                                                                staticFeatures: m.staticFeatures),
                  glucoseChangeScale: Self.glucoseChangeScale(featureSpecJSON: m.featureSpecJSON, horizon: m.horizon))
    }

    /// σ_1 … σ_H of a recorded `FeatureSpec` (JSON); nil when the JSON does not decode or records none for `horizon`.
    static func glucoseChangeScale(featureSpecJSON: String, horizon: Int) -> [Float]? {
        guard let scale = (try? FeatureSpec(jsonString: featureSpecJSON))?.glucoseChangeScale, scale.rms.count == horizon else {
            return nil
        }
        return scale.floats
    }

    /// The head's target space for `model.residual` (`TargetSpace`): residual targets need the last observed glucose
    /// (`cgm_scaled` among the past features) and the dataset's fitted change scale.
    /// - Throws: `ModelBuildError` naming what the dataset lacks.
    func targetSpace(residual: Bool, model: String) throws -> TargetSpace {
        guard residual else { return .absolute }
        guard let anchor = pastFeatures.firstIndex(of: FeatureCatalog.cgmScaled) else {
            throw ModelBuildError(description: "model \(model) with residual: true forecasts the change from the last "
                                  + "observed glucose, which it reads from the past feature '\(FeatureCatalog.cgmScaled)'; the "
                                  + "dataset's past features are \(pastFeatures) (add cgm_scaled, or set model.residual: false)")
        }
        guard let scale = glucoseChangeScale, scale.count == horizon else {
            throw ModelBuildError(description: "model \(model) with residual: true needs the dataset's glucose change scale "
                                  + "(feature_spec glucoseChangeScale), which datasets prepared before it existed lack: run "
                                  + "prepare again, or set model.residual: false")
        }
        return .residual(anchorIndex: anchor, scale: scale)
    }

    /// The static kinds of a recorded `FeatureSpec` (JSON) whose statics are `staticFeatures`; empty when the
    /// JSON does not decode or lists other statics.
    static func staticCardinalities(featureSpecJSON: String, staticFeatures: [String]) -> [Int?] {
        guard let spec = try? FeatureSpec(jsonString: featureSpecJSON),
              spec.statics.map(\.name) == staticFeatures else { return [] }
        return spec.statics.map { $0.kind == .categorical ? $0.cardinality : nil }
    }

    /// Nil if the dataset has each of the ODE-state extras `names` (`data.ode_states: true`) with the right
    /// shape, otherwise a message for `model` naming what is missing.
    func odeStatesProblem(model: String, names: [String]) -> String? {
        let want = PrepareODEStates.shapes(history: history, horizon: horizon)
        for name in names where extras[name] != want[name] {
            return "model \(model) needs extras/\(name) of per-window shape \(want[name]!) in the dataset (got "
                + (extras[name].map { "\($0)" } ?? "none") + "); prepare it with data.ode_states: true"
        }
        return nil
    }
}

/// A validated `model:` section: the model name and its settings, every default filled in.
public struct ModelConfig: Equatable {
    /// Registry name.
    public var name: String
    /// Settings in canonical order (formatted YAML scalars), name first.
    public var node: YAMLNode
    /// Parsed settings (the builder reads them).
    var values: [String: Double]

    public static func == (a: ModelConfig, b: ModelConfig) -> Bool { a.node == b.node }
}

/// One registered model: its keys, parser and builder.
public struct ModelSpec {
    /// Registry name (`model.name`).
    public let name: String
    /// One line for help texts.
    public let summary: String
    /// Parses the `model:` mapping (including `name`).
    let parse: (RunConfigMap) throws -> ModelConfig
    /// Builds the model for a dataset; errors are messages about the data/model mismatch.
    let build: (ModelConfig, DatasetShape, UInt64) throws -> any ForecastModel
}

/// Error building a model for a dataset (e.g. the model needs inputs the dataset does not have).
public struct ModelBuildError: Error, CustomStringConvertible {
    public let description: String
}

/// The models `cgmtrain train` knows.
public enum ModelRegistry {
    /// Every registered model.
    public static let all: [ModelSpec] = [seq2seq, physioSeq2Seq, recursiveLSTM, naive, digitalTwinModel, linearAR, tft,
                                          ssmCGM, gluformer, mealDetector]

    /// Models with a `residual` key (`TargetSpace`).
    public static let residualModels: Set<String> = ["seq2seq", "physio_seq2seq", "recursive_lstm", "tft", "ssm_cgm", "gluformer"]

    /// The spec named `name`, or nil.
    public static func spec(_ name: String) -> ModelSpec? { all.first { $0.name == name } }

    /// Parses a `model:` mapping; errors name the key path and `source`.
    static func parse(_ m: RunConfigMap) throws -> ModelConfig {
        guard let name = try m.string("name") else {
            throw m.error("name", "is required (one of: \(all.map(\.name).joined(separator: ", ")))")
        }
        guard let spec = spec(name) else {
            throw m.error("name", "must be one of \(all.map(\.name).joined(separator: ", ")) (got '\(name)')")
        }
        return try spec.parse(m)
    }

    /// Builds the model named in `config` for a dataset of `shape`, initialized from `seed`.
    public static func build(_ config: ModelConfig, shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        guard let spec = spec(config.name) else { throw ModelBuildError(description: "unknown model '\(config.name)'") }
        return try spec.build(config, shape, seed)
    }

    // MARK: seq2seq

    /// PhysioSeq2Seq's encoder–decoder (section 3.5); past features feed the encoder, known-future ones
    /// the decoder. With [cgm_scaled, iob_scaled] / [iob_scaled] this is the paper's "Seq2Seq − ODE".
    static let seq2seq = ModelSpec(
        name: "seq2seq",
        summary: "PhysioSeq2Seq encoder–decoder LSTM (section 3.5) without ODE features",
        parse: { m in try parseSeq2SeqKeys(m, name: "seq2seq") },
        build: { config, shape, seed in
            Seq2SeqForecaster(pastFeatures: shape.pastFeatures.count, futureFeatures: shape.futureFeatures.count,
                                     hidden: Int(config.values["hidden"]!), dropout: Float(config.values["dropout"]!),
                                     huberDelta: Float(config.values["huber_delta"]!),
                                     targetSpace: try shape.targetSpace(residual: config.values["residual"]! != 0, model: "seq2seq"),
                                     seed: seed)
        })

    // MARK: physio_seq2seq

    /// Parses seq2seq's keys for a model named `name`.
    static func parseSeq2SeqKeys(_ m: RunConfigMap, name: String) throws -> ModelConfig {
        try m.rejectUnknown(["name", "hidden", "dropout", "huber_delta", "residual"], context: " for model \(name)")
        let hidden = try m.int("hidden", in: 1...4096) ?? 64
        let dropout = try m.double("dropout", "in [0, 1)", { (0..<1).contains($0) }) ?? 0.2
        let delta = try m.double("huber_delta", "> 0", { $0 > 0 }) ?? 1.0
        let residual = try m.bool("residual") ?? true
        return ModelConfig(name: name,
                           node: .map([("name", .string(name)), ("hidden", .int(hidden)),
                                       ("dropout", .double(dropout)), ("huber_delta", .double(delta)),
                                       ("residual", .bool(residual))]),
                           values: ["hidden": Double(hidden), "dropout": dropout, "huber_delta": delta,
                                    "residual": residual ? 1 : 0])
    }

    /// PhysioSeq2Seq (section 3.5): seq2seq with the matched twin's ODE states (`ode_hist`, `ode_fut` extras)
    /// appended to encoder and decoder inputs (eqs. 9–10).
    static let physioSeq2Seq = ModelSpec(
        name: "physio_seq2seq",
        summary: "PhysioSeq2Seq: encoder–decoder LSTM with the matched twin's ODE states (section 3.5)",
        parse: { m in try parseSeq2SeqKeys(m, name: "physio_seq2seq") },
        build: { config, shape, seed in
            if let problem = shape.odeStatesProblem(model: "physio_seq2seq",
                                                    names: [PrepareODEStates.history, PrepareODEStates.future]) {
                throw ModelBuildError(description: problem)
            }
            return PhysioSeq2SeqForecaster(pastFeatures: shape.pastFeatures.count, futureFeatures: shape.futureFeatures.count,
                                           hidden: Int(config.values["hidden"]!), dropout: Float(config.values["dropout"]!),
                                           huberDelta: Float(config.values["huber_delta"]!),
                                           targetSpace: try shape.targetSpace(residual: config.values["residual"]! != 0,
                                                                              model: "physio_seq2seq"),
                                           seed: seed)
        })

    // MARK: digital_twin

    /// The "Digital twin" baseline (section 4.2) for a dataset prepared with `data.ode_states: true`:
    /// the stored basal-only forecast of the matched twin. Parameter-less; for evaluation, not training.
    /// - Throws: `ModelBuildError` if the dataset has no `twin_forecast` extra of shape [H].
    public static func digitalTwin(shape: DatasetShape, huberDelta: Float = 1) throws -> DigitalTwinForecaster {
        if let problem = shape.odeStatesProblem(model: "digital_twin", names: [PrepareODEStates.twinForecast]) {
            throw ModelBuildError(description: problem)
        }
        return DigitalTwinForecaster(huberDelta: huberDelta)
    }
}
