// The worst-K segment lists of a model comparison as CSV (PhysioSeq2Seq Appendix D):
//
//   compare_worst_shared.csv       the K shared segments with the highest mean per-segment RMSE across the
//                                  compared models (the naive baseline does not enter the ranking), worst
//                                  first; every model's and the naive baseline's per-segment RMSE, MAE, ME
//   compare_worst_independent.csv  per model its own K worst segments by its per-segment RMSE, with the naive
//                                  baseline's errors on the same segment
//
// Segments are identified by their global window index in the split, subject and decision time (Unix
// seconds and ISO 8601 UTC), so a segment can be found again in the shards or the raw CSV.

import CGMData

extension ModelComparison {
    /// compare_worst_shared.csv: `rank, segment, subject, group, decision_time, decision_time_utc,
    /// mean_rmse`, then `<label>_rmse, <label>_mae, <label>_me` per model and for the naive baseline.
    public func worstSharedCSV() -> String {
        let forecasters = models.map { ($0, $0) } + [(WorstSegments.naiveName, Self.naiveLabel)]
        var header = ["rank", "segment", "subject", "group", "decision_time", "decision_time_utc", "mean_rmse"]
        for (_, label) in forecasters { header += ["rmse", "mae", "me"].map { "\(Self.key(label))_\($0)" } }
        var lines = [header.map(EvalCSV.field).joined(separator: ",")]
        for (i, s) in worstShared.segments.enumerated() {
            var fields = Self.segmentFields(rank: i + 1, s) + [EvalCSV.number(s.score)]
            for (name, _) in forecasters { fields += Self.errorFields(s.errors[name]) }
            lines.append(fields.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// compare_worst_independent.csv: `model, rank, segment, subject, group, decision_time,
    /// decision_time_utc, rmse, mae, me, naive_rmse, naive_mae, naive_me`, the models in table order.
    public func worstIndependentCSV() -> String {
        var lines = ["model,rank,segment,subject,group,decision_time,decision_time_utc,rmse,mae,me,naive_rmse,naive_mae,naive_me"]
        for name in models {
            for (i, s) in (worstIndependent[name]?.segments ?? []).enumerated() {
                lines.append(([EvalCSV.field(name)] + Self.segmentFields(rank: i + 1, s)
                              + Self.errorFields(s.errors[WorstSegments.modelName])
                              + Self.errorFields(s.errors[WorstSegments.naiveName])).joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func segmentFields(rank: Int, _ s: RankedSegment) -> [String] {
        [String(rank), String(s.segment), EvalCSV.field(s.subject), EvalCSV.field(s.group), String(s.decisionTime),
         GridTime.iso8601(s.decisionTime)]
    }

    private static func errorFields(_ e: SegmentErrors?) -> [String] {
        [e?.rmse, e?.mae, e?.me].map { EvalCSV.number($0 ?? .nan) }
    }
}
