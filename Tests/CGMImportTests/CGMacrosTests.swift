// CGMacros: per-subject CSVs on a 1-minute grid, glucose from the Dexcom column by default (Libre on request),
// HR, activity calories, steps and meal macros as events, a meal type as a meal flag, header variants
// (an unnamed index column, Intensity for METs, Steps); malformed files with file and line.

import CGMImport
import XCTest

final class CGMacrosTests: XCTestCase {
    func testFolderWithEitherSensor() throws {
        let out = try runImport(self, [Fixture.path("cgmacros")])
        XCTAssertEqual(out.readings("CGMacros-001").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] },
                       [["2020-05-01T08:00:00", "95"], ["2020-05-01T08:01:00", "96.5"], ["2020-05-01T08:03:00", "99"]],
                       "Dexcom GL, the empty cell at 08:02 is no reading")
        XCTAssertEqual(out.values("CGMacros-001", "heart_rate_bpm").map { $0.1 }, ["71", "73", "74"])
        XCTAssertEqual(out.values("CGMacros-001", "calories").map { $0.1 }, ["1.2", "1.3", "1.1"])
        let meal = try XCTUnwrap(out.rows.first { $0["subject_id"] == "CGMacros-001" && $0["meal_flag"] == "1" })
        XCTAssertEqual([meal["timestamp"], meal["carbs_g"], meal["protein_g"], meal["fat_g"], meal["fibre_g"]],
                       ["2020-05-01T08:02:00", "52", "18", "14", "6"])
        XCTAssertEqual(out.values("CGMacros-002", "steps").map { [$0.0, $0.1] }, [["2020-06-10T12:00:00", "35"]], "0 steps are no event")
        XCTAssertFalse(out.header.contains("METs"))
        XCTAssert(out.fileReport("CGMacros-001.csv")!.notes[0].contains("Dexcom GL"))
        let libre = try runImport(self, [Fixture.path("cgmacros")]) { $0.cgmacrosSensor = .libre }
        XCTAssertEqual(libre.readings("CGMacros-001").map { $0["glucose_mg_dl"]! }, ["92", "93", "93", "94"])
    }

    func testMalformedFilesNameFileAndLine() throws {
        let text = try Fixture.text("cgmacros/CGMacros-001/CGMacros-001.csv")
        try assertMalformed(self, text.replacingLine(3, with: "1,2020-05-01 08:01:00,93,ninety,73,1.3,12,,,,,,,,"), name: "CGMacros-001.csv",
                            line: 3, contains: "cannot parse 'ninety' as mg/dL")
        try assertMalformed(self, text.replacingLine(4, with: "2,2020-05-01 08:02,93,,74,1.1,11,Breakfast,420,-52,18,14,6,100,photos/0001.jpg"),
                            name: "CGMacros-001.csv", line: 4, contains: "negative value -52")
        try assertMalformed(self, text.replacingLine(2, with: "0,2020-05-01 08:00:00,92,95"), name: "CGMacros-001.csv", line: 2,
                            contains: "expected 15 fields, found 4")
    }
}
