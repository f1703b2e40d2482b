// subjects.csv: one row per subject, `subject_id` plus optional static covariates (age,
// diabetes_status, clinical_site, weight_kg, hba1c, …). A column is categorical or real: the known
// names below decide; any other column is real if every non-empty value parses as a number, else
// categorical. Empty cells and NA/NaN/null are missing ("none" is a category, e.g. no diabetes).

import CGMSchema
import Config
import Foundation

/// Static covariates per subject, as read from subjects.csv.
public struct SubjectTable: Sendable {
    /// Whether a static covariate is a category or a real number (`StaticKind`, CGMSchema).
    public typealias Kind = StaticKind

    /// Columns always treated as categorical.
    public static let knownCategorical: Set<String> = ["diabetes_status", "clinical_site", "sex", "site", "device"]
    /// Columns always treated as real (their values must parse as numbers).
    public static let knownReal: Set<String> = ["age", "weight_kg", "hba1c", "bmi", "height_cm"]

    /// File name (for messages).
    public var file: String
    /// Covariate columns in file order (`subject_id` excluded).
    public var columns: [String]
    /// Kind of each covariate column.
    public var kinds: [String: Kind]
    /// Subject ids in file order.
    public var subjects: [String]
    /// Line of each subject's row.
    public var lines: [String: Int]
    private var rowOf: [String: Int]
    private var cells: [[String]]  // [column][row], "" when missing

    /// Reads and validates subjects.csv.
    /// - Throws: `DataError` naming file and line for a missing `subject_id` column, an empty or
    ///   duplicate subject id, a wrong field count, or a non-number in a known real column.
    public static func read(path: String) throws -> SubjectTable {
        let reader = try CSVReader(path: path)
        return try read(reader)
    }

    /// Reads subjects from an open reader (header already read).
    public static func read(_ reader: CSVReader) throws -> SubjectTable {
        let file = reader.name
        let header = reader.header
        try reader.requireColumnNames(example: "subject_id,age,sex,diabetes_status")
        guard let idColumn = header.firstIndex(of: "subject_id") else {
            throw DataError(file: file, line: 1, key: .column("subject_id"), "missing required column")
        }
        var seen = Set<String>()
        for name in header where !seen.insert(name).inserted {
            throw DataError(file: file, line: 1, key: .column(name), "column appears twice in the header")
        }
        let covariates = header.indices.filter { $0 != idColumn }
        var table = SubjectTable(file: file, columns: covariates.map { header[$0] }, kinds: [:], subjects: [],
                                 lines: [:], rowOf: [:], cells: Array(repeating: [], count: covariates.count))
        var row = CSVRow()
        while try reader.next(into: &row) {
            let line = reader.recordLine
            guard row.count == header.count else {
                throw DataError(file: file, line: line, "expected \(header.count) fields, found \(row.count)")
            }
            let id = row.string(idColumn)
            guard !id.isEmpty else { throw DataError(file: file, line: line, key: .column("subject_id"), "empty subject id") }
            if let first = table.lines[id] {
                throw DataError(file: file, line: line, key: .subject(id), "listed twice (first on line \(first))")
            }
            table.lines[id] = line
            table.rowOf[id] = table.subjects.count
            table.subjects.append(id)
            for (k, c) in covariates.enumerated() {
                let text = row.string(c)
                // "none" is a real category here (e.g. diabetes_status: none), not a missing marker.
                let missing = text.lowercased() != "none" && row.withField(c) { CSVNumber.isMissing($0) }
                table.cells[k].append(missing ? "" : text)
            }
        }
        for (k, name) in table.columns.enumerated() {
            let numeric = table.cells[k].allSatisfy { $0.isEmpty || parseReal($0) != nil }
            if knownCategorical.contains(name) {
                table.kinds[name] = .categorical
            } else if knownReal.contains(name) || numeric {
                if !numeric, let r = table.cells[k].firstIndex(where: { !$0.isEmpty && parseReal($0) == nil }) {
                    let id = table.subjects[r]
                    throw DataError(file: file, line: table.lines[id], key: .column(name),
                                    "cannot parse '\(TextExcerpt.of(table.cells[k][r]))' as a number")
                }
                table.kinds[name] = .real
            } else {
                table.kinds[name] = .categorical
            }
        }
        return table
    }

    /// Whether `subject` has a row.
    public func contains(_ subject: String) -> Bool { rowOf[subject] != nil }

    /// The raw text of `column` for `subject`; nil if the subject, the column or the value is missing.
    public func value(_ column: String, for subject: String) -> String? {
        guard let r = rowOf[subject], let k = columns.firstIndex(of: column) else { return nil }
        let v = cells[k][r]
        return v.isEmpty ? nil : v
    }

    /// The numeric value of a real `column` for `subject`; nil if missing.
    public func real(_ column: String, for subject: String) -> Double? {
        value(column, for: subject).flatMap(Self.parseReal)
    }

    private static func parseReal(_ text: String) -> Double? {
        var copy = text
        return copy.withUTF8 { CSVNumber.parseDouble($0) }
    }
}
