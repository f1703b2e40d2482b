// DataConfig: the `data:` section of configs/X.yaml, read strictly through Config's `ConfigMap` (one key
// table: default, parse and resolved YAML of each key in one place). A preset fills every key; keys given
// override it. Unknown keys, wrong types and out-of-range values are errors naming the key path
// ("data.stride must be ≥ 1").
//
//   data:
//     preset: physio_seq2seq     # physio_seq2seq | ssm_cgm (24 h) | ssm_cgm_12h | ssm_cgm_24h | ssm_cgm_48h
//                                # | gluformer | custom (custom needs history, horizon, past_features)
//     history: 37                # L, steps of 5 min including the decision step (gluformer: context tokens;
//                                # a token window stores L + H tokens, default 276 + 12 = 288 = 24 h)
//     horizon: 48                # H, steps
//     stride: 12                 # steps between decision times
//     split: subject             # subject (seeded 70/15/15) | temporal (last hour test, hour before validation)
//                                # | temporal_fraction (each subject's span cut 70/15/15 by time, any horizon)
//     split_seed: 0
//     fractions: [0.7, 0.15, 0.15]
//     past_features: [cgm_scaled, iob_scaled]     # names, ?optional names, @time @cgm_history @wearables
//     future_features: [iob_scaled]
//     static_features: []        # subject_id, glucose_centre, glucose_scale, subjects.csv columns (?optional)
//     max_interpolation_gap_minutes: 15   # longest glucose gap filled (either method); longer gaps split the series
//     gap_fill: interpolate      # interpolate (linear, default) | locf (last observation carried forward, SSM-CGM §2);
//                                # written to the resolved config only when locf (GapFill.swift)
//     future_iob: basal_only     # basal_only | observed (see FutureIOBPolicy)
//     qc: {min_history_points: on, rate_of_change: on, stale_decision: on, future_jump: on, twin_matching: on}
//                                # residual_nan cannot be turned off; `qc: off` turns off all the others
//     residual_nan_scope: window # QC rule 4 over: window (history and targets, default) | history_tail (the
//                                # history only, App. C's "CGM tail"; windows with missing targets are then
//                                # counted and not written); written to the resolved config only when history_tail
//     short_history: reject      # reject (rule 4 rejects a history with missing CGM, default) | zero_pad (keep the
//                                # NaN-free tail ending at t, zero-pad earlier steps in every past feature, no mask;
//                                # PhysioSeq2Seq §3.1); written only when zero_pad
//     ode_states: false          # true: store the matched twin's ODE states and basal-only forecast per window
//                                # (extras ode_hist (L,10), ode_fut (H,10), twin_forecast (H); see PrepareODEStates);
//                                # needs qc.twin_matching on and history ≤ 37
//     twin:
//       future_inputs: basal_only  # basal_only (Algorithm 1 pass 3) | announced: the twin is matched with the
//                                  # history's meals too and its forecast / ode_fut get the meals and boluses
//                                  # recorded over the horizon (meal-aware twin, an oracle; see TwinFutureInputs);
//                                  # needs ode_states: true and a carbs_g column
//     meal_labels: false         # true: store per-step meal targets ỹ (extras meal_labels (L)), meal events
//                                # (bins with carbs_g > 0 or meal_flag = 1) smoothed by SSM-CGM A.2's trapezoid
//     meal_plateau: 2            # P, grid steps of the trapezoid's plateau half-width (A.2: P = 2)
//     meal_ramp: 2               # R, grid steps of its linear ramps (A.2: R = 2)
//     stratify: ""               # a subjects.csv column (e.g. diabetes_status): the subject split is drawn
//                                # within each of its values (A.2: "stratified by diabetes status")
//
//   preset meal_detection (SSM-CGM A.2): history 72 (6 h), horizon 1 (unused), stride 1, past [cgm_scaled],
//   no future or static features, meal_labels on, stratify diabetes_status, QC rules 1–5.
//     diet_tokens: false         # preset gluformer: meal nutrients as diet tokens (extras diet (L+H, N); DietTokenizer)

import CGMSchema
import Config
import DelimitedText
import Foundation

/// The data section of a training config.
public struct DataConfig: ConfigSection, Equatable, Sendable {
    /// How windows are split.
    public enum SplitMethod: String, Sendable, CaseIterable {
        /// By subject, seeded (PhysioSeq2Seq).
        case subject
        /// Per subject by time (SSM-CGM).
        case temporal
        /// Per subject by time, each subject's span cut by `fractions` (`TemporalFractionSplit`).
        case temporalFraction = "temporal_fraction"
    }

    /// Preset names accepted by `preset`.
    public static let presets = ["physio_seq2seq", "ssm_cgm", "ssm_cgm_12h", "ssm_cgm_24h", "ssm_cgm_48h", "gluformer",
                                 "meal_detection", "custom"]

    /// Preset name.
    public var preset: String
    /// History L (steps).
    public var history: Int
    /// Horizon H (steps).
    public var horizon: Int
    /// Stride (steps).
    public var stride: Int
    /// Split method.
    public var split: SplitMethod
    /// Seed of the subject split.
    public var splitSeed: UInt64
    /// Train, validation, test fractions of the subject split.
    public var fractions: [Double]
    /// Encoder feature entries (unexpanded).
    public var pastFeatures: [String]
    /// Decoder feature entries (unexpanded).
    public var futureFeatures: [String]
    /// Static feature entries (unexpanded).
    public var staticFeatures: [String]
    /// Longest glucose gap interpolated across (minutes).
    public var maxInterpolationGapMinutes: Int
    /// How glucose gaps up to that limit are filled (`gap_fill`).
    public var gapFill: GapFill = .interpolate
    /// Decoder IOB policy.
    public var futureIOB: FutureIOBPolicy
    /// QC rules applied.
    public var qc: Set<QCRule>
    /// Where QC rule 4 looks for residual NaN (`residual_nan_scope`).
    public var residualNaNScope: ResidualNaNScope = .window
    /// Whether histories are cut to their NaN-free tail and zero-padded (`short_history`).
    public var shortHistory: ShortHistory = .reject
    /// Whether windows carry GluFormer tokens.
    public var tokens: Bool
    /// Whether `prepare` stores the matched twin's ODE states and basal-only forecast per window
    /// (PhysioSeq2Seq §3.4, Algorithm 1 passes 2–3; `PrepareODEStates`).
    public var odeStates: Bool = false
    /// The matched twin's inputs over the horizon (`twin.future_inputs`), for the stored twin forecast and X_fut.
    public var twinFutureInputs: TwinFutureInputs = .basalOnly
    /// Whether windows carry per-step smoothed meal targets (`extras["meal_labels"]`, shape [L]; SSM-CGM A.2).
    public var mealLabels: Bool = false
    /// Trapezoid plateau half-width P and ramp R, grid steps (A.2: P = R = 2).
    public var mealPlateau: Int = 2
    public var mealRamp: Int = 2
    /// subjects.csv column the subject split is stratified by ("" = none).
    public var stratify: String = ""
    /// GluFormer diet tokens from the meal columns (preset gluformer only; DietTokenizer.swift).
    public var dietTokens: Bool = false

    /// The defaults of a preset (subject split, seed 0, 70/15/15, gap 15 min, all QC rules).
    public init(preset: WindowPreset = .physioSeq2Seq) {
        self.preset = preset.name
        history = preset.history
        horizon = preset.horizon
        stride = preset.stride
        split = preset.name == "ssm_cgm" ? .temporal : .subject
        splitSeed = 0
        fractions = [0.7, 0.15, 0.15]
        pastFeatures = preset.pastFeatures
        futureFeatures = preset.futureFeatures
        staticFeatures = preset.staticFeatures
        maxInterpolationGapMinutes = 15
        futureIOB = .basalOnly
        tokens = preset.tokens
        qc = tokens ? [.residualNaN] : Set(QCRule.allCases)   // token windows are cut at gaps instead (TokenWindows)
    }

    /// The window extractor of this config (its L, H, stride, tokens, meal labels and history padding).
    public var extractor: WindowExtractor {
        var extractor = WindowExtractor(history: history, horizon: horizon, stride: stride, tokens: tokens, mealLabels: mealLabels)
        extractor.zeroPadHistory = shortHistory == .zeroPad
        return extractor
    }

    /// The windowing described by this config.
    public var windowPreset: WindowPreset {
        WindowPreset(name: preset, history: history, horizon: horizon, stride: stride, pastFeatures: pastFeatures,
                     futureFeatures: futureFeatures, staticFeatures: staticFeatures, tokens: tokens)
    }

    /// The QC rules of this config (rule 6 uses `twinMatchFails` if given).
    public func qualityControl(twinMatchFails: ((QCWindow) -> Bool)? = nil) -> QualityControl {
        var control = QualityControl(enabled: qc, twinMatchFails: twinMatchFails)
        control.residualNaNScope = residualNaNScope
        control.shortHistory = shortHistory
        return control
    }

    /// The physio_seq2seq preset's defaults.
    public static var defaults: DataConfig { DataConfig(preset: .physioSeq2Seq) }

    /// Parses a `data:` dictionary; `keyPath` prefixes key names and `source` names the file in errors.
    /// - Throws: `ConfigError` for unknown keys, wrong types, out-of-range values and inconsistent settings.
    public static func parse(_ dict: [String: Any], keyPath: String = "data", source: String = "<config>") throws -> DataConfig {
        try parse(ConfigMap(dict, path: keyPath, source: source))
    }

    /// The `data:` section of the YAML file at `path` (what `cgmtrain prepare --config` reads).
    public static func load(path: String) throws -> DataConfig {
        let top = try YAMLDocument.load(path: path, expected: "a mapping with a top-level `data:` section")
        guard let section = top.dict["data"] else {
            throw ConfigError(source: path, key: "", "no top-level `data:` section (keys: "
                              + top.dict.keys.sorted().joined(separator: ", ") + ")")
        }
        guard section is [String: Any] else { throw ConfigError(source: path, key: "", "`data:` must be a mapping of keys") }
        return try parse(try top.sub("data"))
    }

    // MARK: Keys

    /// The preset fills every key (see the file header); keys given override it.
    public mutating func readVariant(_ m: ConfigMap) throws {
        guard let name = try m.choice("preset", Self.presets) else { return }
        switch name {
        case "physio_seq2seq": self = DataConfig(preset: .physioSeq2Seq)
        case "ssm_cgm", "ssm_cgm_24h": self = DataConfig(preset: .ssmCGM(contextHours: 24))
        case "ssm_cgm_12h": self = DataConfig(preset: .ssmCGM(contextHours: 12))
        case "ssm_cgm_48h": self = DataConfig(preset: .ssmCGM(contextHours: 48))
        case "gluformer": self = DataConfig(preset: .gluformer(sequenceLength: 276))   // 276 + 12 = 288 tokens (24 h)
        case "meal_detection":
            self = DataConfig(preset: .mealDetection)
            qc.remove(.twinMatching)
            mealLabels = true
            stratify = "diabetes_status"
        default:   // custom
            for key in ["history", "horizon", "past_features"] where !m.has(key) {
                throw m.error(key, "is required with preset 'custom'")
            }
            self = DataConfig(preset: WindowPreset(name: "custom", history: 1, horizon: 1, pastFeatures: [], futureFeatures: []))
        }
    }

    /// The keys in canonical order. Keys after `qc` are written only when set (so configs written before
    /// they existed keep their hashes); the meal_detection preset lists its meal keys explicitly.
    public var keys: [ConfigKey<DataConfig>] { Self.keyTable }

    private static let keyTable: [ConfigKey<DataConfig>] = {
        let mealKeys: (DataConfig) -> Bool = { $0.mealLabels || $0.preset == "meal_detection" }
        return [
            ConfigKey("preset", read: { _, _ in }, write: { .string($0.preset) }),   // read by readVariant
            .int("history", \.history, 1 ... 100_000),
            .int("horizon", \.horizon, 1 ... 10_000),
            .int("stride", \.stride, 1 ... 100_000),
            .choice("split", \.split),
            .seed("split_seed", \.splitSeed),
            ConfigKey("fractions", read: { m, c in
                guard let v = try m.doubles("fractions") else { return }
                guard v.count == 3 else { throw m.error("fractions", "must list 3 numbers (train, validation, test), got \(v.count)") }
                guard v.allSatisfy({ (0 ... 1).contains($0) }) else { throw m.error("fractions", "must be numbers in [0, 1]") }
                guard abs(v.reduce(0, +) - 1) < 1e-6 else { throw m.error("fractions", "must sum to 1 (they sum to \(v.reduce(0, +)))") }
                guard v[0] > 0 else { throw m.error("fractions", "must give training a non-zero fraction") }
                c.fractions = v
            }, write: { .doubles($0.fractions) }),
            features("past_features", \.pastFeatures),
            features("future_features", \.futureFeatures),
            ConfigKey("static_features", read: { m, c in if let v = try m.strings("static_features") { c.staticFeatures = v } },
                      write: { .strings($0.staticFeatures) }),
            .int("max_interpolation_gap_minutes", \.maxInterpolationGapMinutes, 0 ... 60),
            .choice("gap_fill", \.gapFill, writeIf: { $0.gapFill != .interpolate }),
            .choice("future_iob", \.futureIOB),
            ConfigKey("qc", read: { m, c in if m.has("qc") { c.qc = try qcRules(m) } },
                      write: { c in .map(QCRule.allCases.map { ($0.key, .scalar(c.qc.contains($0) ? "on" : "off")) }) }),
            .choice("residual_nan_scope", \.residualNaNScope, writeIf: { $0.residualNaNScope != .window }),
            .choice("short_history", \.shortHistory, writeIf: { $0.shortHistory != .reject }),
            .onOff("ode_states", \.odeStates, writeIf: { $0.odeStates }),
            .onOff("diet_tokens", \.dietTokens, writeIf: { $0.dietTokens }),
            ConfigKey("twin", read: { m, c in
                guard m.has("twin") else { return }
                let twin = try m.sub("twin")
                try twin.rejectUnknown(["future_inputs"])
                if let v = try twin.choice("future_inputs", TwinFutureInputs.allCases.map(\.rawValue)) {
                    c.twinFutureInputs = TwinFutureInputs(rawValue: v)!
                }
            }, write: { c in
                c.twinFutureInputs == .basalOnly ? nil : .map([("future_inputs", .string(c.twinFutureInputs.rawValue))])
            }),
            .onOff("meal_labels", \.mealLabels, writeIf: mealKeys),
            .int("meal_plateau", \.mealPlateau, 0 ... 288, writeIf: mealKeys),
            .int("meal_ramp", \.mealRamp, 0 ... 288, writeIf: mealKeys),
            .string("stratify", \.stratify, writeIf: { !$0.stratify.isEmpty || $0.preset == "meal_detection" }),
        ]
    }()

    /// A time-varying feature list: distinct entries, each a known feature, `?feature` or `@group`.
    private static func features(_ key: String, _ keyPath: WritableKeyPath<DataConfig, [String]>) -> ConfigKey<DataConfig> {
        ConfigKey(key, read: { m, c in
            guard let list = try m.strings(key) else { return }
            for (i, entry) in list.enumerated() where !FeatureCatalog.isKnownEntry(entry) {
                throw m.error("\(key)[\(i)]", "'\(TextExcerpt.of(entry))' is not a known feature or group (known: "
                    + FeatureCatalog.allTimeVarying.joined(separator: ", ") + ", "
                    + FeatureCatalog.groups.map { "@" + $0 }.joined(separator: ", ") + ")")
            }
            c[keyPath: keyPath] = list
        }, write: { .strings($0[keyPath: keyPath]) })
    }

    /// `qc: on|off` (all rules except residual_nan) or a map rule-key → on/off over all rules.
    private static func qcRules(_ m: ConfigMap) throws -> Set<QCRule> {
        let value = m.dict["qc"]!
        if let all = try? m.onOff("qc") { return all ? Set(QCRule.allCases) : [.residualNaN] }
        guard let map = value as? [String: Any] else {
            throw m.error("qc", "must be on/off or a map of rule: on/off (got \(ConfigMap.describe(value)))")
        }
        let rules = ConfigMap(map, path: m.keyPath("qc"), source: m.source)
        var enabled = Set(QCRule.allCases)
        for name in map.keys.sorted() {
            guard let rule = QCRule.allCases.first(where: { $0.key == name }) else {
                throw rules.error(name, "is not a QC rule (rules: \(QCRule.allCases.map(\.key).joined(separator: ", ")))")
            }
            let on = try rules.onOff(name)!
            if rule == .residualNaN, !on {
                throw rules.error(name, "cannot be turned off: windows need complete CGM history and targets")
            }
            if on { enabled.insert(rule) } else { enabled.remove(rule) }
        }
        return enabled
    }

    /// Cross-key checks.
    public func validate(_ m: ConfigMap) throws {
        if twinFutureInputs == .announced, !odeStates {
            throw m.error("twin.future_inputs", "announced needs ode_states: true (it changes the stored twin forecast and ode_fut)")
        }
        if pastFeatures.isEmpty { throw m.error("past_features", "must list at least one feature") }
        if split == .temporal, horizon * 5 > 60 {
            throw m.error("horizon", "must be ≤ 12 steps (1 hour) with split: temporal, whose test period is the last hour "
                          + "(got \(horizon)); split: temporal_fraction cuts each subject's span by data.fractions instead")
        }
        if tokens, qc != [.residualNaN] {
            throw m.error("qc", "must be off with preset gluformer: token windows are cut at "
                          + "gaps longer than max_interpolation_gap_minutes instead of QC rules 1–3, 5, 6")
        }
        if tokens, shortHistory != .reject {
            throw m.error("short_history", "must be reject with preset gluformer (token windows pad before gaps already)")
        }
        if tokens, residualNaNScope != .window {
            throw m.error("residual_nan_scope", "must be window with preset gluformer (token windows are cut at gaps, not QC'd)")
        }
        if dietTokens, !tokens { throw m.error("diet_tokens", "needs preset gluformer (diet tokens join glucose tokens)") }
        if tokens, odeStates { throw m.error("ode_states", "is not available with preset gluformer") }
        if !stratify.isEmpty, split != .subject {
            throw m.error("stratify", "needs split: subject (got split: \(split.rawValue))")
        }
        if odeStates {
            if !qc.contains(.twinMatching) {
                throw m.error("ode_states", "needs qc.twin_matching on: the ODE states come from the matched twin (Algorithm 1)")
            }
            if history > PrepareODEStates.maxHistory {
                throw m.error("ode_states", "needs history ≤ \(PrepareODEStates.maxHistory) "
                              + "(the twin's 3-hour window, section 3.4), got history: \(history)")
            }
        }
    }

    /// A canonical one-line text of every setting (what `hash` digests).
    public var canonicalDescription: String {
        var fields: [(String, String)] = [
            ("preset", preset), ("history", "\(history)"), ("horizon", "\(horizon)"), ("stride", "\(stride)"),
            ("split", split.rawValue), ("split_seed", "\(splitSeed)"), ("fractions", fractions.map { "\($0)" }.joined(separator: ",")),
            ("past_features", pastFeatures.joined(separator: ",")), ("future_features", futureFeatures.joined(separator: ",")),
            ("static_features", staticFeatures.joined(separator: ",")),
            ("max_interpolation_gap_minutes", "\(maxInterpolationGapMinutes)"), ("future_iob", futureIOB.rawValue),
            ("qc", QCRule.allCases.filter { qc.contains($0) }.map { $0.key }.joined(separator: ",")),
            ("tokens", "\(tokens)"),
        ] + (odeStates ? [("ode_states", "true")] : [])   // absent when false: earlier hashes stay valid
        let twin: [(String, String)] = twinFutureInputs == .basalOnly ? [] : [("twin_future_inputs", twinFutureInputs.rawValue)]
        fields += twin   // absent when basal_only (the default): earlier hashes stay valid
        var more: [(String, String)] = []   // likewise absent at their defaults
        if dietTokens { more.append(("diet_tokens", "true")) }
        if gapFill != .interpolate { more.append(("gap_fill", gapFill.rawValue)) }
        if residualNaNScope != .window { more.append(("residual_nan_scope", residualNaNScope.rawValue)) }
        if shortHistory != .reject { more.append(("short_history", shortHistory.rawValue)) }
        if mealLabels { more.append(("meal_labels", "P\(mealPlateau)R\(mealRamp)")) }
        if !stratify.isEmpty { more.append(("stratify", stratify)) }
        return (fields + more).map { "\($0.0)=\($0.1)" }.joined(separator: ";")
    }

    /// FNV-1a 64-bit digest of `canonicalDescription`, 16 lowercase hex digits (stable across runs and platforms).
    public var hash: String { Self.fnv1a64Hex(canonicalDescription) }

    /// FNV-1a 64 of the UTF-8 bytes of `text`, as 16 lowercase hex digits.
    public static func fnv1a64Hex(_ text: String) -> String { FNV1a64.hex(text) }
}
