// Medtronic CareLink: the preamble, several sections with their own headers, semicolons and decimal commas,
// `-------` placeholders, Normal / Dual / Square boluses (the square parts spread over their duration,
// PhysioSeq2Seq §3.3), BWZ carbs, the basal schedule with a percent temporary rate laid over it; a US
// comma export with M/D/YY dates; malformed files failing with file and line.

import CGMImport
import XCTest

final class CareLinkTests: XCTestCase {
    func testEuropeanSemicolonExport() throws {
        let out = try runImport(self, [Fixture.path("carelink/carelink_eu.csv")]) { $0.subject = "P2" }
        XCTAssertEqual(out.readings("P2").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] },
                       [["2024-06-15T07:55:00", "131"], ["2024-06-15T08:05:00", "142"]])
        XCTAssertEqual(out.values("P2", "carbs_g").map { [$0.0, $0.1] }, [["2024-06-15T08:00:00", "45"], ["2024-06-15T12:00:00", "30"]])
        // Normal 3.5 U; dual: 2 U now + 3 U over 30 min = 6 parts of 0.5 U from 12:00; a 4-minute square wave is one dose.
        XCTAssertEqual(out.values("P2", "insulin_bolus_u").map { [$0.0, $0.1] }, [
            ["2024-06-15T08:00:00", "3.5"], ["2024-06-15T12:00:00", "2.5"], ["2024-06-15T12:05:00", "0.5"], ["2024-06-15T12:10:00", "0.5"],
            ["2024-06-15T12:15:00", "0.5"], ["2024-06-15T12:20:00", "0.5"], ["2024-06-15T12:25:00", "0.5"], ["2024-06-15T18:00:00", "1.5"],
        ])
        // Schedule 0.8 → 1.1 U/h; a 50 % temp basal 15:00–17:00 → 0.55, then back to the 1.1 in force.
        XCTAssertEqual(out.values("P2", "insulin_basal_u_per_h").map { [$0.0, $0.1] }, [
            ["2024-06-15T00:00:00", "0.8"], ["2024-06-15T06:00:00", "1.1"], ["2024-06-15T15:00:00", "0.55"], ["2024-06-15T17:00:00", "1.1"],
        ])
        let r = try XCTUnwrap(out.fileReport("carelink_eu.csv"))
        XCTAssertEqual(r.units, "mg/dL")
        XCTAssertEqual(r.rowsRead, 12)
        XCTAssertEqual([r.extendedBoluses, r.basalIntervals], [1, 1])
        XCTAssertEqual(r.dropped.map(\.firstLines), [[12, 14, 18]], "the alert, the prime and the ------- sensor row")
    }

    func testUSCommaExport() throws {
        let out = try runImport(self, [Fixture.path("carelink/carelink_us.csv")]) { $0.timezone = "America/Chicago" }
        XCTAssertEqual(out.readings("carelink_us").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] },
                       [["2024-07-13T22:00:00-05:00", "155"], ["2024-07-13T22:05:00-05:00", "151"], ["2024-07-13T22:10:00-05:00", "149.5"]])
        XCTAssertEqual(out.values("carelink_us", "insulin_bolus_u").map { $0.1 }, ["1.25"])
        XCTAssertEqual(out.fileReport("carelink_us.csv")?.dateOrder, "mdy (the dates show it)")
    }

    func testMalformedExportsNameFileAndLine() throws {
        let text = try Fixture.text("carelink/carelink_eu.csv")
        try assertMalformed(self, text.replacingLine(17, with: text.line(17).replacingOccurrences(of: ";131;", with: ";1,3,1;")),
                            name: "value.csv", line: 17, contains: "cannot parse '1,3,1' as a glucose value")
        try assertMalformed(self, text.replacingLine(10, with: text.line(10).replacingOccurrences(of: "0:30:00", with: "half an hour")),
                            name: "duration.csv", line: 10, contains: "as h:mm:ss")
        try assertMalformed(self, text.replacingLine(8, with: text.line(8).replacingOccurrences(of: "2024/06/15", with: "2024/13/15")),
                            name: "date.csv", line: 8, contains: "cannot parse '2024/13/15 08:00:00' as a date and time")
        try assertMalformed(self, text.replacingLine(7, with: text.line(7).replacingOccurrences(of: "1,100", with: "-1,100")),
                            name: "basal.csv", line: 7, contains: "negative basal rate")
    }
}
