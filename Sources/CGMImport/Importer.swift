// `cgmtrain import`: inputs (files and folders) → recognized units → per-format importers → times resolved →
// one canonical cohort written atomically (CanonicalWriter). Any error stops the import before anything is
// written; the message names the file and, where there is one, the line.

import DelimitedText
import Foundation

/// One file's (or folder layout's) contribution before times are resolved.
struct UnitImport {
    /// One report per file read.
    var reports: [FileReport] = []
    /// The records, one builder per subject and file (`reportIndex` says which report counts it).
    var builders: [(builder: RecordBuilder, reportIndex: Int, file: String)] = []
    /// Static covariates per subject.
    var statics: [String: SubjectStatics] = [:]
    /// Personal values seen (never written).
    var personal = PersonalData()
    /// How times are resolved.
    var resolution = TimeResolution()
    /// Per-subject zones (AI-READI's clinical sites), overriding `resolution.zone` when no --timezone is given.
    var subjectZones: [String: ZoneClock] = [:]
}

/// Context an importer gets for one unit.
struct UnitContext {
    /// The unit's path (file or folder).
    let path: String
    /// The path shown in reports (relative to the input argument).
    let displayPath: String
    /// The options.
    let options: ImportOptions
    /// The subject of a single-subject file (from --subject, the file name or the numbering).
    let defaultSubject: String
    /// The user's zone, if any.
    let zone: ZoneClock?
}

/// The result of an import, before or after writing.
public struct ImportResult {
    /// The per-subject series, merged across files, in order of first appearance.
    public var series: [SubjectSeries]
    /// Static covariates per subject.
    public var statics: [String: SubjectStatics]
    /// The report.
    public var report: ImportReport
    /// Personal values seen in the inputs.
    public var personal: PersonalData
}

/// Runs imports.
public enum CohortImporter {
    /// Reads every input and builds the cohort (nothing is written).
    /// - Throws: `DataError` naming the file (and line) of the first problem.
    public static func read(inputs: [String], options: ImportOptions) throws -> ImportResult {
        guard !inputs.isEmpty else { throw DataError("no input files or folders given") }
        var zone: ZoneClock?
        if let tz = options.timezone {
            guard let z = ZoneClock(identifier: tz) else {
                throw DataError("--timezone '\(tz)' is not an IANA time zone name (e.g. Europe/Berlin, America/New_York, UTC)")
            }
            zone = z
        }
        if let status = options.diabetesStatus, !ImportOptions.diabetesStatuses.contains(status) {
            throw DataError("--diabetes-status must be one of \(ImportOptions.diabetesStatuses.joined(separator: ", ")), got '\(status)'")
        }
        if options.format == .mappedCSV, options.map == nil {
            throw DataError("--format csv needs a column mapping: --map glucose=COLUMN,time=COLUMN[,…] or --map-file FILE")
        }
        let units = try discover(inputs, options: options)
        if options.subject != nil, let folder = units.first(where: { $0.format == .aiReadi || FormatDetection.isFolder($0.path) }) {
            throw DataError("--subject names the subject of single-subject files; '\(folder.display)' is a cohort folder with its own subject ids")
        }

        var seriesBySubject: [String: Int] = [:]
        var series: [SubjectSeries] = []
        var statics: [String: SubjectStatics] = [:]
        var report = ImportReport()
        var personal = PersonalData()
        var numbered = 0
        for unit in units {
            let subject: String
            if let s = options.subject {
                subject = s
            } else if options.subjectNaming == .numbered, !unit.format.isFolderLayout {
                numbered += 1
                subject = String(format: "S%03d", numbered)
            } else {
                subject = SubjectNames.sanitized(unit.format == .nightscout ? unit.folderName : unit.stem)
            }
            let context = UnitContext(path: unit.path, displayPath: unit.display, options: options, defaultSubject: subject, zone: zone)
            let imported = try importUnit(unit.format, context)
            // Names never become subject ids.
            for (b, _, file) in imported.builders where imported.personal.occurs(in: b.subject) {
                throw DataError(file: imported.personal.redacted(file), "the subject id would contain personal data from the file (a name, birth date or "
                                + "serial number); pass --subject ID, or --subject-ids numbered")
            }
            for (subject, values) in imported.statics {
                for (column, value) in values where imported.personal.occurs(in: value) {
                    throw DataError(key: .subject(subject), "subjects.csv column '\(column)' would contain personal data from the input; not written")
                }
            }
            personal.formUnion(imported.personal)
            var reports = imported.reports
            for (builder, reportIndex, file) in imported.builders {
                var resolution = imported.resolution
                if zone == nil, let z = imported.subjectZones[builder.subject] { resolution.zone = z }
                reports[reportIndex].timezone = resolution.zone?.identifier
                let s = try builder.finish(resolution, file: file, report: &reports[reportIndex])
                reports[reportIndex].account(s)
                if let k = seriesBySubject[s.subject] {
                    series[k].append(s)
                } else {
                    seriesBySubject[s.subject] = series.count
                    series.append(s)
                }
            }
            for (s, v) in imported.statics { statics[s, default: [:]].merge(v) { _, new in new } }
            report.files += reports.map { r in
                var r = r
                r.file = imported.personal.redacted(r.file)
                return r
            }
        }
        // Subjects without any glucose reading cannot be forecast: left out, with a note.
        let empty = series.filter { $0.glucose.isEmpty }.map(\.subject)
        if !empty.isEmpty {
            report.notes.append("\(empty.count) subject(s) without glucose readings left out: " + empty.prefix(10).joined(separator: ", ")
                                + (empty.count > 10 ? ", …" : ""))
            series.removeAll { $0.glucose.isEmpty }
        }
        guard !series.isEmpty else { throw DataError("no glucose readings in any input: nothing to write") }
        if let status = options.diabetesStatus {
            for s in series where statics[s.subject]?["diabetes_status"] == nil { statics[s.subject, default: [:]]["diabetes_status"] = status }
        }
        statics = statics.filter { k, _ in series.contains { $0.subject == k } }
        report.subjects = series.count
        return ImportResult(series: series, statics: statics, report: report, personal: personal)
    }

    /// Reads every input and writes DIR/cgm.csv, DIR/subjects.csv, DIR/import-report.{txt,json} atomically.
    /// - Throws: `DataError` for any problem; then nothing at `outDir` has changed.
    @discardableResult
    public static func run(inputs: [String], options: ImportOptions, outDir: String, overwrite: Bool) throws -> ImportResult {
        if FileManager.default.fileExists(atPath: outDir), !overwrite {
            throw DataError("\(outDir) exists; pass --overwrite to replace it")
        }
        var result = try read(inputs: inputs, options: options)
        let cgm = CanonicalWriter.cgmCSV(result.series)
        result.report.readings = cgm.readings
        result.report.eventRows = cgm.eventRows
        let subjects = CanonicalWriter.subjectsCSV(result.series.map(\.subject), statics: result.statics)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(result.report)
        try CanonicalWriter.commit([
            ("cgm.csv", cgm.bytes), ("subjects.csv", Array(subjects.utf8)),
            ("import-report.txt", Array(result.report.text().utf8)), ("import-report.json", Array(json)),
        ], to: outDir, overwrite: overwrite)
        return result
    }

    // MARK: Units

    /// One thing to import: a file, or a folder in a cohort layout.
    struct Unit {
        var path: String
        var display: String
        var format: ImportFormat
        /// File name without extension (the default subject of single-subject files).
        var stem: String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
        /// The name of the folder holding the file.
        var folderName: String { ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent }
    }

    /// Expands the inputs into units, recognizing formats.
    static func discover(_ inputs: [String], options: ImportOptions) throws -> [Unit] {
        let fm = FileManager.default
        var units: [Unit] = []
        for input in inputs {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDir) else { throw DataError("input '\(input)' does not exist") }
            if !isDir.boolValue {
                let name = (input as NSString).lastPathComponent
                guard let format = options.format ?? FormatDetection.format(ofFile: input) else {
                    throw DataError(file: name, line: 1, "not a known format (Dexcom Clarity, LibreView, CareLink, Nightscout, D1NAMO, "
                                    + "CGMacros, OhioT1DM); for another CSV give a mapping: --format csv --map glucose=COLUMN,time=COLUMN")
                }
                guard !format.isFolderLayout || format == .d1namo || format == .cgmacros else {
                    throw DataError(file: name, "\(format.rawValue) is read from its release folder; pass the folder")
                }
                units.append(Unit(path: URL(fileURLWithPath: input).standardizedFileURL.path, display: name, format: format))
                continue
            }
            if let layout = options.format.flatMap({ $0.isFolderLayout ? $0 : nil }) ?? FormatDetection.format(ofFolder: input) {
                units.append(Unit(path: input, display: (input as NSString).lastPathComponent, format: layout))
                continue
            }
            // A folder of exports: every data file under it, in path order.
            let base = URL(fileURLWithPath: input).standardizedFileURL.path
            guard let walker = fm.enumerator(atPath: base) else { throw DataError("cannot read folder '\(input)'") }
            var found: [String] = []
            while let rel = walker.nextObject() as? String {
                let name = (rel as NSString).lastPathComponent
                if name.hasPrefix(".") { continue }
                var d: ObjCBool = false
                guard fm.fileExists(atPath: base + "/" + rel, isDirectory: &d), !d.boolValue else { continue }
                let ext = (name as NSString).pathExtension.lowercased()
                guard ["csv", "tsv", "txt", "json", "xml"].contains(ext) else { continue }
                found.append(rel)
            }
            guard !found.isEmpty else { throw DataError("folder '\(input)' holds no .csv, .tsv, .txt, .json or .xml files") }
            for rel in found.sorted() {
                let path = base + "/" + rel
                guard let format = options.format ?? FormatDetection.format(ofFile: path) else {
                    throw DataError(file: (rel as NSString).lastPathComponent, line: 1,
                                    "not a known format (in folder '\(input)'); for another CSV give --format csv --map …")
                }
                units.append(Unit(path: path, display: rel, format: format))
            }
        }
        return units
    }

    /// Imports one unit with its format's importer.
    static func importUnit(_ format: ImportFormat, _ context: UnitContext) throws -> UnitImport {
        switch format {
        case .dexcomClarity: return try DexcomClarity.read(context)
        case .libreView: return try LibreView.read(context)
        case .careLink: return try CareLink.read(context)
        case .nightscout: return try Nightscout.read(context)
        case .aiReadi: return try AIREADI.read(context)
        case .d1namo: return try D1NAMO.read(context)
        case .cgmacros: return try CGMacros.read(context)
        case .ohioT1DM: return try OhioT1DM.read(context)
        case .mappedCSV: return try MappedCSV.read(context)
        }
    }
}

extension SubjectSeries {
    /// Appends another file's rows of the same subject.
    mutating func append(_ other: SubjectSeries) {
        readingTime += other.readingTime
        readingOffset += other.readingOffset
        glucose += other.glucose
        censoring += other.censoring
        eventTime += other.eventTime
        eventOffset += other.eventOffset
        eventColumn += other.eventColumn
        eventValue += other.eventValue
        zoned = zoned || other.zoned
    }
}

/// Subject ids from names.
enum SubjectNames {
    /// `name` with every character other than letters, digits, `.`, `_` and `-` replaced by `_`.
    static func sanitized(_ name: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let s = String(name.map { allowed.contains($0) ? $0 : "_" })
        return s.isEmpty ? "subject" : s
    }
}
