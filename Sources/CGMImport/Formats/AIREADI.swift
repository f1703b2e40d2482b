// The AI-READI release folder (the SSM-CGM cohort; docs.aireadi.org, "Continuous glucose monitor" and
// "Wearable activity monitor"):
//
//   participants.tsv                          participant_id, clinical_site, study_group, age, …
//   wearable_blood_glucose/continuous_glucose_monitoring/dexcom_g6/<id>/<id>_DEX.json
//   wearable_activity_monitor/<stream>/garmin_vivosmart5/<id>/<id>_<stream>.json
//
// Every file is Open mHealth JSON: {"header": {…, "patient_id" | "user_id"}, "body": {"<list>": [observations]}}.
// CGM observations: blood_glucose {value, unit}, effective_time_frame.time_interval.start_date_time (UTC),
// event_type EGV (others dropped); "Low"/"High" values become 40/400 mg/dL, censored. Garmin streams map onto
// the canonical wearable columns:
//
//   heart_rate            heart_rate.value                  → heart_rate_bpm     (negative: device off, dropped)
//   oxygen_saturation     oxygen_saturation.value           → spo2
//   respiratory_rate      respiratory_rate.value            → respiration_rate   (negative: dropped)
//   stress                stress.value                      → stress             (negative: dropped)
//   physical_activity     base_movement_quantity.value      → steps, at the interval's end
//   physical_activity_calorie   calories_value.value        → calories
//   sleep                 sleep_stage_state (light/deep/rem/awake) → sleep_stage at the interval's start,
//                         and awake at its end when no stage follows at once
//
// study_group → subjects.csv diabetes_status: healthy → healthy, pre_diabetes_lifestyle_controlled →
// prediabetes, oral_medication_and_or_non_insulin_injectable_medication_controlled → t2d_oral,
// insulin_dependent → t2d_insulin; clinical_site and age are copied. Times are UTC; the local clock is
// --timezone's, else the site's zone (UAB: America/Chicago; UCSD, UW: America/Los_Angeles).

import DelimitedText
import Foundation

enum AIREADI {
    /// study_group values → diabetes_status.
    static let studyGroups = [
        "healthy": "healthy",
        "pre_diabetes_lifestyle_controlled": "prediabetes",
        "oral_medication_and_or_non_insulin_injectable_medication_controlled": "t2d_oral",
        "insulin_dependent": "t2d_insulin",
    ]
    /// Clinical sites → the zone of their participants' local clocks.
    static let siteZones = ["uab": "America/Chicago", "ucsd": "America/Los_Angeles", "uw": "America/Los_Angeles"]

    /// A Garmin stream: its folder name, the observation list key, the value's path and column.
    struct Stream {
        let folder: String
        let column: CanonicalColumn
        let valueKey: String
        let negativeMeansOff: Bool
    }
    static let streams = [
        Stream(folder: "heart_rate", column: .heartRate, valueKey: "heart_rate", negativeMeansOff: true),
        Stream(folder: "oxygen_saturation", column: .spo2, valueKey: "oxygen_saturation", negativeMeansOff: true),
        Stream(folder: "respiratory_rate", column: .respirationRate, valueKey: "respiratory_rate", negativeMeansOff: true),
        Stream(folder: "stress", column: .stress, valueKey: "stress", negativeMeansOff: true),
        Stream(folder: "physical_activity", column: .steps, valueKey: "base_movement_quantity", negativeMeansOff: false),
        Stream(folder: "physical_activity_calorie", column: .calories, valueKey: "calories_value", negativeMeansOff: false),
        Stream(folder: "sleep", column: .sleepStage, valueKey: "sleep_stage_state", negativeMeansOff: false),
    ]

    static func read(_ ctx: UnitContext) throws -> UnitImport {
        let fm = FileManager.default
        let root = ctx.path
        var unitImport = UnitImport()
        unitImport.resolution = TimeResolution(zone: ctx.zone, dateOrder: nil)

        // participants.tsv
        var participants: [String] = []
        let tsv = root + "/participants.tsv"
        if fm.fileExists(atPath: tsv) {
            let reader = try CSVReader(path: tsv, delimiter: Delimiter.tab)
            let h = CSVHeader(reader.header, line: 1, file: reader.name)
            let id = try h.required("participant_id")
            let group = h.optional("study_group"), site = h.optional("clinical_site"), age = h.optional("age")
            var row = CSVRow()
            while try reader.next(into: &row) {
                let line = reader.recordLine
                guard row.count == h.names.count else {
                    throw DataError(file: reader.name, line: line, "expected \(h.names.count) tab-separated fields, found \(row.count)")
                }
                let pid = row.string(id)
                guard !pid.isEmpty else { throw DataError(file: reader.name, line: line, key: .column("participant_id"), "empty participant id") }
                participants.append(pid)
                var statics: SubjectStatics = [:]
                if let g = group, !row.isEmpty(g) {
                    let value = row.string(g)
                    guard let status = studyGroups[value] else {
                        throw DataError(file: reader.name, line: line, key: .column("study_group"),
                                        "unknown study group '\(value)' (expected \(studyGroups.keys.sorted().joined(separator: ", ")))")
                    }
                    statics["diabetes_status"] = status
                }
                if let s = site, !row.isEmpty(s) {
                    let value = row.string(s)
                    statics["clinical_site"] = value
                    if let tz = siteZones[value.lowercased()], let z = ZoneClock(identifier: tz) { unitImport.subjectZones[pid] = z }
                }
                if let a = age, !row.isEmpty(a) {
                    guard let v = try row.number(a, "age", file: reader.name, line: line) else { continue }
                    statics["age"] = FileReport.format(v)
                }
                unitImport.statics[pid] = statics
            }
        }

        // Every JSON file under the two wearable folders, by participant folder.
        let cgmRoot = root + "/wearable_blood_glucose"
        let wearRoot = root + "/wearable_activity_monitor"
        guard fm.fileExists(atPath: cgmRoot) else {
            throw DataError(file: (root as NSString).lastPathComponent, "no wearable_blood_glucose folder: not an AI-READI release folder")
        }
        var files: [(path: String, participant: String, stream: Stream?)] = []
        for base in [cgmRoot, wearRoot] where fm.fileExists(atPath: base) {
            guard let walker = fm.enumerator(atPath: base) else { continue }
            while let rel = walker.nextObject() as? String {
                guard rel.lowercased().hasSuffix(".json") else { continue }
                let parts = rel.split(separator: "/").map(String.init)
                guard parts.count >= 2 else { continue }
                let participant = parts[parts.count - 2]
                if base == cgmRoot {
                    files.append((base + "/" + rel, participant, nil))
                } else if let s = streams.first(where: { $0.folder == parts[0] }) {
                    files.append((base + "/" + rel, participant, s))
                } else if parts[0] == "physical_activity_cal", let s = streams.first(where: { $0.column == .calories }) {
                    files.append((base + "/" + rel, participant, s))
                }
            }
        }
        files.sort { ($0.participant, $0.stream?.folder ?? "", $0.path) < ($1.participant, $1.stream?.folder ?? "", $1.path) }
        let known = Set(participants)
        for f in files {
            if !participants.isEmpty, !known.contains(f.participant) {
                throw DataError(file: (f.path as NSString).lastPathComponent,
                                "participant folder '\(f.participant)' is not listed in participants.tsv")
            }
            let display = String(f.path.dropFirst(root.count + 1))
            var report = FileReport(file: display, format: ImportFormat.aiReadi.rawValue)
            var b = RecordBuilder(subject: f.participant)
            let doc = try JSONDocument(path: f.path)
            if let s = f.stream {
                try readStream(doc, s, builder: &b, report: &report)
            } else {
                report.units = GlucoseUnit.mgdl.rawValue
                try readCGM(doc, builder: &b, report: &report)
            }
            unitImport.reports.append(report)
            unitImport.builders.append((b, unitImport.reports.count - 1, doc.file))
        }
        guard files.contains(where: { $0.stream == nil }) else {
            throw DataError(file: (root as NSString).lastPathComponent, "no Dexcom CGM JSON files under wearable_blood_glucose")
        }
        let withCGM = Set(files.filter { $0.stream == nil }.map(\.participant))
        let without = participants.filter { !withCGM.contains($0) }
        if !without.isEmpty, !unitImport.reports.isEmpty {
            unitImport.reports[0].notes.append("\(without.count) participant(s) in participants.tsv have no CGM file: "
                                               + without.prefix(10).joined(separator: ", ") + (without.count > 10 ? ", …" : ""))
        }
        return unitImport
    }

    /// The observation list of an Open mHealth file: body.<key> (or body itself when it is a list).
    static func observations(_ doc: JSONDocument, key: String) throws -> (list: [Any], path: [String]) {
        guard let top = doc.root as? [String: Any] else { throw DataError(file: doc.file, line: 1, "expected a JSON object with header and body") }
        if let body = top["body"] as? [String: Any] {
            if let list = body[key] as? [Any] { return (list, ["body", key]) }
            if let (k, list) = body.first(where: { $0.value is [Any] }), let l = list as? [Any] { return (l, ["body", k]) }
        }
        if let list = top["body"] as? [Any] { return (list, ["body"]) }
        throw DataError(file: doc.file, line: 1, "no observation list under body (expected body.\(key))")
    }

    /// A timestamp text (ISO 8601; zone-less texts are UTC, as AI-READI documents).
    static func instant(_ text: String?, _ doc: JSONDocument, line: Int?, what: String) throws -> Int64 {
        guard let text, let t = TimestampParser.parse(text) else {
            throw DataError(file: doc.file, line: line, "\(what): cannot parse '\(text ?? "")' as an ISO 8601 time")
        }
        return t.seconds
    }

    static func timeFrame(_ o: [String: Any], key: String = "effective_time_frame") -> (start: String?, end: String?) {
        guard let frame = o.object(key) else { return (nil, nil) }
        if let d = frame.text("date_time") { return (d, d) }
        let interval = frame.object("time_interval")
        return (interval?.text("start_date_time"), interval?.text("end_date_time"))
    }

    static func readCGM(_ doc: JSONDocument, builder b: inout RecordBuilder, report: inout FileReport) throws {
        let (list, path) = try observations(doc, key: "cgm")
        let lines = doc.elementLines(at: path)
        for (k, element) in list.enumerated() {
            let line = k < lines.count ? lines[k] : nil
            report.rowsRead += 1
            guard let o = element as? [String: Any] else { throw DataError(file: doc.file, line: line, "observation \(k + 1) is not an object") }
            if let type = o.text("event_type"), type != "EGV" {
                report.drop("\(type) event (not an estimated glucose value)", line: line)
                continue
            }
            guard let bg = o.object("blood_glucose"), let raw = bg.text("value") else {
                report.drop("observation without blood_glucose.value", line: line)
                continue
            }
            let unit = GlucoseUnit.named(inHeader: bg.text("unit") ?? "mg/dL") ?? .mgdl
            if unit == .mmol { report.units = GlucoseUnit.mmol.rawValue }
            let t = try instant(timeFrame(o).start, doc, line: line, what: "effective_time_frame")
            var copy = raw
            switch copy.withUTF8({ GlucoseCell.parse($0, unit: unit, limits: .dexcom) }) {
            case .value(let v, let c): b.addReading(.instant(t, offsetMinutes: nil), line: line ?? 0, mgdl: v, censoring: c)
            case .missing: report.drop("empty glucose value", line: line)
            case .invalid: throw DataError(file: doc.file, line: line, key: .column("blood_glucose.value"), "cannot parse '\(raw)' as a glucose value")
            }
        }
    }

    static func readStream(_ doc: JSONDocument, _ s: Stream, builder b: inout RecordBuilder, report: inout FileReport) throws {
        let listKey: String
        switch s.column {
        case .heartRate: listKey = "heart_rate"
        case .spo2, .respirationRate: listKey = "breathing"
        case .stress: listKey = "stress"
        case .sleepStage: listKey = "sleep"
        default: listKey = "activity"
        }
        let (list, path) = try observations(doc, key: listKey)
        let lines = doc.elementLines(at: path)
        var sleep: [(start: Int64, end: Int64, stage: Double, line: Int?)] = []
        for (k, element) in list.enumerated() {
            let line = k < lines.count ? lines[k] : nil
            report.rowsRead += 1
            guard let o = element as? [String: Any] else { throw DataError(file: doc.file, line: line, "observation \(k + 1) is not an object") }
            if s.column == .sleepStage {
                let frame = timeFrame(o, key: o["sleep_stage_time_frame"] != nil ? "sleep_stage_time_frame" : "effective_time_frame")
                let start = try instant(frame.start, doc, line: line, what: "sleep interval start")
                let end = try frame.end.map { try instant($0, doc, line: line, what: "sleep interval end") } ?? start
                guard let word = o.text("sleep_stage_state")?.lowercased(), let code = CanonicalColumn.sleepStageWords.firstIndex(of: word) else {
                    report.drop("sleep stage '\(o.text("sleep_stage_state") ?? "")' (not light, deep, rem or awake)", line: line)
                    continue
                }
                sleep.append((start, end, Double(code), line))
                continue
            }
            let value: Double? = o.object(s.valueKey)?.number("value") ?? o.number(s.valueKey)
            guard let v = value else {
                report.drop("observation without \(s.valueKey).value", line: line)
                continue
            }
            if v < 0 {
                if s.negativeMeansOff { report.drop("negative value (the device was off or not worn)", line: line); continue }
                throw DataError(file: doc.file, line: line, key: .column("\(s.valueKey).value"), "negative value \(v)")
            }
            let frame = timeFrame(o)
            // Amounts over an interval count at its end (bins (T − 5 min, T] never see the future).
            let at = s.column == .steps ? (frame.end ?? frame.start) : frame.start
            let t = try instant(at, doc, line: line, what: "effective_time_frame")
            b.addEvent(.instant(t, offsetMinutes: nil), line: line ?? 0, s.column, v)
        }
        sleep.sort { $0.start < $1.start }
        for (k, interval) in sleep.enumerated() {
            b.addEvent(.instant(interval.start, offsetMinutes: nil), line: interval.line ?? 0, .sleepStage, interval.stage)
            let nextStart = k + 1 < sleep.count ? sleep[k + 1].start : nil
            if interval.end > interval.start, nextStart != interval.end {
                b.addEvent(.instant(interval.end, offsetMinutes: nil), line: interval.line ?? 0, .sleepStage, 0)
            }
        }
    }
}
