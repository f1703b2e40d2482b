// Column look-up in the header rows of device exports: names compared trimmed and case-insensitively,
// a missing required column is an error naming the file, the header's line and the column.

import DelimitedText

/// A header row's columns by name.
struct CSVHeader {
    let names: [String]
    let line: Int
    let file: String
    private let index: [String: Int]

    init(_ names: [String], line: Int, file: String) {
        self.names = names
        self.line = line
        self.file = file
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() where index[Self.key(n)] == nil { index[Self.key(n)] = i }
        self.index = index
    }

    init(row: CSVRow, line: Int, file: String) {
        self.init((0 ..< row.count).map { row.string($0) }, line: line, file: file)
    }

    static func key(_ name: String) -> String {
        name.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// The column named `name` (any of `names`), if present.
    func optional(_ names: String...) -> Int? {
        for n in names { if let i = index[Self.key(n)] { return i } }
        return nil
    }

    /// The first column whose name starts with `prefix`, if any.
    func first(prefix: String) -> Int? {
        let p = Self.key(prefix)
        return names.firstIndex { Self.key($0).hasPrefix(p) }
    }

    /// The column named `name` (any of `names`); missing → error naming the file, the header line and the column.
    func required(_ names: String...) throws -> Int {
        for n in names { if let i = index[Self.key(n)] { return i } }
        throw DataError(file: file, line: line, key: .column(names[0]), "missing required column")
    }
}

extension CSVRow {
    /// Whether field `i` exists and is empty (or a missing marker).
    func isEmpty(_ i: Int) -> Bool {
        i >= count || withField(i) { CSVNumber.isMissing($0) }
    }

    /// Field `i` as a number (point or, with `decimalComma`, comma decimals); nil if empty or a `-------` placeholder.
    /// - Throws: `DataError` naming file, line and column when the field holds something else.
    func number(_ i: Int, _ column: String, file: String, line: Int, decimalComma: Bool = false) throws -> Double? {
        guard i < count else { return nil }
        return try withField(i) { raw in
            if DecimalText.isAbsent(raw) { return nil }
            if let v = DecimalText.parse(raw, decimalComma: decimalComma) { return v }
            throw DataError(file: file, line: line, key: .column(column),
                            "cannot parse '\(String(decoding: CSVNumber.trim(raw), as: UTF8.self))' as a number")
        }
    }

    /// Whether field `i` equals `text` (ASCII case-insensitive, trimmed).
    func fieldEquals(_ i: Int, _ text: StaticString) -> Bool {
        guard i < count else { return false }
        return withField(i) { raw in
            let b = CSVNumber.trim(raw)
            guard b.count == text.utf8CodeUnitCount else { return false }
            let t = text.utf8Start
            for k in 0 ..< b.count where b[k] | 0x20 != t[k] | 0x20 { return false }
            return true
        }
    }
}

/// A local time field, or an error naming the file, line and column.
func localStamp(_ row: CSVRow, _ i: Int, _ column: String, file: String, line: Int) throws -> LocalStamp {
    try row.withField(i) { raw in
        if let s = LocalClockText.parse(raw) { return s }
        let text = String(decoding: CSVNumber.trim(raw), as: UTF8.self)
        throw DataError(file: file, line: line, key: .column(column),
                        text.isEmpty ? "empty timestamp" : "cannot parse '\(text)' as a date and time")
    }
}
