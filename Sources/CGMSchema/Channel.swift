// The optional columns of the canonical long CSV and how each one is put on the 5-minute grid.
// Bins are (T − 5 min, T]: everything that happened after the previous grid time and up to T belongs
// to T, so a value at decision time T never contains anything that happened after T.

/// An optional per-timestamp column of the canonical CSV (its header name is `rawValue`).
public enum Channel: String, CaseIterable, Codable, Sendable {
    case carbs = "carbs_g"
    case protein = "protein_g"
    case fat = "fat_g"
    case fibre = "fibre_g"
    case bolus = "insulin_bolus_u"
    case basal = "insulin_basal_u_per_h"
    case heartRate = "heart_rate_bpm"
    case respirationRate = "respiration_rate"
    case spo2 = "spo2"
    case steps = "steps"
    case stress = "stress"
    case calories = "calories"
    case sleepStage = "sleep_stage"
    case mealFlag = "meal_flag"

    /// How raw values falling in one 5-minute bin become the bin's value.
    public enum Aggregation: String, Codable, Sendable {
        /// Amounts: summed (an empty bin is 0). Carbs, macronutrients, bolus insulin, steps, calories.
        case sum
        /// Intensive wearable readings: averaged (an empty bin is missing). Heart rate, respiration, SpO2, stress.
        case mean
        /// Categorical wearable state: the bin's last reading (an empty bin is missing). Sleep stage.
        case last
        /// Flags: 1 if any reading in the bin is non-zero, else 0.
        case max
        /// A rate carried forward until the next row (basal insulin, U/h): the bin holds the
        /// time-weighted mean rate over (T − 5 min, T], so rate/12 is exactly the bin's micro-dose.
        case rate
    }

    /// The aggregation this channel uses on the grid.
    public var aggregation: Aggregation {
        switch self {
        case .carbs, .protein, .fat, .fibre, .bolus, .steps, .calories: return .sum
        case .heartRate, .respirationRate, .spo2, .stress: return .mean
        case .sleepStage: return .last
        case .mealFlag: return .max
        case .basal: return .rate
        }
    }

    /// Wearable signals: carried forward within a segment and standardized per cohort (SSM-CGM).
    public var isWearable: Bool {
        switch self {
        case .heartRate, .respirationRate, .spo2, .steps, .stress, .calories, .sleepStage: return true
        default: return false
        }
    }

    /// Whether a negative value is an input error (amounts of food or insulin, the basal rate).
    public var mustBeNonNegative: Bool {
        switch self {
        case .carbs, .protein, .fat, .fibre, .bolus, .basal: return true
        default: return false
        }
    }
}

extension Channel {
    /// Sleep stages written as words (wearable exports such as AI-READI's, and `cgmtrain simulate`) and the
    /// numbers they are read as; `sleep_stage` also accepts numbers directly.
    public static let sleepStageCodes: [String: Double] = ["awake": 0, "wake": 0, "light": 1, "deep": 2, "rem": 3]
}
