// OhioT1DM XML: glucose_level readings, basal schedule with a suspension (temp_basal 0) laid over it, normal
// and square boluses (the square one spread over ts_begin…ts_end), meals, Basis heart rate, steps and sleep,
// day-first dates, the patient id and weight; malformed files with file and line (XMLParser's line numbers).

import CGMImport
import XCTest

final class OhioT1DMTests: XCTestCase {
    func testPatientFile() throws {
        let out = try runImport(self, [Fixture.path("ohiot1dm/559-ws-training.xml")])
        XCTAssertEqual(out.readings("559").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] },
                       [["2021-12-07T01:17:00", "101"], ["2021-12-07T01:22:00", "98"], ["2021-12-07T01:27:00", "104"]])
        XCTAssertEqual(out.values("559", "insulin_basal_u_per_h").map { [$0.0, $0.1] }, [
            ["2021-12-07T00:00:00", "0.7"], ["2021-12-07T02:00:00", "0"], ["2021-12-07T03:00:00", "0.7"], ["2021-12-07T06:00:00", "0.9"],
        ])
        XCTAssertEqual(out.values("559", "insulin_bolus_u").map { [$0.0, $0.1] }, [
            ["2021-12-07T08:00:00", "5"], ["2021-12-07T18:00:00", "0.5"], ["2021-12-07T18:05:00", "0.5"], ["2021-12-07T18:10:00", "0.5"],
            ["2021-12-07T18:15:00", "0.5"],
        ])
        XCTAssertEqual(out.values("559", "carbs_g").map { [$0.0, $0.1] }, [["2021-12-07T08:02:00", "50"]], "bolus wizard carbs are not added")
        XCTAssertEqual(out.values("559", "heart_rate_bpm").map { $0.1 }, ["64"])
        XCTAssertEqual(out.values("559", "steps").map { $0.1 }, ["12"])
        XCTAssertEqual(out.values("559", "sleep_stage").map { [$0.0, $0.1] }, [["2021-12-07T00:10:00", "light"], ["2021-12-07T01:00:00", "awake"]])
        XCTAssertEqual(out.subjects, [["subject_id": "559", "diabetes_status": "t1d", "weight_kg": "99"]])
        let r = try XCTUnwrap(out.fileReport("559-ws-training.xml"))
        XCTAssertEqual(r.dateOrder, "dmy (OhioT1DM writes DD-MM-YYYY)")
        XCTAssertEqual(r.dropped.map(\.firstLines), [[9], [26], [29], [35]])
    }

    func testMalformedFilesNameFileAndLine() throws {
        let text = try Fixture.text("ohiot1dm/559-ws-training.xml")
        try assertMalformed(self, text.replacingLine(5, with: "    <event ts=\"07-12-2021 01:22:00\" value=\"ninety-eight\"/>"),
                            name: "559-ws-training.xml", line: 5, contains: "cannot parse 'ninety-eight' as a number")
        try assertMalformed(self, text.replacingLine(19, with: "    <event ts_begin=\"07-12-2021 08:00:00\" type=\"normal\"/>"),
                            name: "559-ws-training.xml", line: 19, contains: "column 'dose': missing attribute")
        try assertMalformed(self, text.replacingLine(6, with: "    <event ts=\"07-12-2021 01:27:00\" value=\"104\">"),
                            name: "559-ws-training.xml", line: 7, contains: "not well-formed XML")
        try assertMalformed(self, text.replacingLine(4, with: "    <event ts=\"2021-07-32 01:17:00\" value=\"101\"/>"),
                            name: "559-ws-training.xml", line: 4, contains: "cannot parse '2021-07-32 01:17:00'")
    }
}
