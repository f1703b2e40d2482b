// Personal data in device exports (names, dates of birth, serial numbers, patient ids) never reaches an
// output. Importers read past those fields without copying them and note what they saw here. The only free
// text the outputs carry is subject ids, subjects.csv values and, in the report, input paths: an id or value
// containing a noted value (case-insensitive) is refused with an error that names the file but not the value
// (a Clarity export is named after the patient by default, so ids from file names need this), and paths in
// the report have noted values cut out. Everything else written is numbers, timestamps and fixed words.

import DelimitedText
import Foundation

/// Personal values seen in the input files.
public struct PersonalData: Sendable {
    /// Lowercased values, at least `minimumLength` bytes long.
    public private(set) var values: Set<String> = []
    /// Shorter values would match ordinary text (e.g. "Li", "12").
    static let minimumLength = 3

    /// Creates an empty set.
    public init() {}

    /// Notes a value (a name, a birth date, a serial number); words of a name are noted one by one too.
    public mutating func note(_ raw: String) {
        let value = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard !value.isEmpty else { return }
        if value.utf8.count >= Self.minimumLength { values.insert(value) }
        for word in value.split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "," || $0 == "." })
        where word.utf8.count >= Self.minimumLength && !word.allSatisfy(\.isNumber) {
            values.insert(String(word))
        }
    }

    /// Notes field `i` of `row` if it differs from the last value noted through `last` (device serials repeat
    /// on every row of an export: they are noted once per change, not once per row).
    mutating func note(_ row: CSVRow, _ i: Int, last: inout [UInt8]) {
        guard i < row.count else { return }
        let changed = row.withField(i) { raw -> Bool in
            let b = CSVNumber.trim(raw)
            if b.isEmpty || b.elementsEqual(last) { return false }
            last = Array(b)
            return true
        }
        if changed { note(String(decoding: last, as: UTF8.self)) }
    }

    /// Adds another set.
    public mutating func formUnion(_ other: PersonalData) { values.formUnion(other.values) }

    /// Whether `text` contains a noted value.
    public func occurs(in text: String) -> Bool {
        let lower = text.lowercased()
        return values.contains { lower.contains($0) }
    }

    /// `text` with every noted value replaced by "…".
    public func redacted(_ text: String) -> String {
        var out = text
        for v in values.sorted(by: { $0.count > $1.count }) {
            while let r = out.range(of: v, options: .caseInsensitive) { out.replaceSubrange(r, with: "…") }
        }
        return out
    }
}
