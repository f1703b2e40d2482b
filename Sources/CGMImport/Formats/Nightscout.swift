// Nightscout data, as an API dump (entries.json, treatments.json: JSON arrays) or the CSV export. Every
// Nightscout file in one folder belongs to one subject, named after the folder (or --subject).
//
//   entries     sgv (mg/dL, whatever the site displays), date (Unix milliseconds) or dateString (ISO 8601),
//               type sgv | mbg | cal (only sgv is a sensor reading), utcOffset (minutes: the local clock)
//   treatments  created_at (ISO 8601), eventType, insulin (U) → bolus, carbs / protein / fat (g); a Combo
//               Bolus's extended part (enteredinsulin × splitExt %, or relative U/h, over duration minutes) is
//               spread over its duration (InsulinDelivery). Temp Basal treatments are not written: the
//               scheduled rate they replace lives in the Nightscout profile, which is not read.
//
// Times are instants (UTC); the local clock (time-of-day features) is --timezone's, else utcOffset, else UTC.

import DelimitedText
import Foundation

enum Nightscout {
    static func read(_ ctx: UnitContext) throws -> UnitImport {
        var unitImport = UnitImport()
        var report = FileReport(file: ctx.displayPath, format: ImportFormat.nightscout.rawValue)
        var b = RecordBuilder(subject: ctx.defaultSubject)
        let file = (ctx.path as NSString).lastPathComponent
        let head = FormatDetection.head(ctx.path).drop(while: { $0.isWhitespace || $0 == "\u{FEFF}" })
        var sawOffset = false
        if head.first == "[" || head.first == "{" {
            let doc = try JSONDocument(path: ctx.path)
            guard let array = (doc.root as? [Any]) ?? (doc.root as? [String: Any]).map({ [$0] }) else {
                throw DataError(file: file, line: 1, "expected a JSON array of entries or treatments")
            }
            let lines = doc.elementLines(at: [])
            for (k, element) in array.enumerated() {
                let line = k < lines.count ? lines[k] : nil
                report.rowsRead += 1
                guard let o = element as? [String: Any] else {
                    throw DataError(file: file, line: line, "entry \(k + 1) is not a JSON object")
                }
                let record = Record(fields: { o.text($0) })
                try take(record, line: line, file: file, builder: &b, report: &report, sawOffset: &sawOffset)
            }
        } else {
            let reader = try CSVReader(path: ctx.path, delimiter: Delimiter.sniff(String(head)))
            let h = CSVHeader(reader.header, line: 1, file: reader.name)
            var row = CSVRow()
            while try reader.next(into: &row) {
                let line = reader.recordLine
                report.rowsRead += 1
                let record = Record(fields: { key in
                    guard let i = h.optional(key), i < row.count, !row.isEmpty(i) else { return nil }
                    return row.string(i)
                })
                try take(record, line: line, file: file, builder: &b, report: &report, sawOffset: &sawOffset)
            }
        }
        if !b.readingTimes.isEmpty { report.units = GlucoseUnit.mgdl.rawValue }
        if !sawOffset, ctx.zone == nil, !b.isEmpty {
            report.notes.append("no utcOffset in the data and no --timezone: the local clock (time of day) is taken as UTC")
        }
        unitImport.reports = [report]
        unitImport.builders = [(b, 0, file)]
        unitImport.resolution = TimeResolution(zone: ctx.zone, dateOrder: nil)
        return unitImport
    }

    /// One entry or treatment, fields by name (JSON object or CSV row).
    struct Record {
        let fields: (String) -> String?
        func number(_ key: String) -> Double? { fields(key).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } }
    }

    static func take(_ r: Record, line: Int?, file: String, builder b: inout RecordBuilder, report: inout FileReport,
                     sawOffset: inout Bool) throws {
        let offset = r.number("utcOffset").map { Int16(clamping: Int($0)) }
        if offset != nil { sawOffset = true }
        if let eventType = r.fields("eventType") {
            guard let at = r.fields("created_at") ?? r.fields("timestamp"), let t = TimestampParser.parse(at) else {
                throw DataError(file: file, line: line, key: .column("created_at"), "treatment without a readable created_at time")
            }
            let time = RecordTime.instant(t.seconds, offsetMinutes: offset ?? (t.hadZone && t.utcOffsetMinutes != 0 ? Int16(t.utcOffsetMinutes) : nil))
            var used = false
            if eventType == "Combo Bolus", let minutes = r.number("duration"), minutes > 0 {
                let entered = r.number("enteredinsulin")
                let now = r.number("insulin") ?? entered.map { $0 * (r.number("splitNow") ?? 0) / 100 } ?? 0
                let extended = r.number("relative").map { $0 * minutes / 60 } ?? entered.map { $0 * (r.number("splitExt") ?? 0) / 100 } ?? 0
                guard now >= 0, extended >= 0 else { throw DataError(file: file, line: line, key: .column("insulin"), "negative insulin") }
                if now > 0 { b.addBolus(time, line: line ?? 0, dose: now, durationSeconds: 0) }
                if extended > 0 { b.addBolus(time, line: line ?? 0, dose: extended, durationSeconds: Int64(minutes * 60)) }
                used = now > 0 || extended > 0
            } else if let u = r.number("insulin"), u > 0 {
                b.addBolus(time, line: line ?? 0, dose: u, durationSeconds: 0)
                used = true
            }
            for (key, column) in [("carbs", CanonicalColumn.carbs), ("protein", .protein), ("fat", .fat)] {
                if let g = r.number(key), g > 0 {
                    b.addEvent(time, line: line ?? 0, column, g)
                    used = true
                }
            }
            if !used {
                report.drop(eventType == "Temp Basal" ? "Temp Basal (the scheduled rate it replaces is in the Nightscout profile, not read)"
                            : "\(eventType) treatment without insulin or carbs", line: line)
            }
            return
        }
        let type = r.fields("type") ?? "sgv"
        guard type == "sgv" else {
            report.drop(type == "mbg" ? "meter (finger-stick) entry, type mbg" : "entry of type \(type)", line: line)
            return
        }
        guard let sgv = r.number("sgv") else {
            report.drop("sgv entry without a value", line: line)
            return
        }
        let seconds: Int64
        var given = offset
        if let ms = r.number("date") {
            seconds = Int64((ms / 1000).rounded(.down))
        } else if let s = r.fields("dateString"), let t = TimestampParser.parse(s) {
            seconds = t.seconds
            if given == nil, t.hadZone, t.utcOffsetMinutes != 0 { given = Int16(t.utcOffsetMinutes) }
        } else {
            throw DataError(file: file, line: line, key: .column("date"), "entry without a readable date (Unix ms) or dateString")
        }
        guard sgv > 0 else {
            report.drop("sgv ≤ 0 (no reading)", line: line)
            return
        }
        b.addReading(.instant(seconds, offsetMinutes: given), line: line ?? 0, mgdl: sgv)
    }
}
