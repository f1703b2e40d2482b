// Choosing the best trial (SSM-CGM A.9: "The primary selection criterion is validation QuantileLoss; ties
// break by MAE, then RMSE, then parameter count") and the median stopping rule.
//
// Selection is a cascade of filters over the candidates (finished trials with a finite primary metric):
// keep those within the tolerance of the smallest primary value, then of those the ones within tolerance of
// the smallest first tie-breaker, and so on; a candidate lacking a tie-breaker value that others have is
// dropped at that stage; a tie-breaker no candidate has is skipped. Remaining ties go to the lowest trial
// index. With tolerance 0 this is the lexicographic order. The full ranking repeats the selection on the
// remaining trials, so the first row of the report is always the selected trial.

import Foundation
import Training

extension SweepSelection {
    /// Indices into `statuses` of the selected trial first, then the rest of the candidates in selection
    /// order. Only `finished` trials with a finite primary metric are candidates.
    public func rank(_ statuses: [SweepTrialStatus]) -> [Int] {
        var remaining = statuses.indices.filter { statuses[$0].state == .finished && statuses[$0].value(metric) != nil }
        var order: [Int] = []
        while !remaining.isEmpty {
            let best = select(remaining, statuses)
            order.append(best)
            remaining.removeAll { $0 == best }
        }
        return order
    }

    /// The best of `candidates` (indices into `statuses`) by the cascade.
    func select(_ candidates: [Int], _ statuses: [SweepTrialStatus]) -> Int {
        var pool = candidates
        for m in [metric] + tieBreakers where pool.count > 1 {
            let values = pool.compactMap { statuses[$0].value(m) }
            guard let lowest = values.min() else { continue }
            let limit = lowest + tolerance * Swift.abs(lowest)
            pool = pool.filter { statuses[$0].value(m).map { $0 <= limit } ?? false }
        }
        return pool.min { statuses[$0].trial < statuses[$1].trial }!
    }
}

extension SweepPruning {
    /// The median stopping rule for a trial with validation losses `own` (one per check so far) against the
    /// check histories of completed trials. Returns the reason to stop, or nil to continue.
    public func shouldStop(own: [Double], completed: [[Double]]) -> String? {
        let c = own.count
        guard c >= max(1, warmupChecks) else { return nil }
        // Running average of each completed trial's validation loss over its first c checks.
        let averages = completed.filter { $0.count >= c }.map { $0[..<c].reduce(0, +) / Double(c) }.filter(\.isFinite)
        guard averages.count >= minTrials else { return nil }
        let sorted = averages.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2]
                                           : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let best = own.filter(\.isFinite).min() ?? .infinity
        guard best > median else { return nil }
        return "median stopping rule: best val_loss \(Progress.fmt(best)) after \(c) checks > median \(Progress.fmt(median)) "
            + "of \(averages.count) completed trials' running averages"
    }
}
