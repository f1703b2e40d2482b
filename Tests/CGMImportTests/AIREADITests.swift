// AI-READI: participants.tsv → subjects.csv (study group → diabetes_status, site, age), Dexcom G6 Open mHealth
// JSON → readings (Low/High censored, non-EGV events dropped), Garmin streams → wearable columns (negative
// "device off" values dropped, steps at the interval's end, sleep stages with awake after a gap), UTC times
// shown on the site's local clock; malformed folders failing with file and line.

import CGMImport
import XCTest

final class AIREADITests: XCTestCase {
    func testReleaseFolder() throws {
        let out = try runImport(self, [Fixture.path("aireadi")])
        XCTAssertEqual(out.result.series.map(\.subject), ["1001", "1002"])
        XCTAssertEqual(out.readings("1001").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!, $0["glucose_censored"]!] }, [
            ["2023-08-02T08:00:00-07:00", "138", ""], ["2023-08-02T08:05:00-07:00", "40", "1"], ["2023-08-02T08:10:00-07:00", "400", "1"],
        ], "UTC instants on Seattle's clock (UW)")
        XCTAssertEqual(out.readings("1002").map { $0["timestamp"]! }, ["2023-09-13T01:00:00-05:00", "2023-09-13T01:05:00-05:00"],
                       "Birmingham's clock (UAB)")
        XCTAssertEqual(out.values("1001", "heart_rate_bpm").map { [$0.0, $0.1] },
                       [["2023-08-02T08:01:00-07:00", "72"], ["2023-08-02T08:03:00-07:00", "75"]])
        XCTAssertEqual(out.values("1001", "spo2").map { $0.1 }, ["96"])
        XCTAssertEqual(out.values("1001", "respiration_rate").map { $0.1 }, ["14.5"])
        XCTAssertEqual(out.values("1001", "stress").map { $0.1 }, ["31"])
        XCTAssertEqual(out.values("1001", "steps").map { [$0.0, $0.1] }, [["2023-08-02T08:08:00-07:00", "412"]], "at the interval's end")
        XCTAssertEqual(out.values("1001", "calories").map { $0.1 }, ["12"])
        XCTAssertEqual(out.values("1001", "sleep_stage").map { [$0.0, $0.1] }, [
            ["2023-08-01T23:00:00-07:00", "light"], ["2023-08-01T23:30:00-07:00", "deep"], ["2023-08-02T00:10:00-07:00", "awake"],
            ["2023-08-02T00:20:00-07:00", "rem"], ["2023-08-02T00:40:00-07:00", "awake"],
        ])
        XCTAssertEqual(out.subjectsHeader, ["subject_id", "diabetes_status", "clinical_site", "age"])
        XCTAssertEqual(out.subjects, [
            ["subject_id": "1001", "diabetes_status": "t2d_insulin", "clinical_site": "UW", "age": "61"],
            ["subject_id": "1002", "diabetes_status": "prediabetes", "clinical_site": "UAB", "age": "47"],
        ])
        XCTAssertEqual(out.fileReport("1001_heartrate.json")?.dropped.map(\.firstLines), [[4]])
        XCTAssertEqual(out.fileReport("1001_DEX.json")?.dropped.map(\.firstLines), [[20]])
        XCTAssertEqual(out.fileReport("1001_sleep.json")?.dropped.count, 1, "an unmeasurable stage")
        XCTAssert(out.report.files[0].notes.contains { $0.contains("1003") }, "the participant without CGM is named")
    }

    func testTimezoneOverridesTheSites() throws {
        let out = try runImport(self, [Fixture.path("aireadi")]) { $0.timezone = "UTC" }
        XCTAssertEqual(out.readings("1002").first?["timestamp"], "2023-09-13T06:00:00Z")
    }

    /// A copy of the fixture folder with one file replaced.
    func malformedCopy(_ relative: String, _ transform: (String) -> String) throws -> String {
        let dir = try temporaryDirectory(self, "aireadi\(relative.count)")
        let copy = dir + "/aireadi"
        try FileManager.default.copyItem(atPath: Fixture.path("aireadi"), toPath: copy)
        let path = copy + "/" + relative
        try transform(try String(contentsOfFile: path, encoding: .utf8)).write(toFile: path, atomically: true, encoding: .utf8)
        return copy
    }

    func testMalformedFoldersNameFileAndLine() throws {
        let dex = "wearable_blood_glucose/continuous_glucose_monitoring/dexcom_g6/1001/1001_DEX.json"
        var folder = try malformedCopy(dex) { $0.replacingOccurrences(of: "2023-08-02T15:05:00Z\", \"end", with: "02/08/2023 15:05\", \"end") }
        assertImportError({ _ = try CohortImporter.run(inputs: [folder], options: ImportOptions(), outDir: folder + "-out", overwrite: false) },
                          file: "1001_DEX.json", line: 17, contains: "cannot parse '02/08/2023 15:05' as an ISO 8601 time")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "-out"))
        folder = try malformedCopy("participants.tsv") { $0.replacingOccurrences(of: "pre_diabetes_lifestyle_controlled", with: "prediabetic") }
        assertImportError({ _ = try CohortImporter.run(inputs: [folder], options: ImportOptions(), outDir: folder + "-out", overwrite: false) },
                          file: "participants.tsv", line: 3, contains: "unknown study group 'prediabetic'")
        folder = try malformedCopy(dex) { $0.replacingOccurrences(of: "\"value\": 138", with: "\"value\": \"13 8\"") }
        assertImportError({ _ = try CohortImporter.run(inputs: [folder], options: ImportOptions(), outDir: folder + "-out", overwrite: false) },
                          file: "1001_DEX.json", line: 14, contains: "cannot parse '13 8' as a glucose value")
    }
}
