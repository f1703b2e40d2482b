// LibreView: the title line, historic records as readings (15-min Libre 2 / 5-min Libre 3), scans and strips
// dropped, insulin and food records as events, month-first (US) and day-first dates told apart by the dates,
// mg/dL and mmol/L, LO/HI censoring, and malformed files failing with file and line.

import CGMImport
import XCTest

final class LibreViewTests: XCTestCase {
    func testUSExportMonthFirst() throws {
        let out = try runImport(self, [Fixture.path("libreview/libre_us_mgdl.csv")]) { $0.timezone = "America/New_York" }
        let s = "libre_us_mgdl"
        XCTAssertEqual(out.readings(s).map { [$0["timestamp"]!, $0["glucose_mg_dl"]!, $0["glucose_censored"]!] }, [
            ["2024-11-22T07:02:00-05:00", "112", ""],
            ["2024-11-22T07:17:00-05:00", "125", ""],
            ["2024-11-22T07:32:00-05:00", "147", ""],
            ["2024-11-22T07:47:00-05:00", "40", "1"],    // LO
            ["2024-11-22T08:02:00-05:00", "500", "1"],   // HI: Libre's upper limit
        ])
        XCTAssertEqual(out.values(s, "carbs_g").map { [$0.0, $0.1] }, [["2024-11-22T07:25:00-05:00", "60"]])
        XCTAssertEqual(out.values(s, "insulin_bolus_u").map { [$0.0, $0.1] }, [["2024-11-22T07:26:00-05:00", "6"]])
        XCTAssertEqual(out.values(s, "insulin_basal_u_per_h").map { [$0.0, $0.1] },
                       [["2024-11-22T21:00:00-05:00", "0.75"], ["2024-11-23T21:00:00-05:00", "0"]])  // 18 U long-acting
        let r = try XCTUnwrap(out.fileReport("libre_us_mgdl.csv"))
        XCTAssertEqual(r.dateOrder, "mdy (the dates show it)")
        XCTAssertEqual(r.units, "mg/dL")
        XCTAssertEqual(r.samplingMinutes, 15)
        XCTAssertEqual(r.rowsRead, 11)
        XCTAssertEqual(r.dropped.map(\.firstLines), [[5], [11], [13]])
        XCTAssert(r.dropped[0].reason.hasPrefix("scan reading"))
        XCTAssert(r.dropped[1].reason.hasPrefix("strip"))
    }

    func testEuropeanExportDayFirstInMmol() throws {
        let out = try runImport(self, [Fixture.path("libreview/libre_eu_mmol.csv")])
        let s = "libre_eu_mmol"
        XCTAssertEqual(out.readings(s).map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] }, [
            ["2024-12-01T07:00:00", "111.6992"], ["2024-12-01T07:05:00", "117.104"], ["2024-12-01T07:10:00", "127.9136"],
            ["2024-12-02T07:00:00", "106.2944"], ["2024-12-25T07:00:00", "151.3344"],
        ])
        XCTAssertEqual(out.values(s, "insulin_bolus_u").map { [$0.0, $0.1] }, [["2024-12-25T07:05:00", "3.5"]])
        let r = try XCTUnwrap(out.fileReport("libre_eu_mmol.csv"))
        XCTAssertEqual(r.dateOrder, "dmy (the dates show it)")
        XCTAssertEqual(r.units, "mmol/L")
        XCTAssertEqual(r.samplingMinutes, 5, "Libre 3 stores a reading every 5 minutes")
    }

    func testAmbiguousDatesAreAssumedMonthFirstAndSaidSo() throws {
        let text = try Fixture.text("libreview/libre_eu_mmol.csv").components(separatedBy: "\n").prefix(5).joined(separator: "\n")
        let dir = try temporaryDirectory(self)
        let path = try write(text, dir, "short.csv")
        let out = try runImport(self, [path])
        XCTAssertEqual(out.readings("short").first?["timestamp"], "2024-01-12T07:00:00")
        XCTAssertEqual(out.fileReport("short.csv")?.dateOrder, "mdy (assumed: every date reads both ways; pass --date-order to choose)")
        let dmy = try runImport(self, [path]) { $0.dateOrder = .dmy }
        XCTAssertEqual(dmy.readings("short").first?["timestamp"], "2024-12-01T07:00:00")
    }

    func testMalformedExportsNameFileAndLine() throws {
        let text = try Fixture.text("libreview/libre_us_mgdl.csv")
        try assertMalformed(self, text.replacingLine(4, with: text.line(4).replacingOccurrences(of: ",0,125,", with: ",0,12x5,")),
                            name: "value.csv", line: 4, contains: "cannot parse '12x5' as a glucose value")
        try assertMalformed(self, text.replacingLine(3, with: text.line(3).replacingOccurrences(of: "11-22-2024 07:02", with: "11-22-2024 7h02")),
                            name: "time.csv", line: 3, contains: "cannot parse '11-22-2024 7h02'")
        try assertMalformed(self, text.replacingLine(6, with: text.line(6).replacingOccurrences(of: ",5,", with: ",five,")),
                            name: "type.csv", line: 6, contains: "as a record type")
        try assertMalformed(self, text.replacingLine(2, with: text.line(2).replacingOccurrences(of: "Record Type", with: "Kind")),
                            name: "header.csv", line: 2, contains: "column 'Record Type': missing required column",
                            configure: { $0.format = .libreView })
        // Day-first and month-first dates in one file.
        try assertMalformed(self, text.replacingLine(3, with: text.line(3).replacingOccurrences(of: "11-22-2024", with: "22-11-2024")),
                            name: "mixed.csv", line: 4, contains: "dates read neither day-first nor month-first: line 3 can only be day-first")
    }
}
