// One searched hyperparameter: a config key path ("model.hidden", "train.optimizer.lr") and how its value
// is drawn. Values become `--set`-style overrides (YAML text), so a trial's configuration is exactly
// `cgmtrain train --config BASE --set key=value ...` and is validated by the same strict RunConfig parser.
//
//   model.hidden: [64, 128]                                  choice (shorthand)
//   model.hidden: {choice: [64, 128]}                        choice: one of the listed values, uniformly
//   model.dropout: {uniform: [0.0, 0.3]}                     uniform real in [lo, hi)
//   train.optimizer.lr: {log_uniform: [1.0e-4, 1.0e-2]}      exp(uniform(ln lo, ln hi)), 0 < lo < hi
//   train.batch_size: {integer: [16, 64], step: 16}          uniform over lo, lo + step, …, ≤ hi (step 1 default)
//
// Choice values may be numbers, strings, booleans or flat lists (e.g. optimizer betas).

import CGMData
import Config
import Foundation
import Training

/// How one hyperparameter is drawn.
public enum SweepDistribution: Equatable {
    /// One of the values (YAML texts), uniformly.
    case choice([String])
    /// Uniform real in [lo, hi).
    case uniform(Double, Double)
    /// Log-uniform real in [lo, hi), 0 < lo.
    case logUniform(Double, Double)
    /// Uniform over lo, lo + step, …, ≤ hi.
    case integer(Int, Int, step: Int)

    /// Number of distinct values, nil for continuous distributions.
    public var cardinality: Int? {
        switch self {
        case .choice(let v): return v.count
        case .integer(let lo, let hi, let step): return (hi - lo) / step + 1
        case .uniform, .logUniform: return nil
        }
    }

    /// One value (YAML text) drawn from `rng`.
    func value(rng: inout SamplerRNG) -> String {
        switch self {
        case .choice(let values):
            return values[Int(rng.next(below: UInt64(values.count)))]
        case .integer(let lo, _, let step):
            return "\(lo + step * Int(rng.next(below: UInt64(cardinality!))))"
        case .uniform(let lo, let hi):
            return YAMLNode.formatDouble(min(lo + Self.unit(&rng) * (hi - lo), hi.nextDown))
        case .logUniform(let lo, let hi):
            let v = Foundation.exp(Foundation.log(lo) + Self.unit(&rng) * (Foundation.log(hi) - Foundation.log(lo)))
            return YAMLNode.formatDouble(Swift.max(lo, Swift.min(v, hi.nextDown)))
        }
    }

    /// A uniform double in [0, 1) from the top 53 bits.
    static func unit(_ rng: inout SamplerRNG) -> Double { Double(rng.next() >> 11) * 0x1p-53 }

    /// Short description for tables and help ("{64, 128}", "log-uniform [0.0001, 0.01)").
    public var summary: String {
        switch self {
        case .choice(let v): return "{" + v.joined(separator: ", ") + "}"
        case .uniform(let lo, let hi): return "uniform [\(YAMLNode.formatDouble(lo)), \(YAMLNode.formatDouble(hi)))"
        case .logUniform(let lo, let hi): return "log-uniform [\(YAMLNode.formatDouble(lo)), \(YAMLNode.formatDouble(hi)))"
        case .integer(let lo, let hi, let step): return "integer \(lo)…\(hi)" + (step == 1 ? "" : " step \(step)")
        }
    }
}

/// One searched key.
public struct SweepDimension: Equatable {
    /// Config key path, e.g. "train.optimizer.lr".
    public var key: String
    public var distribution: SweepDistribution

    /// Parses the value of `space.<key>`; `map` is the `space` mapping reader (errors name space.<key>).
    static func parse(key: String, value: Any, in map: ConfigMap) throws -> SweepDimension {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }),
              ["data", "model", "train"].contains(String(parts[0])) else {
            throw map.error(key, "is not a config key path like model.hidden or train.optimizer.lr (it must start with data., model. or train.)")
        }
        if let list = value as? [Any] { return SweepDimension(key: key, distribution: try choice(list, key, map)) }
        guard let spec = value as? [String: Any] else {
            throw map.error(key, "must be a list of choices or a mapping {choice: [...]} / {uniform: [lo, hi]} / "
                            + "{log_uniform: [lo, hi]} / {integer: [lo, hi], step: s} (got \(ConfigMap.describe(value)))")
        }
        let kinds = ["choice", "uniform", "log_uniform", "integer"]
        let given = kinds.filter { spec[$0] != nil }
        guard given.count == 1, let kind = given.first else {
            throw map.error(key, "must name exactly one of \(kinds.joined(separator: ", ")) (got \(spec.keys.sorted().joined(separator: ", ")))")
        }
        let sub = ConfigMap(spec, path: map.keyPath(key), source: map.source)
        try sub.rejectUnknown(kind == "integer" ? ["integer", "step"] : [kind])
        switch kind {
        case "choice":
            guard let list = spec["choice"] as? [Any] else { throw sub.error("choice", "must be a list of values") }
            return SweepDimension(key: key, distribution: try choice(list, key, map))
        case "integer":
            guard let pair = spec["integer"] as? [Any], pair.count == 2,
                  let lo = pair[0] as? Int, let hi = pair[1] as? Int, !(pair[0] is Bool), !(pair[1] is Bool) else {
                throw sub.error("integer", "must be [lo, hi] with two integers")
            }
            guard lo <= hi else { throw sub.error("integer", "must have lo ≤ hi (got [\(lo), \(hi)])") }
            let step = try sub.int("step", in: 1...Int(Int32.max)) ?? 1
            return SweepDimension(key: key, distribution: .integer(lo, hi, step: step))
        default:
            guard let pair = try sub.doubles(kind, count: 2) else { throw sub.error(kind, "must be [lo, hi]") }
            let (lo, hi) = (pair[0], pair[1])
            guard lo.isFinite, hi.isFinite, lo < hi else {
                throw sub.error(kind, "must have finite lo < hi (got [\(ConfigMap.show(lo)), \(ConfigMap.show(hi))])")
            }
            if kind == "uniform" { return SweepDimension(key: key, distribution: .uniform(lo, hi)) }
            guard lo > 0 else { throw sub.error(kind, "needs lo > 0 (got \(ConfigMap.show(lo)))") }
            return SweepDimension(key: key, distribution: .logUniform(lo, hi))
        }
    }

    private static func choice(_ list: [Any], _ key: String, _ map: ConfigMap) throws -> SweepDistribution {
        guard !list.isEmpty else { throw map.error(key, "needs at least one choice") }
        var texts: [String] = []
        for (i, item) in list.enumerated() {
            guard let t = yamlText(item) else {
                throw map.error("\(key)[\(i)]", "must be a number, string, boolean or flat list (got \(ConfigMap.describe(item)))")
            }
            guard !texts.contains(t) else { throw map.error("\(key)[\(i)]", "repeats the choice \(t)") }
            texts.append(t)
        }
        return .choice(texts)
    }

    /// A YAML-loaded scalar (or flat list of scalars) as YAML text that loads back to the same value.
    static func yamlText(_ v: Any) -> String? {
        if let b = v as? Bool { return b ? "true" : "false" }
        if let i = v as? Int { return "\(i)" }
        if let d = v as? Double { return YAMLNode.formatDouble(d) }
        if let s = v as? String { return YAMLNode.quoteIfNeeded(s) }
        if let list = v as? [Any] {
            let items = list.map(yamlText)
            guard items.allSatisfy({ $0 != nil }), !list.contains(where: { $0 is [Any] }) else { return nil }
            return "[" + items.map { $0! }.joined(separator: ", ") + "]"
        }
        return nil
    }
}
