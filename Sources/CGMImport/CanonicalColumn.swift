// The optional columns of the canonical cgm.csv that importers fill, under the names `prepare` reads
// (CGMData's `Channel`; a test keeps the two lists in agreement: this target does not link CGMData,
// which brings MPI and HDF5).

/// An event or wearable column of the canonical CSV (its header name is `rawValue`).
public enum CanonicalColumn: String, CaseIterable, Codable, Sendable, Comparable {
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

    /// How two values of this column at the same instant combine into one row: amounts add up; for a rate,
    /// a reading or a state the later one (in import order) wins.
    var combinesBySum: Bool {
        switch self {
        case .carbs, .protein, .fat, .fibre, .bolus, .steps, .calories: return true
        case .basal, .heartRate, .respirationRate, .spo2, .stress, .sleepStage, .mealFlag: return false
        }
    }

    /// Columns are written in declaration order (the order `prepare` lists them in).
    public static func < (a: CanonicalColumn, b: CanonicalColumn) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Sleep stages as the canonical CSV writes them (words `prepare` maps to 0 … 3).
    public static let sleepStageWords = ["awake", "light", "deep", "rem"]
}
