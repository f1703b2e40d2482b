/// The pre-computed population of digital twins `{θ_j}` of PhysioSeq2Seq §3.4 (J = 300).
///
/// Each twin is a draw from `ParameterDistribution` (stream 0 of `seed`); its basal rate is the
/// steady-state rate that holds it at `targetFastingMgDl` (115 mg/dL, the steady-state target of
/// Resalat et al. 2019). Draws with no such rate, or one outside `basalRange` (0.1–2.2 U/h), are
/// rejected and redrawn, so the population is a deterministic function of `(count, seed)`.
public struct VirtualPopulation: Sendable {
    /// The twins, index `j` = twin `j`.
    public let twins: [HovorkaParameters]
    /// The seed the population was drawn with.
    public let seed: UInt64
    /// Fasting glucose (mg/dL) each twin's basal rate holds.
    public let targetFastingMgDl: Double
    /// Accepted basal rates, U/h.
    public static let basalRange: ClosedRange<Double> = 0.1...2.2
    /// Number of rejected draws (for the record).
    public let rejected: Int

    /// Draws `count` twins (300 in the paper) under `seed`.
    public init(count: Int = 300, seed: UInt64, targetFastingMgDl: Double = 115,
                distribution: ParameterDistribution = ParameterDistribution()) {
        precondition(count > 0, "VirtualPopulation needs at least one twin")
        var rng = SeededGenerator(seed: seed, stream: 0x7_7715)
        var twins: [HovorkaParameters] = []
        twins.reserveCapacity(count)
        var rejected = 0
        while twins.count < count {
            var p = distribution.draw(&rng)
            guard let basal = SteadyState.basalRate(p, glucoseMgDl: targetFastingMgDl),
                  VirtualPopulation.basalRange.contains(basal) else {
                rejected += 1
                continue
            }
            p.basalUPerH = basal
            twins.append(p)
        }
        self.twins = twins
        self.seed = seed
        self.targetFastingMgDl = targetFastingMgDl
        self.rejected = rejected
    }

    /// A population made of given twins (tests, or a population loaded from elsewhere).
    public init(twins: [HovorkaParameters], seed: UInt64 = 0, targetFastingMgDl: Double = 115) {
        self.twins = twins
        self.seed = seed
        self.targetFastingMgDl = targetFastingMgDl
        rejected = 0
    }

    /// Number of twins.
    public var count: Int { twins.count }
}
