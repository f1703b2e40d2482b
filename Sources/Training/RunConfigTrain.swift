// The `train:` section: optimization protocol, validation cadence, early stopping, checkpoint retention
// and runtime knobs. Every key has a default (shown below); the resolved section lists them all.
//
//   train:
//     seed: 0                       # parameter init, epoch shuffles (seed + epoch), dropout keys
//     batch_size: 32                # windows per rank per micro-batch (global batch = ranks × this)
//     accumulate_grad_batches: 1    # micro-batches summed into one optimizer step (Lightning semantics)
//     max_epochs: 100
//     optimizer: {name: adam, lr: 1.0e-3, weight_decay: 0.0, betas: [0.9, 0.999], eps: 1.0e-8}
//                                   # adamw (weight_decay default 0.01) | sgd {lr, momentum, dampening,
//                                   #   weight_decay, nesterov}
//     scheduler: {name: none}       # reduce_on_plateau {factor 0.1, patience 10, min_lr 0, threshold 1e-4,
//                                   #   threshold_mode rel, cooldown 0}: stepped at every epoch end with
//                                   #   that epoch's last validation loss (Lightning's default interval)
//                                   # one_cycle {max_lr = optimizer lr, pct_start 0.3, div_factor 25,
//                                   #   final_div_factor 1e4, anneal cos, three_phase false,
//                                   #   cycle_momentum true, base_momentum 0.85, max_momentum 0.95}: per step,
//                                   #   total steps = max_epochs × steps per epoch
//                                   # step {step_size 30 (epochs), gamma 0.1}: per epoch
//                                   # cosine_warmup {warmup_steps 0, min_lr_ratio 0}: per step, to
//                                   #   max_epochs × steps per epoch
//     gradient_clip: 0.0            # max global L2 norm of the averaged gradient; 0 = off (SSM-CGM: 1.0)
//     val_check_interval: 1.0       # float in (0, 1]: fraction of an epoch (0.2 = 5 checks per epoch, as
//                                   #   SSM-CGM); integer: every N optimizer steps. Counted in optimizer
//                                   #   steps within the epoch (= batches without accumulation, as
//                                   #   Lightning); every epoch also ends with a check if its last step
//                                   #   was not one, so every epoch has a validation loss.
//     early_stopping: {patience: 15, min_delta: 0.0}   # patience in validation checks (Lightning); off = none
//     top_k: 3                      # best checkpoints kept by validation loss (0 = none; best.h5 always)
//     bucket_cap_mb: 25             # gradient all-reduce bucket size (DataParallel; PyTorch DDP default)
//     check_replicas: 0             # every N steps verify all replicas hold identical parameters; 0 = off
//     prefetch_depth: 2             # batches read ahead by the background reader
//     log_every_seconds: 10.0       # plain progress line period when stdout is not a terminal
//     checkpoint_interval_minutes: 0.0   # also write last.h5 every N minutes (0 = only at validation checks,
//                                   #   epoch ends and stops)
//     collective_timeout_s: 1800.0  # a collective not completed by every rank within this many seconds ends
//                                   #   the job, naming it and the ranks that did not arrive (PyTorch's default)

import Config
import Foundation

/// When validation runs.
public enum ValCheckInterval: Equatable {
    /// A fraction of an epoch's optimizer steps, in (0, 1].
    case fraction(Double)
    /// Every N optimizer steps.
    case steps(Int)

    /// Optimizer steps between checks for an epoch of `stepsPerEpoch` steps (Lightning: int(f × steps), ≥ 1).
    public func interval(stepsPerEpoch: Int) -> Int {
        switch self {
        case .fraction(let f): return max(1, Int(Double(stepsPerEpoch) * f))
        case .steps(let n): return n
        }
    }
}

/// Optimizer settings.
public struct OptimizerConfig: ConfigSection, Equatable {
    public enum Name: String, CaseIterable { case adam, adamw, sgd }
    public var name: Name = .adam
    public var lr = 1e-3
    /// adamw: 0.01 (set by `readVariant`).
    public var weightDecay = 0.0
    public var betas = [0.9, 0.999]
    public var eps = 1e-8
    public var momentum = 0.0
    public var dampening = 0.0
    public var nesterov = false

    public init() {}
    /// Every default.
    public static var defaults: OptimizerConfig { OptimizerConfig() }

    public mutating func readVariant(_ m: ConfigMap) throws {
        if let n = try m.choice("name", Name.allCases.map(\.rawValue)) { name = Name(rawValue: n)! }
        if name == .adamw { weightDecay = 1e-2 }
    }

    public var unknownKeyContext: String { " for optimizer \(name.rawValue)" }

    public var keys: [ConfigKey<OptimizerConfig>] {
        let common: [ConfigKey<OptimizerConfig>] = [
            .choice("name", \.name), .double("lr", \.lr, "≥ 0") { $0 >= 0 },
            .double("weight_decay", \.weightDecay, "≥ 0") { $0 >= 0 },
        ]
        switch name {
        case .adam, .adamw:
            return common + [.doubles("betas", \.betas, count: 2, "two numbers in [0, 1)") { (0..<1).contains($0) },
                             .double("eps", \.eps, "≥ 0") { $0 >= 0 }]
        case .sgd:
            return common + [.double("momentum", \.momentum, "≥ 0") { $0 >= 0 },
                             .double("dampening", \.dampening, "in [0, 1]") { (0...1).contains($0) },
                             .bool("nesterov", \.nesterov)]
        }
    }

    public func validate(_ m: ConfigMap) throws {
        if nesterov && (momentum <= 0 || dampening != 0) { throw m.error("nesterov", "needs momentum > 0 and dampening 0") }
    }
}

/// Learning-rate scheduler settings.
public struct SchedulerConfig: ConfigSection, Equatable {
    public enum Name: String, CaseIterable {
        case none, reduceOnPlateau = "reduce_on_plateau", oneCycle = "one_cycle", step, cosineWarmup = "cosine_warmup"
    }
    public enum ThresholdMode: String, CaseIterable { case rel, abs }
    public enum Anneal: String, CaseIterable { case cos, linear }
    public var name: Name = .none
    // reduce_on_plateau (PyTorch defaults)
    public var factor = 0.1, patience = 10, minLR = 0.0, threshold = 1e-4, thresholdMode = ThresholdMode.rel, cooldown = 0
    // one_cycle (PyTorch defaults); maxLR nil = the optimizer's lr (resolved by TrainConfig)
    public var maxLR: Double?, pctStart = 0.3, divFactor = 25.0, finalDivFactor = 1e4, anneal = Anneal.cos
    public var threePhase = false, cycleMomentum = true, baseMomentum = 0.85, maxMomentum = 0.95
    // step
    public var stepSize = 30, gamma = 0.1
    // cosine_warmup
    public var warmupSteps = 0, minLRRatio = 0.0

    public init() {}
    /// Every default.
    public static var defaults: SchedulerConfig { SchedulerConfig() }

    /// Whether the schedule's length is derived from `max_epochs` (then max_epochs may not change on resume).
    public var dependsOnMaxEpochs: Bool { name == .oneCycle || name == .cosineWarmup }

    public mutating func readVariant(_ m: ConfigMap) throws {
        if let n = try m.choice("name", Name.allCases.map(\.rawValue)) { name = Name(rawValue: n)! }
    }

    public var unknownKeyContext: String { " for scheduler \(name.rawValue)" }

    public var keys: [ConfigKey<SchedulerConfig>] {
        let unit: (Double) -> Bool = { $0 > 0 && $0 < 1 }, momentum: (Double) -> Bool = { (0..<1).contains($0) }
        var keys: [ConfigKey<SchedulerConfig>] = [.choice("name", \.name)]
        switch name {
        case .none: break
        case .reduceOnPlateau:
            keys += [.double("factor", \.factor, "in (0, 1)", unit), .int("patience", \.patience, 0...1_000_000),
                     .double("min_lr", \.minLR, "≥ 0") { $0 >= 0 }, .double("threshold", \.threshold, "≥ 0") { $0 >= 0 },
                     .choice("threshold_mode", \.thresholdMode), .int("cooldown", \.cooldown, 0...1_000_000)]
        case .oneCycle:
            keys += [ConfigKey("max_lr", read: { m, s in if let v = try m.double("max_lr", "> 0", { $0 > 0 }) { s.maxLR = v } },
                               write: { s in s.maxLR.map(YAMLNode.double) }),
                     .double("pct_start", \.pctStart, "in (0, 1)", unit), .double("div_factor", \.divFactor, "> 0") { $0 > 0 },
                     .double("final_div_factor", \.finalDivFactor, "> 0") { $0 > 0 }, .choice("anneal", \.anneal),
                     .bool("three_phase", \.threePhase), .bool("cycle_momentum", \.cycleMomentum),
                     .double("base_momentum", \.baseMomentum, "in [0, 1)", momentum),
                     .double("max_momentum", \.maxMomentum, "in [0, 1)", momentum)]
        case .step:
            keys += [.int("step_size", \.stepSize, 1...1_000_000), .double("gamma", \.gamma, "> 0") { $0 > 0 }]
        case .cosineWarmup:
            keys += [.int("warmup_steps", \.warmupSteps, 0...100_000_000),
                     .double("min_lr_ratio", \.minLRRatio, "in [0, 1]") { (0...1).contains($0) }]
        }
        return keys
    }

    public func validate(_ m: ConfigMap) throws {
        if name == .oneCycle && baseMomentum > maxMomentum { throw m.error("base_momentum", "must be ≤ max_momentum") }
    }
}

/// Early stopping settings (nil patience = off).
public struct EarlyStoppingConfig: ConfigSection, Equatable {
    /// Validation checks without improvement before stopping; nil = early stopping off.
    public var patience: Int? = 15
    /// Minimum decrease of the validation loss that counts as an improvement.
    public var minDelta = 0.0

    public init() {}
    /// Every default.
    public static var defaults: EarlyStoppingConfig { EarlyStoppingConfig() }

    public var keys: [ConfigKey<EarlyStoppingConfig>] {
        [ConfigKey("patience", read: { m, s in if let v = try m.int("patience", in: 1...1_000_000) { s.patience = v } },
                   write: { s in s.patience.map(YAMLNode.int) }),
         .double("min_delta", \.minDelta, "≥ 0") { $0 >= 0 }]
    }

    /// The section as written: `off`, or its keys.
    var node: YAMLNode { patience == nil ? .scalar("off") : yamlNode }

    /// Reads `early_stopping:` of `m`: off (null, false, off, none) or a mapping of its keys.
    static func read(_ m: ConfigMap) throws -> EarlyStoppingConfig? {
        guard let raw = m.dict["early_stopping"] else { return nil }
        if raw is NSNull || (raw as? Bool) == false || (raw as? String).map({ ["off", "none"].contains($0.lowercased()) }) == true {
            var off = EarlyStoppingConfig()
            off.patience = nil
            return off
        }
        return try parse(try m.sub("early_stopping"))
    }
}

/// The `train:` section.
public struct TrainConfig: ConfigSection, Equatable {
    public var seed: UInt64 = 0
    public var batchSize = 32
    public var accumulateGradBatches = 1
    public var maxEpochs = 100
    public var optimizer = OptimizerConfig()
    public var scheduler = SchedulerConfig()
    public var gradientClip = 0.0
    public var valCheckInterval = ValCheckInterval.fraction(1.0)
    public var earlyStopping = EarlyStoppingConfig()
    public var topK = 3
    public var bucketCapMB = 25
    public var checkReplicas = 0
    public var prefetchDepth = 2
    public var logEverySeconds = 10.0
    public var checkpointIntervalMinutes = 0.0
    public var collectiveTimeoutSeconds = 1800.0

    public init() {}
    /// Every default.
    public static var defaults: TrainConfig { TrainConfig() }

    /// Keys that may change when a run is resumed: they do not affect the numbers.
    static let resumeMutableKeys: Set = ["train.log_every_seconds", "train.prefetch_depth", "train.check_replicas",
                                         "train.bucket_cap_mb", "train.checkpoint_interval_minutes",
                                         "train.collective_timeout_s"]

    public var keys: [ConfigKey<TrainConfig>] { Self.keyTable }

    private static let keyTable: [ConfigKey<TrainConfig>] = [
        .seed("seed", \.seed),
        .int("batch_size", \.batchSize, 1...1_000_000),
        .int("accumulate_grad_batches", \.accumulateGradBatches, 1...10_000),
        .int("max_epochs", \.maxEpochs, 1...1_000_000),
        .section("optimizer", \.optimizer),
        .section("scheduler", \.scheduler),
        .double("gradient_clip", \.gradientClip, "≥ 0 (0 = off)") { $0 >= 0 },
        ConfigKey("val_check_interval", read: { m, c in
            guard let raw = m.dict["val_check_interval"] else { return }
            if let n = raw as? Int, !(raw is Bool) {
                guard n >= 1 else { throw m.error("val_check_interval", "must be a fraction in (0, 1] or a number of steps ≥ 1 (got \(n))") }
                c.valCheckInterval = .steps(n)
            } else if let f = raw as? Double {
                guard f > 0 && f <= 1 else {
                    throw m.error("val_check_interval", "must be a fraction of an epoch in (0, 1] or an integer number of steps (got \(ConfigMap.show(f)))")
                }
                c.valCheckInterval = .fraction(f)
            } else {
                throw m.error("val_check_interval", "must be a fraction in (0, 1] or an integer number of steps (got \(ConfigMap.describe(raw)))")
            }
        }, write: { c in
            switch c.valCheckInterval {
            case .fraction(let f): return .double(f)
            case .steps(let n): return .int(n)
            }
        }),
        ConfigKey("early_stopping", read: { m, c in if let es = try EarlyStoppingConfig.read(m) { c.earlyStopping = es } },
                  write: { $0.earlyStopping.node }),
        .int("top_k", \.topK, 0...100),
        .int("bucket_cap_mb", \.bucketCapMB, 1...4096),
        .int("check_replicas", \.checkReplicas, 0...100_000_000),
        .int("prefetch_depth", \.prefetchDepth, 1...64),
        .double("log_every_seconds", \.logEverySeconds, "> 0") { $0 > 0 },
        .double("checkpoint_interval_minutes", \.checkpointIntervalMinutes, "≥ 0 (0 = off)") { $0 >= 0 },
        .double("collective_timeout_s", \.collectiveTimeoutSeconds, "> 0") { $0 > 0 },
    ]

    /// The scheduler's checks that need the optimizer, and one_cycle's max_lr resolved to the optimizer's lr.
    public mutating func validate(_ m: ConfigMap) throws {
        guard scheduler.name == .oneCycle else { return }
        if scheduler.maxLR == nil { scheduler.maxLR = optimizer.lr }
        if scheduler.cycleMomentum && optimizer.name == .sgd && optimizer.momentum == 0 {
            throw ConfigError(source: m.source, key: m.keyPath("scheduler.cycle_momentum"),
                              "needs an optimizer with momentum (sgd momentum > 0, adam or adamw)")
        }
    }
}
