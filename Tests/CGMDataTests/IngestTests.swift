// Ingest: CSV reading (quotes, CRLF, BOM), numbers, timestamps, the cohort reader's counts and
// errors, and resampling onto the 5-minute grid with hand-computed values.

import CGMSchema
import Foundation
import XCTest
@testable import CGMData

// MARK: - Helpers shared by the CGMData tests

/// A fresh temporary directory, removed when the object is released.
final class CSVTempDir {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cgmdata-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `text` to `name` in the directory and returns its path.
    func write(_ name: String, _ text: String) -> String {
        let path = url.appendingPathComponent(name).path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Reads the cohort in `csv` (and `subjects`), written to a temporary directory as cgm.csv / subjects.csv.
func readTestCohort(_ csv: String, subjects: String? = nil) throws -> Cohort {
    let dir = CSVTempDir()
    let cgm = dir.write("cgm.csv", csv)
    let table = subjects.map { dir.write("subjects.csv", $0) }
    return try CohortReader().read(cgmPath: cgm, subjectsPath: table)
}

/// Asserts that `body` throws a `DataError` with the given file, line and key, whose text contains `contains`.
func assertDataError(_ body: () throws -> Void, file errorFile: String?, line errorLine: Int?, key: DataError.Key?,
                     contains: String, file: StaticString = #filePath, line: UInt = #line) {
    do {
        try body()
        XCTFail("expected a DataError containing '\(contains)'", file: file, line: line)
    } catch let error as DataError {
        XCTAssertEqual(error.file, errorFile, "file of: \(error)", file: file, line: line)
        XCTAssertEqual(error.line, errorLine, "line of: \(error)", file: file, line: line)
        XCTAssertEqual(error.key, key, "key of: \(error)", file: file, line: line)
        XCTAssertTrue(error.description.contains(contains), "'\(error)' should contain '\(contains)'", file: file, line: line)
    } catch {
        XCTFail("expected a DataError, got \(error)", file: file, line: line)
    }
}

/// A grid-aligned Unix time (1_700_000_100 = 300 × 5_666_667) used as gridT0 in the tests.
let gridT0: Int64 = 1_700_000_100

/// Asserts two float arrays are equal elementwise within `accuracy` (NaN matches NaN).
func assertFloats(_ got: [Float], _ want: [Float], accuracy: Float = 1e-4,
                  file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, "count", file: file, line: line)
    for (i, (g, w)) in zip(got, want).enumerated() {
        if w.isNaN {
            XCTAssertTrue(g.isNaN, "[\(i)]: \(g), expected NaN", file: file, line: line)
        } else {
            XCTAssertEqual(g, w, accuracy: accuracy, "[\(i)]", file: file, line: line)
        }
    }
}

final class IngestTests: XCTestCase {
    // MARK: CSV reader

    func testCSVReaderHandlesBOMCRLFQuotesAndBlankLines() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"x, \"\"y\"\"\",3\r\n\r\n\"multi\nline\",,\"\"\r\nlast,row,end"
        let reader = try CSVReader(bytes: Array(text.utf8), name: "t.csv")
        XCTAssertEqual(reader.header, ["a", "b", "c"])
        var row = CSVRow()
        XCTAssertTrue(try reader.next(into: &row))
        XCTAssertEqual((0 ..< row.count).map { row.string($0) }, ["1", "x, \"y\"", "3"])
        XCTAssertEqual(reader.recordLine, 2)
        XCTAssertTrue(try reader.next(into: &row))
        XCTAssertEqual((0 ..< row.count).map { row.string($0) }, ["multi\nline", "", ""])
        XCTAssertEqual(reader.recordLine, 4, "the blank line 3 is skipped; the record starts on line 4")
        XCTAssertTrue(try reader.next(into: &row))
        XCTAssertEqual((0 ..< row.count).map { row.string($0) }, ["last", "row", "end"])
        XCTAssertEqual(reader.recordLine, 6)
        XCTAssertFalse(try reader.next(into: &row))
    }

    func testCSVReaderAcrossSmallChunks() throws {
        // A 64-byte chunk forces records, quotes and CRLF pairs to straddle chunk boundaries.
        var text = "id,value\r\n"
        for i in 0 ..< 200 { text += "s\(i),\"v\(i),\"\"q\"\"\"\r\n" }
        let dir = CSVTempDir()
        let reader = try CSVReader(path: dir.write("c.csv", text), chunkSize: 64)
        var row = CSVRow()
        var n = 0
        while try reader.next(into: &row) {
            XCTAssertEqual(row.string(0), "s\(n)")
            XCTAssertEqual(row.string(1), "v\(n),\"q\"")
            XCTAssertEqual(reader.recordLine, n + 2)
            n += 1
        }
        XCTAssertEqual(n, 200)
    }

    func testCSVReaderErrorsNameTheLine() {
        assertDataError({ _ = try CSVReader(bytes: [], name: "e.csv") }, file: "e.csv", line: 1, key: nil, contains: "empty")
        assertDataError({
            let r = try CSVReader(bytes: Array("a,b\n1,\"open\n2,3\n".utf8), name: "q.csv")
            var row = CSVRow()
            while try r.next(into: &row) {}
        }, file: "q.csv", line: 2, key: nil, contains: "unterminated quoted field")
        assertDataError({
            let r = try CSVReader(bytes: Array("a,b\n1,2\n\"x\"y,3\n".utf8), name: "q.csv")
            var row = CSVRow()
            while try r.next(into: &row) {}
        }, file: "q.csv", line: 3, key: nil, contains: "after a closing quote")
    }

    func testNumberParsing() {
        func parse(_ s: String) -> Double? {
            var copy = s
            return copy.withUTF8 { CSVNumber.parseDouble($0) }
        }
        XCTAssertEqual(parse("120"), 120)
        XCTAssertEqual(parse(" -3.25 "), -3.25)
        XCTAssertEqual(parse(".5"), 0.5)
        XCTAssertEqual(parse("1e-3"), 0.001)
        XCTAssertEqual(parse("0.1"), 0.1, "the exact fast path rounds like the standard library")
        XCTAssertEqual(parse("5.551115123125783e-17"), 5.551115123125783e-17)
        XCTAssertEqual(parse("12345678901234567890123"), 12345678901234567890123.0, "fallback beyond 19 digits")
        for bad in ["abc", "1.2.3", "1e", "--1", "", "inf", "1,5"] { XCTAssertNil(parse(bad), bad) }
        for missing in ["", " ", "NA", "nan", "NaN", "null", "None"] {
            var copy = missing
            XCTAssertTrue(copy.withUTF8 { CSVNumber.isMissing($0) }, missing)
        }
    }

    // MARK: Timestamps

    func testTimestampsWithZoneWithoutZoneAndUnixSeconds() throws {
        // 2024-03-01T08:05:00+01:00 is 07:05 UTC = 1709276700 (Python calendar.timegm).
        let zoned = try XCTUnwrap(TimestampParser.parse("2024-03-01T08:05:00+01:00"))
        XCTAssertEqual(zoned.seconds, 1_709_276_700)
        XCTAssertEqual(zoned.utcOffsetMinutes, 60)
        XCTAssertTrue(zoned.hadZone)
        XCTAssertEqual(TimestampParser.parse("2024-03-01T07:05:00Z")?.seconds, 1_709_276_700)
        XCTAssertEqual(TimestampParser.parse("2024-03-01T08:05+0100")?.seconds, 1_709_276_700)
        XCTAssertEqual(TimestampParser.parse("2024-03-01T08:05:00.750 +01")?.seconds, 1_709_276_700)
        // 08:05 −05:30 is 13:35 UTC.
        XCTAssertEqual(TimestampParser.parse("2024-03-01 08:05:00-05:30")?.seconds, 1_709_300_100)
        // No zone: the clock time as UTC, offset 0.
        let naive = try XCTUnwrap(TimestampParser.parse("2024-03-01 08:05:00"))
        XCTAssertEqual(naive.seconds, 1_709_280_300)
        XCTAssertEqual(naive.utcOffsetMinutes, 0)
        XCTAssertFalse(naive.hadZone)
        XCTAssertEqual(TimestampParser.parse("2000-02-29")?.seconds, 951_782_400)
        // Unix seconds.
        XCTAssertEqual(TimestampParser.parse("1709280300")?.seconds, 1_709_280_300)
        XCTAssertEqual(TimestampParser.parse("1709280300.9")?.seconds, 1_709_280_300)
        XCTAssertEqual(TimestampParser.parse("-0.5")?.seconds, -1)
        for bad in ["2024-13-01 00:00", "2023-02-29", "2024-03-01T25:00", "2024-03-01T08:05:00+01:00x", "yesterday",
                    "1709280300000", "2024-03-01T08"] {
            XCTAssertNil(TimestampParser.parse(bad), bad)
        }
        XCTAssertTrue(TimestampParser.explain("1709280300000").contains("milliseconds"))
    }

    // MARK: Cohort reader

    func testMmolConversionAndEventOnlyRows() throws {
        let cohort = try readTestCohort("""
        subject_id,timestamp,glucose_mmol_l,carbs_g
        A,2024-03-01T08:00:00,5.5,
        A,2024-03-01T08:05:00,,30
        A,2024-03-01T08:10:00,,
        """)
        XCTAssertTrue(cohort.report.convertedFromMmol)
        XCTAssertEqual(cohort.series[0].glucose[0], 99.088, accuracy: 1e-4, "5.5 mmol/L × 18.016")
        XCTAssertTrue(cohort.series[0].glucose[1].isNaN)
        XCTAssertEqual(cohort.series[0].values(for: .carbs)?[1], 30)
        XCTAssertEqual(cohort.report.rows, 3)
        XCTAssertEqual(cohort.report.glucoseRows, 1)
        XCTAssertEqual(cohort.report.eventOnlyRows, 1)
        XCTAssertEqual(cohort.report.emptyRows, 1)
        XCTAssertEqual(cohort.series[0].time.count, 2, "the empty row is skipped")
    }

    func testOutOfRangeGlucoseIsDroppedAndCounted() throws {
        let cohort = try readTestCohort("""
        subject_id,timestamp,glucose_mg_dl,insulin_bolus_u
        A,\(gridT0),19,
        A,\(gridT0 + 300),601,2
        A,\(gridT0 + 600),20,
        A,\(gridT0 + 900),600,
        """)
        XCTAssertEqual(cohort.report.droppedOutOfRangeGlucose, 2)
        XCTAssertEqual(cohort.report.emptyRows, 0, "an out-of-range row is counted as dropped, not as empty")
        let s = cohort.series[0]
        XCTAssertEqual(s.time, [gridT0 + 300, gridT0 + 600, gridT0 + 900], "the 601 row keeps its bolus; the 19 row is gone")
        XCTAssertTrue(s.glucose[0].isNaN)
        XCTAssertEqual(Array(s.glucose[1...]), [20, 600])
        XCTAssertEqual(s.values(for: .bolus)?[0], 2)
    }

    func testDuplicatesAndUnsortedRowsAreFixedAndCounted() throws {
        let cohort = try readTestCohort("""
        subject_id,timestamp,glucose_mg_dl,carbs_g
        A,\(gridT0 + 600),130,
        A,\(gridT0),100,
        B,\(gridT0),200,
        A,\(gridT0 + 300),110,
        A,\(gridT0 + 300),110,
        A,\(gridT0 + 300),115,
        A,\(gridT0 + 300),,25
        A,\(gridT0),100,
        """)
        let a = cohort.series[0]
        XCTAssertEqual(cohort.series.map(\.subject), ["A", "B"])
        XCTAssertEqual(a.time, [gridT0, gridT0 + 300, gridT0 + 300, gridT0 + 600])
        assertFloats(a.glucose, [100, 110, .nan, 130])
        assertFloats(a.values[0], [.nan, .nan, 25, .nan])
        XCTAssertEqual(cohort.report.unsortedRowsFixed, 2, "rows 2 and 8 go back in time")
        XCTAssertEqual(cohort.report.duplicatesRemoved, 2, "the second 110 row and the second gridT0 row")
        XCTAssertEqual(cohort.report.duplicateTimestampGlucose, 1, "115 at a time that already has 110")
        XCTAssertEqual(cohort.report.glucoseRows, 4)
        XCTAssertEqual(a.firstLine, 2)
        XCTAssertEqual(cohort.series[1].firstLine, 4)
    }

    func testUnknownColumnsAreIgnoredWithOneWarning() throws {
        let cohort = try readTestCohort("""
        subject_id,timestamp,glucose_mg_dl,device,heart_rate_bpm,notes
        A,\(gridT0),100,g6,61,"hello, world"
        """)
        XCTAssertEqual(cohort.report.ignoredColumns, ["device", "notes"])
        XCTAssertEqual(cohort.report.warnings.count, 1)
        XCTAssertTrue(cohort.report.warnings[0].contains("'device', 'notes'"))
        XCTAssertEqual(cohort.channels, [.heartRate])
    }

    func testBadInputErrorsNameFileLineAndKey() {
        let head = "subject_id,timestamp,glucose_mg_dl,carbs_g\n"
        assertDataError({ _ = try readTestCohort("subject_id,glucose_mg_dl\nA,100\n") },
                        file: "cgm.csv", line: 1, key: .column("timestamp"), contains: "missing required column")
        assertDataError({ _ = try readTestCohort("subject_id,timestamp,carbs_g\nA,\(gridT0),1\n") },
                        file: "cgm.csv", line: 1, key: .column("glucose_mg_dl"), contains: "missing required column")
        assertDataError({ _ = try readTestCohort("subject_id,timestamp,glucose_mg_per_l\nA,\(gridT0),1\n") },
                        file: "cgm.csv", line: 1, key: .column("glucose_mg_per_l"), contains: "unknown glucose unit 'mg_per_l'")
        assertDataError({ _ = try readTestCohort(head + "A,\(gridT0),100,\nA,\(gridT0 + 300),abc,\n") },
                        file: "cgm.csv", line: 3, key: .column("glucose_mg_dl"),
                        contains: "cgm.csv:3: column 'glucose_mg_dl': cannot parse 'abc' as a number")
        assertDataError({ _ = try readTestCohort(head + "A,\(gridT0),100,x1\n") },
                        file: "cgm.csv", line: 2, key: .column("carbs_g"), contains: "cannot parse 'x1'")
        assertDataError({ _ = try readTestCohort(head + "A,\(gridT0),100,\nA,2024-02-30 10:00,100,\n") },
                        file: "cgm.csv", line: 3, key: .column("timestamp"), contains: "cannot parse '2024-02-30 10:00' as a timestamp")
        assertDataError({ _ = try readTestCohort(head + "A,1709280300000,100,\n") },
                        file: "cgm.csv", line: 2, key: .column("timestamp"), contains: "milliseconds")
        assertDataError({ _ = try readTestCohort(head + "A,\(gridT0),100\n") },
                        file: "cgm.csv", line: 2, key: nil, contains: "expected 4 fields, found 3")
        assertDataError({ _ = try readTestCohort(head + "A,\(gridT0),100,-5\n") },
                        file: "cgm.csv", line: 2, key: .column("carbs_g"), contains: "negative")
        assertDataError({ _ = try readTestCohort(head + ",\(gridT0),100,\n") },
                        file: "cgm.csv", line: 2, key: .column("subject_id"), contains: "empty subject id")
    }

    func testSubjectsFileCrossChecks() throws {
        let csv = "subject_id,timestamp,glucose_mg_dl\nA,\(gridT0),100\nB,\(gridT0),100\nB,\(gridT0 + 300),100\nC,\(gridT0),90\n"
        // C (first on line 5) has no subjects.csv row: an error naming the measurements file, line and subject.
        assertDataError({ _ = try readTestCohort(csv, subjects: "subject_id,age\nA,40\nB,50\n") },
                        file: "cgm.csv", line: 5, key: .subject("C"), contains: "not listed in subjects.csv")
        // D has a row but no measurements: a warning.
        let cohort = try readTestCohort(csv, subjects: "subject_id,age,diabetes_status,site_code\nA,40,t2d,1\nB,,none,2\nC,61,t2d,\nD,70,none,3\n")
        XCTAssertTrue(cohort.report.warnings.contains { $0.contains("1 subject(s) have no rows") && $0.contains("'D'") })
        let table = try XCTUnwrap(cohort.subjectTable)
        XCTAssertEqual(table.kinds["age"], .real)
        XCTAssertEqual(table.kinds["diabetes_status"], .categorical)
        XCTAssertEqual(table.kinds["site_code"], .real, "an unknown all-numeric column is real")
        XCTAssertNil(table.real("age", for: "B"))
        XCTAssertEqual(table.real("age", for: "C"), 61)
        assertDataError({ _ = try readTestCohort(csv, subjects: "subject_id,age\nA,40\nB,50\nA,41\nC,1\n") },
                        file: "subjects.csv", line: 4, key: .subject("A"), contains: "listed twice (first on line 2)")
        assertDataError({ _ = try readTestCohort(csv, subjects: "subject_id,age\nA,40\nB,old\nC,1\n") },
                        file: "subjects.csv", line: 3, key: .column("age"), contains: "cannot parse 'old' as a number")
        assertDataError({ _ = try readTestCohort(csv, subjects: "id,age\nA,40\n") },
                        file: "subjects.csv", line: 1, key: .column("subject_id"), contains: "missing required column")
    }

    // MARK: Resampling

    private func resample(_ rows: [(Int64, String)], columns: String = "glucose_mg_dl", maxGap: Int = 15) throws -> ResampledSubject {
        let csv = "subject_id,timestamp,\(columns)\n" + rows.map { "A,\($0.0),\($0.1)\n" }.joined()
        let cohort = try readTestCohort(csv)
        return try Resampler(maxInterpolationGapMinutes: maxGap).resample(cohort.series[0]).subject
    }

    func testOneMinuteSamplingTakesTheReadingsOnTheGrid() throws {
        // Readings every minute, g = 100 + 2·minute; grid times gridT0, gridT0+5, gridT0+10 min hold readings exactly.
        let s = try resample((0 ... 10).map { (gridT0 + Int64($0) * 60, "\(100 + 2 * $0)") })
        XCTAssertEqual(s.start, gridT0)
        assertFloats(s.glucose, [100, 110, 120])
        XCTAssertEqual(s.observed, [1, 5, 5], "bins (T−5, T]: gridT0 alone, then minutes 1–5 and 6–10")
        XCTAssertEqual(s.readingAge, [0, 0, 0])
        XCTAssertEqual(s.segments, [0 ..< 3])
    }

    func testThreeMinuteSamplingInterpolatesLinearly() throws {
        // Readings at 0, 3, 6, 9, 12, 15 min with g = 100 + 2·minute. At 5 min: between 3 (106) and
        // 6 (112), weight 2/3 → 110; at 10 min: between 9 (118) and 12 (124), weight 1/3 → 120.
        let s = try resample((0 ... 5).map { (gridT0 + Int64($0) * 180, "\(100 + 6 * $0)") })
        assertFloats(s.glucose, [100, 110, 120, 130])
        XCTAssertEqual(s.readingAge, [0, 120, 60, 0])
    }

    func testFifteenMinuteGapIsInterpolatedAndTwentyMinuteGapSplits() throws {
        // 15-minute sampling (100, 130, 100): the gap is exactly the limit, so it is interpolated.
        let fifteen = try resample([(gridT0, "100"), (gridT0 + 900, "130"), (gridT0 + 1800, "100")])
        assertFloats(fifteen.glucose, [100, 110, 120, 130, 120, 110, 100])
        XCTAssertEqual(fifteen.segments, [0 ..< 7])
        XCTAssertEqual(fifteen.readingAge[2], 600)
        // A 20-minute gap is not: the series splits into two segments.
        let twenty = try resample([(gridT0, "100"), (gridT0 + 1200, "140"), (gridT0 + 1500, "150")])
        assertFloats(twenty.glucose, [100, .nan, .nan, .nan, 140, 150])
        XCTAssertEqual(twenty.segments, [0 ..< 1, 4 ..< 6])
        // With the limit at 20 minutes the same gap is bridged.
        let bridged = try resample([(gridT0, "100"), (gridT0 + 1200, "140")], maxGap: 20)
        assertFloats(bridged.glucose, [100, 110, 120, 130, 140])
    }

    func testGapFillLOCFCarriesTheLastReadingForwardWithinTheLimit() throws {
        // A tiny CSV: readings at 0, 15 and 35 min (100, 130, 150). data.gap_fill: locf (SSM-CGM §2) fills the
        // 15-minute gap with the reading before it; the 20-minute gap exceeds the 15-minute limit and still splits.
        let csv = "subject_id,timestamp,glucose_mg_dl\n"
            + [(0, 100), (900, 130), (2100, 150)].map { "A,\(gridT0 + Int64($0.0)),\($0.1)\n" }.joined()
        let series = try readTestCohort(csv).series[0]
        let locf = try DataConfig.parse(["gap_fill": "locf"])
        XCTAssertEqual(locf.gapFill, .locf)
        let (carried, filled) = try Resampler(config: locf).resample(series)
        assertFloats(carried.glucose, [100, 100, 100, 130, .nan, .nan, .nan, 150])
        XCTAssertEqual(filled, 2)
        XCTAssertEqual(carried.segments, [0 ..< 4, 7 ..< 8])
        XCTAssertEqual(carried.readingAge[2], 600, "the age of the reading is the same under either method")
        // The default is today's linear interpolation.
        let (linear, _) = try Resampler(config: try DataConfig.parse([:])).resample(series)
        assertFloats(linear.glucose, [100, 110, 120, 130, .nan, .nan, .nan, 150])
        // The method is recorded in the feature spec only when it is not the default, and inference reads it back.
        var spec = FeatureSpec(pastFeatures: ["cgm"], futureFeatures: [], staticFeatures: [])
        XCTAssertFalse(try spec.jsonString().contains("gapFill"), "a default spec keeps the bytes it had before gap_fill")
        spec.gapFill = .locf
        let decoded = try FeatureSpec(jsonString: try spec.jsonString())
        XCTAssertEqual(Resampler(spec: decoded).gapFill, .locf)
        XCTAssertEqual(try FeatureSpec(jsonString: try FeatureSpec(pastFeatures: ["cgm"], futureFeatures: [],
                                                                   staticFeatures: []).jsonString()).gapFillMethod, .interpolate)
    }

    func testIrregularSampling() throws {
        // Readings at +10 s (100), +250 s (112), +420 s (90), +800 s (110). Grid starts at gridT0+300:
        //   gridT0+300: between 250 and 420: 112 + (90−112)·50/170 = 105.529412
        //   gridT0+600: between 420 and 800: 90 + (110−90)·180/380 = 99.473684
        //   gridT0+900: after the last reading: missing
        let s = try resample([(gridT0 + 10, "100"), (gridT0 + 250, "112"), (gridT0 + 420, "90"), (gridT0 + 800, "110")])
        XCTAssertEqual(s.start, gridT0 + 300)
        assertFloats(s.glucose, [105.529412, 99.473684, .nan])
        XCTAssertEqual(s.observed, [2, 1, 1])
        XCTAssertEqual(s.segments, [0 ..< 2])
    }

    func testEventsSummedWearablesAveragedBasalTimeWeighted() throws {
        let columns = "glucose_mg_dl,carbs_g,heart_rate_bpm,sleep_stage,insulin_basal_u_per_h,meal_flag"
        let s = try resample([
            (gridT0, "100,,,,1.2,"),
            (gridT0 + 10, ",20,,,,"),       // carbs 20 → bin gridT0+300
            (gridT0 + 60, ",,60,1,,"),
            (gridT0 + 120, ",,70,2,,1"),
            (gridT0 + 240, ",,80,,,"),      // HR mean of 60, 70, 80 = 70 in bin gridT0+300
            (gridT0 + 300, "110,15,,,,"),   // carbs 15 at exactly gridT0+300 → same bin: 35
            (gridT0 + 301, ",10,,,,"),      // → bin gridT0+600
            (gridT0 + 420, ",,,,0.6,"),     // basal 1.2 → 0.6 two minutes into bin gridT0+600
            (gridT0 + 600, "120,,,,,"),
        ], columns: columns)
        XCTAssertEqual(s.count, 3)
        assertFloats(s.values(for: .carbs)!, [0, 35, 10])
        assertFloats(s.values(for: .heartRate)!, [.nan, 70, .nan])
        assertFloats(s.values(for: .sleepStage)!, [.nan, 2, .nan], accuracy: 0)
        assertFloats(s.values(for: .mealFlag)!, [0, 1, 0])
        // Basal: (gridT0−300, gridT0] before the first row → 0; (gridT0, gridT0+300] all 1.2;
        // (gridT0+300, gridT0+600]: 120 s at 1.2 and 180 s at 0.6 → (144 + 108)/300 = 0.84 U/h.
        assertFloats(s.values(for: .basal)!, [0, 1.2, 0.84])
    }

    func testSubjectSpanLimit() throws {
        let cohort = try readTestCohort("subject_id,timestamp,glucose_mg_dl\nA,0,100\nA,\(gridT0),100\n")
        XCTAssertThrowsError(try Resampler().resample(cohort.series[0])) { error in
            XCTAssertEqual((error as? DataError)?.key, .subject("A"))
        }
    }
}
