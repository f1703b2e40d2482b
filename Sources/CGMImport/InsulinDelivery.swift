// How insulin records with a duration become rows of the canonical CSV, shared by every importer.
//
//   extended (square-wave) and the extended part of dual boluses: spread uniformly into ⌊d/5⌋ five-minute
//     steps of dose/⌊d/5⌋ U each, at start + 5k min (PhysioSeq2Seq §3.3); d ≤ 5 min is one instantaneous dose.
//   temporary basal rates and suspensions: the rate rows of the pump's schedule with the temporary rate laid
//     over [start, end): a row with the temporary rate at start and one with the scheduled rate in force at
//     end (the canonical basal column is a rate carried forward until the next row).
//   long-acting injections (pens: Dexcom, LibreView, D1NAMO): a basal rate of dose/24 U/h for 24 h, then 0
//     unless another injection comes first (insulin glargine's flat ~24 h profile; our approximation, as the
//     canonical CSV has no long-acting column).

/// One insulin record at an instant.
public struct TimedDose: Equatable, Sendable {
    /// Unix seconds.
    public var time: Int64
    /// Units (a bolus) or U/h (a basal rate).
    public var value: Double

    /// A dose or rate at an instant.
    public init(time: Int64, value: Double) {
        self.time = time
        self.value = value
    }
}

/// Extended-bolus spreading (PhysioSeq2Seq §3.3).
public enum BolusSpread {
    /// The step of the spread, 5 minutes.
    public static let stepSeconds: Int64 = 300

    /// `dose` U starting at `start` and delivered over `durationSeconds`: ⌊d/5 min⌋ equal parts 5 minutes
    /// apart from `start`, or the whole dose at `start` when d ≤ 5 min.
    public static func spread(dose: Double, start: Int64, durationSeconds: Int64) -> [TimedDose] {
        let steps = durationSeconds > stepSeconds ? Int(durationSeconds / stepSeconds) : 1
        let part = dose / Double(steps)
        return (0 ..< steps).map { TimedDose(time: start + Int64($0) * stepSeconds, value: part) }
    }
}

/// A basal rate over a time interval (a temporary rate, a suspension, a long-acting injection).
public struct BasalInterval: Equatable, Sendable {
    /// Unix seconds, start inclusive and end exclusive.
    public var start: Int64, end: Int64
    /// U/h during the interval.
    public var rate: Double

    /// A rate over [start, end).
    public init(start: Int64, end: Int64, rate: Double) {
        self.start = start
        self.end = end
        self.rate = rate
    }
}

/// Scheduled basal rate changes with temporary intervals laid over them.
public enum BasalTimeline {
    /// The rate change rows: every scheduled change outside the intervals, each interval's rate at its start,
    /// and at its end the scheduled rate then in force (0 before the first scheduled row). Intervals that
    /// overlap are cut where the next one starts. Sorted by time; at equal times the later row wins.
    public static func rows(scheduled: [TimedDose], intervals: [BasalInterval]) -> [TimedDose] {
        let schedule = scheduled.sorted { $0.time < $1.time }
        var temps = intervals.filter { $0.end > $0.start }.sorted { $0.start < $1.start }
        for k in temps.indices.dropLast() where temps[k].end > temps[k + 1].start { temps[k].end = temps[k + 1].start }
        func scheduledRate(at t: Int64) -> Double {
            var lo = 0, hi = schedule.count  // last schedule row with time ≤ t
            while lo < hi {
                let mid = (lo + hi) / 2
                if schedule[mid].time <= t { lo = mid + 1 } else { hi = mid }
            }
            return lo == 0 ? 0 : schedule[lo - 1].value
        }
        func inTemp(_ t: Int64) -> Bool {
            temps.contains { $0.start <= t && t < $0.end }
        }
        var out = schedule.filter { !inTemp($0.time) }
        for (k, temp) in temps.enumerated() {
            out.append(TimedDose(time: temp.start, value: temp.rate))
            let nextStartsAtEnd = k + 1 < temps.count && temps[k + 1].start == temp.end
            if !nextStartsAtEnd { out.append(TimedDose(time: temp.end, value: scheduledRate(at: temp.end))) }
        }
        return out.enumerated().sorted { $0.element.time != $1.element.time ? $0.element.time < $1.element.time : $0.offset < $1.offset }
            .map(\.element)
    }

    /// A long-acting injection of `dose` U at `time`: dose/24 U/h for 24 hours.
    public static func longActing(dose: Double, at time: Int64) -> BasalInterval {
        BasalInterval(start: time, end: time + 86_400, rate: dose / 24)
    }
}
