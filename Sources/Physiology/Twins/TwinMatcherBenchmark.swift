import Dispatch

/// Result of `TwinMatcher.benchmark`.
public struct TwinMatcherBenchmark: Sendable {
    /// Segments matched (all three passes) per second on one thread, i.e. per core.
    public let segmentsPerSecond: Double
    public let segments: Int
    public let seconds: Double
    /// Segments where matching failed (returned nil).
    public let failures: Int
    /// Mean RMSE (mg/dL) of the matched twins.
    public let meanRMSE: Double
}

extension TwinMatcher {
    /// Times Algorithm 1 on `segments` history windows from simulated T1D subjects (cohort generator,
    /// seed `seed`; windows every 15 min with ≥ 18 finite CGM values, Appendix C criterion 1, and a
    /// reading at the decision time) against the 300 twins of `VirtualPopulation(count: 300, seed:)`,
    /// on the calling thread. Generation is not timed. `hint` passes the previous segment's twin of
    /// the same subject (visiting order only; the result is identical); `prune: false` times the
    /// full 300 twins × 37 steps per segment.
    public static func benchmark(segments: Int, seed: UInt64 = 2026, hint: Bool = true,
                                 prune: Bool = true) -> TwinMatcherBenchmark {
        let matcher = TwinMatcher(population: VirtualPopulation(count: 300, seed: seed))
        let windows = benchmarkWindows(segments, seed: seed)
        let start = DispatchTime.now().uptimeNanoseconds
        var failures = 0, rmseSum = 0.0
        var previous: Int? = nil
        for (w, newSubject) in windows {
            if newSubject { previous = nil }
            if let m = matcher.match(w, hint: hint ? previous : nil, prune: prune) {
                rmseSum += m.rmse
                previous = m.twinIndex
            } else {
                failures += 1
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let n = windows.count
        return TwinMatcherBenchmark(segmentsPerSecond: Double(n) / seconds, segments: n, seconds: seconds,
                                    failures: failures, meanRMSE: rmseSum / Double(max(1, n - failures)))
    }

    /// `count` windows (with a flag marking each subject's first) from as many simulated T1D days as needed.
    static func benchmarkWindows(_ count: Int, seed: UInt64) -> [(TwinWindow, Bool)] {
        let stride = 3, length = historyLength
        let perDay = 288 / stride
        let days = max(2, min(14, count / (4 * perDay) + 2))
        let subjects = max(1, (count + perDay * (days - 1) - 1) / (perDay * (days - 1)))
        let config = CohortConfig(subjects: subjects, days: days, seed: seed, groupMix: [(.t1d, 1)])
        var out: [(TwinWindow, Bool)] = []
        for record in CohortSimulator.simulateAll(config) {
            let grid = FiveMinuteGrid(record)
            var first = true
            for end in Swift.stride(from: length - 1, to: grid.count, by: stride) {
                let w = grid.window(endingAt: end, length: length)
                guard w.cgm.last!.isFinite, w.cgm.filter({ $0.isFinite }).count >= 18 else { continue }
                out.append((w, first))
                first = false
            }
        }
        precondition(!out.isEmpty, "TwinMatcher.benchmark: no usable window")
        var cycled: [(TwinWindow, Bool)] = []
        cycled.reserveCapacity(count)
        var k = 0
        while cycled.count < count {
            cycled.append(out[k % out.count])
            k += 1
        }
        return cycled
    }
}
