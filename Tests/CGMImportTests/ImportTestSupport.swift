// Helpers for the importer tests: fixture paths, temporary directories, running an import in process and
// reading back the canonical files, and asserting that an error names the file and line.

import CGMImport
import DelimitedText
import Foundation
import XCTest

enum Fixture {
    /// The committed fixtures (Tests/CGMImportTests/Fixtures, copied as a resource).
    static var root: String {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures").path
    }

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func text(_ relative: String) throws -> String { try String(contentsOfFile: path(relative), encoding: .utf8) }

    /// The fake personal values the fixtures carry (names, birth date, patient id, serial numbers).
    static let personal = ["Zorblax", "Quintavious", "1971-02-03", "PX-771203", "NG4471902H", "8XQ7ZK", "ZQ55TRN"]
}

/// A temporary directory removed after the test (kept when CGMTRAIN_KEEP_TEST_DIRS is set).
func temporaryDirectory(_ test: XCTestCase, _ name: String = #function) throws -> String {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("cgmimport-\(name.prefix(40).filter { $0.isLetter || $0.isNumber })-\(getpid())-\(UUID().uuidString.prefix(6))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    if ProcessInfo.processInfo.environment["CGMTRAIN_KEEP_TEST_DIRS"] == nil {
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    }
    return dir
}

/// Writes `text` to `dir/name` (creating folders) and returns the path.
@discardableResult
func write(_ text: String, _ dir: String, _ name: String) throws -> String {
    let path = dir + "/" + name
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A written canonical cohort, read back.
struct ImportedFiles {
    let dir: String
    let result: ImportResult
    /// cgm.csv rows as column → text.
    let rows: [[String: String]]
    let header: [String]
    let subjects: [[String: String]]
    let subjectsHeader: [String]

    /// Rows of `subject` with a glucose value.
    func readings(_ subject: String) -> [[String: String]] {
        rows.filter { $0["subject_id"] == subject && !($0["glucose_mg_dl"] ?? "").isEmpty }
    }

    /// (timestamp, value) of rows of `subject` with `column` set.
    func values(_ subject: String, _ column: String) -> [(String, String)] {
        rows.filter { $0["subject_id"] == subject && !($0[column] ?? "").isEmpty }.map { ($0["timestamp"]!, $0[column]!) }
    }

    var report: ImportReport { result.report }

    func fileReport(_ suffix: String) -> FileReport? { result.report.files.first { $0.file.hasSuffix(suffix) } }
}

func readCSV(_ path: String) throws -> (header: [String], rows: [[String: String]]) {
    let reader = try CSVReader(path: path)
    var rows: [[String: String]] = []
    var row = CSVRow()
    while try reader.next(into: &row) {
        var r: [String: String] = [:]
        for (i, name) in reader.header.enumerated() { r[name] = i < row.count ? row.string(i) : "" }
        rows.append(r)
    }
    return (reader.header, rows)
}

/// Runs an import of `inputs` into a fresh directory under `test`'s temporary folder and reads the files back.
func runImport(_ test: XCTestCase, _ inputs: [String], _ configure: (inout ImportOptions) -> Void = { _ in },
               file: StaticString = #filePath, line: UInt = #line) throws -> ImportedFiles {
    var options = ImportOptions()
    configure(&options)
    let out = try temporaryDirectory(test) + "/out"
    let result = try CohortImporter.run(inputs: inputs, options: options, outDir: out, overwrite: false)
    let cgm = try readCSV(out + "/cgm.csv"), subjects = try readCSV(out + "/subjects.csv")
    return ImportedFiles(dir: out, result: result, rows: cgm.rows, header: cgm.header, subjects: subjects.rows,
                         subjectsHeader: subjects.header)
}

/// Asserts that `body` throws a `DataError` naming `file` (and `line`, if given) whose text contains `contains`.
func assertImportError(_ body: () throws -> Void, file expectedFile: String, line expectedLine: Int?, contains: String,
                       file: StaticString = #filePath, line: UInt = #line) {
    do {
        try body()
        XCTFail("expected an error naming \(expectedFile)", file: file, line: line)
    } catch let e as DataError {
        XCTAssertEqual(e.file, expectedFile, "\(e)", file: file, line: line)
        if let expectedLine { XCTAssertEqual(e.line, expectedLine, "\(e)", file: file, line: line) }
        XCTAssert(e.description.contains(contains), "'\(e)' does not contain '\(contains)'", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}

/// Imports a malformed copy of a fixture (written as `name` in a temporary directory) and asserts the error.
func assertMalformed(_ test: XCTestCase, _ text: String, name: String, line expectedLine: Int?, contains: String,
                     configure: (inout ImportOptions) -> Void = { _ in }, file: StaticString = #filePath, line: UInt = #line) throws {
    let dir = try temporaryDirectory(test, "malformed\(name)")
    let path = try write(text, dir, name)
    var options = ImportOptions()
    configure(&options)
    assertImportError({ _ = try CohortImporter.run(inputs: [path], options: options, outDir: dir + "/out", overwrite: false) },
                      file: (name as NSString).lastPathComponent, line: expectedLine, contains: contains, file: file, line: line)
    XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out"), "nothing is written when an import fails", file: file, line: line)
}

extension String {
    /// The text with line `n` (1-based) replaced.
    func replacingLine(_ n: Int, with new: String) -> String {
        var lines = components(separatedBy: "\n")
        lines[n - 1] = new
        return lines.joined(separator: "\n")
    }

    /// Line `n` (1-based).
    func line(_ n: Int) -> String { components(separatedBy: "\n")[n - 1] }
}
