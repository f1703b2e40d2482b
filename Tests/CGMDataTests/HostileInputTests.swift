// Hostile and confusing CSV input (issue 17): a 200 MB field gives a short error (in-process and on the
// stderr of a real `cgmtrain prepare`), a header-less file says the header is missing, a directory given as
// --cgm says so, the timestamp-span error names the file and line, a subject whose zone flips between Z and
// +05:00 is reported.

import Foundation
import XCTest
import _TestSupport
@testable import CGMData

final class HostileInputTests: XCTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    func testA200MBFieldIsQuotedShortly() throws {
        let dir = CSVTempDir()
        let path = dir.url.appendingPathComponent("cgm.csv").path
        try writeHugeFieldCSV(path)
        let start = Date()
        assertDataError({ _ = try CohortReader().read(cgmPath: path) }, file: "cgm.csv", line: 3, key: .column("glucose_mg_dl"),
                        contains: "cannot parse '" + String(repeating: "9", count: 79) + "x… (209715200 bytes)' as a number")
        do { _ = try CohortReader().read(cgmPath: path) } catch {
            XCTAssertLessThan("\(error)".utf8.count, 200, "\(error)".prefix(300).description)
        }
        print("200 MB field: error in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }

    /// cgm.csv whose line 3 has a 200 MiB glucose field.
    func writeHugeFieldCSV(_ path: String) throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? h.close() }
        h.write(Data("subject_id,timestamp,glucose_mg_dl\nA,\(gridT0),100\nA,\(gridT0 + 300),".utf8))
        var chunk = Data(repeating: UInt8(ascii: "9"), count: 1 << 20)
        chunk[79] = UInt8(ascii: "x")
        h.write(chunk)
        let rest = Data(repeating: UInt8(ascii: "9"), count: 1 << 20)
        for _ in 1..<200 { h.write(rest) }
        h.write(Data("\n".utf8))
    }

    func testA200MBFieldGivesAShortStderrFromPrepare() throws {
        let dir = CSVTempDir()
        let cgm = dir.url.appendingPathComponent("cgm.csv").path
        try writeHugeFieldCSV(cgm)
        let config = Self.packageRoot + "/configs/seq2seq.yaml"
        let out = dir.url.appendingPathComponent("out").path
        let r = try CGMTrainLauncher.run(["prepare", "--cgm", cgm, "--config", config, "--out", out], np: 2, timeout: 120)
        XCTAssertNotEqual(r.status, 0, r.log.prefix(2000).description)
        XCTAssertLessThan(r.stderr.utf8.count, 2_000, "stderr of \(r.stderr.utf8.count) bytes")
        XCTAssertTrue(r.stderr.contains("cgm.csv:3: column 'glucose_mg_dl': cannot parse '999"), r.log.prefix(2000).description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        print("200 MB field: prepare's stderr is \(r.stderr.utf8.count) bytes")
    }

    func testAHeaderlessFileSaysTheHeaderIsMissing() {
        // It used to read the first row as the header and report "column '' appears twice".
        assertDataError({ _ = try readTestCohort("A,\(gridT0),100,,\nA,\(gridT0 + 300),101,,\n") },
                        file: "cgm.csv", line: 1, key: nil,
                        contains: "the first line holds '\(gridT0)' (column 2), which is data, not a column name: the file "
                            + "must start with a header line naming its columns, e.g. subject_id,timestamp,glucose_mg_dl "
                            + "(is the header missing?)")
    }

    func testADirectoryAsInputSaysItIsADirectory() throws {
        let dir = CSVTempDir()
        assertDataError({ _ = try CohortReader().read(cgmPath: dir.url.path) }, file: dir.url.lastPathComponent, line: nil,
                        key: nil, contains: "is a directory; expected a CSV file")
        let r = try CGMTrainLauncher.run(["prepare", "--cgm", dir.url.path, "--config", Self.packageRoot + "/configs/seq2seq.yaml",
                                          "--out", dir.url.appendingPathComponent("out").path], timeout: 60)
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssertTrue(r.stderr.contains("is a directory; expected a CSV file"), r.log)
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"), r.log)
    }

    func testTheTimestampSpanErrorNamesFileAndLine() throws {
        let cohort = try readTestCohort("subject_id,timestamp,glucose_mg_dl\nB,\(gridT0),100\nA,0,100\nA,\(gridT0),100\n")
        assertDataError({ _ = try Resampler().resample(cohort) }, file: "cgm.csv", line: 3, key: .subject("A"),
                        contains: "timestamps span 19675 days (1970-01-01T00:00:00Z to 2023-11-14T22:15:00Z, more than 1000)")
    }

    func testAZoneThatFlipsBetweenZAndPlusFiveIsReported() throws {
        // Local clock times written alternately with Z and +05:00: in UTC the rows interleave and collide.
        var csv = "subject_id,timestamp,glucose_mg_dl\n"
        for i in 0..<24 {
            let zone = (i / 6) % 2 == 0 ? "Z" : "+05:00"
            csv += "S1,2024-03-01T\(String(format: "%02d", i)):00:00\(zone),\(100 + i)\n"
            csv += "S1,2024-03-01T\(String(format: "%02d", i)):05:00\(zone),\(100 + i)\n"
        }
        csv += "S2,2024-03-01T00:00:00Z,100\nS2,2024-03-01T00:05:00+00:00,101\n"
        let cohort = try readTestCohort(csv)
        let warnings = cohort.report.warnings.filter { $0.contains("switch between UTC offsets") }
        XCTAssertEqual(warnings.count, 1, "\(cohort.report.warnings)")
        XCTAssertTrue(warnings.first?.hasPrefix("cgm.csv: subject 'S1' (from line 2): timestamps switch between UTC offsets "
                                               + "Z and +05:00 3 time(s); in UTC order ") == true, "\(warnings)")
    }
}
