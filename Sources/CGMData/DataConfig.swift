// DataConfig: the `data:` section of configs/X.yaml, parsed strictly from the dictionary the caller
// loaded with Yams. A preset fills every key; keys given override it. Unknown keys, wrong types and
// out-of-range values are errors naming the key path ("data.stride must be ≥ 1").
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
//     max_interpolation_gap_minutes: 15
//     future_iob: basal_only     # basal_only | observed (see FutureIOBPolicy)
//     qc: {min_history_points: on, rate_of_change: on, stale_decision: on, future_jump: on, twin_matching: on}
//                                # residual_nan cannot be turned off; `qc: off` turns off all the others
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

/// The data section of a training config.
public struct DataConfig: Equatable, Sendable {
    /// How windows are split.
    public enum SplitMethod: String, Sendable, CaseIterable {
        /// By subject, seeded (PhysioSeq2Seq).
        case subject
        /// Per subject by time (SSM-CGM).
        case temporal
        /// Per subject by time, each subject's span cut by `fractions` (`TemporalFractionSplit`).
        case temporalFraction = "temporal_fraction"
    }

    /// The config keys, in canonical order.
    public static let keys = ["preset", "history", "horizon", "stride", "split", "split_seed", "fractions",
                              "past_features", "future_features", "static_features", "max_interpolation_gap_minutes",
                              "future_iob", "qc", "ode_states", "twin", "meal_labels", "meal_plateau", "meal_ramp",
                              "stratify", "diet_tokens"]
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
    /// Decoder IOB policy.
    public var futureIOB: FutureIOBPolicy
    /// QC rules applied.
    public var qc: Set<QCRule>
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

    /// The windowing described by this config.
    public var windowPreset: WindowPreset {
        WindowPreset(name: preset, history: history, horizon: horizon, stride: stride, pastFeatures: pastFeatures,
                     futureFeatures: futureFeatures, staticFeatures: staticFeatures, tokens: tokens)
    }

    /// The QC rules of this config (rule 6 uses `twinMatchFails` if given).
    public func qualityControl(twinMatchFails: ((QCWindow) -> Bool)? = nil) -> QualityControl {
        QualityControl(enabled: qc, twinMatchFails: twinMatchFails)
    }

    /// Parses the `data:` dictionary; `keyPath` prefixes key names in errors.
    /// - Throws: `DataError` with `.config(keyPath.key)` for unknown keys, wrong types, out-of-range values.
    public static func parse(_ dict: [String: Any], keyPath: String = "data") throws -> DataConfig {
        let reader = ConfigReader(dict: dict, path: keyPath)
        try reader.rejectUnknown(keys)
        let presetName = try reader.string("preset") ?? "physio_seq2seq"
        var config: DataConfig
        switch presetName {
        case "physio_seq2seq": config = DataConfig(preset: .physioSeq2Seq)
        case "ssm_cgm", "ssm_cgm_24h": config = DataConfig(preset: .ssmCGM(contextHours: 24))
        case "ssm_cgm_12h": config = DataConfig(preset: .ssmCGM(contextHours: 12))
        case "ssm_cgm_48h": config = DataConfig(preset: .ssmCGM(contextHours: 48))
        case "gluformer": config = DataConfig(preset: .gluformer(sequenceLength: 276))   // 276 + 12 = 288 tokens (24 h)
        case "meal_detection":
            config = DataConfig(preset: .mealDetection)
            config.qc.remove(.twinMatching)
            config.mealLabels = true
            config.stratify = "diabetes_status"
        case "custom":
            for key in ["history", "horizon", "past_features"] where dict[key] == nil {
                throw DataError(key: .config("\(keyPath).\(key)"), "is required with preset 'custom'")
            }
            config = DataConfig(preset: WindowPreset(name: "custom", history: 1, horizon: 1, pastFeatures: [], futureFeatures: []))
        default:
            throw DataError(key: .config("\(keyPath).preset"),
                            "must be one of \(presets.joined(separator: ", ")) (got '\(presetName)')")
        }
        if let v = try reader.int("history", in: 1 ... 100_000) { config.history = v }
        if let v = try reader.int("horizon", in: 1 ... 10_000) { config.horizon = v }
        if let v = try reader.int("stride", in: 1 ... 100_000) { config.stride = v }
        if let v = try reader.string("split") {
            guard let method = SplitMethod(rawValue: v) else {
                throw DataError(key: .config("\(keyPath).split"),
                                "must be subject, temporal or temporal_fraction (got '\(v)')")
            }
            config.split = method
        }
        if let v = try reader.int("split_seed", in: 0 ... Int.max) { config.splitSeed = UInt64(v) }
        if let v = try reader.doubles("fractions") {
            let path = "\(keyPath).fractions"
            guard v.count == 3 else { throw DataError(key: .config(path), "must list 3 numbers (train, validation, test), got \(v.count)") }
            guard v.allSatisfy({ (0 ... 1).contains($0) }) else { throw DataError(key: .config(path), "must be numbers in [0, 1]") }
            guard abs(v.reduce(0, +) - 1) < 1e-6 else { throw DataError(key: .config(path), "must sum to 1 (they sum to \(v.reduce(0, +)))") }
            guard v[0] > 0 else { throw DataError(key: .config(path), "must give training a non-zero fraction") }
            config.fractions = v
        }
        for (key, assign) in [("past_features", 0), ("future_features", 1)] {
            guard let list = try reader.strings(key) else { continue }
            for (i, entry) in list.enumerated() where !FeatureCatalog.isKnownEntry(entry) {
                throw DataError(key: .config("\(keyPath).\(key)[\(i)]"), "'\(entry)' is not a known feature or group (known: "
                    + FeatureCatalog.allTimeVarying.joined(separator: ", ") + ", "
                    + FeatureCatalog.groups.map { "@" + $0 }.joined(separator: ", ") + ")")
            }
            if assign == 0 { config.pastFeatures = list } else { config.futureFeatures = list }
        }
        if let list = try reader.strings("static_features") { config.staticFeatures = list }
        if let v = try reader.int("max_interpolation_gap_minutes", in: 0 ... 60) { config.maxInterpolationGapMinutes = v }
        if let v = try reader.string("future_iob") {
            guard let policy = FutureIOBPolicy(rawValue: v) else {
                throw DataError(key: .config("\(keyPath).future_iob"), "must be basal_only or observed (got '\(v)')")
            }
            config.futureIOB = policy
        }
        if dict["qc"] != nil { config.qc = try reader.qc("qc") }
        if let v = try reader.bool("ode_states") { config.odeStates = v }
        if let value = dict["twin"] {
            guard let twin = value as? [String: Any] else {
                throw DataError(key: .config("\(keyPath).twin"), "must be a map (e.g. twin: {future_inputs: announced}), got \(value)")
            }
            let sub = ConfigReader(dict: twin, path: "\(keyPath).twin")
            try sub.rejectUnknown(["future_inputs"])
            if let v = try sub.string("future_inputs") {
                guard let policy = TwinFutureInputs(rawValue: v) else {
                    throw DataError(key: .config("\(keyPath).twin.future_inputs"),
                                    "must be basal_only or announced (got '\(v)')")
                }
                config.twinFutureInputs = policy
            }
        }
        if let v = try reader.bool("meal_labels") { config.mealLabels = v }
        if let v = try reader.int("meal_plateau", in: 0 ... 288) { config.mealPlateau = v }
        if let v = try reader.int("meal_ramp", in: 0 ... 288) { config.mealRamp = v }
        if let v = try reader.string("stratify") { config.stratify = v }
        if let v = try reader.bool("diet_tokens") { config.dietTokens = v }
        try config.validate(keyPath: keyPath)
        return config
    }

    /// Cross-key checks.
    func validate(keyPath: String) throws {
        if twinFutureInputs == .announced, !odeStates {
            throw DataError(key: .config("\(keyPath).twin.future_inputs"),
                            "announced needs ode_states: true (it changes the stored twin forecast and ode_fut)")
        }
        if pastFeatures.isEmpty {
            throw DataError(key: .config("\(keyPath).past_features"), "must list at least one feature")
        }
        if split == .temporal, horizon * 5 > 60 {
            throw DataError(key: .config("\(keyPath).horizon"),
                            "must be ≤ 12 steps (1 hour) with split: temporal, whose test period is the last hour (got \(horizon)); "
                            + "split: temporal_fraction cuts each subject's span by data.fractions instead")
        }
        if tokens, qc != [.residualNaN] {
            throw DataError(key: .config("\(keyPath).qc"), "must be off with preset gluformer: token windows are cut at "
                            + "gaps longer than max_interpolation_gap_minutes instead of QC rules 1–3, 5, 6")
        }
        if dietTokens, !tokens {
            throw DataError(key: .config("\(keyPath).diet_tokens"), "needs preset gluformer (diet tokens join glucose tokens)")
        }
        if tokens, odeStates {
            throw DataError(key: .config("\(keyPath).ode_states"), "is not available with preset gluformer")
        }
        if !stratify.isEmpty, split != .subject {
            throw DataError(key: .config("\(keyPath).stratify"), "needs split: subject (got split: \(split.rawValue))")
        }
        if odeStates {
            if !qc.contains(.twinMatching) {
                throw DataError(key: .config("\(keyPath).ode_states"),
                                "needs qc.twin_matching on: the ODE states come from the matched twin (Algorithm 1)")
            }
            if history > PrepareODEStates.maxHistory {
                throw DataError(key: .config("\(keyPath).ode_states"), "needs history ≤ \(PrepareODEStates.maxHistory) "
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
        if mealLabels { more.append(("meal_labels", "P\(mealPlateau)R\(mealRamp)")) }
        if !stratify.isEmpty { more.append(("stratify", stratify)) }
        return (fields + more).map { "\($0.0)=\($0.1)" }.joined(separator: ";")
    }

    /// FNV-1a 64-bit digest of `canonicalDescription`, 16 lowercase hex digits (stable across runs and platforms).
    public var hash: String { Self.fnv1a64Hex(canonicalDescription) }

    /// FNV-1a 64 of the UTF-8 bytes of `text`, as 16 lowercase hex digits.
    public static func fnv1a64Hex(_ text: String) -> String { FNV1a64.hex(text) }
}
