// Any other CSV, read through a `ColumnMap`: one or many subjects per file (a subject column, else the file
// name or --subject), glucose in the mapped unit (or the one the header or the values show), times as ISO 8601
// (with a zone: instants; without: local clock times), local date-times in the mapped order, or Unix (milli)seconds.

import DelimitedText
import Foundation

enum MappedCSV {
    static func read(_ ctx: UnitContext) throws -> UnitImport {
        guard let map = ctx.options.map else { throw DataError("--format csv needs --map or --map-file") }
        var zone = ctx.zone
        if zone == nil, let tz = map.timezone {
            guard let z = ZoneClock(identifier: tz) else { throw DataError(key: .config("--map timezone"), "'\(tz)' is not an IANA time zone name") }
            zone = z
        }
        let head = FormatDetection.head(ctx.path)
        let lines = head.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        let headerText = map.skipLines < lines.count ? String(lines[map.skipLines]) : ""
        let reader = try CSVReader(path: ctx.path, delimiter: map.delimiter ?? Delimiter.sniff(headerText))
        let file = reader.name
        var row = CSVRow()
        var headerFields = reader.header
        var headerLine = 1
        for _ in 0 ..< map.skipLines {
            guard try reader.next(into: &row) else { throw DataError(file: file, "fewer lines than skip=\(map.skipLines) before the header") }
            headerFields = (0 ..< row.count).map { row.string($0) }
            headerLine = reader.recordLine
        }
        let h = CSVHeader(headerFields, line: headerLine, file: file)
        func column(_ name: String, _ key: String) throws -> Int {
            guard let i = h.optional(name) else {
                throw DataError(file: file, line: headerLine, key: .column(name), "mapped by \(key)= but not in the header (columns: "
                                + h.names.map { "'\($0)'" }.joined(separator: ", ") + ")")
            }
            return i
        }
        let glucose = try column(map.glucose, "glucose")
        let time = try column(map.time, "time")
        let date = try map.date.map { try column($0, "date") }
        let subjectColumn = try map.subject.map { try column($0, "subject") }
        let events = try map.events.map { ($0.0, try column($0.1, $0.0.rawValue)) }
        var unit = map.units ?? GlucoseUnit.named(inHeader: h.names[glucose])
        var report = FileReport(file: ctx.displayPath, format: ImportFormat.mappedCSV.rawValue)

        var builders: [RecordBuilder] = []
        var indexOf: [String: Int] = [:]
        var lastSubject: [UInt8] = [], last = -1
        var glucoseSample: [Double] = []
        while try reader.next(into: &row) {
            let line = reader.recordLine
            report.rowsRead += 1
            guard row.count == h.names.count else { throw DataError(file: file, line: line, "expected \(h.names.count) fields, found \(row.count)") }
            var s = 0
            if let sc = subjectColumn {
                s = try row.withField(sc) { raw in
                    let b = CSVNumber.trim(raw)
                    guard !b.isEmpty else { throw DataError(file: file, line: line, key: .column(h.names[sc]), "empty subject id") }
                    if last >= 0, b.elementsEqual(lastSubject) { return last }
                    lastSubject = Array(b)
                    let id = SubjectNames.sanitized(String(decoding: b, as: UTF8.self))
                    if let k = indexOf[id] { last = k } else {
                        last = builders.count
                        indexOf[id] = last
                        builders.append(RecordBuilder(subject: id))
                    }
                    return last
                }
            } else if builders.isEmpty {
                builders.append(RecordBuilder(subject: ctx.defaultSubject))
            }
            let t = try recordTime(row, time: time, date: date, map: map, names: h.names, file: file, line: line)
            var used = false
            switch row.withField(glucose, { GlucoseCell.parse($0, unit: .mgdl, limits: map.limits, decimalComma: map.decimalComma) }) {
            case .value(let v, let c):
                builders[s].addReading(t, line: line, mgdl: v, censoring: c)
                if c == .none, glucoseSample.count < 1000 { glucoseSample.append(v) }
                used = true
            case .missing: break
            case .invalid:
                throw DataError(file: file, line: line, key: .column(h.names[glucose]), "cannot parse '\(row.string(glucose))' as a glucose value")
            }
            for (c, i) in events {
                if c == .sleepStage, !row.isEmpty(i) {
                    let word = row.string(i).lowercased()
                    if let code = CanonicalColumn.sleepStageWords.firstIndex(of: word) {
                        builders[s].addEvent(t, line: line, c, Double(code))
                        used = true
                        continue
                    }
                }
                guard let v = try row.number(i, h.names[i], file: file, line: line, decimalComma: map.decimalComma) else { continue }
                if [.carbs, .protein, .fat, .fibre, .bolus, .basal].contains(c), v < 0 {
                    throw DataError(file: file, line: line, key: .column(h.names[i]), "negative value \(v)")
                }
                builders[s].addEvent(t, line: line, c, v)
                used = true
            }
            if !used { report.drop("row without glucose or mapped event values", line: line) }
        }
        // The unit, when neither the mapping nor the header names it: the values decide (reported).
        if unit == nil {
            glucoseSample.sort()
            let median = glucoseSample.isEmpty ? 100 : glucoseSample[glucoseSample.count / 2]
            unit = GlucoseUnit.guessed(fromMedian: median)
            report.notes.append("glucose unit \(unit!.rawValue) inferred from the values (median \(FileReport.format(median))); set units= to fix it")
        }
        if unit == .mmol {
            for k in builders.indices {
                for i in builders[k].glucose.indices where builders[k].censoring[i] == .none {
                    builders[k].glucose[i] = Float(Double(builders[k].glucose[i]) * GlucoseUnit.mgdlPerMmol)
                }
            }
        }
        report.units = unit!.rawValue
        var unitImport = UnitImport()
        unitImport.reports = [report]
        unitImport.builders = builders.map { ($0, 0, file) }
        var order: DateOrder? = ctx.options.dateOrder
        if case .ordered(let o) = map.timeFormat { order = order ?? o }
        unitImport.resolution = TimeResolution(zone: zone, dateOrder: order,
                                               dateOrderSource: ctx.options.dateOrder == nil ? "the mapping's format=" : "--date-order")
        return unitImport
    }

    static func recordTime(_ row: CSVRow, time: Int, date: Int?, map: ColumnMap, names: [String], file: String, line: Int) throws -> RecordTime {
        if let date {
            return try row.withField(date) { d in
                try row.withField(time) { t in
                    if let s = LocalClockText.parse(date: d, time: t) { return .local(s) }
                    throw DataError(file: file, line: line, key: .column(names[date]),
                                    "cannot parse '\(row.string(date)) \(row.string(time))' as a date and time")
                }
            }
        }
        return try row.withField(time) { raw in
            let text = { String(decoding: CSVNumber.trim(raw), as: UTF8.self) }
            switch map.timeFormat {
            case .unixSeconds, .unixMilliseconds:
                guard let v = CSVNumber.parseDouble(raw) else {
                    throw DataError(file: file, line: line, key: .column(names[time]), "cannot parse '\(text())' as Unix time")
                }
                let seconds = map.timeFormat == .unixMilliseconds ? v / 1000 : v
                return .instant(Int64(seconds.rounded(.down)), offsetMinutes: nil)
            case .auto, .ordered:
                if let s = LocalClockText.parse(raw) { return .local(s) }
                if let t = TimestampParser.parse(raw) {
                    return .instant(t.seconds, offsetMinutes: t.hadZone ? Int16(t.utcOffsetMinutes) : nil)
                }
                let t = text()
                throw DataError(file: file, line: line, key: .column(names[time]),
                                t.isEmpty ? "empty timestamp" : "cannot parse '\(t)' as a date and time (set format= in the mapping)")
            }
        }
    }
}
