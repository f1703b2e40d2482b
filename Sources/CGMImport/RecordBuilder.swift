// What an importer collects from one file for one subject, before times are resolved: glucose readings
// and events, each with the line it came from and its time as a local clock reading (`LocalStamp`, most
// device exports) or an instant (Nightscout, AI-READI), plus extended boluses, temporary basal intervals
// and long-acting injections to expand once their times are instants (InsulinDelivery).
//
// `finish` turns it into a `SubjectSeries`: the date order is settled for the whole file, local clock
// times are converted with the zone or kept as zone-less clock times when no zone is given. The repeated
// autumn hour is resolved by file order (ZoneClockStream), over all records of a stream in line order: a
// device export is one chronological stream (readings and events interleaved); OhioT1DM's XML has one
// stream per element (each chronological on its own), set through `stream`.

import DelimitedText

/// A record's time as the export wrote it.
enum RecordTime {
    /// A device-local clock reading.
    case local(LocalStamp)
    /// An instant, with the UTC offset (minutes) its text carried, if any.
    case instant(Int64, offsetMinutes: Int16?)
}


/// The records of one subject from one file, before time resolution.
struct RecordBuilder {
    var subject: String

    var readingTimes: [RecordTime] = []
    var readingLines: [Int32] = []
    var glucose: [Float] = []
    var censoring: [Censoring] = []

    var eventTimes: [RecordTime] = []
    var eventLines: [Int32] = []
    var eventColumns: [CanonicalColumn] = []
    var eventValues: [Float] = []
    var eventStreams: [Int] = []
    var readingStreams: [Int] = []

    /// Extended boluses: start, duration (s), dose.
    var extendedBoluses: [(time: RecordTime, line: Int32, stream: Int, durationSeconds: Int64, dose: Double)] = []
    /// Scheduled basal rate changes.
    var scheduledBasal: [(time: RecordTime, line: Int32, stream: Int, rate: Double)] = []
    /// Temporary rates or suspensions: start, duration (s), rate (U/h), or a percentage of the scheduled rate.
    var basalIntervals: [(time: RecordTime, line: Int32, stream: Int, durationSeconds: Int64, rate: Double, percent: Bool)] = []
    /// Long-acting injections (U).
    var longActing: [(time: RecordTime, line: Int32, stream: Int, dose: Double)] = []
    /// The stream records added now belong to (see the file header).
    var stream = 0

    /// Evidence for the order of ambiguous dates.
    var dateEvidence = DateOrderEvidence()

    init(subject: String) {
        self.subject = subject
    }

    mutating func note(_ time: RecordTime, line: Int) {
        if case .local(let s) = time { dateEvidence.note(s, line: line) }
    }

    mutating func addReading(_ time: RecordTime, line: Int, mgdl: Double, censoring c: Censoring = .none) {
        note(time, line: line)
        readingTimes.append(time)
        readingLines.append(Int32(truncatingIfNeeded: line))
        readingStreams.append(stream)
        glucose.append(Float(mgdl))
        censoring.append(c)
    }

    mutating func addEvent(_ time: RecordTime, line: Int, _ column: CanonicalColumn, _ value: Double) {
        note(time, line: line)
        eventTimes.append(time)
        eventLines.append(Int32(truncatingIfNeeded: line))
        eventColumns.append(column)
        eventValues.append(Float(value))
        eventStreams.append(stream)
    }

    mutating func addBolus(_ time: RecordTime, line: Int, dose: Double, durationSeconds: Int64) {
        if durationSeconds > BolusSpread.stepSeconds {
            note(time, line: line)
            extendedBoluses.append((time, Int32(truncatingIfNeeded: line), stream, durationSeconds, dose))
        } else {
            addEvent(time, line: line, .bolus, dose)
        }
    }

    mutating func addScheduledBasal(_ time: RecordTime, line: Int, rate: Double) {
        note(time, line: line)
        scheduledBasal.append((time, Int32(truncatingIfNeeded: line), stream, rate))
    }

    mutating func addBasalInterval(_ time: RecordTime, line: Int, durationSeconds: Int64, rate: Double, percent: Bool = false) {
        note(time, line: line)
        basalIntervals.append((time, Int32(truncatingIfNeeded: line), stream, durationSeconds, rate, percent))
    }

    mutating func addLongActing(_ time: RecordTime, line: Int, dose: Double) {
        note(time, line: line)
        longActing.append((time, Int32(truncatingIfNeeded: line), stream, dose))
    }

    var isEmpty: Bool {
        readingTimes.isEmpty && eventTimes.isEmpty && extendedBoluses.isEmpty && scheduledBasal.isEmpty
            && basalIntervals.isEmpty && longActing.isEmpty
    }
}

/// How record times become instants.
struct TimeResolution {
    /// The zone of device-local times (and of the local clock of UTC-stamped records), if given.
    var zone: ZoneClock?
    /// The date order, if fixed by the user; else proven by the file's dates or `fallbackOrder`.
    var dateOrder: DateOrder?
    /// The order assumed when the dates read both ways.
    var fallbackOrder: DateOrder = .mdy
    /// Where a fixed `dateOrder` comes from (for the report).
    var dateOrderSource = "--date-order"
}

/// A subject's rows from one file, times resolved: instants, UTC offsets (nil: a zone-less local clock time).
public struct SubjectSeries: Sendable {
    /// The subject id.
    public var subject: String
    /// Glucose readings: Unix seconds, UTC offset in minutes (`noOffset`: a zone-less clock time), mg/dL, censoring.
    public var readingTime: [Int64] = []
    public var readingOffset: [Int16] = []
    public var glucose: [Float] = []
    public var censoring: [Censoring] = []
    /// Events, one value of one column each: Unix seconds, offset, column, value (sleep stages as 0 … 3).
    public var eventTime: [Int64] = []
    public var eventOffset: [Int16] = []
    public var eventColumn: [CanonicalColumn] = []
    public var eventValue: [Float] = []
    /// Whether times carry a UTC offset (false: device-local clock times written without a zone).
    public var zoned: Bool

    /// Marker for "no offset" in the offset arrays of a zone-less series.
    static let noOffset = Int16.min
}

extension RecordBuilder {
    /// Settles the date order, converts every time, expands boluses and basal intervals. Counts land in `report`.
    /// - Throws: `DataError` naming the file and line of a date that does not exist under the settled order.
    func finish(_ resolution: TimeResolution, file: String, report: inout FileReport) throws -> SubjectSeries {
        var settled = resolution.dateOrder
        if settled == nil, dateEvidence.ambiguous > 0 {
            if dateEvidence.contradictory {
                let (a, b) = (dateEvidence.dayFirstLine ?? 0, dateEvidence.monthFirstLine ?? 0)
                throw DataError(file: file, line: max(a, b), "dates read neither day-first nor month-first: line \(min(a, b)) can only be "
                                + (a < b ? "day-first" : "month-first") + ", this line only " + (a < b ? "month-first" : "day-first"))
            }
            if let proven = dateEvidence.proven {
                settled = proven
                report.dateOrder = "\(proven.rawValue) (the dates show it)"
            } else {
                settled = resolution.fallbackOrder
                report.dateOrder = "\(resolution.fallbackOrder.rawValue) (assumed: every date reads both ways; pass --date-order to choose)"
            }
        } else if let fixed = settled, dateEvidence.ambiguous > 0 {
            report.dateOrder = "\(fixed.rawValue) (\(resolution.dateOrderSource))"
        }
        let dateOrder = settled ?? .mdy
        var zone = resolution.zone
        let zoned = zone != nil || readingTimes.contains { if case .instant = $0 { return true } else { return false } }
            || eventTimes.contains { if case .instant = $0 { return true } else { return false } }

        // Local clock seconds (or instants) of every record, for the zone's coverage.
        func clock(_ t: RecordTime, _ line: Int32) throws -> Int64 {
            switch t {
            case .instant(let s, _): return s
            case .local(let stamp):
                guard let c = stamp.clockSeconds(order: dateOrder) else {
                    throw DataError(file: file, line: Int(line), "date does not exist when read \(dateOrder == .mdy ? "month-first" : "day-first")"
                                    + "; pass --date-order \(dateOrder == .mdy ? "dmy" : "mdy") if the file is the other way round")
                }
                return c
            }
        }
        var lo = Int64.max, hi = Int64.min
        func span(_ c: Int64) { lo = min(lo, c); hi = max(hi, c) }
        var readingClock = [Int64](repeating: 0, count: readingTimes.count)
        for i in readingTimes.indices { readingClock[i] = try clock(readingTimes[i], readingLines[i]); span(readingClock[i]) }
        var eventClock = [Int64](repeating: 0, count: eventTimes.count)
        for i in eventTimes.indices { eventClock[i] = try clock(eventTimes[i], eventLines[i]); span(eventClock[i]) }
        let extendedClock = try extendedBoluses.map { try clock($0.time, $0.line) }
        let scheduledClock = try scheduledBasal.map { try clock($0.time, $0.line) }
        let intervalClock = try basalIntervals.map { try clock($0.time, $0.line) }
        let longClock = try longActing.map { try clock($0.time, $0.line) }
        for c in extendedClock + scheduledClock + intervalClock + longClock { span(c) }
        if lo <= hi, var z = zone {
            z.cover(lo ... hi)
            zone = z
        }

        // Every record's (instant, offset), resolving local times per stream in line order.
        enum Kind { case reading, event, extended, scheduled, interval, long }
        var order: [(stream: Int, line: Int32, kind: Kind, index: Int)] = []
        order.reserveCapacity(readingTimes.count + eventTimes.count)
        for i in readingTimes.indices { order.append((readingStreams[i], readingLines[i], .reading, i)) }
        for i in eventTimes.indices { order.append((eventStreams[i], eventLines[i], .event, i)) }
        for (i, e) in extendedBoluses.enumerated() { order.append((e.stream, e.line, .extended, i)) }
        for (i, e) in scheduledBasal.enumerated() { order.append((e.stream, e.line, .scheduled, i)) }
        for (i, e) in basalIntervals.enumerated() { order.append((e.stream, e.line, .interval, i)) }
        for (i, e) in longActing.enumerated() { order.append((e.stream, e.line, .long, i)) }
        let inOrder = zip(order, order.dropFirst()).allSatisfy { ($0.stream, $0.line) <= ($1.stream, $1.line) }
        if !inOrder {
            order = order.enumerated().sorted { a, b in
                (a.element.stream, a.element.line, a.offset) < (b.element.stream, b.element.line, b.offset)
            }.map(\.element)
        }
        var readingOut = [(Int64, Int16)](repeating: (0, 0), count: readingTimes.count)
        var eventOut = [(Int64, Int16)](repeating: (0, 0), count: eventTimes.count)
        var extendedOut = [(Int64, Int16)](repeating: (0, 0), count: extendedBoluses.count)
        var scheduledOut = [(Int64, Int16)](repeating: (0, 0), count: scheduledBasal.count)
        var intervalOut = [(Int64, Int16)](repeating: (0, 0), count: basalIntervals.count)
        var longOut = [(Int64, Int16)](repeating: (0, 0), count: longActing.count)
        var streams: [Int: ZoneClockStream] = [:]
        var current = ZoneClockStream(), currentStream = Int.min
        for o in order {
            let time: RecordTime, c: Int64
            switch o.kind {
            case .reading: (time, c) = (readingTimes[o.index], readingClock[o.index])
            case .event: (time, c) = (eventTimes[o.index], eventClock[o.index])
            case .extended: (time, c) = (extendedBoluses[o.index].time, extendedClock[o.index])
            case .scheduled: (time, c) = (scheduledBasal[o.index].time, scheduledClock[o.index])
            case .interval: (time, c) = (basalIntervals[o.index].time, intervalClock[o.index])
            case .long: (time, c) = (longActing[o.index].time, longClock[o.index])
            }
            let r: (Int64, Int16)
            switch time {
            case .instant(let s, let given):
                r = zone.map { (s, Int16($0.offset(at: s) / 60)) } ?? (s, given ?? 0)
            case .local:
                report.localTimes += 1
                if let zone {
                    if o.stream != currentStream {
                        if currentStream != Int.min { streams[currentStream] = current }
                        current = streams[o.stream] ?? ZoneClockStream()
                        currentStream = o.stream
                    }
                    r = current.resolve(c, with: zone)
                } else {
                    r = (c, SubjectSeries.noOffset)
                }
            }
            switch o.kind {
            case .reading: readingOut[o.index] = r
            case .event: eventOut[o.index] = r
            case .extended: extendedOut[o.index] = r
            case .scheduled: scheduledOut[o.index] = r
            case .interval: intervalOut[o.index] = r
            case .long: longOut[o.index] = r
            }
        }
        if currentStream != Int.min { streams[currentStream] = current }

        var out = SubjectSeries(subject: subject, zoned: zoned)
        out.readingTime = readingOut.map(\.0)
        out.readingOffset = readingOut.map(\.1)
        out.glucose = glucose
        out.censoring = censoring
        out.eventTime = eventOut.map(\.0)
        out.eventOffset = eventOut.map(\.1)
        out.eventColumn = eventColumns
        out.eventValue = eventValues
        for (k, e) in extendedBoluses.enumerated() {
            let (t, o) = extendedOut[k]
            for part in BolusSpread.spread(dose: e.dose, start: t, durationSeconds: e.durationSeconds) {
                out.eventTime.append(part.time)
                out.eventOffset.append(o)
                out.eventColumn.append(.bolus)
                out.eventValue.append(Float(part.value))
            }
            report.extendedBoluses += 1
        }
        if !scheduledBasal.isEmpty || !basalIntervals.isEmpty || !longActing.isEmpty {
            var offsets: [Int64: Int16] = [:]
            let scheduled = scheduledBasal.enumerated().map { k, s -> TimedDose in
                let (t, o) = scheduledOut[k]
                offsets[t] = o
                return TimedDose(time: t, value: s.rate)
            }.sorted { $0.time < $1.time }
            var intervals: [BasalInterval] = []
            for (k, b) in basalIntervals.enumerated() {
                let (t, o) = intervalOut[k]
                offsets[t] = o
                offsets[t + b.durationSeconds] = o
                var rate = b.rate
                if b.percent {
                    let base = scheduled.last { $0.time <= t }?.value ?? 0
                    rate = base * b.rate / 100
                }
                intervals.append(BasalInterval(start: t, end: t + b.durationSeconds, rate: rate))
            }
            for (k, l) in longActing.enumerated() {
                let (t, o) = longOut[k]
                offsets[t] = o
                offsets[t + 86_400] = o
                intervals.append(BasalTimeline.longActing(dose: l.dose, at: t))
            }
            report.basalIntervals += basalIntervals.count
            report.longActingInjections += longActing.count
            for row in BasalTimeline.rows(scheduled: scheduled, intervals: intervals) {
                out.eventTime.append(row.time)
                out.eventOffset.append(offsets[row.time] ?? zone.map { Int16($0.offset(at: row.time) / 60) } ?? (zoned ? 0 : SubjectSeries.noOffset))
                out.eventColumn.append(.basal)
                out.eventValue.append(Float(row.value))
            }
        }
        for st in streams.values {
            report.dstMissing += st.missing
            report.dstRepeatedFirst += st.repeatedFirst
            report.dstRepeatedSecond += st.repeatedSecond
        }
        return out
    }
}
