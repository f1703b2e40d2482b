// Settings of the toy sequence task (`cgmtrain demo`, configs/toy.yaml), read strictly through Config:
// unknown keys, wrong types and out-of-range values are errors naming the file and the key.

import Config

/// Settings of the toy sequence task.
public struct ToyConfig: ConfigSection {
    public var seed: UInt64 = 7
    public var history = 24, horizon = 8, hidden = 32, batchSize = 32, steps = 600
    public var learningRate: Float = 0.01
    public var evalEvery = 100, evalSamples = 512

    public init() {}
    /// Every default.
    public static var defaults: ToyConfig { ToyConfig() }

    /// Reads and validates the YAML file at `path`.
    public init(path: String) throws {
        try self.init(yaml: try YAMLDocument.text(path: path, what: "the file"), source: path)
    }

    /// Parses YAML text; `source` names it in errors.
    public init(yaml: String, source: String = "<yaml>") throws {
        self = try Self.parse(ConfigMap(try YAMLDocument.mapping(yaml, source: source, expected: "a mapping of keys"),
                                        path: "", source: source))
    }

    public var keys: [ConfigKey<ToyConfig>] {
        [.seed("seed", \.seed), .int("history", \.history, 2...4096), .int("horizon", \.horizon, 1...1024),
         .int("hidden", \.hidden, 1...4096), .int("batch_size", \.batchSize, 1...65536), .int("steps", \.steps, 1...10_000_000),
         ConfigKey("learning_rate", read: { m, c in
             if let v = try m.double("learning_rate", "in (0, 10)", { $0 > 0 && $0 < 10 }) { c.learningRate = Float(v) }
         }, write: { .double(Double($0.learningRate)) }),
         .int("eval_every", \.evalEvery, 1...10_000_000), .int("eval_samples", \.evalSamples, 1...10_000_000)]
    }
}
