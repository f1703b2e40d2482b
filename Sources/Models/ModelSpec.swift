// A model's hyperparameters, owned by the model: a typed spec beside each model (Seq2SeqSpec,
// SSMCGM/SSMCGMSpec, …) whose properties carry the defaults, whose key table (Config's ConfigSection) reads
// and writes the `model:` section, whose `validate` names the key path of any inconsistency, and which
// builds the model for a prepared dataset. The registry (ModelRegistry.swift) only maps `model.name` to
// the spec type.

import CGMSchema
import Config

/// The hyperparameters of one registered model (the keys of its `model:` section besides `name`).
public protocol ModelSpec: ConfigSection, Equatable, Sendable {
    /// `model.name`.
    static var name: String { get }
    /// The model for a dataset of `shape`, initialized from `seed`.
    /// - Throws: `ModelBuildError` naming what the dataset lacks for this model.
    func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel
}

extension ModelSpec {
    /// " for model tft": how an unknown key is reported.
    public var unknownKeyContext: String { " for model \(Self.name)" }

    /// Whether the model's section has `key`.
    public static func hasKey(_ key: String) -> Bool { defaults.keys.contains { $0.name == key } }
}

/// A network's settings that hold the model's spec and read its hyperparameters through it (`config.dModel` is
/// `config.spec.dModel`), so no setting is declared twice. Conforming types are `@dynamicMemberLookup`.
public protocol ModelSpecHolder {
    associatedtype Spec: ModelSpec
    /// The hyperparameters.
    var spec: Spec { get set }
}

extension ModelSpecHolder {
    /// A hyperparameter of `spec`.
    public subscript<T>(dynamicMember keyPath: WritableKeyPath<Spec, T>) -> T {
        get { spec[keyPath: keyPath] }
        set { spec[keyPath: keyPath] = newValue }
    }
}

/// Error building a model for a dataset (e.g. the model needs inputs the dataset does not have).
public struct ModelBuildError: Error, CustomStringConvertible {
    public let description: String

    /// An error with `description` as its message.
    public init(_ description: String) { self.description = description }
}

extension ConfigKey {
    /// `quantiles`: a non-empty list of strictly ascending levels in (0, 1) (the quantile models' head).
    public static func quantiles(_ keyPath: WritableKeyPath<Section, [Double]>) -> ConfigKey {
        ConfigKey("quantiles", read: { m, s in
            guard m.has("quantiles") else { return }
            guard let list = m.dict["quantiles"] as? [Any], !list.isEmpty else {
                throw m.error("quantiles", "must be a non-empty list of levels in (0, 1), e.g. [0.1, 0.5, 0.9]")
            }
            let levels = try list.enumerated().map { i, item -> Double in
                guard let q = ConfigMap.number(item), q > 0, q < 1 else {
                    throw m.error("quantiles", "item \(i) must be a number in (0, 1) (got \(ConfigMap.describe(item)))")
                }
                return q
            }
            guard zip(levels, levels.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw m.error("quantiles", "must be strictly ascending (got \(levels.map(YAMLNode.formatDouble)))")
            }
            s[keyPath: keyPath] = levels
        }, write: { .doubles($0[keyPath: keyPath]) })
    }

    /// A dropout probability in [0, 1).
    public static func dropout(_ keyPath: WritableKeyPath<Section, Double>) -> ConfigKey {
        .double("dropout", keyPath, "in [0, 1)") { (0..<1).contains($0) }
    }

    /// `residual`: whether the head predicts the standardized change from the last observed glucose (TargetSpace).
    public static func residual(_ keyPath: WritableKeyPath<Section, Bool>) -> ConfigKey { .bool("residual", keyPath) }

    /// δ of a Huber loss (PhysioSeq2Seq eq. 15), > 0.
    public static func huberDelta(_ keyPath: WritableKeyPath<Section, Double>) -> ConfigKey {
        .double("huber_delta", keyPath, "> 0") { $0 > 0 }
    }
}
