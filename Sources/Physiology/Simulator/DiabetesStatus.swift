/// The subject groups of the cohort (`subjects.csv` column `diabetes_status`).
public enum DiabetesStatus: String, CaseIterable, Sendable, Codable {
    case healthy
    case prediabetes
    case t2dOral = "t2d_oral"
    case t2dInsulin = "t2d_insulin"
    case t1d

    /// Whether the group takes exogenous insulin (basal column and boluses present).
    public var usesInsulin: Bool { self == .t1d || self == .t2dInsulin }
}

/// How a group differs from the shared Hovorka parameter family. Documented modelling choices:
///
/// * `sensitivityScale` multiplies S_IT, S_ID, S_IE (insulin resistance in T2D/prediabetes; the T1D
///   and healthy groups keep the family's own spread),
/// * `betaCellCapacity` scales the endogenous secretion of `EndogenousSecretion` (0 in T1D),
/// * `egpScale` multiplies EGP0 (metformin lowers hepatic output in `t2d_oral`),
/// * ages and weights are typical of adult clinic cohorts for each group.
public struct GroupProfile: Sendable {
    public var sensitivityScale: Double
    public var betaCellCapacity: Double
    public var egpScale: Double
    public var ageMean: Double, ageSD: Double
    public var weightMean: Double, weightSD: Double
    /// Probability that a meal is logged (event columns filled).
    public var mealLogging: Double
    /// Daily probability of a planned exercise session.
    public var exerciseProbability: Double
    /// Multiplier on meal carbohydrate sizes.
    public var carbScale: Double

    /// The profile of `status`.
    public static func of(_ status: DiabetesStatus) -> GroupProfile {
        switch status {
        case .healthy:
            return GroupProfile(sensitivityScale: 1.0, betaCellCapacity: 1.0, egpScale: 1.0, ageMean: 38, ageSD: 13,
                                weightMean: 72, weightSD: 13, mealLogging: 0.7, exerciseProbability: 0.5, carbScale: 1.0)
        case .prediabetes:
            return GroupProfile(sensitivityScale: 0.7, betaCellCapacity: 0.6, egpScale: 1.0, ageMean: 52, ageSD: 11,
                                weightMean: 88, weightSD: 15, mealLogging: 0.7, exerciseProbability: 0.3, carbScale: 1.0)
        case .t2dOral:
            return GroupProfile(sensitivityScale: 0.5, betaCellCapacity: 0.35, egpScale: 0.85, ageMean: 58, ageSD: 10,
                                weightMean: 92, weightSD: 16, mealLogging: 0.75, exerciseProbability: 0.3, carbScale: 0.9)
        case .t2dInsulin:
            return GroupProfile(sensitivityScale: 0.45, betaCellCapacity: 0.15, egpScale: 1.0, ageMean: 61, ageSD: 10,
                                weightMean: 95, weightSD: 17, mealLogging: 0.85, exerciseProbability: 0.25, carbScale: 0.9)
        case .t1d:
            return GroupProfile(sensitivityScale: 1.0, betaCellCapacity: 0.0, egpScale: 1.0, ageMean: 38, ageSD: 13,
                                weightMean: 76.3, weightSD: 15.9, mealLogging: 0.95, exerciseProbability: 0.4, carbScale: 1.0)
        }
    }
}
