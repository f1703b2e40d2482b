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
public struct OptimizerConfig: Equatable {
    public enum Name: String, CaseIterable { case adam, adamw, sgd }
    public var name: Name = .adam
    public var lr = 1e-3
    public var weightDecay = 0.0
    public var betas = [0.9, 0.999]
    public var eps = 1e-8
    public var momentum = 0.0
    public var dampening = 0.0
    public var nesterov = false

    var node: YAMLNode {
        var e: [(String, YAMLNode)] = [("name", .string(name.rawValue)), ("lr", .double(lr)),
                                       ("weight_decay", .double(weightDecay))]
        switch name {
        case .adam, .adamw: e += [("betas", .list(betas.map(YAMLNode.formatDouble))), ("eps", .double(eps))]
        case .sgd: e += [("momentum", .double(momentum)), ("dampening", .double(dampening)), ("nesterov", .bool(nesterov))]
        }
        return .map(e)
    }

    static func parse(_ m: RunConfigMap) throws -> OptimizerConfig {
        var c = OptimizerConfig()
        if let n = try m.choice("name", Name.allCases.map(\.rawValue)) { c.name = Name(rawValue: n)! }
        let keys: [String]
        switch c.name {
        case .adam, .adamw: keys = ["name", "lr", "weight_decay", "betas", "eps"]
        case .sgd: keys = ["name", "lr", "weight_decay", "momentum", "dampening", "nesterov"]
        }
        try m.rejectUnknown(keys, context: " for optimizer \(c.name.rawValue)")
        if c.name == .adamw { c.weightDecay = 1e-2 }
        if let v = try m.double("lr", "≥ 0", { $0 >= 0 }) { c.lr = v }
        if let v = try m.double("weight_decay", "≥ 0", { $0 >= 0 }) { c.weightDecay = v }
        if let v = try m.doubles("betas", count: 2) {
            guard v.allSatisfy({ (0..<1).contains($0) }) else { throw m.error("betas", "must be two numbers in [0, 1)") }
            c.betas = v
        }
        if let v = try m.double("eps", "≥ 0", { $0 >= 0 }) { c.eps = v }
        if let v = try m.double("momentum", "≥ 0", { $0 >= 0 }) { c.momentum = v }
        if let v = try m.double("dampening", "in [0, 1]", { (0...1).contains($0) }) { c.dampening = v }
        if let v = try m.bool("nesterov") { c.nesterov = v }
        if c.nesterov && (c.momentum <= 0 || c.dampening != 0) {
            throw m.error("nesterov", "needs momentum > 0 and dampening 0")
        }
        return c
    }
}

/// Learning-rate scheduler settings.
public struct SchedulerConfig: Equatable {
    public enum Name: String, CaseIterable {
        case none, reduceOnPlateau = "reduce_on_plateau", oneCycle = "one_cycle", step, cosineWarmup = "cosine_warmup"
    }
    public var name: Name = .none
    // reduce_on_plateau (PyTorch defaults)
    public var factor = 0.1, patience = 10, minLR = 0.0, threshold = 1e-4, thresholdMode = "rel", cooldown = 0
    // one_cycle (PyTorch defaults); maxLR nil = the optimizer's lr
    public var maxLR: Double?, pctStart = 0.3, divFactor = 25.0, finalDivFactor = 1e4, anneal = "cos"
    public var threePhase = false, cycleMomentum = true, baseMomentum = 0.85, maxMomentum = 0.95
    // step
    public var stepSize = 30, gamma = 0.1
    // cosine_warmup
    public var warmupSteps = 0, minLRRatio = 0.0

    /// Whether the schedule's length is derived from `max_epochs` (then max_epochs may not change on resume).
    public var dependsOnMaxEpochs: Bool { name == .oneCycle || name == .cosineWarmup }

    func node(optimizerLR: Double) -> YAMLNode {
        var e: [(String, YAMLNode)] = [("name", .string(name.rawValue))]
        switch name {
        case .none: break
        case .reduceOnPlateau:
            e += [("factor", .double(factor)), ("patience", .int(patience)), ("min_lr", .double(minLR)),
                  ("threshold", .double(threshold)), ("threshold_mode", .string(thresholdMode)), ("cooldown", .int(cooldown))]
        case .oneCycle:
            e += [("max_lr", .double(maxLR ?? optimizerLR)), ("pct_start", .double(pctStart)),
                  ("div_factor", .double(divFactor)), ("final_div_factor", .double(finalDivFactor)),
                  ("anneal", .string(anneal)), ("three_phase", .bool(threePhase)), ("cycle_momentum", .bool(cycleMomentum)),
                  ("base_momentum", .double(baseMomentum)), ("max_momentum", .double(maxMomentum))]
        case .step: e += [("step_size", .int(stepSize)), ("gamma", .double(gamma))]
        case .cosineWarmup: e += [("warmup_steps", .int(warmupSteps)), ("min_lr_ratio", .double(minLRRatio))]
        }
        return .map(e)
    }

    static func parse(_ m: RunConfigMap, optimizer: OptimizerConfig) throws -> SchedulerConfig {
        var c = SchedulerConfig()
        if let n = try m.choice("name", Name.allCases.map(\.rawValue)) { c.name = Name(rawValue: n)! }
        let keys: [String]
        switch c.name {
        case .none: keys = ["name"]
        case .reduceOnPlateau: keys = ["name", "factor", "patience", "min_lr", "threshold", "threshold_mode", "cooldown"]
        case .oneCycle: keys = ["name", "max_lr", "pct_start", "div_factor", "final_div_factor", "anneal", "three_phase",
                                "cycle_momentum", "base_momentum", "max_momentum"]
        case .step: keys = ["name", "step_size", "gamma"]
        case .cosineWarmup: keys = ["name", "warmup_steps", "min_lr_ratio"]
        }
        try m.rejectUnknown(keys, context: " for scheduler \(c.name.rawValue)")
        if let v = try m.double("factor", "in (0, 1)", { $0 > 0 && $0 < 1 }) { c.factor = v }
        if let v = try m.int("patience", in: 0...1_000_000) { c.patience = v }
        if let v = try m.double("min_lr", "≥ 0", { $0 >= 0 }) { c.minLR = v }
        if let v = try m.double("threshold", "≥ 0", { $0 >= 0 }) { c.threshold = v }
        if let v = try m.choice("threshold_mode", ["rel", "abs"]) { c.thresholdMode = v }
        if let v = try m.int("cooldown", in: 0...1_000_000) { c.cooldown = v }
        if let v = try m.double("max_lr", "> 0", { $0 > 0 }) { c.maxLR = v }
        if let v = try m.double("pct_start", "in (0, 1)", { $0 > 0 && $0 < 1 }) { c.pctStart = v }
        if let v = try m.double("div_factor", "> 0", { $0 > 0 }) { c.divFactor = v }
        if let v = try m.double("final_div_factor", "> 0", { $0 > 0 }) { c.finalDivFactor = v }
        if let v = try m.choice("anneal", ["cos", "linear"]) { c.anneal = v }
        if let v = try m.bool("three_phase") { c.threePhase = v }
        if let v = try m.bool("cycle_momentum") { c.cycleMomentum = v }
        if let v = try m.double("base_momentum", "in [0, 1)", { (0..<1).contains($0) }) { c.baseMomentum = v }
        if let v = try m.double("max_momentum", "in [0, 1)", { (0..<1).contains($0) }) { c.maxMomentum = v }
        if let v = try m.int("step_size", in: 1...1_000_000) { c.stepSize = v }
        if let v = try m.double("gamma", "> 0", { $0 > 0 }) { c.gamma = v }
        if let v = try m.int("warmup_steps", in: 0...100_000_000) { c.warmupSteps = v }
        if let v = try m.double("min_lr_ratio", "in [0, 1]", { (0...1).contains($0) }) { c.minLRRatio = v }
        if c.name == .oneCycle {
            if c.baseMomentum > c.maxMomentum { throw m.error("base_momentum", "must be ≤ max_momentum") }
            if c.cycleMomentum && optimizer.name == .sgd && optimizer.momentum == 0 {
                throw m.error("cycle_momentum", "needs an optimizer with momentum (sgd momentum > 0, adam or adamw)")
            }
        }
        return c
    }
}

/// Early stopping settings (nil patience = off).
public struct EarlyStoppingConfig: Equatable {
    /// Validation checks without improvement before stopping; nil = early stopping off.
    public var patience: Int? = 15
    /// Minimum decrease of the validation loss that counts as an improvement.
    public var minDelta = 0.0
}

/// The `train:` section.
public struct TrainConfig: Equatable {
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

    public init() {}

    static let keys = ["seed", "batch_size", "accumulate_grad_batches", "max_epochs", "optimizer", "scheduler",
                       "gradient_clip", "val_check_interval", "early_stopping", "top_k", "bucket_cap_mb",
                       "check_replicas", "prefetch_depth", "log_every_seconds"]

    /// Keys that may change when a run is resumed: they do not affect the numbers.
    static let resumeMutableKeys: Set = ["train.log_every_seconds", "train.prefetch_depth", "train.check_replicas",
                                         "train.bucket_cap_mb"]

    var node: YAMLNode {
        let interval: YAMLNode
        switch valCheckInterval {
        case .fraction(let f): interval = .double(f)
        case .steps(let n): interval = .int(n)
        }
        let es: YAMLNode = earlyStopping.patience.map {
            .map([("patience", .int($0)), ("min_delta", .double(earlyStopping.minDelta))])
        } ?? .scalar("off")
        return .map([
            ("seed", .scalar("\(seed)")), ("batch_size", .int(batchSize)),
            ("accumulate_grad_batches", .int(accumulateGradBatches)), ("max_epochs", .int(maxEpochs)),
            ("optimizer", optimizer.node), ("scheduler", scheduler.node(optimizerLR: optimizer.lr)),
            ("gradient_clip", .double(gradientClip)), ("val_check_interval", interval), ("early_stopping", es),
            ("top_k", .int(topK)), ("bucket_cap_mb", .int(bucketCapMB)), ("check_replicas", .int(checkReplicas)),
            ("prefetch_depth", .int(prefetchDepth)), ("log_every_seconds", .double(logEverySeconds)),
        ])
    }

    static func parse(_ m: RunConfigMap) throws -> TrainConfig {
        try m.rejectUnknown(keys)
        var c = TrainConfig()
        if let v = try m.int("seed", in: 0...Int.max) { c.seed = UInt64(v) }
        if let v = try m.int("batch_size", in: 1...1_000_000) { c.batchSize = v }
        if let v = try m.int("accumulate_grad_batches", in: 1...10_000) { c.accumulateGradBatches = v }
        if let v = try m.int("max_epochs", in: 1...1_000_000) { c.maxEpochs = v }
        c.optimizer = try OptimizerConfig.parse(try m.sub("optimizer"))
        c.scheduler = try SchedulerConfig.parse(try m.sub("scheduler"), optimizer: c.optimizer)
        if let v = try m.double("gradient_clip", "≥ 0 (0 = off)", { $0 >= 0 }) { c.gradientClip = v }
        if let raw = m.dict["val_check_interval"] {
            if let n = raw as? Int, !(raw is Bool) {
                guard n >= 1 else { throw m.error("val_check_interval", "must be a fraction in (0, 1] or a number of steps ≥ 1 (got \(n))") }
                c.valCheckInterval = .steps(n)
            } else if let f = raw as? Double {
                guard f > 0 && f <= 1 else {
                    throw m.error("val_check_interval", "must be a fraction of an epoch in (0, 1] or an integer number of steps (got \(RunConfigMap.show(f)))")
                }
                c.valCheckInterval = .fraction(f)
            } else {
                throw m.error("val_check_interval", "must be a fraction in (0, 1] or an integer number of steps (got \(RunConfigMap.describe(raw)))")
            }
        }
        if let raw = m.dict["early_stopping"] {
            if raw is NSNull || (raw as? Bool) == false || (raw as? String).map({ ["off", "none"].contains($0.lowercased()) }) == true {
                c.earlyStopping.patience = nil
            } else {
                let es = try m.sub("early_stopping")
                try es.rejectUnknown(["patience", "min_delta"])
                if let v = try es.int("patience", in: 1...1_000_000) { c.earlyStopping.patience = v }
                if let v = try es.double("min_delta", "≥ 0", { $0 >= 0 }) { c.earlyStopping.minDelta = v }
            }
        }
        if let v = try m.int("top_k", in: 0...100) { c.topK = v }
        if let v = try m.int("bucket_cap_mb", in: 1...4096) { c.bucketCapMB = v }
        if let v = try m.int("check_replicas", in: 0...100_000_000) { c.checkReplicas = v }
        if let v = try m.int("prefetch_depth", in: 1...64) { c.prefetchDepth = v }
        if let v = try m.double("log_every_seconds", "> 0", { $0 > 0 }) { c.logEverySeconds = v }
        return c
    }
}
