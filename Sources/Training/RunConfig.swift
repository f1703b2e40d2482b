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
import Foundation
import Yams

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
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw RunConfigError(source: path, key: "", "cannot read the config file")
        }
        return try parse(yaml: text, source: path, overrides: overrides)
    }

    /// Parses YAML text (`source` names it in errors), applying `overrides` first.
    public static func parse(yaml: String, source: String = "<config>", overrides: [ConfigOverride] = []) throws -> RunConfig {
        let node: Any?
        do {
            node = try Yams.load(yaml: yaml)
        } catch {
            throw RunConfigError(source: source, key: "", "invalid YAML: \(error)")
        }
        var root: [String: Any]
        if node == nil || node is NSNull { root = [:] } else {
            guard let map = node as? [String: Any] else {
                throw RunConfigError(source: source, key: "", "expected a mapping with data:, model: and train: sections")
            }
            root = map
        }
        for o in overrides { try o.apply(to: &root) }
        do {
            return try parse(root, source: source)
        } catch var e as RunConfigError {
            // Name the --set argument when the offending value came from one.
            func involves(_ o: ConfigOverride) -> Bool {
                let path = o.path.joined(separator: ".")
                return e.key == path || e.key.hasPrefix(path + ".") || (!e.key.isEmpty && path.hasPrefix(e.key + "."))
            }
            if let o = overrides.last(where: involves) {
                e.source = "--set \(o.path.joined(separator: "."))=\(o.text)"
            }
            throw e
        }
    }

    /// Parses a configuration stored in a checkpoint. Checkpoints written before `model.residual` existed trained
    /// heads in absolute space, so a stored `model:` section without that key (of a model that has it) reads as
    /// `residual: false` rather than taking today's default.
    public static func parseStored(yaml: String, source: String) throws -> RunConfig {
        let root = (try? Yams.load(yaml: yaml)) as? [String: Any]
        let model = root?["model"] as? [String: Any]
        var overrides: [ConfigOverride] = []
        if let model, model["residual"] == nil, let name = model["name"] as? String, ModelRegistry.residualModels.contains(name) {
            overrides.append(try ConfigOverride("model.residual=false"))
        }
        return try parse(yaml: yaml, source: source, overrides: overrides)
    }

    static func parse(_ root: [String: Any], source: String) throws -> RunConfig {
        let top = RunConfigMap(root, path: "", source: source)
        try top.rejectUnknown(["data", "model", "train"])
        var data: DataConfig?
        if let d = try top.map("data") {
            do {
                data = try DataConfig.parse(d, keyPath: "data")
            } catch let e as DataError {
                if case .config(let key)? = e.key { throw RunConfigError(source: source, key: key, e.message) }
                throw RunConfigError(source: source, key: "data", e.description)
            }
        }
        guard top.has("model") else {
            throw RunConfigError(source: source, key: "model", "section is required (e.g. model: {name: seq2seq})")
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
        e.append(("train", train.node))
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
        return configDifferences(checkpoint.node.flattened, node.flattened, ignoring: ignoring)
    }
}
