/// What `cgmtrain simulate` generates.
public struct CohortConfig: Sendable {
    /// Number of subjects.
    public var subjects: Int
    /// Days simulated per subject.
    public var days: Int
    /// Master seed: the same seed gives the same bytes.
    public var seed: UInt64
    /// First simulated instant, seconds since 1970-01-01T00:00:00Z (default 2026-01-05T00:00:00Z).
    public var startEpochSeconds: Int64
    /// Group mix (fractions, normalized); allocated exactly by largest remainder, then shuffled.
    public var groupMix: [(DiabetesStatus, Double)]
    /// Clinical sites the subjects are spread over.
    public var clinicalSites: [String]

    /// Default mix: 40 % T1D, 15 % T2D on insulin, 20 % T2D on oral agents, 10 % prediabetes,
    /// 15 % healthy.
    public static let defaultMix: [(DiabetesStatus, Double)] = [
        (.t1d, 0.40), (.t2dInsulin, 0.15), (.t2dOral, 0.20), (.prediabetes, 0.10), (.healthy, 0.15),
    ]

    /// The default cohort of the README's main job: 12 subjects × 3 days.
    public init(subjects: Int = 12, days: Int = 3, seed: UInt64 = 42,
                startEpochSeconds: Int64 = Timestamp.epochSeconds(year: 2026, month: 1, day: 5),
                groupMix: [(DiabetesStatus, Double)] = CohortConfig.defaultMix,
                clinicalSites: [String] = ["site_a", "site_b", "site_c"]) {
        self.subjects = subjects
        self.days = days
        self.seed = seed
        self.startEpochSeconds = startEpochSeconds
        self.groupMix = groupMix
        self.clinicalSites = clinicalSites
    }

    /// The group of every subject: counts by largest remainder of `mix × subjects`, then a seeded
    /// shuffle, so a cohort of 12 has exactly 5 T1D, 2 T2D-insulin, 2 T2D-oral, 1 prediabetes, 2 healthy.
    public func groupAssignment() -> [DiabetesStatus] {
        let total = groupMix.reduce(0) { $0 + $1.1 }
        precondition(total > 0, "CohortConfig.groupMix must have a positive total")
        let exact = groupMix.map { Double(subjects) * $0.1 / total }
        var counts = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(counts[$0]), -$0) > (exact[$1] - Double(counts[$1]), -$1) }
        var missing = subjects - counts.reduce(0, +)
        for k in order where missing > 0 {
            counts[k] += 1
            missing -= 1
        }
        var out: [DiabetesStatus] = []
        for (k, c) in counts.enumerated() { out += [DiabetesStatus](repeating: groupMix[k].0, count: c) }
        var rng = SeededGenerator(seed: seed, stream: 1)
        rng.shuffle(&out)
        return out
    }
}
