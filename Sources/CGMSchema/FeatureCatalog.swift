// The names of every time-varying and static feature, the groups presets use, and which features are
// standardized per cohort. A feature list in a config may name:
//   a feature              "cgm_scaled"       must be computable from the data, else an error
//   an optional feature    "?meal_flag"       included only if computable
//   a group                "@time"            minute_of_day, tod_sin, tod_cos
//                          "@cgm_history"     SSM-CGM historical CGM covariates (lags, diffs, rolling)
//                          "@wearables"       the wearable columns present in the data (maybe none)
//
// Time-varying features (raw units before scaling):
//   cgm                 glucose, mg/dL                                            standardized
//   cgm_scaled          2(log g − log 40)/(log 400 − log 40) − 1, g clamped to [40, 400]  (eq. 11)
//   iob, iob_scaled     insulin on board, U (eq. 5) / its normalization (eq. 7)   standardized / as is
//   minute_of_day       local minute of the day, 0 … 1435                          standardized
//   tod_sin, tod_cos    sin, cos(2π · minute_of_day / 1440)                        as is
//   cgm_lag1/3/6        g(t−k), clamped to the segment start                       standardized
//   cgm_diff            g(t) − g(t−1)                                              standardized
//   cgm_lagdiff3/6      g(t) − g(t−k)                                              standardized
//   cgm_roll_mean12/std12  mean / population std of the ≤ 12 points ending at t   standardized
//   meal_flag           1 in a bin with carbs > 0 or meal_flag = 1, else 0         as is
//   <channel name>      any optional CSV column (wearables carried forward)        standardized
// Static features: subject_id (categorical), glucose_centre / glucose_scale (the subject's glucose mean
// and std, mg/dL), and any subjects.csv column.

import Foundation

/// Names, groups and scaling kinds of features.
public enum FeatureCatalog {
    /// Raw glucose, mg/dL.
    public static let cgm = "cgm"
    /// Log-scaled glucose, PhysioSeq2Seq eq. 11.
    public static let cgmScaled = "cgm_scaled"
    /// Insulin on board (U), eq. 5.
    public static let iob = "iob"
    /// Normalized insulin on board, eq. 7.
    public static let iobScaled = "iob_scaled"
    /// Meal indicator derived from carbs and explicit flags.
    public static let mealFlag = "meal_flag"
    /// Time encodings (SSM-CGM: minute-of-day and 24 h sine/cosine).
    public static let time = ["minute_of_day", "tod_sin", "tod_cos"]
    /// SSM-CGM historical CGM covariates.
    public static let cgmHistory = ["cgm_lag1", "cgm_lag3", "cgm_lag6", "cgm_diff", "cgm_lagdiff3", "cgm_lagdiff6",
                                    "cgm_roll_mean12", "cgm_roll_std12"]
    /// Built-in static features (besides subjects.csv columns).
    public static let staticBuiltins = ["subject_id", "glucose_centre", "glucose_scale"]
    /// Feature groups usable in lists as `@name`.
    public static let groups = ["time", "cgm_history", "wearables"]

    /// Every time-varying feature name that can exist for some data.
    public static var allTimeVarying: [String] {
        [cgm, cgmScaled, iob, iobScaled] + time + cgmHistory + [mealFlag]
            + Channel.allCases.filter { $0 != .mealFlag }.map(\.rawValue)
    }

    /// Features that keep their fixed, paper-defined scale; all others are standardized per cohort.
    public static let fixedScale: Set<String> = [cgmScaled, iobScaled, "tod_sin", "tod_cos", mealFlag]

    /// Whether `name` is standardized with cohort mean/std (recorded in `FeatureSpec`).
    public static func isStandardized(_ name: String) -> Bool { !fixedScale.contains(name) }

    /// Whether a list entry (feature, `?feature` or `@group`) is syntactically known.
    public static func isKnownEntry(_ entry: String) -> Bool {
        if entry.hasPrefix("@") { return groups.contains(String(entry.dropFirst())) }
        let name = entry.hasPrefix("?") ? String(entry.dropFirst()) : entry
        return allTimeVarying.contains(name)
    }

    /// Eq. 11: 2·(log g − log 40)/(log 400 − log 40) − 1, with g clamped to [40, 400].
    public static func scaleCGM(_ g: Float) -> Float {
        let c = Double(min(max(g, 40), 400))
        return Float(2 * (log(c) - log(40.0)) / (log(400.0) - log(40.0)) - 1)
    }

    /// Eq. 14, the inverse of eq. 11: mg/dL from a scaled value.
    public static func unscaleCGM(_ s: Float) -> Float {
        Float(exp((Double(s) + 1) / 2 * (log(400.0) - log(40.0)) + log(40.0)))
    }
}

/// An optional feature (`?name` in a feature list) that a dataset does not have, and why (recorded in the
/// feature spec and the manifest, printed by `prepare`).
public struct DroppedFeature: Codable, Equatable, Sendable {
    /// Feature name.
    public var name: String
    /// The config list it was in, e.g. `data.past_features`.
    public var list: String
    /// Why the data cannot give it, e.g. "needs an insulin_bolus_u or insulin_basal_u_per_h column".
    public var reason: String

    /// Creates a record.
    public init(name: String, list: String, reason: String) {
        self.name = name
        self.list = list
        self.reason = reason
    }

    /// A line for `prepare`'s report.
    public var summary: String { "optional feature '\(name)' left out of \(list): \(reason)" }
}
