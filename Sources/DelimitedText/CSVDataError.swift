// DataError: every ingest, feature and configuration failure in CGMData is one of these. It names
// where the problem is (file and line, and the column, subject or configuration key) so the user
// can open the file and fix it, e.g.
//   cgm.csv:17: column 'glucose_mg_dl': cannot parse 'abc' as a number
//   cgm.csv:5: subject 'S9': not listed in subjects.csv
//   data.stride must be ≥ 1

import Foundation

/// An input-data or configuration error naming the file, line and column/subject/key at fault. Names and
/// values from the file are quoted through `TextExcerpt` (at most 80 characters).
public struct DataError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// What the error is about, besides its file and line.
    public enum Key: Equatable, Sendable {
        /// A CSV column, by header name.
        case column(String)
        /// A subject, by `subject_id`.
        case subject(String)
        /// A configuration key path, e.g. `data.stride` (the message then reads after the path).
        case config(String)
    }

    /// File name (last path component) the error was found in, if any.
    public var file: String?
    /// 1-based physical line number in `file` (the header is line 1), if any.
    public var line: Int?
    /// Column, subject or configuration key at fault, if any.
    public var key: Key?
    /// What is wrong, and where useful what was expected.
    public var message: String

    /// Creates an error; see the type's documentation for how the parts are printed.
    public init(file: String? = nil, line: Int? = nil, key: Key? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.key = key
        self.message = message
    }

    /// `file:line: column 'name': message`, `file: subject 'id': message` or `data.key message`.
    public var description: String {
        var text = ""
        if let file {
            text += file
            if let line { text += ":\(line)" }
            text += ": "
        }
        switch key {
        case .column(let name): text += "column '\(TextExcerpt.of(name))': "
        case .subject(let id): text += "subject '\(TextExcerpt.of(id))': "
        case .config(let path): text += "\(path) "
        case nil: break
        }
        return text + message
    }

    /// Same as `description` (so `localizedDescription` prints the whole message on Linux too).
    public var errorDescription: String? { description }
}
