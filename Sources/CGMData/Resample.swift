import CGMSchema

// Resampling a subject's raw rows onto the 5-minute grid (Ts = 5 min, PhysioSeq2Seq §3.1; Algorithm 1
// line 2). The grid is aligned to multiples of 300 s since the Unix epoch and runs from the first to
// the last row of the subject (rounded up to the grid).
//
//   glucose    at each grid time T between the readings just before and just after it, only when they
//              are ≤ `maxInterpolationGapMinutes` (15) apart: linear interpolation (`GapFill.interpolate`,
//              default) or the reading before (`.locf`, SSM-CGM §2); a reading exactly at T is taken as
//              is. Longer gaps leave NaN, which splits the series into segments.
//   events     bin (T − 5 min, T] → T (an event at 12:03 belongs to 12:05, never to an earlier time),
//              aggregated per `Channel.aggregation`: amounts summed, wearables averaged, sleep stage
//              last, meal flag max, basal rate time-weighted (the rate carries forward until the next
//              basal row).
//
// Per grid time the resampler also records what QC needs about the raw readings: how many fell in the
// bin (`observed`, rule 1) and how old the latest reading at or before T is (`readingAge`, rule 3).

/// One subject on the 5-minute grid.
public struct ResampledSubject: Sendable {
    /// Grid step in seconds.
    public static let gridSeconds: Int64 = 300

    /// Subject id.
    public var id: String
    /// Unix seconds of grid index 0 (a multiple of 300).
    public var start: Int64
    /// Number of grid points.
    public var count: Int
    /// Glucose (mg/dL) at each grid time; NaN outside segments.
    public var glucose: [Float]
    /// Raw glucose readings in each bin (T − 5 min, T], capped at 255 (QC rule 1).
    public var observed: [UInt8]
    /// Seconds from the latest raw reading at or before T to T; `Int32.max` before the first (QC rule 3).
    public var readingAge: [Int32]
    /// UTC offset (minutes) of the local clock at each grid time (last row at or before T).
    public var utcOffsetMinutes: [Int16]
    /// Optional columns, as in the raw series.
    public var channels: [Channel]
    /// `values[c][i]`: channel `channels[c]` aggregated into bin i (NaN where a mean/last bin is empty).
    public var values: [[Float]]
    /// Maximal runs of grid indices with glucose, ascending.
    public var segments: [Range<Int>]

    /// Unix seconds of grid index `i`.
    public func time(at i: Int) -> Int64 { start + Int64(i) * Self.gridSeconds }

    /// The grid values of `channel`, if present.
    public func values(for channel: Channel) -> [Float]? {
        channels.firstIndex(of: channel).map { values[$0] }
    }
}

/// Counts from resampling a cohort.
public struct ResampleReport: Codable, Equatable, Sendable {
    /// Subjects resampled.
    public var subjects = 0
    /// Grid points with a glucose value.
    public var glucosePoints = 0
    /// Of those, points filled between two readings (not a reading exactly on the grid time): interpolated,
    /// or carried forward under `GapFill.locf`.
    public var interpolatedPoints = 0
    /// Contiguous segments.
    public var segments = 0
    /// Gaps longer than the interpolation limit that split a series.
    public var gapsSplit = 0
    /// Subjects with no glucose at all (they yield no windows).
    public var subjectsWithoutGlucose: [String] = []

    /// Creates an empty report.
    public init() {}

    /// A one-line summary.
    public func summaryLines() -> [String] {
        var lines = ["resample: \(subjects) subjects, \(glucosePoints) glucose points on the 5-min grid"
            + " (\(interpolatedPoints) interpolated), \(segments) segments, \(gapsSplit) gaps split"]
        if !subjectsWithoutGlucose.isEmpty {
            lines.append("  warning: \(subjectsWithoutGlucose.count) subject(s) without glucose: "
                + subjectsWithoutGlucose.prefix(10).joined(separator: ", "))
        }
        return lines
    }
}

/// Puts raw series on the 5-minute grid.
public struct Resampler: Sendable {
    /// Longest gap between two readings that is interpolated across (minutes).
    public var maxInterpolationGapMinutes: Int
    /// How gaps up to that limit are filled.
    public var gapFill: GapFill
    /// Largest span of one subject's timestamps (days); more is treated as a timestamp error.
    public var maxSpanDays: Int

    /// A resampler filling gaps up to `maxInterpolationGapMinutes` (default 15) by `gapFill` (default interpolate).
    public init(maxInterpolationGapMinutes: Int = 15, gapFill: GapFill = .interpolate, maxSpanDays: Int = 1000) {
        self.maxInterpolationGapMinutes = maxInterpolationGapMinutes
        self.gapFill = gapFill
        self.maxSpanDays = maxSpanDays
    }

    /// The resampler `prepare` used for a dataset with this spec (inference resamples the same way).
    public init(spec: FeatureSpec) {
        self.init(maxInterpolationGapMinutes: spec.maxInterpolationGapMinutes, gapFill: spec.gapFillMethod)
    }

    /// The resampler of a `data:` section.
    public init(config: DataConfig) {
        self.init(maxInterpolationGapMinutes: config.maxInterpolationGapMinutes, gapFill: config.gapFill)
    }

    /// Resamples every subject of `cohort`.
    public func resample(_ cohort: Cohort) throws -> (subjects: [ResampledSubject], report: ResampleReport) {
        var report = ResampleReport()
        var out: [ResampledSubject] = []
        out.reserveCapacity(cohort.series.count)
        for series in cohort.series {
            let subject: ResampledSubject, interpolated: Int
            do {
                (subject, interpolated) = try resample(series)
            } catch var e as DataError where e.file == nil {
                (e.file, e.line) = (cohort.file, series.firstLine)        // the subject's first row
                throw e
            }
            report.subjects += 1
            report.interpolatedPoints += interpolated
            report.glucosePoints += subject.segments.reduce(0) { $0 + $1.count }
            report.segments += subject.segments.count
            report.gapsSplit += max(0, subject.segments.count - 1)
            if subject.segments.isEmpty { report.subjectsWithoutGlucose.append(subject.id) }
            out.append(subject)
        }
        return (out, report)
    }

    /// Resamples one subject; also returns how many grid glucose values were interpolated.
    /// - Throws: `DataError` naming the subject if its timestamps span more than `maxSpanDays`.
    public func resample(_ s: RawSeries) throws -> (subject: ResampledSubject, interpolated: Int) {
        let step = ResampledSubject.gridSeconds
        guard let first = s.time.first, let last = s.time.last else {
            return (ResampledSubject(id: s.subject, start: 0, count: 0, glucose: [], observed: [], readingAge: [],
                                     utcOffsetMinutes: [], channels: s.channels, values: s.channels.map { _ in [] },
                                     segments: []), 0)
        }
        let start = Self.ceilToGrid(first)
        let spanDays = Double(last - first) / 86_400
        guard spanDays <= Double(maxSpanDays) else {
            let dates = GridTime.iso8601(first) + " to " + GridTime.iso8601(last)
            throw DataError(key: .subject(s.subject), "timestamps span \(Int(spanDays)) days (\(dates), more than "
                + "\(maxSpanDays)); check for wrong dates or milliseconds written as seconds")
        }
        let count = Int((Self.ceilToGrid(last) - start) / step) + 1
        let bin = { (t: Int64) in Int((Self.ceilToGrid(t) - start) / step) }

        var out = ResampledSubject(id: s.subject, start: start, count: count,
                                   glucose: [Float](repeating: .nan, count: count),
                                   observed: [UInt8](repeating: 0, count: count),
                                   readingAge: [Int32](repeating: .max, count: count),
                                   utcOffsetMinutes: [Int16](repeating: s.utcOffsetMinutes[0], count: count),
                                   channels: s.channels, values: [], segments: [])
        let interpolated = resampleGlucose(s, into: &out, bin: bin)

        var row = 0
        for i in 0 ..< count {
            let t = out.time(at: i)
            while row + 1 < s.time.count, s.time[row + 1] <= t { row += 1 }
            out.utcOffsetMinutes[i] = s.utcOffsetMinutes[row]
        }
        out.values = s.channels.indices.map { c in
            aggregate(s.values[c], times: s.time, kind: s.channels[c].aggregation, out: out, bin: bin)
        }
        var i = 0
        while i < count {
            if out.glucose[i].isNaN {
                i += 1
                continue
            }
            var j = i
            while j < count, !out.glucose[j].isNaN { j += 1 }
            out.segments.append(i ..< j)
            i = j
        }
        return (out, interpolated)
    }

    /// Smallest multiple of 300 s at or after `t`.
    public static func ceilToGrid(_ t: Int64) -> Int64 {
        let step = ResampledSubject.gridSeconds
        let q = t / step, r = t % step
        return (r > 0 ? q + 1 : q) * step
    }

    private func resampleGlucose(_ s: RawSeries, into out: inout ResampledSubject, bin: (Int64) -> Int) -> Int {
        var times: [Int64] = [], values: [Double] = []
        for r in s.time.indices where !s.glucose[r].isNaN {
            times.append(s.time[r])
            values.append(Double(s.glucose[r]))
            let b = bin(s.time[r])
            if out.observed[b] < 255 { out.observed[b] += 1 }
        }
        guard !times.isEmpty else { return 0 }
        let maxGap = Int64(maxInterpolationGapMinutes) * 60
        var interpolated = 0
        var p = 0  // last reading at or before T, once T reaches times[0]
        for i in 0 ..< out.count {
            let t = out.time(at: i)
            while p + 1 < times.count, times[p + 1] <= t { p += 1 }
            guard times[p] <= t else { continue }
            out.readingAge[i] = Int32(clamping: t - times[p])
            if times[p] == t {
                out.glucose[i] = Float(values[p])
            } else if p + 1 < times.count, times[p + 1] - times[p] <= maxGap {
                switch gapFill {
                case .interpolate:
                    let w = Double(t - times[p]) / Double(times[p + 1] - times[p])
                    out.glucose[i] = Float(values[p] + (values[p + 1] - values[p]) * w)
                case .locf:
                    out.glucose[i] = Float(values[p])
                }
                interpolated += 1
            }
        }
        return interpolated
    }

    private func aggregate(_ v: [Float], times: [Int64], kind: Channel.Aggregation, out: ResampledSubject,
                           bin: (Int64) -> Int) -> [Float] {
        let count = out.count
        switch kind {
        case .sum, .max:
            var r = [Float](repeating: 0, count: count)
            for k in v.indices where !v[k].isNaN {
                let b = bin(times[k])
                r[b] = kind == .sum ? r[b] + v[k] : max(r[b], v[k])
            }
            return r
        case .mean:
            var sum = [Double](repeating: 0, count: count), n = [Int](repeating: 0, count: count)
            for k in v.indices where !v[k].isNaN {
                let b = bin(times[k])
                sum[b] += Double(v[k])
                n[b] += 1
            }
            return (0 ..< count).map { n[$0] > 0 ? Float(sum[$0] / Double(n[$0])) : .nan }
        case .last:
            var r = [Float](repeating: .nan, count: count)
            for k in v.indices where !v[k].isNaN { r[bin(times[k])] = v[k] }
            return r
        case .rate:
            // Mean of the piecewise-constant rate over (T − 5 min, T]; 0 before the first basal row.
            var changeTime: [Int64] = [], changeRate: [Double] = []
            for k in v.indices where !v[k].isNaN {
                changeTime.append(times[k])
                changeRate.append(Double(v[k]))
            }
            var r = [Float](repeating: 0, count: count)
            var k = -1  // last change at or before the bin start
            for i in 0 ..< count {
                let end = out.time(at: i), begin = end - ResampledSubject.gridSeconds
                while k + 1 < changeTime.count, changeTime[k + 1] <= begin { k += 1 }
                var rate = k >= 0 ? changeRate[k] : 0
                var cursor = begin, integral = 0.0
                var j = k + 1
                while j < changeTime.count, changeTime[j] < end {
                    integral += rate * Double(changeTime[j] - cursor)
                    cursor = changeTime[j]
                    rate = changeRate[j]
                    j += 1
                }
                integral += rate * Double(end - cursor)
                r[i] = Float(integral / Double(ResampledSubject.gridSeconds))
            }
            return r
        }
    }
}
