// The import report: one entry per input file (what was read, kept, dropped and why with the first line
// numbers, censored readings, detected format, units and sampling interval, date order, DST counts), written
// as import-report.txt and import-report.json next to the canonical files. Paths in it have any personal
// name found in the files removed (PersonalData).

import Foundation

/// Rows dropped for one reason.
public struct DroppedRows: Codable, Equatable, Sendable {
    /// Why.
    public var reason: String
    /// How many.
    public var count: Int
    /// The first few line numbers (at most `DroppedRows.shownLines`).
    public var firstLines: [Int]

    static let shownLines = 5
}

/// What importing one file did.
public struct FileReport: Codable, Equatable, Sendable {
    /// The file, relative to the input it was found under.
    public var file: String
    /// The detected (or given) format.
    public var format: String
    /// Subject ids the file's rows went to.
    public var subjects: [String] = []
    /// Data rows (or JSON entries, XML events) read.
    public var rowsRead = 0
    /// Glucose readings written.
    public var readingsKept = 0
    /// Event and wearable values written (an extended bolus counts once per five-minute part).
    public var eventsKept = 0
    /// Rows not used, by reason.
    public var dropped: [DroppedRows] = []
    /// Readings exported as Low / High text, written as the sensor's limit and flagged.
    public var censoredLow = 0, censoredHigh = 0
    /// Glucose unit of the file.
    public var units: String?
    /// Median minutes between successive readings (of the file's first subject with readings).
    public var samplingMinutes: Double?
    /// How ambiguous dates were read.
    public var dateOrder: String?
    /// The zone device-local times were converted with, or the local clock of UTC-stamped data (nil: none).
    public var timezone: String?
    /// Records whose times were device-local clock readings (the others were instants).
    public var localTimes = 0
    /// Local times in the skipped spring hour (moved forward), and in the repeated autumn hour read as its
    /// first and second pass.
    public var dstMissing = 0, dstRepeatedFirst = 0, dstRepeatedSecond = 0
    /// Extended boluses spread over their duration, temporary basal intervals, long-acting injections.
    public var extendedBoluses = 0, basalIntervals = 0, longActingInjections = 0
    /// Anything else worth knowing.
    public var notes: [String] = []

    /// An empty report for `file` in `format`.
    public init(file: String, format: String) {
        self.file = file
        self.format = format
    }

    /// Counts a dropped row at `line` (nil: no line, e.g. a JSON entry).
    mutating func drop(_ reason: String, line: Int?) {
        if let k = dropped.firstIndex(where: { $0.reason == reason }) {
            dropped[k].count += 1
            if let line, dropped[k].firstLines.count < DroppedRows.shownLines { dropped[k].firstLines.append(line) }
        } else {
            dropped.append(DroppedRows(reason: reason, count: 1, firstLines: line.map { [$0] } ?? []))
        }
    }

    /// Adds counts from `finish`ed series (readings, events, censored, sampling interval).
    mutating func account(_ series: SubjectSeries) {
        if !subjects.contains(series.subject) { subjects.append(series.subject) }
        readingsKept += series.glucose.count
        eventsKept += series.eventValue.count
        for c in series.censoring {
            if c == .low { censoredLow += 1 } else if c == .high { censoredHigh += 1 }
        }
        if samplingMinutes == nil { samplingMinutes = Self.medianStepMinutes(series.readingTime) }  // the file's first subject
    }

    /// Median (the lower one) of the positive differences between successive sorted times, in minutes.
    static func medianStepMinutes(_ times: [Int64]) -> Double? {
        guard times.count > 1 else { return nil }
        let sorted = times.sorted()
        var steps: [Int64] = []
        steps.reserveCapacity(sorted.count)
        for k in 1 ..< sorted.count where sorted[k] > sorted[k - 1] { steps.append(sorted[k] - sorted[k - 1]) }
        guard !steps.isEmpty else { return nil }
        steps.sort()
        return (Double(steps[(steps.count - 1) / 2]) / 60 * 100).rounded() / 100
    }

    /// The report as text lines.
    public func lines() -> [String] {
        var out = ["\(file): \(format), \(subjects.count == 1 ? "subject \(subjects[0])" : "\(subjects.count) subjects")"]
        var counts = "  rows read \(rowsRead); readings kept \(readingsKept); events kept \(eventsKept)"
        if let units { counts += "; units \(units)" }
        if let samplingMinutes { counts += "; sampling every \(Self.format(samplingMinutes)) min (median)" }
        out.append(counts)
        if censoredLow + censoredHigh > 0 {
            out.append("  censored readings: \(censoredLow) Low, \(censoredHigh) High (written as the sensor's limits, glucose_censored = 1)")
        }
        if let dateOrder { out.append("  date order: \(dateOrder)") }
        switch (timezone, localTimes > 0) {
        case (let tz?, true):
            out.append("  device-local times converted with \(tz): \(dstMissing) in a skipped spring hour (moved forward), "
                + "\(dstRepeatedFirst + dstRepeatedSecond) in a repeated autumn hour (\(dstRepeatedFirst) first pass, \(dstRepeatedSecond) second pass)")
        case (let tz?, false):
            out.append("  times are UTC; local clock (time of day) from \(tz)")
        case (nil, true):
            out.append("  device-local times written without a zone (no --timezone): a skipped or repeated DST hour cannot be told apart")
        case (nil, false):
            break
        }
        if extendedBoluses > 0 { out.append("  extended boluses spread over their duration: \(extendedBoluses)") }
        if basalIntervals > 0 { out.append("  temporary basal rates / suspensions: \(basalIntervals)") }
        if longActingInjections > 0 { out.append("  long-acting injections written as dose/24 U/h for 24 h: \(longActingInjections)") }
        for d in dropped {
            out.append("  dropped \(d.count): \(d.reason)" + (d.firstLines.isEmpty ? "" : " (lines \(d.firstLines.map(String.init).joined(separator: ", "))\(d.count > d.firstLines.count ? ", …" : ""))"))
        }
        out += notes.map { "  note: \($0)" }
        return out
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%.2f", v)
    }
}

/// The whole import's report.
public struct ImportReport: Codable, Equatable, Sendable {
    /// Per input file, in the order read.
    public var files: [FileReport] = []
    /// Subjects written, readings and event rows in cgm.csv.
    public var subjects = 0, readings = 0, eventRows = 0
    /// Cohort-level notes (subjects without readings, merged files, …).
    public var notes: [String] = []

    /// Creates an empty report.
    public init() {}

    /// The whole report as text.
    public func text() -> String {
        var out = ["import: \(files.count) file(s), \(subjects) subject(s), \(readings) glucose readings, \(eventRows) event rows"]
        out += notes.map { "note: \($0)" }
        for f in files { out += f.lines() }
        return out.joined(separator: "\n") + "\n"
    }
}
