// Dexcom Clarity: values, units, device-local times through Europe/Berlin's DST changes (the repeated autumn
// hour read by file order, a reading in the skipped spring hour moved forward), Low/High censoring, events,
// dropped rows with their lines, and malformed files failing with file and line.

import CGMImport
import XCTest

final class DexcomClarityTests: XCTestCase {
    func testMgdlExportThroughTheAutumnChange() throws {
        let out = try runImport(self, [Fixture.path("dexcom/clarity_mgdl.csv")]) {
            $0.timezone = "Europe/Berlin"
            $0.subject = "P1"
        }
        XCTAssertEqual(out.header, ["subject_id", "timestamp", "glucose_mg_dl", "glucose_censored", "carbs_g", "insulin_bolus_u",
                                    "insulin_basal_u_per_h"])
        let readings = out.readings("P1").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!, $0["glucose_censored"]!] }
        XCTAssertEqual(readings, [
            ["2024-10-27T01:50:00+02:00", "120", ""],
            ["2024-10-27T01:55:00+02:00", "118", ""],
            ["2024-10-27T02:00:00+02:00", "116", ""],    // repeated hour, first pass (CEST)
            ["2024-10-27T02:30:00+02:00", "40", "1"],    // "Low"
            ["2024-10-27T02:55:00+02:00", "101", ""],
            ["2024-10-27T02:05:00+01:00", "99", ""],     // the clock went back: second pass (CET), 10 min later
            ["2024-10-27T02:40:00+01:00", "97", ""],
            ["2024-10-27T03:05:00+01:00", "400", "1"],   // "High"
        ])
        XCTAssertEqual(out.values("P1", "insulin_bolus_u").map { $0.1 }, ["4.5"])
        XCTAssertEqual(out.values("P1", "insulin_bolus_u").map { $0.0 }, ["2024-10-27T02:10:00+01:00"], "after the clock went back")
        XCTAssertEqual(out.values("P1", "carbs_g").map { [$0.0, $0.1] }, [["2024-10-27T03:10:00+01:00", "45"]])
        // 24 U long-acting at 08:00 → 1 U/h for 24 h, then 0.
        XCTAssertEqual(out.values("P1", "insulin_basal_u_per_h").map { [$0.0, $0.1] },
                       [["2024-10-27T08:00:00+01:00", "1"], ["2024-10-28T08:00:00+01:00", "0"]])
        let r = try XCTUnwrap(out.fileReport("clarity_mgdl.csv"))
        XCTAssertEqual(r.format, "dexcom-clarity")
        XCTAssertEqual(r.units, "mg/dL")
        XCTAssertEqual(r.rowsRead, 22)
        XCTAssertEqual(r.readingsKept, 8)
        XCTAssertEqual([r.censoredLow, r.censoredHigh], [1, 1])
        XCTAssertEqual([r.dstMissing, r.dstRepeatedFirst, r.dstRepeatedSecond], [0, 3, 3])
        XCTAssertEqual(r.dropped.map(\.reason), ["patient or device information row", "alert setting row", "Calibration event (no canonical column)",
                                                 "Exercise event (no canonical column)", "EGV row without a glucose value"])
        XCTAssertEqual(r.dropped.map(\.firstLines), [[2, 3, 4, 5], [6, 7, 8, 9], [21], [22], [23]])
        XCTAssertEqual(r.longActingInjections, 1)
        XCTAssertEqual(out.subjectsHeader, ["subject_id"])
    }

    func testMmolExportThroughTheSpringChange() throws {
        let out = try runImport(self, [Fixture.path("dexcom/clarity_mmol.csv")]) { $0.timezone = "Europe/Berlin" }
        let readings = out.readings("clarity_mmol").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!, $0["glucose_censored"]!] }
        XCTAssertEqual(readings, [
            ["2024-03-31T01:50:00+01:00", "100.8896", ""],   // 5.6 mmol/L × 18.016
            ["2024-03-31T01:55:00+01:00", "40", "1"],        // Low: 40 mg/dL (the G7's limit; 2.2 on mmol/L displays)
            ["2024-03-31T03:05:00+02:00", "399.9552", ""],
            ["2024-03-31T03:10:00+02:00", "400", "1"],
            ["2024-03-31T03:30:00+02:00", "109.8976", ""],   // 02:30 never showed on the clock: moved forward an hour
        ])
        let r = try XCTUnwrap(out.fileReport("clarity_mmol.csv"))
        XCTAssertEqual(r.units, "mmol/L")
        XCTAssertEqual([r.dstMissing, r.dstRepeatedFirst + r.dstRepeatedSecond], [1, 0])
    }

    func testWithoutAZoneTimesStayClockTimes() throws {
        let out = try runImport(self, [Fixture.path("dexcom/clarity_mmol.csv")])
        XCTAssertEqual(out.readings("clarity_mmol").map { $0["timestamp"]! },
                       ["2024-03-31T01:50:00", "2024-03-31T01:55:00", "2024-03-31T02:30:00", "2024-03-31T03:05:00", "2024-03-31T03:10:00"])
        XCTAssert(out.fileReport("clarity_mmol.csv")!.lines().joined().contains("written without a zone"))
    }

    func testMalformedExportsNameFileAndLine() throws {
        let text = try Fixture.text("dexcom/clarity_mgdl.csv")
        try assertMalformed(self, text.replacingLine(11, with: "10,2024-10-27T01:55:00,EGV,,,,Android G6 ZQ55TRN,1l8,,,,,7011300,8XQ7ZK"),
                            name: "bad_value.csv", line: 11, contains: "cannot parse '1l8' as a glucose value")
        try assertMalformed(self, text.replacingLine(12, with: "11,2024-10-27 25:00,EGV,,,,Android G6 ZQ55TRN,116,,,,,7011600,8XQ7ZK"),
                            name: "bad_time.csv", line: 12, contains: "cannot parse '2024-10-27 25:00' as a date and time")
        try assertMalformed(self, text.replacingLine(16, with: "15,2024-10-27T02:10:00,Insulin,Fast-Acting,,,Android G6 ZQ55TRN,,-4.5,,,,,"),
                            name: "negative.csv", line: 16, contains: "negative insulin dose")
        try assertMalformed(self, text.replacingLine(13, with: "12,2024-10-27T02:30:00,EGV"),
                            name: "short_row.csv", line: 13, contains: "expected 14 fields, found 3")
        try assertMalformed(self, text.replacingOccurrences(of: "Glucose Value (mg/dL)", with: "Glucose Value (mg/100mL)"),
                            name: "unit.csv", line: 1, contains: "unknown glucose unit")
    }
}
