// Model registry: `model.name` in a config → a strict parser of the model's keys (defaults filled in,
// unknown keys / wrong types / out-of-range values are errors naming the key) and a builder that makes
// the `ForecastModel` for a prepared dataset's dimensions. New models register one `ModelSpec`.
//
//   model:
//     name: seq2seq       # PhysioSeq2Seq's encoder–decoder LSTM (section 3.5), without ODE features
//     hidden: 64          # d, LSTM hidden units (eq. 12)
//     dropout: 0.2        # p on the decoder outputs
//     huber_delta: 1.0    # δ of the Huber loss in eq. 11-scaled space (eq. 15)
//
//   model:
//     name: physio_seq2seq  # the same network with the matched twin's ODE states appended (section 3.5,
//     hidden: 64            # eqs. 9–10); same keys; the dataset must be prepared with data.ode_states: true
//
// The parameter-less baselines `naive` and `digital_twin` (section 4.2) are in ModelRegistry+Baselines.swift.

import CGMSchema
import Config
import Foundation
import Models

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
    let parse: (ConfigMap) throws -> ModelConfig
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
    public static let all: [ModelSpec] = [seq2seq, physioSeq2Seq, recursiveLSTM, naive, digitalTwinModel, tft, ssmCGM,
                                          gluformer, mealDetector]

    /// The spec named `name`, or nil.
    public static func spec(_ name: String) -> ModelSpec? { all.first { $0.name == name } }

    /// Parses a `model:` mapping; errors name the key path and `source`.
    static func parse(_ m: ConfigMap) throws -> ModelConfig {
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
        parse: { m in
            try m.rejectUnknown(["name", "hidden", "dropout", "huber_delta"], context: " for model seq2seq")
            let hidden = try m.int("hidden", in: 1...4096) ?? 64
            let dropout = try m.double("dropout", "in [0, 1)", { (0..<1).contains($0) }) ?? 0.2
            let delta = try m.double("huber_delta", "> 0", { $0 > 0 }) ?? 1.0
            return ModelConfig(name: "seq2seq",
                               node: .map([("name", .string("seq2seq")), ("hidden", .int(hidden)),
                                           ("dropout", .double(dropout)), ("huber_delta", .double(delta))]),
                               values: ["hidden": Double(hidden), "dropout": dropout, "huber_delta": delta])
        },
        build: { config, shape, seed in
            guard !shape.futureFeatures.isEmpty else {
                throw ModelBuildError(description: "model seq2seq needs at least one known-future feature for its "
                                      + "decoder, but the dataset has none (future_features: []); prepare it with e.g. "
                                      + "future_features: [iob_scaled]")
            }
            return Seq2SeqForecaster(pastFeatures: shape.pastFeatures.count, futureFeatures: shape.futureFeatures.count,
                                     hidden: Int(config.values["hidden"]!), dropout: Float(config.values["dropout"]!),
                                     huberDelta: Float(config.values["huber_delta"]!), seed: seed)
        })

    // MARK: physio_seq2seq

    /// Parses seq2seq's keys for a model named `name`.
    static func parseSeq2SeqKeys(_ m: ConfigMap, name: String) throws -> ModelConfig {
        try m.rejectUnknown(["name", "hidden", "dropout", "huber_delta"], context: " for model \(name)")
        let hidden = try m.int("hidden", in: 1...4096) ?? 64
        let dropout = try m.double("dropout", "in [0, 1)", { (0..<1).contains($0) }) ?? 0.2
        let delta = try m.double("huber_delta", "> 0", { $0 > 0 }) ?? 1.0
        return ModelConfig(name: name,
                           node: .map([("name", .string(name)), ("hidden", .int(hidden)),
                                       ("dropout", .double(dropout)), ("huber_delta", .double(delta))]),
                           values: ["hidden": Double(hidden), "dropout": dropout, "huber_delta": delta])
    }

    /// PhysioSeq2Seq (section 3.5): seq2seq with the matched twin's ODE states (`ode_hist`, `ode_fut` extras)
    /// appended to encoder and decoder inputs (eqs. 9–10).
    static let physioSeq2Seq = ModelSpec(
        name: "physio_seq2seq",
        summary: "PhysioSeq2Seq: encoder–decoder LSTM with the matched twin's ODE states (section 3.5)",
        parse: { m in try parseSeq2SeqKeys(m, name: "physio_seq2seq") },
        build: { config, shape, seed in
            if let problem = shape.odeStatesProblem(model: "physio_seq2seq",
                                                    names: [ODEStateExtras.history, ODEStateExtras.future]) {
                throw ModelBuildError(description: problem)
            }
            return PhysioSeq2SeqForecaster(pastFeatures: shape.pastFeatures.count, futureFeatures: shape.futureFeatures.count,
                                           hidden: Int(config.values["hidden"]!), dropout: Float(config.values["dropout"]!),
                                           huberDelta: Float(config.values["huber_delta"]!), seed: seed)
        })

    // MARK: digital_twin

    /// The "Digital twin" baseline (section 4.2) for a dataset prepared with `data.ode_states: true`:
    /// the stored basal-only forecast of the matched twin. Parameter-less; for evaluation, not training.
    /// - Throws: `ModelBuildError` if the dataset has no `twin_forecast` extra of shape [H].
    public static func digitalTwin(shape: DatasetShape, huberDelta: Float = 1) throws -> DigitalTwinForecaster {
        if let problem = shape.odeStatesProblem(model: "digital_twin", names: [ODEStateExtras.twinForecast]) {
            throw ModelBuildError(description: problem)
        }
        return DigitalTwinForecaster(huberDelta: huberDelta)
    }
}
