// Streaming RFC 4180 CSV reader, byte level: the file is read in chunks (1 MiB by default) and split
// by a four-state machine; a record's fields are unescaped into one reusable byte buffer (`CSVRow`),
// so reading a row allocates nothing once the buffers have grown. Handles quoted fields (with `""`
// escapes, commas and line breaks inside), LF / CRLF / CR line ends, a UTF-8 byte-order mark and
// blank lines (skipped). Line numbers are physical lines: the header is line 1, and a record that
// spans lines (a quoted line break) is reported at the line it starts on.

import Config
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
    public var count: Int { ends.count }

    /// Calls `body` with the raw (unescaped, untrimmed) bytes of field `i`.
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

    private enum State { case fieldStart, unquoted, quoted, quoteSeen }
    private static let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\"")
    private static let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")

    private let handle: FileHandle?
    private let chunkSize: Int
    private var buffer: [UInt8] = []
    private var position = 0
    private var line = 1
    private var skipLF = false
    private var checkedBOM = false

    /// Opens `path` and reads its header line.
    /// - Throws: `DataError` if the file cannot be opened, is empty or its first record is malformed.
    public init(path: String, chunkSize: Int = 1 << 20) throws {
        name = (path as NSString).lastPathComponent
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
    public init(bytes: [UInt8], name: String) throws {
        self.name = name
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
            let byte = buffer[position]
            position &+= 1
            if skipLF {
                skipLF = false
                if byte == Self.lf { continue }
            }
            switch state {
            case .fieldStart:
                if byte == Self.lf || byte == Self.cr {
                    skipLF = byte == Self.cr
                    line += 1
                    if !started { continue }  // blank line
                    row.endField()
                    return true
                }
                if !started {
                    started = true
                    recordLine = line
                }
                if byte == Self.quote {
                    state = .quoted
                    quoteLine = line
                } else if byte == Self.comma {
                    row.endField()
                } else {
                    row.bytes.append(byte)
                    state = .unquoted
                }
            case .unquoted:
                if byte == Self.comma {
                    row.endField()
                    state = .fieldStart
                } else if byte == Self.lf || byte == Self.cr {
                    skipLF = byte == Self.cr
                    line += 1
                    row.endField()
                    return true
                } else {
                    row.bytes.append(byte)
                }
            case .quoted:
                if byte == Self.quote {
                    state = .quoteSeen
                } else {
                    if byte == Self.lf { line += 1 }
                    row.bytes.append(byte)
                }
            case .quoteSeen:
                if byte == Self.quote {
                    row.bytes.append(byte)
                    state = .quoted
                } else if byte == Self.comma {
                    row.endField()
                    state = .fieldStart
                } else if byte == Self.lf || byte == Self.cr {
                    skipLF = byte == Self.cr
                    line += 1
                    row.endField()
                    return true
                } else {
                    throw DataError(file: name, line: line,
                                    "unexpected character '\(Character(Unicode.Scalar(byte)))' after a closing quote")
                }
            }
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
