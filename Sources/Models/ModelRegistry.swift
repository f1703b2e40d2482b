// Model registry: `model.name` in a config → the model's spec type (its keys, defaults, checks and builder
// live beside the model: Seq2SeqSpec.swift, Physio/PhysioSeq2SeqSpec.swift, RecursiveLSTMSpec.swift,
// NaiveSpec.swift, Physio/DigitalTwinSpec.swift, TFT/TFTSpec.swift, SSMCGM/SSMCGMSpec.swift,
// LinearAR/LinearARSpec.swift, GluFormer/GluFormerSpec.swift, MealDetectorSpec.swift). A new model adds its
// spec type to `all`.

import CGMSchema
import Config

/// A validated `model:` section: the model's spec, every default filled in.
public struct ModelConfig: Equatable {
    /// The parsed hyperparameters.
    public let spec: any ModelSpec

    /// A section holding `spec`.
    public init(_ spec: any ModelSpec) { self.spec = spec }

    /// Registry name.
    public var name: String { type(of: spec).name }

    /// The resolved section: `name` first, then the spec's keys in canonical order.
    public var node: YAMLNode { .map([("name", .string(name))] + spec.entries) }

    /// The spec as `T` (nil for another model).
    public func spec<T: ModelSpec>(as type: T.Type) -> T? { spec as? T }

    /// Builds the model for a dataset of `shape`, initialized from `seed`.
    public func build(for shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        try spec.build(for: shape, seed: seed)
    }

    public static func == (a: ModelConfig, b: ModelConfig) -> Bool { a.node == b.node }
}

/// The models `cgmtrain train` knows.
public enum ModelRegistry {
    /// Every registered model's spec type.
    public static let all: [any ModelSpec.Type] = [
        Seq2SeqSpec.self, PhysioSeq2SeqSpec.self, RecursiveLSTMSpec.self, NaiveSpec.self, DigitalTwinSpec.self,
        LinearARSpec.self, TFTSpec.self, SSMCGMSpec.self, GluFormerSpec.self, MealDetectorSpec.self,
    ]

    /// Every registered name, in registry order.
    public static var names: [String] { all.map { $0.name } }

    /// The spec type named `name`, or nil.
    public static func spec(_ name: String) -> (any ModelSpec.Type)? { all.first { $0.name == name } }

    /// Parses a `model:` mapping; errors name the key path and the source.
    public static func parse(_ m: ConfigMap) throws -> ModelConfig {
        guard let name = try m.string("name") else {
            throw m.error("name", "is required (one of: \(names.joined(separator: ", ")))")
        }
        guard let type = spec(name) else {
            throw m.error("name", "must be one of \(names.joined(separator: ", ")) (got '\(name)')")
        }
        return ModelConfig(try type.parse(m, alsoKnown: ["name"]))
    }

    /// Whether the model `name` has a key `key` (e.g. "residual").
    public static func model(_ name: String, hasKey key: String) -> Bool {
        spec(name)?.hasKey(key) ?? false
    }

    /// Builds the model named in `config` for a dataset of `shape`, initialized from `seed`.
    public static func build(_ config: ModelConfig, shape: DatasetShape, seed: UInt64) throws -> any ForecastModel {
        try config.build(for: shape, seed: seed)
    }
}
