// Medtronic CareLink CSV export (MiniMed pumps, Guardian sensors), one patient per file, comma- or (European
// exports) semicolon-separated with decimal commas:
//
//   preamble   Last Name;First Name;Patient ID;…;Device;MiniMed 780G MMT-1886;…   and the row of their values,
//              Serial Number, Patient DOB — read past, noted as personal data
//   sections   -------;MiniMed 780G MMT-1886;Pump;<serial>;-------   then a header row (Index;Date;Time;…) and
//              data rows; a file can hold several sections (pump, sensor), each with its own header
//
// Used columns: Sensor Glucose (mg/dL | mmol/L) → readings; Bolus Volume Delivered (U) with Bolus Type and
// Bolus Duration (h:mm:ss): Normal and Dual (normal part) at once, Square and Dual (square part) spread over
// their duration (InsulinDelivery, PhysioSeq2Seq §3.3); BWZ Carb Input (grams) → carbs; Basal Rate (U/h) →
// the scheduled rate, with Temp Basal Amount / Type (Percent or Insulin Rate) / Duration laid over it.
// `-------` cells are empty. Date and Time are device-local (2021/07/25, 25.07.2021 or 7/25/21).

import DelimitedText

enum CareLink {
    static func read(_ ctx: UnitContext) throws -> UnitImport {
        let head = FormatDetection.head(ctx.path)
        let delimiter = Delimiter.sniff(head, marker: "Index")
        let decimalComma = delimiter == Delimiter.semicolon
        let reader = try CSVReader(path: ctx.path, delimiter: delimiter)
        let file = reader.name
        var unitImport = UnitImport()
        var report = FileReport(file: ctx.displayPath, format: ImportFormat.careLink.rawValue)
        var b = RecordBuilder(subject: ctx.defaultSubject)

        // The preamble's first row (the reader's header): labels whose values follow on the next row.
        let labels = reader.header
        var header: Columns?
        var previous: [String] = labels
        var row = CSVRow()
        var sawHeader = false
        if labels.first?.caseInsensitiveCompare("Index") == .orderedSame {
            header = try Columns(CSVHeader(labels, line: 1, file: file), report: &report)
            sawHeader = true
        }
        while try reader.next(into: &row) {
            let line = reader.recordLine
            let firstField = row.count > 0 ? row.string(0) : ""
            if firstField.hasPrefix("-------") {
                if row.count > 3 { unitImport.personal.note(row.string(3)) }  // the device serial number
                header = nil
                continue
            }
            if firstField.caseInsensitiveCompare("Index") == .orderedSame {
                header = try Columns(CSVHeader(row: row, line: line, file: file), report: &report)
                sawHeader = true
                continue
            }
            guard let c = header else {
                if !sawHeader { notePreamble(row, previous: previous, into: &unitImport.personal) }
                previous = (0 ..< row.count).map { row.string($0) }
                continue
            }
            report.rowsRead += 1
            try readRow(row, c, line: line, file: file, decimalComma: decimalComma, builder: &b, report: &report)
        }
        guard sawHeader else { throw DataError(file: file, "no data section header (a row starting with Index;Date;Time)") }
        unitImport.reports = [report]
        unitImport.builders = [(b, 0, file)]
        unitImport.resolution = TimeResolution(zone: ctx.zone, dateOrder: ctx.options.dateOrder, fallbackOrder: decimalComma ? .dmy : .mdy)
        return unitImport
    }

    /// Notes the preamble's personal values: those under Last Name / First Name / Patient ID, the value after
    /// Serial Number, and the date after Patient DOB.
    static func notePreamble(_ row: CSVRow, previous: [String], into personal: inout PersonalData) {
        let fields = (0 ..< row.count).map { row.string($0) }
        for (k, label) in previous.enumerated() where k < fields.count {
            if ["last name", "first name", "patient id"].contains(label.lowercased()) { personal.note(fields[k]) }
        }
        for (k, f) in fields.enumerated() where k + 1 < fields.count {
            let l = f.lowercased()
            if l == "serial number" { personal.note(fields[k + 1]) }
            if l == "patient dob" || l == "date of birth" {
                if let dob = fields[(k + 1)...].first(where: { !$0.isEmpty }) { personal.note(dob) }
            }
        }
    }

    /// Where a section's columns are.
    struct Columns {
        let header: CSVHeader
        let date: Int, time: Int
        let sensor: Int?, unit: GlucoseUnit
        let bolusType: Int?, bolusDelivered: Int?, bolusDuration: Int?
        let carbs: Int?
        let basal: Int?, tempAmount: Int?, tempType: Int?, tempDuration: Int?
        let suspend: Int?

        init(_ h: CSVHeader, report: inout FileReport) throws {
            header = h
            date = try h.required("Date")
            time = try h.required("Time")
            sensor = h.first(prefix: "Sensor Glucose")
            if let s = sensor {
                guard let u = GlucoseUnit.named(inHeader: h.names[s]) else {
                    throw DataError(file: h.file, line: h.line, key: .column(h.names[s]), "unknown glucose unit (expected mg/dL or mmol/L)")
                }
                unit = u
                report.units = u.rawValue
            } else {
                unit = .mgdl
            }
            bolusType = h.optional("Bolus Type")
            bolusDelivered = h.optional("Bolus Volume Delivered (U)")
            bolusDuration = h.optional("Bolus Duration (h:mm:ss)")
            carbs = h.optional("BWZ Carb Input (grams)")
            basal = h.optional("Basal Rate (U/h)")
            tempAmount = h.optional("Temp Basal Amount")
            tempType = h.optional("Temp Basal Type")
            tempDuration = h.optional("Temp Basal Duration (h:mm:ss)")
            suspend = h.optional("Suspend")
        }
    }

    static func readRow(_ row: CSVRow, _ c: Columns, line: Int, file: String, decimalComma: Bool,
                        builder b: inout RecordBuilder, report: inout FileReport) throws {
        let names = c.header.names
        // A row may stop before the header's last columns (trailing fields left out): the date and time must be
        // there, the columns after them read as empty.
        guard row.count > max(c.date, c.time) else {
            throw DataError(file: file, line: line, "expected \(names.count) fields, found \(row.count)")
        }
        func number(_ i: Int?) throws -> Double? {
            guard let i else { return nil }
            return try row.number(i, names[i], file: file, line: line, decimalComma: decimalComma)
        }
        func text(_ i: Int) -> String { i < row.count ? row.string(i) : "" }
        func seconds(_ i: Int) -> Int64? { i < row.count ? row.withField(i, { Self.duration($0) }) : nil }
        let stamp: LocalStamp = try row.withField(c.date) { d in
            try row.withField(c.time) { t in
                if let s = LocalClockText.parse(date: d, time: t) { return s }
                throw DataError(file: file, line: line, key: .column("Date"),
                                "cannot parse '\(row.string(c.date)) \(row.string(c.time))' as a date and time")
            }
        }
        let time = RecordTime.local(stamp)
        var used = false
        if let s = c.sensor, !row.isEmpty(s) {
            switch row.withField(s, { GlucoseCell.parse($0, unit: c.unit, limits: .dexcom, decimalComma: decimalComma) }) {
            case .value(let v, let cens): b.addReading(time, line: line, mgdl: v, censoring: cens); used = true
            case .missing: break
            case .invalid:
                throw DataError(file: file, line: line, key: .column(names[s]), "cannot parse '\(row.string(s))' as a glucose value")
            }
        }
        if let dose = try number(c.bolusDelivered) {
            guard dose >= 0 else { throw DataError(file: file, line: line, key: .column(names[c.bolusDelivered!]), "negative dose \(dose)") }
            let type = c.bolusType.map { text($0).lowercased() } ?? ""
            var duration: Int64 = 0
            if type.contains("square"), let d = c.bolusDuration {
                guard let secs = seconds(d) else {
                    throw DataError(file: file, line: line, key: .column(names[d]), "cannot parse '\(text(d))' as h:mm:ss")
                }
                duration = secs
            }
            b.addBolus(time, line: line, dose: dose, durationSeconds: duration)
            used = true
        }
        if let g = try number(c.carbs), g > 0 {
            b.addEvent(time, line: line, .carbs, g)
            used = true
        }
        if let rate = try number(c.basal) {
            guard rate >= 0 else { throw DataError(file: file, line: line, key: .column(names[c.basal!]), "negative basal rate \(rate)") }
            b.addScheduledBasal(time, line: line, rate: rate)
            used = true
        }
        if let amount = try number(c.tempAmount) {
            let type = c.tempType.map { text($0).lowercased() } ?? ""
            guard let d = c.tempDuration, let secs = seconds(d) else {
                throw DataError(file: file, line: line, key: .column("Temp Basal Duration (h:mm:ss)"), "a temporary basal rate needs its duration (h:mm:ss)")
            }
            b.addBasalInterval(time, line: line, durationSeconds: secs, rate: amount, percent: type.contains("percent"))
            used = true
        }
        if !used {
            if let s = c.suspend, !row.isEmpty(s) {
                report.drop("pump suspend/resume marker (not applied to the basal rate)", line: line)
            } else {
                report.drop("row without sensor glucose, bolus, carbs or basal (alarms, prime, meter readings, …)", line: line)
            }
        }
    }

    /// Seconds of an `h:mm:ss` duration; nil if not one.
    static func duration(_ raw: UnsafeBufferPointer<UInt8>) -> Int64? {
        let text = String(decoding: CSVNumber.trim(raw), as: UTF8.self)
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let h = Int64(parts[0]), let m = Int64(parts[1]), let s = Int64(parts[2]),
              h >= 0, (0 ..< 60).contains(m), (0 ..< 60).contains(s) else { return nil }
        return h * 3600 + m * 60 + s
    }
}
