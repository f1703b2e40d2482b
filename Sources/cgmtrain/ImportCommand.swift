// `cgmtrain import`: device exports and public research cohorts → DIR/cgm.csv + DIR/subjects.csv (the
// canonical input of `prepare`) and DIR/import-report.{txt,json}, written only if the whole import succeeds.
// The readers live in the CGMImport target; this file is the command line (and reads --map-file's YAML).

import ArgumentParser
import CGMImport
import Config
import DelimitedText
import Foundation

/// Imports device exports or cohort folders into the canonical CSV files.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn device exports and research cohorts into the canonical cgm.csv + subjects.csv that prepare reads.",
        discussion: """
            Formats: dexcom-clarity, libreview, carelink, nightscout (JSON or CSV entries/treatments), ai-readi (the release \
            folder), d1namo (folder), cgmacros (folder), ohiot1dm (XML), csv (any other CSV, with --map). --format auto \
            recognizes files by their header and folders by their layout. Inputs may be files or folders (every data file \
            under a folder is read). Device-local times are converted with --timezone (IANA name; DST-aware, the skipped \
            and repeated hours are counted in the report); without it they are written as zone-less clock times. Writes \
            DIR/cgm.csv, DIR/subjects.csv, DIR/import-report.txt and DIR/import-report.json through a temporary directory \
            renamed at the end: a failed import leaves nothing behind.
            """)

    @Argument(help: "Input files or folders.")
    var inputs: [String] = []

    @Option(help: "Output directory (must not exist unless --overwrite).")
    var out: String

    @Option(help: "Input format: auto, \(ImportFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: String = "auto"

    @Option(help: "IANA time zone of device-local times (e.g. Europe/Berlin); also the local clock of UTC-stamped data.")
    var timezone: String?

    @Option(help: "Subject id of every single-subject input (default: from the file name, or the format's own ids).")
    var subject: String?

    @Option(help: "How single-subject files are named without --subject: file (the file name) or numbered (S001, …).")
    var subjectIds: String = "file"

    @Option(help: "Order of ambiguous NN-NN-YYYY dates: auto (the file's dates decide; else the format's usual order), mdy or dmy.")
    var dateOrder: String = "auto"

    @Option(help: "Column mapping for --format csv: key=value pairs, e.g. glucose=\"Sensor Reading\",time=DateTime,units=mmol/L (repeatable).")
    var map: [String] = []

    @Option(help: "Column mapping for --format csv as a flat YAML file of the same keys.")
    var mapFile: String?

    @Option(help: "CGMacros glucose sensor: dexcom (default) or libre.")
    var cgmacrosSensor: String = "dexcom"

    @Option(help: "diabetes_status for subjects whose input gives none: healthy, prediabetes, t2d_oral, t2d_insulin, t1d.")
    var diabetesStatus: String?

    @Flag(help: "Replace an existing output directory (only once the new one is complete).")
    var overwrite = false

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one input file or folder") }
        guard format == "auto" || ImportFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be auto or one of \(ImportFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
        }
        guard SubjectNaming(rawValue: subjectIds) != nil else { throw ValidationError("--subject-ids must be file or numbered, got '\(subjectIds)'") }
        guard dateOrder == "auto" || DateOrder(rawValue: dateOrder) != nil else { throw ValidationError("--date-order must be auto, mdy or dmy, got '\(dateOrder)'") }
        guard CGMacrosSensor(rawValue: cgmacrosSensor) != nil else { throw ValidationError("--cgmacros-sensor must be dexcom or libre, got '\(cgmacrosSensor)'") }
    }

    func run() throws {
        do {
            var options = ImportOptions()
            options.format = ImportFormat(rawValue: format)
            options.timezone = timezone
            options.subject = subject
            options.subjectNaming = SubjectNaming(rawValue: subjectIds) ?? .fileName
            options.dateOrder = DateOrder(rawValue: dateOrder)
            options.cgmacrosSensor = CGMacrosSensor(rawValue: cgmacrosSensor) ?? .dexcom
            options.diabetesStatus = diabetesStatus
            var pairs: [(String, String)] = []
            if let mapFile { pairs += try Self.mapPairs(yamlFile: mapFile) }
            for m in map { pairs += try ColumnMap.parse(m) }
            if !pairs.isEmpty {
                options.map = try ColumnMap(pairs: pairs)
                if options.format == nil { options.format = .mappedCSV }
                guard options.format == .mappedCSV else { throw DataError("--map and --map-file apply to --format csv only") }
            }
            let result = try CohortImporter.run(inputs: inputs, options: options, outDir: out, overwrite: overwrite)
            print(result.report.text(), terminator: "")
            print("wrote \(out)/cgm.csv, \(out)/subjects.csv, \(out)/import-report.txt, \(out)/import-report.json")
        } catch let error as DataError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// The key: value pairs of a flat YAML mapping file.
    static func mapPairs(yamlFile path: String) throws -> [(String, String)] {
        let name = (path as NSString).lastPathComponent
        let mapping: [String: Any]
        do {
            mapping = try YAMLDocument.mapping(try YAMLDocument.text(path: path, what: "the mapping file"), source: name,
                                               expected: "a mapping of keys to column names")
        } catch let e as ConfigError {
            throw DataError(file: name, e.message)
        }
        return try mapping.keys.sorted().map { key in
            switch mapping[key] {
            case let s as String: return (key, s)
            case let i as Int: return (key, String(i))
            case let d as Double: return (key, String(d))
            default: throw DataError(file: name, key: .config(key), "must be a single value (a column name, unit or format)")
            }
        }
    }
}
