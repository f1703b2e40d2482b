import Foundation
import Yams

/// Settings of the toy sequence task, read strictly from YAML: unknown keys, wrong types and
/// out-of-range values are errors naming the file and the key.
public struct ToyConfig {
    public var seed: UInt64 = 7
    public var history = 24, horizon = 8, hidden = 32, batchSize = 32, steps = 600
    public var learningRate: Float = 0.01
    public var evalEvery = 100, evalSamples = 512

    public init() {}

    public init(path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError("\(path): cannot read the file")
        }
        try self.init(yaml: text, source: path)
    }

    public init(yaml: String, source: String = "<yaml>") throws {
        let node: Any?
        do { node = try Yams.load(yaml: yaml) } catch { throw ConfigError("\(source): invalid YAML: \(error)") }
        guard let map = node as? [String: Any] else { throw ConfigError("\(source): expected a mapping of keys") }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let v = map[key] else { return nil }
            guard let i = v as? Int else { throw ConfigError("\(source): key '\(key)' must be an integer, got \(v)") }
            guard range.contains(i) else { throw ConfigError("\(source): key '\(key)' = \(i) outside \(range)") }
            return i
        }
        let known: Set = ["seed", "history", "horizon", "hidden", "batch_size", "steps", "learning_rate",
                          "eval_every", "eval_samples"]
        if let unknown = map.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError("\(source): unknown key '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        if let v = try int("seed", 0...Int.max) { seed = UInt64(v) }
        if let v = try int("history", 2...4096) { history = v }
        if let v = try int("horizon", 1...1024) { horizon = v }
        if let v = try int("hidden", 1...4096) { hidden = v }
        if let v = try int("batch_size", 1...65536) { batchSize = v }
        if let v = try int("steps", 1...10_000_000) { steps = v }
        if let v = try int("eval_every", 1...10_000_000) { evalEvery = v }
        if let v = try int("eval_samples", 1...10_000_000) { evalSamples = v }
        if let v = map["learning_rate"] {
            guard let d = (v as? Double) ?? (v as? Int).map(Double.init), d > 0, d < 10 else {
                throw ConfigError("\(source): key 'learning_rate' must be a number in (0, 10), got \(v)")
            }
            learningRate = Float(d)
        }
    }
}

/// A configuration error; its message names the file and key.
public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
