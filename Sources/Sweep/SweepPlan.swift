// The trial list of a sweep and each trial's training configuration.
//
// Sampling (identical on every rank, no communication needed): trial i's value of key k is drawn from
// SplitMix64 (CGMData's SamplerRNG) seeded with FNV-1a 64 of "cgmtrain-sweep/<seed>/<i>/<attempt>/<k>".
// Each (trial, key) has its own stream, so adding a key to the space, or reordering the file, leaves the
// other keys' draws unchanged. With `unique: true` (default) a configuration equal to an earlier trial's
// is redrawn with attempt + 1, so trial i depends only on trials < i: raising `trials` extends the same
// list, which is what lets a finished sweep be continued with more trials.
//
// A trial's configuration is the base config with `fixed` then the trial's overrides applied as `--set`
// arguments, validated by RunConfig; an error names the sweep file and the searched key (space.<key>).
// Trials whose configuration is invalid are recorded as failed; if every trial is invalid (e.g. a key
// path the base config's model does not have), the sweep itself is refused.

import CGMData
import Config
import Foundation
import Training

/// One trial: its index and the values drawn for the searched keys.
public struct SweepTrial: Equatable, Codable {
    public var index: Int
    /// One override per searched key, sorted by key path.
    public var overrides: [SweepOverride]

    /// "trial-007", the trial's run directory under the sweep directory.
    public var name: String { Self.name(index) }
    public static func name(_ index: Int) -> String {
        let s = String(index)
        return "trial-" + String(repeating: "0", count: max(0, 3 - s.count)) + s
    }

    /// The drawn value of `key`, if searched.
    public func value(_ key: String) -> String? { overrides.first { $0.key == key }?.value }
}

/// Deterministic random search.
public enum SweepSampler {
    /// The trial list of `config` (a pure function of seed, space, trials and unique).
    public static func trials(_ config: SweepConfig) -> [SweepTrial] {
        var out: [SweepTrial] = []
        var seen = Set<[String]>()
        for i in 0..<config.trials {
            var attempt = 0
            while true {
                let overrides = config.space.map { d -> SweepOverride in
                    var rng = SamplerRNG(seed: streamSeed(config.seed, trial: i, attempt: attempt, key: d.key))
                    return SweepOverride(key: d.key, value: d.distribution.value(rng: &rng))
                }
                let signature = overrides.map(\.value)
                // The space has ≥ trials distinct configurations (checked when parsing), so this ends; the cap
                // only guards against a pathological near-exhausted space.
                if !config.unique || !seen.contains(signature) || attempt >= 100_000 {
                    seen.insert(signature)
                    out.append(SweepTrial(index: i, overrides: overrides))
                    break
                }
                attempt += 1
            }
        }
        return out
    }

    /// The seed of the stream that draws `key` for `trial` (`attempt` > 0 after duplicates).
    static func streamSeed(_ seed: UInt64, trial: Int, attempt: Int, key: String) -> UInt64 {
        var h = FNV1a64()
        h.add("cgmtrain-sweep/\(seed)/\(trial)/\(attempt)/\(key)")
        return h.value
    }
}

/// A sweep resolved against its base config: every trial's RunConfig (or why it is invalid).
public struct SweepPlan {
    public let config: SweepConfig
    /// The base config file's text (rank 0 reads it; every rank parses the same bytes).
    public let baseText: String
    public let trials: [SweepTrial]
    /// Per trial: the validated configuration, or the error naming the sweep file and key.
    public let configs: [Result<RunConfig, ConfigError>]

    /// Resolves every trial; throws when no trial has a valid configuration.
    public init(config: SweepConfig, baseText: String) throws {
        self.config = config
        self.baseText = baseText
        trials = SweepSampler.trials(config)
        // The base config alone must be readable (its own errors name the base file).
        _ = try RunConfig.parse(yaml: baseText, source: config.base)
        configs = trials.map { t in Result { try Self.resolve(config, baseText, t) }.mapError { $0 as! ConfigError } }
        if !configs.contains(where: { if case .success = $0 { return true } else { return false } }),
           case .failure(let first) = configs[0] {
            throw first
        }
    }

    /// The configuration of trial `t`, or the error (naming space.<key> / fixed.<key> of the sweep file).
    public func runConfig(_ index: Int) throws -> RunConfig { try configs[index].get() }

    /// The `--set` arguments of trial `index`: fixed keys, then the searched ones.
    public func arguments(_ index: Int) -> [String] { (config.fixed + trials[index].overrides).map(\.argument) }

    static func resolve(_ config: SweepConfig, _ baseText: String, _ trial: SweepTrial) throws -> RunConfig {
        let all = config.fixed + trial.overrides
        do {
            let overrides = try all.map { try ConfigOverride($0.argument) }
            return try RunConfig.parse(yaml: baseText, source: config.base, overrides: overrides)
        } catch let e as ConfigError {
            // Name the sweep key that introduced the bad value (RunConfig names it as "--set key=value").
            let culprit = all.last { e.source == "--set \($0.argument)" || e.key == $0.key || e.key.hasPrefix($0.key + ".") }
            guard let o = culprit else { throw e }
            let section = config.fixed.contains(o) ? "fixed" : "space"
            throw ConfigError(source: config.source, key: "\(section).\(o.key)",
                                 "(trial \(trial.index): \(o.argument)): \(e.key.isEmpty ? "" : e.key + " ")\(e.message)")
        } catch {
            throw ConfigError(source: config.source, key: "", "trial \(trial.index): \(error)")
        }
    }
}
