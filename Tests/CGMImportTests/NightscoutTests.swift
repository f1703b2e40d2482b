// Nightscout: entries and treatments as JSON dumps and CSV exports, one subject per folder; sgv entries as
// readings (mbg and cal dropped), treatments as boluses and carbs, a Combo Bolus's extended part spread over
// its duration, Temp Basal reported as not written; instants with utcOffset as the local clock; malformed
// files failing with file and line.

import CGMImport
import XCTest

final class NightscoutTests: XCTestCase {
    func testJSONDumpAndCSVExport() throws {
        let out = try runImport(self, [Fixture.path("nightscout")])
        XCTAssertEqual(out.result.series.map(\.subject), ["ns01", "ns02"], "one subject per folder")
        XCTAssertEqual(out.readings("ns01").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] },
                       [["2024-06-15T10:00:00+02:00", "131"], ["2024-06-15T10:05:00+02:00", "138"], ["2024-06-15T10:10:00+02:00", "147"]])
        XCTAssertEqual(out.values("ns01", "carbs_g").map { [$0.0, $0.1] }, [["2024-06-15T10:02:00+02:00", "50"], ["2024-06-15T17:30:00+02:00", "15"]])
        XCTAssertEqual(out.values("ns01", "protein_g").map { $0.1 }, ["4"])
        XCTAssertEqual(out.values("ns01", "fat_g").map { $0.1 }, ["2"])
        // Meal Bolus 4.2 U; Combo Bolus: 3 U now + 3 U/h × 60 min = 12 parts of 0.25 U.
        let bolus = out.values("ns01", "insulin_bolus_u")
        XCTAssertEqual(bolus.count, 13)
        XCTAssertEqual(bolus.prefix(3).map { [$0.0, $0.1] },
                       [["2024-06-15T10:02:00+02:00", "4.2"], ["2024-06-15T14:00:00+02:00", "3.25"], ["2024-06-15T14:05:00+02:00", "0.25"]])
        XCTAssertEqual(bolus.last?.0, "2024-06-15T14:55:00+02:00")
        XCTAssertEqual(bolus.map { Double($0.1)! }.reduce(0, +), 4.2 + 6, accuracy: 1e-9)
        XCTAssertEqual(out.readings("ns02").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] },
                       [["2024-01-10T16:00:00-05:00", "188"], ["2024-01-10T16:05:00-05:00", "185"], ["2024-01-10T16:10:00-05:00", "180"]])
        XCTAssertEqual(out.values("ns02", "insulin_bolus_u").map { [$0.0, $0.1] }, [["2024-01-10T16:03:12-05:00", "0.3"]])
        let entries = try XCTUnwrap(out.fileReport("ns01/entries.json"))
        XCTAssertEqual(entries.dropped.map(\.firstLines), [[4], [6]], "mbg and cal entries, by the line they start on")
        let treatments = try XCTUnwrap(out.fileReport("ns02/treatments.csv"))
        XCTAssertEqual(treatments.dropped.map(\.firstLines), [[3]])
        XCTAssert(treatments.dropped[0].reason.hasPrefix("Temp Basal"))
    }

    func testTimezoneOverridesUTCOffset() throws {
        let out = try runImport(self, [Fixture.path("nightscout/ns02/entries.csv")]) { $0.timezone = "Asia/Tokyo" }
        XCTAssertEqual(out.readings("ns02").first?["timestamp"], "2024-01-11T06:00:00+09:00")
    }

    func testMalformedFilesNameFileAndLine() throws {
        let json = try Fixture.text("nightscout/ns01/entries.json")
        try assertMalformed(self, json.replacingLine(3, with: "  {\"sgv\": 138,, \"type\": \"sgv\"},"), name: "entries.json", line: 3,
                            contains: "not valid JSON")
        let treatments = try Fixture.text("nightscout/ns01/treatments.json")
        try assertMalformed(self, treatments.replacingLine(6, with: "  {\"_id\": \"t5\", \"eventType\": \"Carb Correction\", \"carbs\": 15}"),
                            name: "treatments.json", line: 6, contains: "treatment without a readable created_at time")
        let csv = try Fixture.text("nightscout/ns02/entries.csv")
        try assertMalformed(self, csv.replacingLine(3, with: "yesterday,,185,Flat,sgv,185,185,185,,-300"), name: "entries.csv", line: 3,
                            contains: "entry without a readable date")
    }
}
