// Streaming RFC 4180 CSV reader, byte level: the file is read in chunks (1 MiB by default) and split
// by a four-state machine over the buffered bytes (the field delimiter is a comma unless told otherwise:
// device exports also come separated by semicolons or tabs) that copies each run of ordinary bytes at once;
// a record's fields are unescaped into one reusable byte buffer (`CSVRow`),
// so reading a row allocates nothing once the buffers have grown. Handles quoted fields (with `""`
// escapes, commas and line breaks inside), LF / CRLF / CR line ends, a UTF-8 byte-order mark and
// blank lines (skipped). Line numbers are physical lines: the header is line 1, and a record that
// spans lines (a quoted line break) is reported at the line it starts on.

import Foundation

/// One CSV record: its unescaped fields, stored back to back in one reusable byte buffer.
public struct CSVRow {
    /// Unescaped bytes of all fields, concatenated.
    public internal(set) var bytes: [UInt8] = []
    /// End offset in `bytes` of each field (field `i` spans `ends[i-1] ..< ends[i]`).
    public internal(set) var ends: [Int] = []

    /// An empty row; pass it to `CSVReader.next(into:)` repeatedly (its buffers are reused).
    public init() {
        bytes.reserveCapacity(256)
        ends.reserveCapacity(32)
    }

    /// Number of fields.
    @inlinable public var count: Int { ends.count }

    /// Calls `body` with the raw (unescaped, untrimmed) bytes of field `i`. Inlinable: the readers in other
    /// modules (CGMData, CGMImport) call it for every field.
    @inlinable
    public func withField<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        let lo = i == 0 ? 0 : ends[i - 1]
        let hi = ends[i]
        return try bytes.withUnsafeBufferPointer { all in
            try body(UnsafeBufferPointer(rebasing: all[lo ..< hi]))
        }
    }

    /// Field `i` as a string with surrounding spaces and tabs removed.
    public func string(_ i: Int) -> String {
        withField(i) { String(decoding: CSVNumber.trim($0), as: UTF8.self) }
    }

    mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    mutating func endField() { ends.append(bytes.count) }
}

/// Streaming CSV reader: reads the header on creation, then one record per `next(into:)`.
public final class CSVReader {
    /// File name used in error messages (last path component).
    public let name: String
    /// Header fields, trimmed.
    public private(set) var header: [String] = []
    /// Line on which the record last returned by `next(into:)` started (the header is line 1).
    public private(set) var recordLine = 0

    /// The field delimiter (a comma unless given).
    public let delimiter: UInt8

    private enum State { case fieldStart, unquoted, quoted, quoteSeen }
    private static let quote = UInt8(ascii: "\"")
    private static let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

    private let handle: FileHandle?
    private let chunkSize: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var line = 1
    private var skipLF = false
    private var checkedBOM = false

    /// Opens `path` and reads its header line (its first record, fields split at `delimiter`).
    /// - Throws: `DataError` if the file cannot be opened, is empty or its first record is malformed.
    public init(path: String, chunkSize: Int = 1 << 20, delimiter: UInt8 = UInt8(ascii: ",")) throws {
        name = (path as NSString).lastPathComponent
        self.delimiter = delimiter
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError(file: name, "no such file: '\(TextExcerpt.of(path, limit: 400))'")
        }
        guard !isDirectory.boolValue else {
            throw DataError(file: name, "'\(TextExcerpt.of(path, limit: 400))' is a directory; expected a CSV file")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError(file: name, "cannot open file '\(TextExcerpt.of(path, limit: 400))'")
        }
        self.handle = handle
        self.chunkSize = max(chunkSize, 64)
        try readHeader()
    }

    /// Reads CSV text already in memory (tests, small tables); `name` is used in error messages.
    public init(bytes: [UInt8], name: String, delimiter: UInt8 = UInt8(ascii: ",")) throws {
        self.name = name
        self.delimiter = delimiter
        handle = nil
        chunkSize = 0
        buffer = bytes
        stripBOM()
        try readHeader()
    }

    deinit { try? handle?.close() }

    /// Reads the next non-blank record into `row`; returns false at the end of the file.
    /// - Throws: `DataError` naming the line for an unterminated quoted field or text after a closing quote.
    public func next(into row: inout CSVRow) throws -> Bool {
        row.reset()
        var state = State.fieldStart
        var started = false
        var quoteLine = 0
        let delimiter = delimiter
        while true {
            if position == buffer.count {
                if try !refill() {
                    if state == .quoted {
                        throw DataError(file: name, line: quoteLine, "unterminated quoted field (the quote opens on this line)")
                    }
                    if started { row.endField() }
                    return started
                }
            }
            // Walk the buffered bytes until the record ends or the buffer runs out (then refill and go on).
            var pos = position, ln = line, skip = skipLF, recLine = recordLine
            var complete = false
            var unexpected: UInt8?
            buffer.withUnsafeBufferPointer { b in
                let n = b.count
                while pos < n {
                    if skip {
                        skip = false
                        if b[pos] == Self.lf {
                            pos &+= 1
                            continue
                        }
                    }
                    switch state {
                    case .unquoted:  // the run up to the next delimiter or line end, copied at once
                        let start = pos
                        while pos < n {
                            let c = b[pos]
                            if c == delimiter || c == Self.lf || c == Self.cr { break }
                            pos &+= 1
                        }
                        if pos > start { row.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: b[start ..< pos])) }
                        if pos == n { return }
                        let c = b[pos]
                        pos &+= 1
                        if c == delimiter {
                            row.endField()
                            state = .fieldStart
                        } else {
                            skip = c == Self.cr
                            ln += 1
                            row.endField()
                            complete = true
                            return
                        }
                    case .quoted:  // the run up to the next quote (line breaks inside are counted), copied at once
                        let start = pos
                        while pos < n, b[pos] != Self.quote {
                            if b[pos] == Self.lf { ln += 1 }
                            pos &+= 1
                        }
                        if pos > start { row.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: b[start ..< pos])) }
                        if pos == n { return }
                        pos &+= 1
                        state = .quoteSeen
                    case .fieldStart:
                        let c = b[pos]
                        pos &+= 1
                        if c == Self.lf || c == Self.cr {
                            skip = c == Self.cr
                            ln += 1
                            if !started { continue }  // blank line
                            row.endField()
                            complete = true
                            return
                        }
                        if !started {
                            started = true
                            recLine = ln
                        }
                        if c == Self.quote {
                            state = .quoted
                            quoteLine = ln
                        } else if c == delimiter {
                            row.endField()
                        } else {
                            row.bytes.append(c)
                            state = .unquoted
                        }
                    case .quoteSeen:
                        let c = b[pos]
                        pos &+= 1
                        if c == Self.quote {
                            row.bytes.append(c)
                            state = .quoted
                        } else if c == delimiter {
                            row.endField()
                            state = .fieldStart
                        } else if c == Self.lf || c == Self.cr {
                            skip = c == Self.cr
                            ln += 1
                            row.endField()
                            complete = true
                            return
                        } else {
                            unexpected = c
                            return
                        }
                    }
                }
            }
            position = pos
            line = ln
            skipLF = skip
            recordLine = recLine
            if let c = unexpected {
                throw DataError(file: name, line: line, "unexpected character '\(Character(Unicode.Scalar(c)))' after a closing quote")
            }
            if complete { return true }
        }
    }

    /// Refuses a first line that is data rather than column names (a header-less file): a field that is a
    /// number or a timestamp, or an empty name. `example` is a header the caller expects, for the message.
    public func requireColumnNames(example: String) throws {
        for (i, field) in header.enumerated() {
            let looksLikeData = TimestampParser.parse(field) != nil || Double(field) != nil
            guard field.isEmpty || looksLikeData else { continue }
            let what = field.isEmpty ? "column \(i + 1) of the first line has no name"
                                     : "the first line holds '\(TextExcerpt.of(field))' (column \(i + 1)), which is data, not a column name"
            throw DataError(file: name, line: 1, "\(what): the file must start with a header line naming its columns, "
                            + "e.g. \(example) (is the header missing?)")
        }
    }

    private func readHeader() throws {
        var row = CSVRow()
        guard try next(into: &row) else { throw DataError(file: name, line: 1, "file is empty: expected a header line") }
        header = (0 ..< row.count).map { row.string($0) }
    }

    private func refill() throws -> Bool {
        guard let handle else { return false }
        let data: Data?
        do { data = try handle.read(upToCount: chunkSize) } catch {
            throw DataError(file: name, "read failed: \(error.localizedDescription)")
        }
        guard let data, !data.isEmpty else { return false }
        buffer = [UInt8](data)
        position = 0
        stripBOM()
        return true
    }

    private func stripBOM() {
        guard !checkedBOM else { return }
        checkedBOM = true
        if buffer.count >= 3, buffer[0] == 0xEF, buffer[1] == 0xBB, buffer[2] == 0xBF { position = 3 }
    }
}
