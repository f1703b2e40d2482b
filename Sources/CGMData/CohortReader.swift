// CohortReader: the canonical long CSV (one row per subject and timestamp) → per-subject raw series.
//
//   subject_id,timestamp,glucose_mg_dl[,carbs_g,…,meal_flag]        (or glucose_mmol_l, ×18.016)
//
// Rows may carry only events (empty glucose). Per row: the subject id is compared byte-wise with the
// previous row's (files are usually grouped by subject) so no String is built per row; numbers and
// timestamps are parsed from bytes. Then per subject: rows are sorted by time (stable), exact duplicate
// rows removed, and a second glucose value at the same timestamp dropped (first in file order kept).
// Glucose outside 20–600 mg/dL is dropped (the row's events are kept). An optional glucose_censored column
// (1: the reading is a sensor limit standing for a "Low"/"High" text, written by `cgmtrain import`) is
// checked and counted, the reading kept as is. Every fix is counted in the `IngestReport`; every unreadable
// value is a `DataError` naming file, line and column.

import CGMSchema
import Config
import Foundation

/// One subject's rows after ingest: sorted by time, deduplicated, glucose in mg/dL.
public struct RawSeries: Sendable {
    /// The subject id.
    public var subject: String
    /// Line of the subject's first row in the measurements file.
    public var firstLine: Int
    /// Unix seconds of each row, ascending (equal times possible for rows carrying different values).
    public var time: [Int64]
    /// UTC offset (minutes) each row's timestamp was written in.
    public var utcOffsetMinutes: [Int16]
    /// Glucose in mg/dL; NaN where the row has none.
    public var glucose: [Float]
    /// Optional columns present in the file, in `Channel.allCases` order.
    public var channels: [Channel]
    /// `values[c][row]` for `channels[c]`; NaN where the cell is empty.
    public var values: [[Float]]

    /// The rows' values of `channel`, if the file has that column.
    public func values(for channel: Channel) -> [Float]? {
        channels.firstIndex(of: channel).map { values[$0] }
    }
}

/// All subjects of a cohort after ingest.
public struct Cohort: Sendable {
    /// The measurements file (name only).
    public var file: String
    /// Optional columns present in the file.
    public var channels: [Channel]
    /// Per-subject series, in order of first appearance in the file.
    public var series: [RawSeries]
    /// Static covariates from subjects.csv, if given.
    public var subjectTable: SubjectTable?
    /// Counts and warnings.
    public var report: IngestReport
}

/// Reads the canonical CSV (and optionally subjects.csv) into a `Cohort`.
public struct CohortReader {
    /// mg/dL per mmol/L used for `glucose_mmol_l` (molar mass of glucose 180.16 g/mol).
    public static let mmolToMgdl = 18.016
    /// Glucose kept; values outside are dropped and counted.
    public var glucoseRange: ClosedRange<Double> = 20 ... 600

    /// A reader with the default plausible glucose range (20–600 mg/dL).
    public init() {}

    /// Reads `cgmPath` and, if given, `subjectsPath`.
    /// - Throws: `DataError` for missing required columns, an unknown glucose unit, an unparsable
    ///   number or timestamp, a wrong field count, a negative amount, a subject missing from subjects.csv.
    public func read(cgmPath: String, subjectsPath: String? = nil) throws -> Cohort {
        let reader = try CSVReader(path: cgmPath)
        var cohort = try read(reader)
        if let subjectsPath {
            let table = try SubjectTable.read(path: subjectsPath)
            try crossCheck(&cohort, table)
            cohort.subjectTable = table
        }
        return cohort
    }

    /// Reads measurements from an open reader (header already read).
    public func read(_ reader: CSVReader) throws -> Cohort {
        let file = reader.name
        try reader.requireColumnNames(example: "subject_id,timestamp,glucose_mg_dl")
        let layout = try CSVLayout(header: reader.header, file: file)
        var report = IngestReport()
        report.file = file
        report.convertedFromMmol = layout.mmol
        report.ignoredColumns = layout.ignored
        if !layout.ignored.isEmpty {
            report.warnings.append("\(file): ignored column(s) not in the canonical format: "
                + layout.ignored.map { "'\(TextExcerpt.of($0))'" }.joined(separator: ", "))
        }
        let glucoseScale = layout.mmol ? CohortReader.mmolToMgdl : 1
        let glucoseName = layout.mmol ? "glucose_mmol_l" : "glucose_mg_dl"
        let channelCount = layout.channels.count

        var builders: [SeriesBuilder] = []
        var indexOf: [String: Int] = [:]
        var lastBytes: [UInt8] = []
        var lastIndex = -1
        var channelValues = [Float](repeating: .nan, count: channelCount)
        var row = CSVRow()
        while try reader.next(into: &row) {
            let line = reader.recordLine
            report.rows += 1
            guard row.count == reader.header.count else {
                throw DataError(file: file, line: line, "expected \(reader.header.count) fields, found \(row.count)")
            }
            let s: Int = try row.withField(layout.subject) { raw in
                let b = CSVNumber.trim(raw)
                guard !b.isEmpty else { throw DataError(file: file, line: line, key: .column("subject_id"), "empty subject id") }
                if lastIndex >= 0, b.elementsEqual(lastBytes) { return lastIndex }
                lastBytes.removeAll(keepingCapacity: true)
                lastBytes.append(contentsOf: b)
                let id = String(decoding: b, as: UTF8.self)
                if let k = indexOf[id] {
                    lastIndex = k
                } else {
                    lastIndex = builders.count
                    indexOf[id] = lastIndex
                    builders.append(SeriesBuilder(id: id, firstLine: line, channels: channelCount))
                }
                return lastIndex
            }
            let stamp: Timestamp = try row.withField(layout.timestamp) { raw in
                if let t = TimestampParser.parse(raw) { return t }
                let text = TextExcerpt.of(CSVNumber.trim(raw))
                throw DataError(file: file, line: line, key: .column("timestamp"),
                                text.isEmpty ? "empty timestamp" : TimestampParser.explain(text))
            }
            var glucose = try number(row, layout.glucose, glucoseName, file, line) * glucoseScale
            let hadGlucoseText = !glucose.isNaN
            if let c = layout.censored {
                let flag = try number(row, c, CSVLayout.censoredColumn, file, line)
                if !flag.isNaN {
                    guard flag == 0 || flag == 1 else {
                        throw DataError(file: file, line: line, key: .column(CSVLayout.censoredColumn), "value \(flag); expected 0 or 1")
                    }
                    if flag == 1, hadGlucoseText { report.censoredGlucose += 1 }
                }
            }
            if hadGlucoseText, !glucoseRange.contains(glucose) {
                report.droppedOutOfRangeGlucose += 1
                glucose = .nan
            }
            var anyValue = false
            for (c, channel) in layout.channels.enumerated() {
                let v = try number(row, layout.channelColumns[c], channel.rawValue, file, line)
                if !v.isNaN {
                    if channel.mustBeNonNegative, v < 0 {
                        throw DataError(file: file, line: line, key: .column(channel.rawValue), "negative value \(v); expected ≥ 0")
                    }
                    if channel == .mealFlag, v != 0, v != 1 {
                        throw DataError(file: file, line: line, key: .column(channel.rawValue), "value \(v); expected 0 or 1")
                    }
                    anyValue = true
                }
                channelValues[c] = Float(v)
            }
            if glucose.isNaN, !anyValue {
                if !hadGlucoseText { report.emptyRows += 1 }
                continue
            }
            if !hadGlucoseText { report.eventOnlyRows += 1 }
            builders[s].append(time: stamp.seconds, offset: Int16(stamp.utcOffsetMinutes),
                               glucose: Float(glucose), values: channelValues)
        }
        var series: [RawSeries] = []
        series.reserveCapacity(builders.count)
        for b in builders {
            report.unsortedRowsFixed += b.unsorted
            let dropped = report.duplicatesRemoved + report.duplicateTimestampGlucose
            let finished = b.finish(channels: layout.channels, report: &report)
            if let warning = b.offsetWarning(file: file, dropped: report.duplicatesRemoved + report.duplicateTimestampGlucose - dropped) {
                report.warnings.append(warning)
            }
            report.glucoseRows += finished.glucose.reduce(0) { $0 + ($1.isNaN ? 0 : 1) }
            series.append(finished)
        }
        report.subjects = series.count
        return Cohort(file: file, channels: layout.channels, series: series, subjectTable: nil, report: report)
    }

    /// Parses field `column` as a number; NaN when empty or a missing marker.
    private func number(_ row: CSVRow, _ column: Int, _ name: String, _ file: String, _ line: Int) throws -> Double {
        try row.withField(column) { raw in
            if CSVNumber.isMissing(raw) { return .nan }
            if let v = CSVNumber.parseDouble(raw) { return v }
            let trimmed = CSVNumber.trim(raw)
            if name == Channel.sleepStage.rawValue, trimmed.count <= 32,
               let code = Channel.sleepStageCodes[String(decoding: trimmed, as: UTF8.self).lowercased()] { return code }
            throw DataError(file: file, line: line, key: .column(name), "cannot parse '\(TextExcerpt.of(trimmed))' as a number")
        }
    }

    /// Every measured subject must have a subjects.csv row (error); unmeasured table rows are warned about.
    private func crossCheck(_ cohort: inout Cohort, _ table: SubjectTable) throws {
        for s in cohort.series where !table.contains(s.subject) {
            throw DataError(file: cohort.file, line: s.firstLine, key: .subject(s.subject), "not listed in \(table.file)")
        }
        let measured = Set(cohort.series.map(\.subject))
        let unused = table.subjects.filter { !measured.contains($0) }
        if !unused.isEmpty {
            let shown = unused.prefix(10).map { "'\(TextExcerpt.of($0))'" }.joined(separator: ", ")
            cohort.report.warnings.append("\(table.file): \(unused.count) subject(s) have no rows in \(cohort.file): "
                + shown + (unused.count > 10 ? ", …" : ""))
        }
    }
}

/// Where the canonical columns are in a header.
struct CSVLayout {
    /// The optional flag column of readings that stand for a sensor's Low/High text.
    static let censoredColumn = "glucose_censored"

    var subject = 0, timestamp = 0, glucose = 0
    /// Column of `censoredColumn`, if present.
    var censored: Int?
    var mmol = false
    var channels: [Channel] = []
    var channelColumns: [Int] = []
    var ignored: [String] = []

    init(header: [String], file: String) throws {
        var seen = Set<String>()
        var subject: Int?, timestamp: Int?, mgdl: Int?, mmolColumn: Int?
        var found: [Channel: Int] = [:]
        for (i, raw) in header.enumerated() {
            let name = raw.lowercased()
            guard seen.insert(name).inserted else {
                throw DataError(file: file, line: 1, key: .column(raw), "column appears twice in the header")
            }
            switch name {
            case "subject_id": subject = i
            case "timestamp": timestamp = i
            case "glucose_mg_dl": mgdl = i
            case "glucose_mmol_l": mmolColumn = i
            case CSVLayout.censoredColumn: censored = i
            case "glucose":
                throw DataError(file: file, line: 1, key: .column(raw),
                                "unknown glucose unit: name the column glucose_mg_dl or glucose_mmol_l")
            default:
                if name.hasPrefix("glucose_") {
                    throw DataError(file: file, line: 1, key: .column(raw),
                                    "unknown glucose unit '\(TextExcerpt.of(String(name.dropFirst("glucose_".count))))' (expected glucose_mg_dl or glucose_mmol_l)")
                }
                if let channel = Channel(rawValue: name) { found[channel] = i } else { ignored.append(raw) }
            }
        }
        guard let subject else { throw DataError(file: file, line: 1, key: .column("subject_id"), "missing required column") }
        guard let timestamp else { throw DataError(file: file, line: 1, key: .column("timestamp"), "missing required column") }
        if mgdl != nil, mmolColumn != nil {
            throw DataError(file: file, line: 1, key: .column("glucose_mmol_l"), "both glucose_mg_dl and glucose_mmol_l are present; keep one")
        }
        guard let glucose = mgdl ?? mmolColumn else {
            throw DataError(file: file, line: 1, key: .column("glucose_mg_dl"), "missing required column (or glucose_mmol_l)")
        }
        self.subject = subject
        self.timestamp = timestamp
        self.glucose = glucose
        mmol = mmolColumn != nil
        for channel in Channel.allCases {
            if let i = found[channel] {
                channels.append(channel)
                channelColumns.append(i)
            }
        }
    }
}

/// Growing per-subject arrays while the file is read.
private struct SeriesBuilder {
    let id: String
    let firstLine: Int
    var time: [Int64] = []
    var offset: [Int16] = []
    var glucose: [Float] = []
    var values: [[Float]]
    var unsorted = 0

    init(id: String, firstLine: Int, channels: Int) {
        self.id = id
        self.firstLine = firstLine
        values = Array(repeating: [], count: channels)
    }

    /// A subject whose rows switch UTC offset (`Z` here, `+05:00` there) and whose UTC order then differs
    /// from the file's, or holds repeated times: the export probably mixes local and UTC times, and putting
    /// rows in UTC order moved and dropped rows. Nil when nothing was reordered or dropped.
    func offsetWarning(file: String, dropped: Int) -> String? {
        guard let first = offset.first, let other = offset.first(where: { $0 != first }),
              unsorted > 0 || dropped > 0 else { return nil }
        let switches = zip(offset, offset.dropFirst()).filter { $0 != $1 }.count
        func show(_ m: Int16) -> String {
            m == 0 ? "Z" : String(format: "%@%02d:%02d", m < 0 ? "-" : "+", abs(Int(m)) / 60, abs(Int(m)) % 60)
        }
        return "\(file): subject '\(TextExcerpt.of(id))' (from line \(firstLine)): timestamps switch between UTC "
            + "offsets \(show(first)) and \(show(other)) \(switches) time(s); in UTC order \(unsorted) row(s) moved back "
            + "and \(dropped) were dropped as repeated times. If the export mixes local and UTC times, fix its offsets"
    }

    mutating func append(time t: Int64, offset o: Int16, glucose g: Float, values v: [Float]) {
        if let last = time.last, t < last { unsorted += 1 }
        time.append(t)
        offset.append(o)
        glucose.append(g)
        for c in 0 ..< v.count { values[c].append(v[c]) }
    }

    /// Sorts (stable), removes exact duplicates, drops second glucose values at one timestamp.
    func finish(channels: [Channel], report: inout IngestReport) -> RawSeries {
        var order = Array(time.indices)
        if unsorted > 0 { order.sort { time[$0] != time[$1] ? time[$0] < time[$1] : $0 < $1 } }
        var out = RawSeries(subject: id, firstLine: firstLine, time: [], utcOffsetMinutes: [], glucose: [],
                            channels: channels, values: Array(repeating: [], count: values.count))
        out.time.reserveCapacity(order.count)
        out.glucose.reserveCapacity(order.count)
        var runStart = 0  // first output row with the current time
        for r in order {
            if let last = out.time.last, last != time[r] { runStart = out.time.count }
            var g = glucose[r]
            var isDuplicate = false, runHasGlucose = false
            for q in runStart ..< out.time.count {
                if !out.glucose[q].isNaN { runHasGlucose = true }
                if same(out: out, q, r) { isDuplicate = true }
            }
            if isDuplicate {
                report.duplicatesRemoved += 1
                continue
            }
            if !g.isNaN, runHasGlucose {
                report.duplicateTimestampGlucose += 1
                g = .nan
                if values.allSatisfy({ $0[r].isNaN }) { continue }
            }
            out.time.append(time[r])
            out.utcOffsetMinutes.append(offset[r])
            out.glucose.append(g)
            for c in 0 ..< values.count { out.values[c].append(values[c][r]) }
        }
        return out
    }

    /// Whether input row `r` equals output row `q` in every value (NaN equals NaN).
    private func same(out: RawSeries, _ q: Int, _ r: Int) -> Bool {
        guard out.glucose[q].bitPattern == glucose[r].bitPattern, out.utcOffsetMinutes[q] == offset[r] else { return false }
        for c in 0 ..< values.count where out.values[c][q].bitPattern != values[c][r].bitPattern { return false }
        return true
    }
}
