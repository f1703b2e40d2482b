// A training run's configuration: `configs/X.yaml` plus `--set` overrides, validated strictly.
//
//   data:   the preparation recipe (`DataConfig`, parsed by CGMData). Optional: when present the trainer
//           checks that the prepared dataset's manifest `config_hash` equals its hash; when absent it
//           warns that it cannot check the dataset matches the intended recipe.
//   model:  `name` plus the model's keys (see ModelRegistry).
//   train:  optimization protocol and runtime (see TrainConfig).
//
// Unknown keys, wrong types and out-of-range values are errors naming the file (or the `--set`
// argument that introduced the value) and the full key path. The resolved configuration (every
// default filled in, canonical key order) is what RUN/config.yaml and every checkpoint store; its
// FNV-1a 64 hash identifies the configuration.

import CGMData
import Config
import Foundation
import Models

/// A validated training configuration.
public struct RunConfig: Equatable {
    /// The preparation recipe, if the config has a `data:` section.
    public var data: DataConfig?
    /// The model and its settings.
    public var model: ModelConfig
    /// Training protocol.
    public var train: TrainConfig

    /// Reads and validates `path`, applying `overrides` first.
    public static func load(path: String, overrides: [ConfigOverride] = []) throws -> RunConfig {
        try parse(yaml: try YAMLDocument.text(path: path), source: path, overrides: overrides)
    }

    /// Parses YAML text (`source` names it in errors), applying `overrides` first.
    public static func parse(yaml: String, source: String = "<config>", overrides: [ConfigOverride] = []) throws -> RunConfig {
        var root = try YAMLDocument.mapping(yaml, source: source, expected: "a mapping with data:, model: and train: sections",
                                            emptyIsMapping: true)
        for o in overrides { try o.apply(to: &root) }
        do {
            return try parse(ConfigMap(root, path: "", source: source))
        } catch var e as ConfigError {
            // Name the --set argument when the offending value came from one.
            func involves(_ o: ConfigOverride) -> Bool {
                let path = o.path.joined(separator: ".")
                return e.key == path || e.key.hasPrefix(path + ".") || (!e.key.isEmpty && path.hasPrefix(e.key + "."))
            }
            if let o = overrides.last(where: involves) { e.source = o.argument }
            throw e
        }
    }

    /// Parses a configuration stored in a checkpoint. Checkpoints written before `model.residual` existed trained
    /// heads in absolute space, so a stored `model:` section without that key (of a model that has it) reads as
    /// `residual: false` rather than taking today's default.
    public static func parseStored(yaml: String, source: String) throws -> RunConfig {
        let model = (try? YAMLDocument.mapping(yaml, source: source, expected: "a mapping"))?["model"] as? [String: Any]
        var overrides: [ConfigOverride] = []
        if let model, model["residual"] == nil, let name = model["name"] as? String, ModelRegistry.model(name, hasKey: "residual") {
            overrides.append(try ConfigOverride("model.residual=false"))
        }
        return try parse(yaml: yaml, source: source, overrides: overrides)
    }

    static func parse(_ top: ConfigMap) throws -> RunConfig {
        try top.rejectUnknown(["data", "model", "train"])
        let data = try top.map("data").map { _ in try DataConfig.parse(try top.sub("data")) }
        guard top.has("model") else {
            throw top.error("model", "section is required (e.g. model: {name: seq2seq})")
        }
        let model = try ModelRegistry.parse(try top.sub("model"))
        let train = try TrainConfig.parse(try top.sub("train"))
        return RunConfig(data: data, model: model, train: train)
    }

    /// The resolved configuration as an ordered tree.
    public var node: YAMLNode {
        var e: [(String, YAMLNode)] = []
        if let data { e.append(("data", data.yamlNode)) }
        e.append(("model", model.node))
        e.append(("train", train.yamlNode))
        return .map(e)
    }

    /// The resolved configuration as YAML text (parses back to an equal config).
    public var yaml: String { "# cgmtrain resolved training configuration\n" + node.yaml }

    /// FNV-1a 64 of `yaml`, 16 hex digits.
    public var hash: String { DataConfig.fnv1a64Hex(yaml) }

    /// Differences from `other` (e.g. a checkpoint's config) that matter for resuming: everything except
    /// runtime knobs, and `train.max_epochs` unless the scheduler's length derives from it.
    public func resumeDifferences(from checkpoint: RunConfig) -> [String] {
        var ignoring = TrainConfig.resumeMutableKeys
        if !train.scheduler.dependsOnMaxEpochs && !checkpoint.train.scheduler.dependsOnMaxEpochs {
            ignoring.insert("train.max_epochs")
        }
        return YAMLNode.differences(checkpoint.node.flattened, node.flattened, ignoring: ignoring)
    }
}
