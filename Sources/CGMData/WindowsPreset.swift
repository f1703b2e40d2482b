import CGMSchema

// Window presets for the three papers. Feature lists may use groups and optional entries
// (`FeatureCatalog.expand`), so one preset fits data with or without wearables or meals.
//
//   physio_seq2seq  L 37 (3 h + decision step), H 48 (4 h); encoder [g~, IOB~] (eq. 9 without the ODE
//                   states, which the physiology module appends as extras), decoder [IOB~] (eq. 10); IOB~ is
//                   optional (`?iob_scaled`): data without insulin columns gets encoder [g~] and no decoder features.
//   ssm_cgm         L 144 / 288 / 576 (12 / 24 / 48 h), H 12 (1 h); past = target history (g~) +
//                   SSM-CGM historical covariates (CGM lags/diffs/rolling stats, time encodings,
//                   wearables, meal flag); future = time encodings + wearables + meal flag; statics =
//                   age, diabetes status, clinical site, subject id, glucose centre/scale.
//   gluformer       token windows: extras["tokens"] holds the L + H glucose tokens
//                   round(clamp(g, 40, 500)) − 40 of each window (0 … 460, padding 461; GlucoseTokenizer),
//                   cut at gaps (TokenWindows.swift); past = [g~]. Default L 276 + H 12 = 288 tokens (24 h).
// Default stride: 12 steps (one hour) for every preset.

/// History/horizon/stride and feature lists of a windowing setup.
public struct WindowPreset: Equatable, Sendable {
    /// Preset name as used in configs (`data.preset`).
    public var name: String
    /// History length L (steps, including the decision step).
    public var history: Int
    /// Horizon H (steps).
    public var horizon: Int
    /// Steps between consecutive decision times.
    public var stride: Int
    /// Encoder feature entries (names, `?optional`, `@group`).
    public var pastFeatures: [String]
    /// Decoder feature entries.
    public var futureFeatures: [String]
    /// Static feature entries.
    public var staticFeatures: [String]
    /// Whether windows carry GluFormer tokens in `extras["tokens"]`.
    public var tokens: Bool

    /// Creates a preset.
    public init(name: String, history: Int, horizon: Int, stride: Int = 12, pastFeatures: [String],
                futureFeatures: [String], staticFeatures: [String] = [], tokens: Bool = false) {
        self.name = name
        self.history = history
        self.horizon = horizon
        self.stride = stride
        self.pastFeatures = pastFeatures
        self.futureFeatures = futureFeatures
        self.staticFeatures = staticFeatures
        self.tokens = tokens
    }

    /// PhysioSeq2Seq: L 37, H 48, past [cgm_scaled, iob_scaled], future [iob_scaled]; IOB is optional, so glucose-only
    /// data prepares with past [cgm_scaled] and no future features (prepare reports the dropped ones).
    public static let physioSeq2Seq = WindowPreset(name: "physio_seq2seq", history: 37, horizon: 48,
                                                   pastFeatures: [FeatureCatalog.cgmScaled, "?" + FeatureCatalog.iobScaled],
                                                   futureFeatures: ["?" + FeatureCatalog.iobScaled])

    /// SSM-CGM with a 12, 24 or 48 hour context (L 144 / 288 / 576) and a 1-hour horizon.
    public static func ssmCGM(contextHours: Int) -> WindowPreset {
        precondition([12, 24, 48].contains(contextHours), "SSM-CGM context must be 12, 24 or 48 hours, got \(contextHours)")
        return WindowPreset(name: "ssm_cgm", history: contextHours * 12, horizon: 12,
                            pastFeatures: [FeatureCatalog.cgmScaled, "@cgm_history", "@time", "@wearables", "?meal_flag"],
                            futureFeatures: ["@time", "@wearables", "?meal_flag"],
                            staticFeatures: ["?age", "?diabetes_status", "?clinical_site", "subject_id",
                                             "glucose_centre", "glucose_scale"])
    }

    /// Meal detection (SSM-CGM A.2): 6-hour CGM windows (L = 72), stride 1; the horizon of 1 step is not
    /// used (the per-step targets are the `meal_labels` extra).
    public static let mealDetection = WindowPreset(name: "meal_detection", history: 72, horizon: 1, stride: 1,
                                                   pastFeatures: [FeatureCatalog.cgmScaled], futureFeatures: [])

    /// GluFormer token windows of `sequenceLength` history tokens plus `horizon` forecast tokens (the stored
    /// token sequence has `sequenceLength + horizon` tokens).
    public static func gluformer(sequenceLength: Int, horizon: Int = 12) -> WindowPreset {
        WindowPreset(name: "gluformer", history: sequenceLength, horizon: horizon,
                     pastFeatures: [FeatureCatalog.cgmScaled], futureFeatures: [], tokens: true)
    }

    /// The GluFormer token of a glucose value: round(clamp(g, 40, 500)) − 40, in 0 … 460 (NaN: padding 461).
    public static func token(_ glucose: Float) -> Int { GlucoseTokenizer.token(glucose) }
}
