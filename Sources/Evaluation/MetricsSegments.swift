// Worst-case segment analysis (PhysioSeq2Seq Appendix D, Table 4).
//
//   per-segment RMSE   sqrt(mean over the H steps of (ŷ − y)²)   (also MAE and ME over the horizon)
//   independent worst-K  rank one model's segments by its per-segment RMSE, take the K highest
//   shared worst-K       rank the segments common to all models by the mean over models of their
//                        per-segment RMSE, take the K highest; every model is scored on that same set
//
// Ties are broken by ascending segment id so the selection is deterministic. A set's "rmse" is the average
// of the per-segment RMSEs (Table 4's "average RMSE"); "pooledRMSE" is the RMSE of all its errors pooled.

/// One segment's errors over the horizon, mg/dL.
public struct SegmentErrors: Codable, Equatable, Sendable {
    /// sqrt(mean over steps of e²).
    @NullIfNonFinite public var rmse: Double
    /// Mean over steps of |e|.
    @NullIfNonFinite public var mae: Double
    /// Mean over steps of e.
    @NullIfNonFinite public var me: Double

    /// The errors of `prediction` against `target`.
    public init(prediction: [Float], target: [Float]) {
        var abs = 0.0, sq = 0.0, sum = 0.0
        for (p, y) in zip(prediction, target) {
            let e = Double(p) - Double(y)
            abs += Swift.abs(e)
            sq += e * e
            sum += e
        }
        let n = Double(target.count)
        rmse = (sq / n).squareRoot()
        mae = abs / n
        me = sum / n
    }

    /// The model's errors on `record`.
    public static func model(_ record: ForecastRecord) -> SegmentErrors {
        SegmentErrors(prediction: record.prediction, target: record.target)
    }

    /// The naive baseline's errors on `record`.
    public static func naive(_ record: ForecastRecord) -> SegmentErrors {
        SegmentErrors(prediction: [Float](repeating: record.naive, count: record.target.count), target: record.target)
    }
}

/// A segment selected by a worst-K analysis, with every compared forecaster's errors on it.
public struct RankedSegment: Codable, Equatable, Sendable {
    /// Global segment id.
    public var segment: Int
    /// Subject id.
    public var subject: String
    /// Subgroup label.
    public var group: String
    /// Unix seconds of the decision time.
    public var decisionTime: Int64
    /// The ranking key (per-segment RMSE, or its mean across models for the shared selection).
    @NullIfNonFinite public var score: Double
    /// Errors per forecaster name ("model" or the model names, and "naive").
    public var errors: [String: SegmentErrors]
}

/// Averages over a set of segments, mg/dL.
public struct SegmentSetSummary: Codable, Equatable, Sendable {
    /// Number of segments.
    public var segments: Int
    /// Mean of the per-segment RMSEs (Table 4's "average RMSE").
    @NullIfNonFinite public var rmse: Double
    /// RMSE of all the set's errors pooled.
    @NullIfNonFinite public var pooledRMSE: Double
    /// Mean absolute error (the same pooled or averaged per segment: every segment has H errors).
    @NullIfNonFinite public var mae: Double
    /// Mean error.
    @NullIfNonFinite public var me: Double

    /// Summarizes per-segment errors (each over the same number of steps).
    public init(_ errors: [SegmentErrors]) {
        segments = errors.count
        let n = Double(errors.count)
        let empty = errors.isEmpty
        rmse = empty ? .nan : errors.reduce(0) { $0 + $1.rmse } / n
        pooledRMSE = empty ? .nan : (errors.reduce(0) { $0 + $1.rmse * $1.rmse } / n).squareRoot()
        mae = empty ? .nan : errors.reduce(0) { $0 + $1.mae } / n
        me = empty ? .nan : errors.reduce(0) { $0 + $1.me } / n
    }
}

/// The K worst segments and each forecaster's averages over them.
public struct WorstSegments: Codable, Equatable, Sendable {
    /// Name of the naive baseline in `errors` and `summaries`.
    public static let naiveName = "naive"
    /// Name of the single model in `select`.
    public static let modelName = "model"

    /// K requested (fewer segments when the set is smaller).
    public var k: Int
    /// How segments were ranked.
    public var criterion: String
    /// The selected segments, worst first.
    public var segments: [RankedSegment]
    /// Averages over the selected segments, per forecaster name.
    public var summaries: [String: SegmentSetSummary]

    /// Independent worst-K of one model: its K segments of highest per-segment RMSE, with the model's and the
    /// naive baseline's errors on them (forecaster names "model" and "naive").
    public static func select(_ records: ForecastRecords, k: Int = 100) -> WorstSegments {
        let ranked = rank(records.records.map { ($0, SegmentErrors.model($0).rmse) }, k: k)
        return build(ranked, k: k, criterion: "per-segment RMSE of the model", forecasters: [
            (modelName, { SegmentErrors.model($0) }), (naiveName, { SegmentErrors.naive($0) }),
        ])
    }

    /// Shared worst-K across models (Appendix D): among the segments evaluable by every model, the K with the
    /// highest mean per-segment RMSE over the models (the naive baseline does not enter the ranking); every
    /// model and the naive baseline are scored on that set. Throws when names repeat or clash with "naive",
    /// or when the models' records disagree on a common segment's target or naive value.
    public static func shared(_ models: [(name: String, records: ForecastRecords)], k: Int = 100) throws
        -> WorstSegments {
        try checkNames(models.map(\.name))
        let common = ForecastRecords.commonSegments(models.map(\.records))
        let sets = models.map { $0.records.restricted(to: common) }
        guard let reference = sets.first else { throw EvaluationError("shared worst segments: no models") }
        try checkSameData(sets, names: models.map(\.name))
        let byModel: [[ForecastRecord]] = sets.map(\.records)
        let scored = reference.records.indices.map { i -> (ForecastRecord, Double) in
            let mean = byModel.reduce(0.0) { $0 + SegmentErrors.model($1[i]).rmse } / Double(byModel.count)
            return (reference.records[i], mean)
        }
        let ranked = rank(scored, k: k)
        let position = Dictionary(uniqueKeysWithValues: reference.records.enumerated().map { ($1.segment, $0) })
        var forecasters: [(String, (ForecastRecord) -> SegmentErrors)] = []
        for (m, name) in models.map(\.name).enumerated() {
            let list = byModel[m]
            forecasters.append((name, { SegmentErrors.model(list[position[$0.segment]!]) }))
        }
        forecasters.append((naiveName, { SegmentErrors.naive($0) }))
        return build(ranked, k: k, criterion: "mean per-segment RMSE across models "
                     + models.map(\.name).joined(separator: ", "), forecasters: forecasters)
    }

    // MARK: Internals

    /// The K highest scores, ties by ascending segment id; a NaN score ranks as the worst.
    private static func rank(_ scored: [(ForecastRecord, Double)], k: Int) -> [(ForecastRecord, Double)] {
        let sorted = scored.sorted { a, b in
            let sa = a.1.isNaN ? Double.infinity : a.1, sb = b.1.isNaN ? Double.infinity : b.1
            return sa != sb ? sa > sb : a.0.segment < b.0.segment
        }
        return Array(sorted.prefix(Swift.max(k, 0)))
    }

    private static func build(_ ranked: [(ForecastRecord, Double)], k: Int, criterion: String,
                              forecasters: [(String, (ForecastRecord) -> SegmentErrors)]) -> WorstSegments {
        var segments: [RankedSegment] = []
        var perForecaster = [String: [SegmentErrors]]()
        for (record, score) in ranked {
            var errors = [String: SegmentErrors]()
            for (name, f) in forecasters {
                let e = f(record)
                errors[name] = e
                perForecaster[name, default: []].append(e)
            }
            segments.append(RankedSegment(segment: record.segment, subject: record.subject, group: record.group,
                                          decisionTime: record.decisionTime, score: score, errors: errors))
        }
        var summaries = [String: SegmentSetSummary]()
        for (name, _) in forecasters { summaries[name] = SegmentSetSummary(perForecaster[name] ?? []) }
        return WorstSegments(k: k, criterion: criterion, segments: segments, summaries: summaries)
    }

    static func checkNames(_ names: [String]) throws {
        guard !names.isEmpty else { throw EvaluationError("no models to compare") }
        var seen = Set<String>()
        for name in names {
            guard !name.isEmpty else { throw EvaluationError("a compared model has an empty name") }
            guard name != naiveName else {
                throw EvaluationError("model name '\(naiveName)' is reserved for the naive baseline")
            }
            guard seen.insert(name).inserted else { throw EvaluationError("model name '\(name)' given twice") }
        }
    }

    /// The models must have been evaluated on the same data: equal horizon, and on every common segment the
    /// same subject, target and naive value (to 1e-3 mg/dL).
    static func checkSameData(_ sets: [ForecastRecords], names: [String]) throws {
        guard let reference = sets.first else { return }
        for (set, name) in zip(sets, names).dropFirst() {
            guard set.horizon == reference.horizon else {
                throw EvaluationError("model '\(name)' has horizon \(set.horizon), model '\(names[0])' \(reference.horizon)")
            }
            for (a, b) in zip(reference.records, set.records) {
                let sameTarget = zip(a.target, b.target).allSatisfy { Swift.abs($0 - $1) <= 1e-3 }
                guard a.segment == b.segment, a.subject == b.subject, sameTarget,
                      Swift.abs(a.naive - b.naive) <= 1e-3 else {
                    throw EvaluationError("segment \(a.segment): models '\(names[0])' and '\(name)' disagree on the "
                        + "subject, target or last observed value: they were not evaluated on the same data")
                }
            }
        }
    }
}

extension HorizonMetrics {
    /// Metrics per subgroup label (`diabetes_status`), each on that group's segments only.
    public static func bySubgroup(_ records: ForecastRecords, stepMinutes: Int = 5,
                                  selectedMinutes: [Int]? = nil) -> [String: HorizonMetrics] {
        var result = [String: HorizonMetrics]()
        for group in records.groups {
            result[group] = compute(records.group(group), stepMinutes: stepMinutes, selectedMinutes: selectedMinutes)
        }
        return result
    }
}
