// The CGMacros folder (PhysioNet cgmacros 1.0.0): CGMacros-NNN/CGMacros-NNN.csv per subject, on the authors'
// 1-minute grid, with two sensors worn together:
//
//   Timestamp, Libre GL, Dexcom GL, HR, Calories (Activity), METs, Meal Type, Calories, Carbs, Protein, Fat,
//   Fiber, Amount Consumed, Image path   (some subjects add Steps, an unnamed index column, Intensity for METs)
//
// Glucose comes from one sensor, Dexcom GL by default (the G6 Pro samples every 5 minutes; both columns were
// interpolated to 1 minute by the authors) or Libre GL with --cgmacros-sensor libre; the report says which.
// HR → heart_rate_bpm, Calories (Activity) → calories, Steps → steps, Carbs / Protein / Fat / Fiber → grams,
// a non-empty Meal Type → meal_flag = 1. METs, the meal's Calories, Amount Consumed and Image path have no
// canonical column and are not written (macros are written as recorded). Timestamps are local clock times.

import DelimitedText
import Foundation

enum CGMacros {
    static func read(_ ctx: UnitContext) throws -> UnitImport {
        let fm = FileManager.default
        var unitImport = UnitImport()
        unitImport.resolution = TimeResolution(zone: ctx.zone, dateOrder: ctx.options.dateOrder, fallbackOrder: .mdy)
        var files: [(path: String, subject: String, display: String)] = []
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: ctx.path, isDirectory: &isDir), !isDir.boolValue {
            files = [(ctx.path, ctx.defaultSubject, ctx.displayPath)]
        } else {
            let base = (ctx.path as NSString).lastPathComponent
            for sub in ((try? fm.contentsOfDirectory(atPath: ctx.path)) ?? []).sorted() {
                let csv = "\(ctx.path)/\(sub)/\(sub).csv"
                if fm.fileExists(atPath: csv) { files.append((csv, SubjectNames.sanitized(sub), "\(base)/\(sub)/\(sub).csv")) }
            }
        }
        guard !files.isEmpty else { throw DataError(file: (ctx.path as NSString).lastPathComponent, "no CGMacros-NNN/CGMacros-NNN.csv files") }
        for f in files {
            var report = FileReport(file: f.display, format: ImportFormat.cgmacros.rawValue)
            var b = RecordBuilder(subject: f.subject)
            try readFile(f.path, sensor: ctx.options.cgmacrosSensor, builder: &b, report: &report)
            unitImport.reports.append(report)
            unitImport.builders.append((b, unitImport.reports.count - 1, (f.path as NSString).lastPathComponent))
        }
        return unitImport
    }

    static func readFile(_ path: String, sensor: CGMacrosSensor, builder b: inout RecordBuilder, report: inout FileReport) throws {
        let reader = try CSVReader(path: path)
        let file = reader.name
        let h = CSVHeader(reader.header, line: 1, file: file)
        let timestamp = try h.required("Timestamp")
        let glucose = sensor == .dexcom ? try h.required("Dexcom GL") : try h.required("Libre GL")
        report.units = GlucoseUnit.mgdl.rawValue
        report.notes.append("glucose from \(h.names[glucose]) (\(sensor == .dexcom ? "Dexcom G6 Pro; --cgmacros-sensor libre for the Libre Pro" : "Libre Pro; the default is the Dexcom G6 Pro")); "
                            + "METs, meal calories, Amount Consumed and image paths are not written")
        let numeric: [(Int, CanonicalColumn)] = [
            (h.optional("HR"), .heartRate), (h.optional("Calories (Activity)"), .calories), (h.optional("Steps"), .steps),
            (h.optional("Carbs"), .carbs), (h.optional("Protein"), .protein), (h.optional("Fat"), .fat), (h.optional("Fiber"), .fibre),
        ].compactMap { i, c in i.map { ($0, c) } }
        let mealType = h.optional("Meal Type")
        var row = CSVRow()
        while try reader.next(into: &row) {
            let line = reader.recordLine
            report.rowsRead += 1
            guard row.count == h.names.count else { throw DataError(file: file, line: line, "expected \(h.names.count) fields, found \(row.count)") }
            let time = RecordTime.local(try localStamp(row, timestamp, "Timestamp", file: file, line: line))
            var used = false
            switch row.withField(glucose, { GlucoseCell.parse($0, unit: .mgdl, limits: .libre) }) {
            case .value(let v, let c): b.addReading(time, line: line, mgdl: v, censoring: c); used = true
            case .missing: break
            case .invalid: throw DataError(file: file, line: line, key: .column(h.names[glucose]), "cannot parse '\(row.string(glucose))' as mg/dL")
            }
            for (i, column) in numeric {
                guard let v = try row.number(i, h.names[i], file: file, line: line) else { continue }
                guard v >= 0 else { throw DataError(file: file, line: line, key: .column(h.names[i]), "negative value \(v)") }
                if column.combinesBySum, v == 0 { continue }
                b.addEvent(time, line: line, column, v)
                used = true
            }
            if let m = mealType, !row.isEmpty(m) {
                b.addEvent(time, line: line, .mealFlag, 1)
                used = true
            }
            if !used { report.drop("row without \(h.names[glucose]), wearable or meal values", line: line) }
        }
    }
}
