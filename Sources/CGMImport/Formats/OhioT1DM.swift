// OhioT1DM XML (Marling & Bunescu 2020, "The OhioT1DM Dataset for Blood Glucose Level Prediction: Update
// 2020"): one file per patient and split, <patient id="559" weight="99" insulin_type="…"> holding one element
// per data type, each a list of <event …/> with attributes; times are `DD-MM-YYYY HH:MM:SS` (shifted dates,
// local clock).
//
//   glucose_level     ts, value (mg/dL)                         → readings
//   basal             ts, value (U/h)                           → the scheduled basal rate
//   temp_basal        ts_begin, ts_end, value (U/h; 0 = suspended) → laid over the scheduled rate
//   bolus             ts_begin, ts_end, type, dose              → bolus; square and square-dual parts with
//                                                                  ts_end > ts_begin spread over that span
//   meal              ts, carbs                                 → carbs_g (bolus wizard carbs are not also
//                                                                  written: they repeat the meal's)
//   basis_heart_rate  ts, value → heart_rate_bpm; basis_steps ts, value → steps
//   basis_sleep       tbegin/tend (or ts_begin/ts_end), type    → sleep_stage: a stage word if type names one,
//                                                                  else light (asleep, stage unknown; counted),
//                                                                  awake at the end
//
// Other elements (finger_stick, sleep, work, stressors, hypo_event, illness, exercise, basis_gsr,
// basis_skin_temperature, basis_air_temperature, acceleration) have no canonical column: counted, dropped.
// subjects.csv gets diabetes_status t1d and weight_kg.

import DelimitedText
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

enum OhioT1DM {
    static func read(_ ctx: UnitContext) throws -> UnitImport {
        let file = (ctx.path as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: ctx.path) else { throw DataError(file: file, "cannot read file") }
        try checkEncoding(data, file: file)
        let handler = Handler(file: file)
        let parser = XMLParser(data: data)
        parser.delegate = handler
        let ok = parser.parse()
        if let error = handler.error { throw error }
        guard ok, parser.parserError == nil else {
            throw DataError(file: file, line: parser.lineNumber, "not well-formed XML: \(parser.parserError?.localizedDescription ?? "parse error")")
        }
        guard let patient = handler.patient else { throw DataError(file: file, line: 1, "no <patient id=…> element") }
        var unitImport = UnitImport()
        var report = handler.report
        report.file = ctx.displayPath
        report.units = GlucoseUnit.mgdl.rawValue
        if handler.stagelessSleep > 0 {
            report.notes.append("\(handler.stagelessSleep) basis_sleep interval(s) without a stage written as light (asleep)")
        }
        var b = handler.builder
        b = RecordBuilder(rebinding: b, to: ctx.options.subject ?? SubjectNames.sanitized(patient))
        unitImport.statics[b.subject] = ["diabetes_status": "t1d"]
        if let w = handler.weight { unitImport.statics[b.subject]?["weight_kg"] = w }
        unitImport.reports = [report]
        unitImport.builders = [(b, 0, file)]
        unitImport.resolution = TimeResolution(zone: ctx.zone, dateOrder: ctx.options.dateOrder ?? .dmy,
                                               dateOrderSource: ctx.options.dateOrder == nil ? "OhioT1DM writes DD-MM-YYYY" : "--date-order")
        return unitImport
    }

    /// The XML declaration's encoding must be one the OhioT1DM files use (UTF-8, US-ASCII, ISO-8859-1): libxml2
    /// under FoundationXML crashes on some others (found by fuzz-import: `encoding="UTF-7"` segfaults in
    /// xmlParseChunk), so they are refused before parsing.
    static func checkEncoding(_ data: Data, file: String) throws {
        let head = String(decoding: data.prefix(200), as: UTF8.self)
        guard head.hasPrefix("<?xml"), let end = head.range(of: "?>") else { return }
        let declaration = head[..<end.lowerBound]
        guard let key = declaration.range(of: "encoding=") else { return }
        let rest = declaration[key.upperBound...]
        guard let quote = rest.first, quote == "\"" || quote == "'" else {
            throw DataError(file: file, line: 1, "cannot read the XML declaration's encoding")
        }
        let name = rest.dropFirst().prefix { $0 != quote }
        guard ["utf-8", "us-ascii", "ascii", "iso-8859-1", "latin1"].contains(name.lowercased()) else {
            throw DataError(file: file, line: 1, "XML encoding '\(TextExcerpt.of(String(name)))' is not supported "
                            + "(UTF-8, US-ASCII or ISO-8859-1)")
        }
    }

    final class Handler: NSObject, XMLParserDelegate {
        let file: String
        var patient: String?
        var weight: String?
        var section = ""
        var builder = RecordBuilder(subject: "")
        var report = FileReport(file: "", format: ImportFormat.ohioT1DM.rawValue)
        var error: DataError?
        var stagelessSleep = 0
        var sections = 0

        init(file: String) { self.file = file }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) {
            guard error == nil else { return }
            let code = (parseError as NSError).code
            error = DataError(file: file, line: parser.lineNumber,
                              "not well-formed XML (XMLParser error \(code)\(code == 76 ? ": an element is not closed, or closed by the wrong tag" : ""))")
            parser.abortParsing()
        }

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes a: [String: String] = [:]) {
            guard error == nil else { return }
            let line = parser.lineNumber
            if name == "patient" {
                guard let id = a["id"], !id.isEmpty else {
                    error = DataError(file: file, line: line, "<patient> without an id attribute")
                    parser.abortParsing()
                    return
                }
                patient = id
                weight = a["weight"].flatMap { Double($0) != nil && Double($0)! > 0 ? $0 : nil }
                return
            }
            guard name == "event" else {
                section = name
                sections += 1
                builder.stream = sections  // each element's events are chronological on their own
                return
            }
            report.rowsRead += 1
            do {
                try take(section, a, line: line)
            } catch let e as DataError {
                error = e
                parser.abortParsing()
            } catch {}
        }

        func time(_ a: [String: String], _ keys: String..., line: Int) throws -> RecordTime {
            guard let key = keys.first(where: { a[$0] != nil }), let text = a[key] else {
                throw DataError(file: file, line: line, key: .column(keys[0]), "missing attribute")
            }
            guard let s = LocalClockText.parse(text) else {
                throw DataError(file: file, line: line, key: .column(key), "cannot parse '\(text)' as a date and time")
            }
            return .local(s)
        }

        func number(_ a: [String: String], _ key: String, line: Int) throws -> Double {
            guard let text = a[key] else { throw DataError(file: file, line: line, key: .column(key), "missing attribute") }
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw DataError(file: file, line: line, key: .column(key), "cannot parse '\(text)' as a number")
            }
            return v
        }

        func nonNegative(_ a: [String: String], _ key: String, line: Int) throws -> Double {
            let v = try number(a, key, line: line)
            guard v >= 0 else { throw DataError(file: file, line: line, key: .column(key), "negative value \(v)") }
            return v
        }

        func take(_ section: String, _ a: [String: String], line: Int) throws {
            switch section {
            case "glucose_level":
                builder.addReading(try time(a, "ts", line: line), line: line, mgdl: try number(a, "value", line: line))
            case "basal":
                builder.addScheduledBasal(try time(a, "ts", line: line), line: line, rate: try nonNegative(a, "value", line: line))
            case "temp_basal":
                let start = try time(a, "ts_begin", line: line), end = try time(a, "ts_end", line: line)
                builder.addBasalInterval(start, line: line, durationSeconds: try span(start, end, line: line), rate: try nonNegative(a, "value", line: line))
            case "bolus":
                let start = try time(a, "ts_begin", "ts", line: line)
                let end = a["ts_end"] != nil ? try time(a, "ts_end", line: line) : start
                let dose = try nonNegative(a, "dose", line: line)
                let type = (a["type"] ?? "").lowercased()
                builder.addBolus(start, line: line, dose: dose, durationSeconds: type.contains("square") ? try span(start, end, line: line) : 0)
            case "meal":
                let carbs = try nonNegative(a, "carbs", line: line)
                if carbs > 0 { builder.addEvent(try time(a, "ts", line: line), line: line, .carbs, carbs) }
                else { report.drop("meal without carbs", line: line) }
            case "basis_heart_rate":
                builder.addEvent(try time(a, "ts", line: line), line: line, .heartRate, try nonNegative(a, "value", line: line))
            case "basis_steps":
                let steps = try nonNegative(a, "value", line: line)
                if steps > 0 { builder.addEvent(try time(a, "ts", line: line), line: line, .steps, steps) }
            case "basis_sleep":
                let start = try time(a, "tbegin", "ts_begin", line: line), end = try time(a, "tend", "ts_end", line: line)
                let word = (a["type"] ?? "").lowercased()
                let code = CanonicalColumn.sleepStageWords.firstIndex(of: word) ?? 1
                if CanonicalColumn.sleepStageWords.firstIndex(of: word) == nil { stagelessSleep += 1 }
                builder.addEvent(start, line: line, .sleepStage, Double(code))
                builder.addEvent(end, line: line, .sleepStage, 0)
            default:
                report.drop("\(section) event (no canonical column)", line: line)
            }
        }

        /// Seconds from `start` to `end` (both local clock times of this file, read day-first).
        func span(_ start: RecordTime, _ end: RecordTime, line: Int) throws -> Int64 {
            guard case .local(let s) = start, case .local(let e) = end, let a = s.clockSeconds(order: .dmy), let b = e.clockSeconds(order: .dmy) else { return 0 }
            guard b >= a else { throw DataError(file: file, line: line, key: .column("ts_end"), "ends before it begins") }
            return b - a
        }
    }
}

extension RecordBuilder {
    /// The same records under another subject id.
    init(rebinding other: RecordBuilder, to subject: String) {
        self = other
        self.subject = subject
    }
}
