// Train / validation / test splits.
//
// SubjectSplit (PhysioSeq2Seq §4.1): subjects are partitioned with a fixed seed, 70/15/15 by default,
// so no subject appears in two splits. The subject ids are sorted first and shuffled with SplitMix64
// (a portable generator), so the split depends only on the set of ids and the seed — not on file
// order, platform or Swift version. Sizes: validation = round(n·f_val), test = round(n·f_test),
// train = the rest; with ≥ 3 subjects every split with a non-zero fraction gets at least one subject.
//
// Stratified (SSM-CGM A.2, `data.stratify: COLUMN`, e.g. diabetes_status): the same sizes, with each value of
// the column spread over the splits in proportion (within one subject; see `SubjectSplit.stratified`).
//
// TemporalSplit (SSM-CGM §2: "withhold their last two hours of data for validation (penultimate) and
// testing (last)"): per subject, let E be the last target time among its accepted windows. A window
// with decision time t has targets in (t, t + 5H min]. It is
//   test        if its targets lie in (E − 60 min, E]                 ⇔ t ≥ E − 60 min
//   validation  if its targets lie in (E − 120 min, E − 60 min]       ⇔ t ≥ E − 120 min, t + 5H ≤ E − 60 min
//   train       if its targets end by E − 120 min                     ⇔ t + 5H ≤ E − 120 min
// and otherwise discarded (its targets straddle a boundary), so no target time belongs to two splits.
// With H = 12 each subject contributes one test window (t = E − 60 min) and one validation window
// (t = E − 120 min) when the stride divides 12. Feature scaling is then fitted on data up to
// E − 120 min per subject (`trainCutoff`).
//
// TemporalFractionSplit (`data.split: temporal_fraction`, any horizon): per subject, its span [S, E] (first
// to last glucose grid point) is cut at b₁ = S + f_train·(E − S) and b₂ = S + (f_train + f_val)·(E − S)
// (`data.fractions`, 70/15/15 by default). A window with decision time t is
//   test        if t ≥ b₂                       (its targets lie in (b₂, E])
//   validation  if t ≥ b₁ and t + 5H ≤ b₂        (targets in (b₁, b₂])
//   train       if t + 5H ≤ b₁                   (targets end by b₁)
// and otherwise discarded. Histories may reach into the previous period (they are inputs, as in the temporal
// split); no target time belongs to two splits. Scaling is fitted on data up to b₁ per subject. Every subject
// is in every split, so a cohort of a few subjects (a real one) still gets validation and test windows.

/// One of the three splits.
public enum SplitName: String, CaseIterable, Codable, Sendable {
    case train, validation, test
}

/// A seeded partition of subjects.
public struct SubjectSplit: Equatable, Sendable {
    /// Training subjects, sorted.
    public var train: [String]
    /// Validation subjects, sorted.
    public var validation: [String]
    /// Test subjects, sorted.
    public var test: [String]

    /// Partitions `subjects` (duplicates ignored) with `seed` and `fractions` (train, validation, test).
    public static func random(_ subjects: [String], seed: UInt64, fractions: [Double] = [0.7, 0.15, 0.15]) -> SubjectSplit {
        precondition(fractions.count == 3 && fractions.allSatisfy { $0 >= 0 },
                     "SubjectSplit: fractions must be 3 non-negative numbers, got \(fractions)")
        var ids = Array(Set(subjects)).sorted()
        var rng = SamplerRNG(seed: seed)
        if ids.count > 1 {
            for i in stride(from: ids.count - 1, to: 0, by: -1) { ids.swapAt(i, rng.belowByRejection(i + 1)) }
        }
        let sizes = splitSizes(ids.count, fractions: fractions)
        return SubjectSplit(train: ids[0 ..< sizes[0]].sorted(),
                            validation: ids[sizes[0] ..< sizes[0] + sizes[1]].sorted(),
                            test: ids[(sizes[0] + sizes[1])...].sorted())
    }

    /// A stratified partition (SSM-CGM A.2: "subject-wise splits stratified by diabetes status"). Each
    /// stratum (`strata[id]`, missing = the "" stratum; strata in sorted order) is shuffled with one
    /// SplitMix64 stream seeded by `seed`; its k-th of n subjects gets the key (k + ½)/n, and all subjects
    /// are ordered by (key, stratum, id), which spreads every stratum evenly along the list. The list is
    /// then cut like `random`'s: validation first, then test, the rest train, with `random`'s sizes. So the
    /// split sizes equal the unstratified ones and each stratum's count in a split is within one of its
    /// proportional share — also for strata too small to be split on their own.
    public static func stratified(_ subjects: [String], strata: [String: String], seed: UInt64,
                                  fractions: [Double] = [0.7, 0.15, 0.15]) -> SubjectSplit {
        var groups: [String: [String]] = [:]
        for id in Set(subjects) { groups[strata[id] ?? "", default: []].append(id) }
        var rng = SamplerRNG(seed: seed)
        var keyed: [(key: Double, stratum: String, id: String)] = []
        for stratum in groups.keys.sorted() {
            var ids = groups[stratum]!.sorted()
            if ids.count > 1 {
                for i in stride(from: ids.count - 1, to: 0, by: -1) { ids.swapAt(i, rng.belowByRejection(i + 1)) }
            }
            for (k, id) in ids.enumerated() { keyed.append(((Double(k) + 0.5) / Double(ids.count), stratum, id)) }
        }
        keyed.sort { ($0.key, $0.stratum, $0.id) < ($1.key, $1.stratum, $1.id) }
        let sizes = splitSizes(keyed.count, fractions: fractions)
        let ordered = keyed.map(\.id)
        return SubjectSplit(train: ordered[(sizes[1] + sizes[2])...].sorted(), validation: ordered[..<sizes[1]].sorted(),
                            test: ordered[sizes[1] ..< sizes[1] + sizes[2]].sorted())
    }

    /// Train, validation and test sizes for `n` subjects (see the file header).
    static func splitSizes(_ n: Int, fractions: [Double]) -> [Int] {
        var sizes = [0, Int((Double(n) * fractions[1]).rounded()), Int((Double(n) * fractions[2]).rounded())]
        sizes[1] = min(sizes[1], n)
        sizes[2] = min(sizes[2], n - sizes[1])
        sizes[0] = n - sizes[1] - sizes[2]
        if n >= 3 {
            for k in 0 ..< 3 where sizes[k] == 0 && fractions[k] > 0 {
                let donor = sizes.indices.max { sizes[$0] < sizes[$1] }!
                sizes[donor] -= 1
                sizes[k] += 1
            }
        }
        return sizes
    }

    /// The split holding `subject`, if any.
    public func split(of subject: String) -> SplitName? {
        if train.contains(subject) { return .train }
        if validation.contains(subject) { return .validation }
        if test.contains(subject) { return .test }
        return nil
    }

    /// The subjects of `split`.
    public func subjects(in split: SplitName) -> [String] {
        switch split {
        case .train: return train
        case .validation: return validation
        case .test: return test
        }
    }
}

/// Per-subject temporal split by decision time (see the file header for the exact rule).
public struct TemporalSplit: Sendable {
    /// Horizon H (steps) of the windows being split.
    public var horizon: Int
    /// Length of the final test period (minutes).
    public var testMinutes: Int
    /// Length of the validation period just before it (minutes).
    public var validationMinutes: Int

    /// A split for windows of horizon `horizon`, with the last hour as test and the hour before as validation.
    public init(horizon: Int, testMinutes: Int = 60, validationMinutes: Int = 60) {
        self.horizon = horizon
        self.testMinutes = testMinutes
        self.validationMinutes = validationMinutes
    }

    /// Per window its split (nil: discarded, its targets straddle a boundary); per subject the last
    /// Unix second of training data (nil for subjects without windows).
    public func assign(_ refs: [WindowRef], features: [SubjectFeatures]) -> (splits: [SplitName?], trainCutoff: [Int64?]) {
        let targetSpan = Int64(horizon) * ResampledSubject.gridSeconds
        var end = [Int64?](repeating: nil, count: features.count)
        for ref in refs {
            let e = features[ref.subject].time(at: ref.decision) + targetSpan
            end[ref.subject] = max(end[ref.subject] ?? e, e)
        }
        let testStart = Int64(testMinutes) * 60, validationStart = Int64(testMinutes + validationMinutes) * 60
        let splits: [SplitName?] = refs.map { ref in
            let e = end[ref.subject]!
            let t = features[ref.subject].time(at: ref.decision)
            if t >= e - testStart { return .test }
            if t >= e - validationStart, t + targetSpan <= e - testStart { return .validation }
            if t + targetSpan <= e - validationStart { return .train }
            return nil
        }
        return (splits, end.map { $0.map { $0 - validationStart } })
    }
}

/// Per-subject split of each subject's span by time fractions (`data.split: temporal_fraction`; see the file header).
public struct TemporalFractionSplit: Sendable {
    /// Horizon H (steps) of the windows being split.
    public var horizon: Int
    /// Train, validation, test fractions of each subject's span.
    public var fractions: [Double]

    /// A split of every subject's span into consecutive train, validation and test periods.
    public init(horizon: Int, fractions: [Double] = [0.7, 0.15, 0.15]) {
        precondition(fractions.count == 3, "TemporalFractionSplit: 3 fractions needed, got \(fractions)")
        self.horizon = horizon
        self.fractions = fractions
    }

    /// Per window its split (nil: discarded, its targets straddle a boundary); per subject the last
    /// Unix second of training data (nil for subjects without glucose).
    public func assign(_ refs: [WindowRef], features: [SubjectFeatures]) -> (splits: [SplitName?], trainCutoff: [Int64?]) {
        let targetSpan = Int64(horizon) * ResampledSubject.gridSeconds
        let bounds: [(train: Int64, validation: Int64)?] = features.map { f in
            guard let first = f.segments.first?.lowerBound, let last = f.segments.last.map({ $0.upperBound - 1 }) else {
                return nil
            }
            let start = f.time(at: first), span = Double(f.time(at: last) - start)
            return (start + Int64((span * fractions[0]).rounded(.down)),
                    start + Int64((span * (fractions[0] + fractions[1])).rounded(.down)))
        }
        let splits: [SplitName?] = refs.map { ref in
            guard let b = bounds[ref.subject] else { return nil }
            let t = features[ref.subject].time(at: ref.decision)
            if t >= b.validation { return .test }
            if t >= b.train, t + targetSpan <= b.validation { return .validation }
            if t + targetSpan <= b.train { return .train }
            return nil
        }
        return (splits, bounds.map { $0?.train })
    }
}

/// Subjects and windows per split.
public struct SplitReport: Codable, Equatable, Sendable {
    /// "subject", "temporal" or "temporal_fraction".
    public var method: String
    /// Seed of a subject split.
    public var seed: UInt64?
    /// Subjects with at least one window in each split (train, validation, test).
    public var subjects: [Int]
    /// Windows in each split (train, validation, test).
    public var windows: [Int]
    /// Windows dropped because their targets straddle a temporal boundary.
    public var discarded: Int

    /// A one-line summary.
    public func summaryLines() -> [String] {
        ["split (\(method)\(seed.map { ", seed \($0)" } ?? "")): train \(windows[0]) windows / \(subjects[0]) subjects,"
            + " validation \(windows[1]) / \(subjects[1]), test \(windows[2]) / \(subjects[2])"
            + (discarded > 0 ? ", \(discarded) straddling windows discarded" : "")]
    }
}

extension SamplerRNG {
    /// Uniform integer in 0 ..< bound by modulo with rejection (the subject split's draw; kept so split
    /// assignments stay as published, whereas the sampler uses `next(below:)`).
    mutating func belowByRejection(_ bound: Int) -> Int {
        let b = UInt64(bound)
        let limit = UInt64.max - UInt64.max % b
        var x = next()
        while x >= limit { x = next() }
        return Int(x % b)
    }
}
