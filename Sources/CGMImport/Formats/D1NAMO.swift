// The D1NAMO folder (Dubosson et al. 2018): one folder per subject, optionally under diabetes_subset/ and
// healthy_subset/, holding
//
//   glucose.csv   date,time,glucose,type,comments     glucose in mmol/L; type cgm → a reading (manual and the
//                                                      healthy subset's BB/AB/… finger sticks are dropped)
//   insulin.csv   date,time,fast_insulin,slow_insulin,comment   fast → bolus, slow → a basal rate (InsulinDelivery)
//   food.csv      …,datetime (2014:10:01 19:27:49) or date,time,…   → meal_flag = 1 (no carbohydrate amounts)
//
// Times are device-local. Subjects under diabetes_subset get diabetes_status t1d, under healthy_subset
// healthy. Descriptions and comments are free text and never copied.

import DelimitedText
import Foundation

enum D1NAMO {
    static func read(_ ctx: UnitContext) throws -> UnitImport {
        let fm = FileManager.default
        var unitImport = UnitImport()
        unitImport.resolution = TimeResolution(zone: ctx.zone, dateOrder: ctx.options.dateOrder)
        var folders: [String] = []
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: ctx.path, isDirectory: &isDir), !isDir.boolValue {
            folders = [(ctx.path as NSString).deletingLastPathComponent]  // a glucose.csv given directly
        } else if fm.fileExists(atPath: ctx.path + "/glucose.csv") {
            folders = [ctx.path]
        } else if let walker = fm.enumerator(atPath: ctx.path) {
            while let rel = walker.nextObject() as? String {
                if (rel as NSString).lastPathComponent == "glucose.csv" { folders.append(ctx.path + "/" + (rel as NSString).deletingLastPathComponent) }
            }
            folders.sort()
        }
        guard !folders.isEmpty else { throw DataError(file: (ctx.path as NSString).lastPathComponent, "no subject folder with a glucose.csv") }
        var seen: [String: String] = [:]
        for folder in folders {
            let subject = SubjectNames.sanitized((folder as NSString).lastPathComponent)
            if let other = seen[subject] {
                throw DataError(key: .subject(subject), "two D1NAMO folders have this name (\(other) and \(folder)); import the subsets separately")
            }
            seen[subject] = folder
            let lower = folder.lowercased()
            if lower.contains("healthy") { unitImport.statics[subject, default: [:]]["diabetes_status"] = "healthy" }
            else if lower.contains("diabetes") { unitImport.statics[subject, default: [:]]["diabetes_status"] = "t1d" }
            let display = { (name: String) -> String in
                let rel = folder.hasPrefix(ctx.path + "/") ? String(folder.dropFirst(ctx.path.count + 1)) + "/" : ""
                return ((ctx.path as NSString).lastPathComponent) + "/" + rel + name
            }
            var b = RecordBuilder(subject: subject)
            var glucoseReport = FileReport(file: display("glucose.csv"), format: ImportFormat.d1namo.rawValue)
            glucoseReport.units = GlucoseUnit.mmol.rawValue
            try readGlucose(folder + "/glucose.csv", builder: &b, report: &glucoseReport)
            unitImport.reports.append(glucoseReport)
            unitImport.builders.append((b, unitImport.reports.count - 1, "glucose.csv"))
            for (name, reader) in [("insulin.csv", readInsulin), ("food.csv", readFood)] where fm.fileExists(atPath: folder + "/" + name) {
                var e = RecordBuilder(subject: subject)
                var r = FileReport(file: display(name), format: ImportFormat.d1namo.rawValue)
                try reader(folder + "/" + name, &e, &r)
                unitImport.reports.append(r)
                unitImport.builders.append((e, unitImport.reports.count - 1, name))
            }
        }
        return unitImport
    }

    /// date + time columns, or one datetime column (EXIF style 2014:10:01 19:27:49).
    static func stamp(_ row: CSVRow, _ h: CSVHeader, file: String, line: Int) throws -> LocalStamp {
        if let dt = h.optional("datetime") { return try localStamp(row, dt, "datetime", file: file, line: line) }
        let d = try h.required("date"), t = try h.required("time")
        return try row.withField(d) { dr in
            try row.withField(t) { tr in
                if let s = LocalClockText.parse(date: dr, time: tr) { return s }
                throw DataError(file: file, line: line, key: .column("date"), "cannot parse '\(row.string(d)) \(row.string(t))' as a date and time")
            }
        }
    }

    static func readGlucose(_ path: String, builder b: inout RecordBuilder, report: inout FileReport) throws {
        let reader = try CSVReader(path: path)
        let h = CSVHeader(reader.header, line: 1, file: reader.name)
        let glucose = try h.required("glucose"), type = try h.required("type")
        var row = CSVRow()
        while try reader.next(into: &row) {
            let line = reader.recordLine
            report.rowsRead += 1
            // The trailing comments field may be cut off.
            guard row.count == h.names.count || row.count == h.names.count - 1 else { throw DataError(file: reader.name, line: line, "expected \(h.names.count) fields, found \(row.count)") }
            guard row.fieldEquals(type, "cgm") else {
                report.drop("finger-stick reading (type '\(row.string(type))')", line: line)
                continue
            }
            let time = RecordTime.local(try stamp(row, h, file: reader.name, line: line))
            switch row.withField(glucose, { GlucoseCell.parse($0, unit: .mmol, limits: .dexcom) }) {
            case .value(let v, let c): b.addReading(time, line: line, mgdl: v, censoring: c)
            case .missing: report.drop("cgm row without a glucose value", line: line)
            case .invalid: throw DataError(file: reader.name, line: line, key: .column("glucose"), "cannot parse '\(row.string(glucose))' as mmol/L")
            }
        }
    }

    static func readInsulin(_ path: String, _ b: inout RecordBuilder, _ report: inout FileReport) throws {
        let reader = try CSVReader(path: path)
        let h = CSVHeader(reader.header, line: 1, file: reader.name)
        let fast = h.optional("fast_insulin"), slow = h.optional("slow_insulin")
        guard fast != nil || slow != nil else { throw DataError(file: reader.name, line: 1, key: .column("fast_insulin"), "missing required column") }
        var row = CSVRow()
        while try reader.next(into: &row) {
            let line = reader.recordLine
            report.rowsRead += 1
            let time = RecordTime.local(try stamp(row, h, file: reader.name, line: line))
            let f = try fast.flatMap { try row.number($0, "fast_insulin", file: reader.name, line: line) }
            let s = try slow.flatMap { try row.number($0, "slow_insulin", file: reader.name, line: line) }
            for (v, name) in [(f, "fast_insulin"), (s, "slow_insulin")] where (v ?? 0) < 0 {
                throw DataError(file: reader.name, line: line, key: .column(name), "negative dose \(v!)")
            }
            if let f, f > 0 { b.addBolus(time, line: line, dose: f, durationSeconds: 0) }
            if let s, s > 0 { b.addLongActing(time, line: line, dose: s) }
            if (f ?? 0) == 0, (s ?? 0) == 0 { report.drop("insulin row without a dose", line: line) }
        }
    }

    static func readFood(_ path: String, _ b: inout RecordBuilder, _ report: inout FileReport) throws {
        let reader = try CSVReader(path: path)
        let h = CSVHeader(reader.header, line: 1, file: reader.name)
        var row = CSVRow()
        while try reader.next(into: &row) {
            let line = reader.recordLine
            report.rowsRead += 1
            b.addEvent(.local(try stamp(row, h, file: reader.name, line: line)), line: line, .mealFlag, 1)
        }
        report.notes.append("meals become meal_flag = 1: D1NAMO records no carbohydrate amounts")
    }
}
