// Dexcom Clarity CSV export (G4–G7), one patient per file:
//
//   Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,Source Device ID,
//   Glucose Value (mg/dL),Insulin Value (u),Carb Value (grams),Duration (hh:mm:ss),
//   Glucose Rate of Change (mg/dL/min),Transmitter Time (Long Integer),Transmitter ID
//
// The first rows (no timestamp) carry patient information (FirstName, LastName, DateOfBirth), devices and
// alert settings: read past, names and serials noted as personal data. Then one row per event, in device-local
// time: EGV (a sensor reading; "Low"/"High" become 40/400 mg/dL, censored), Insulin (Fast-Acting → bolus,
// Long-Acting → a basal rate, InsulinDelivery), Carbs; Calibration, Exercise, Health and Alert rows are
// dropped and counted. mmol/L exports name the unit in the glucose header.

import DelimitedText

enum DexcomClarity {
    static func read(_ ctx: UnitContext) throws -> UnitImport {
        let head = FormatDetection.head(ctx.path)
        let reader = try CSVReader(path: ctx.path, delimiter: Delimiter.sniff(head, marker: "Event Type"))
        let file = reader.name
        let h = CSVHeader(reader.header, line: 1, file: file)
        let timestamp = try h.required("Timestamp (YYYY-MM-DDThh:mm:ss)")
        let eventType = try h.required("Event Type")
        let subtype = h.optional("Event Subtype")
        let patientInfo = h.optional("Patient Info")
        guard let glucose = h.first(prefix: "Glucose Value") else {
            throw DataError(file: file, line: 1, key: .column("Glucose Value (mg/dL)"), "missing required column")
        }
        guard let unit = GlucoseUnit.named(inHeader: h.names[glucose]) else {
            throw DataError(file: file, line: 1, key: .column(h.names[glucose]), "unknown glucose unit (expected mg/dL or mmol/L)")
        }
        let insulin = h.optional("Insulin Value (u)")
        let carbs = h.optional("Carb Value (grams)")
        let transmitter = h.optional("Transmitter ID")
        let sourceDevice = h.optional("Source Device ID")

        var unitImport = UnitImport()
        var report = FileReport(file: ctx.displayPath, format: ImportFormat.dexcomClarity.rawValue)
        report.units = unit.rawValue
        var b = RecordBuilder(subject: ctx.defaultSubject)
        var row = CSVRow()
        var lastTransmitter: [UInt8] = []
        while try reader.next(into: &row) {
            let line = reader.recordLine
            report.rowsRead += 1
            guard row.count == reader.header.count else {
                throw DataError(file: file, line: line, "expected \(reader.header.count) fields, found \(row.count)")
            }
            if let t = transmitter { unitImport.personal.note(row, t, last: &lastTransmitter) }
            if row.isEmpty(timestamp) {
                // Patient, device and alert rows.
                if let p = patientInfo, !row.isEmpty(p) { unitImport.personal.note(row.string(p)) }
                if row.fieldEquals(eventType, "Device"), let s = sourceDevice, !row.isEmpty(s) { unitImport.personal.note(row.string(s)) }
                report.drop(row.fieldEquals(eventType, "Alert") ? "alert setting row" : "patient or device information row", line: line)
                continue
            }
            let time = RecordTime.local(try localStamp(row, timestamp, h.names[timestamp], file: file, line: line))
            if row.fieldEquals(eventType, "EGV") {
                let cell = row.withField(glucose) { GlucoseCell.parse($0, unit: unit, limits: .dexcom) }
                switch cell {
                case .value(let v, let c): b.addReading(time, line: line, mgdl: v, censoring: c)
                case .missing: report.drop("EGV row without a glucose value", line: line)
                case .invalid:
                    throw DataError(file: file, line: line, key: .column(h.names[glucose]),
                                    "cannot parse '\(row.string(glucose))' as a glucose value (a number, Low or High)")
                }
            } else if row.fieldEquals(eventType, "Insulin"), let insulin {
                guard let dose = try row.number(insulin, h.names[insulin], file: file, line: line) else {
                    report.drop("insulin row without a dose", line: line)
                    continue
                }
                guard dose >= 0 else { throw DataError(file: file, line: line, key: .column(h.names[insulin]), "negative insulin dose \(dose)") }
                if let s = subtype, row.fieldEquals(s, "Long-Acting") {
                    b.addLongActing(time, line: line, dose: dose)
                } else {
                    b.addBolus(time, line: line, dose: dose, durationSeconds: 0)
                }
            } else if row.fieldEquals(eventType, "Carbs"), let carbs {
                guard let g = try row.number(carbs, h.names[carbs], file: file, line: line) else {
                    report.drop("carbs row without a value", line: line)
                    continue
                }
                guard g >= 0 else { throw DataError(file: file, line: line, key: .column(h.names[carbs]), "negative carbs \(g)") }
                b.addEvent(time, line: line, .carbs, g)
            } else {
                let kind = row.string(eventType)
                report.drop("\(kind.isEmpty ? "untyped" : kind) event (no canonical column)", line: line)
            }
        }
        unitImport.reports = [report]
        unitImport.builders = [(b, 0, file)]
        unitImport.resolution = TimeResolution(zone: ctx.zone, dateOrder: ctx.options.dateOrder)
        return unitImport
    }
}
