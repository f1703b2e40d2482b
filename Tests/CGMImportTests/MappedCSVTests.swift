// Any other CSV through a column mapping: subjects from a column, units from the header (or inferred from the
// values, reported), day-first local times from the format pattern, mapped event columns, Low text censored;
// `--map` parsing; missing columns and bad values failing with file and line.

import CGMImport
import XCTest

final class MappedCSVTests: XCTestCase {
    func map(_ text: String) throws -> ColumnMap { try ColumnMap(pairs: try ColumnMap.parse(text)) }

    func testMappedExport() throws {
        let m = try map("subject=Patient,time=Reading Time,glucose=\"Sensor Reading (mmol/L)\",carbs=Carbs,format=DD/MM/YYYY hh:mm")
        let out = try runImport(self, [Fixture.path("mapped/sensor_export.csv")]) {
            $0.format = .mappedCSV
            $0.map = m
            $0.timezone = "Europe/London"
        }
        XCTAssertEqual(out.readings("P-7").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] }, [
            ["2023-03-13T07:00:00Z", "109.8976"], ["2023-03-13T07:05:00Z", "115.3024"], ["2023-03-13T07:10:00Z", "118.9056"],
        ])
        XCTAssertEqual(out.values("P-7", "carbs_g").map { $0.1 }, ["40"])
        XCTAssertEqual(out.readings("P-8").map { [$0["glucose_mg_dl"]!, $0["glucose_censored"]!] }, [["144.128", ""], ["40", "1"]])
        XCTAssertEqual(out.fileReport("sensor_export.csv")?.units, "mmol/L")
        XCTAssertEqual(out.fileReport("sensor_export.csv")?.dateOrder, "dmy (the mapping's format=)")
    }

    func testUnitsInferredFromValuesAndUnixTimes() throws {
        let dir = try temporaryDirectory(self)
        let path = try write("t,g\n1709280300,5.5\n1709280600,5.8\n1709280900,6.0\n", dir, "cgm.csv")
        let out = try runImport(self, [path]) {
            $0.format = .mappedCSV
            $0.map = try? self.map("time=t,glucose=g,format=unix")
        }
        XCTAssertEqual(out.readings("cgm").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] },
                       [["2024-03-01T08:05:00Z", "99.088"], ["2024-03-01T08:10:00Z", "104.4928"], ["2024-03-01T08:15:00Z", "108.096"]])
        XCTAssert(out.fileReport("cgm.csv")!.notes[0].contains("inferred from the values"))
    }

    func testMapParsing() throws {
        let pairs = try ColumnMap.parse("glucose=\"Sensor, Reading\",time=DateTime, units = mmol/L")
        XCTAssertEqual(pairs.map(\.0), ["glucose", "time", "units"])
        XCTAssertEqual(pairs.map(\.1), ["Sensor, Reading", "DateTime", "mmol/L"])
        XCTAssertThrowsError(try map("glucose=g,time=t,colour=red")) { XCTAssert("\($0)".contains("--map colour unknown key")) }
        XCTAssertThrowsError(try map("time=t")) { XCTAssert("\($0)".contains("--map glucose missing")) }
        XCTAssertThrowsError(try map("glucose=g,time=t,units=mg")) { XCTAssert("\($0)".contains("must be mg/dL, mmol/L or auto")) }
    }

    func testMalformedFilesNameFileAndLine() throws {
        let text = try Fixture.text("mapped/sensor_export.csv")
        let m = try map("subject=Patient,time=Reading Time,glucose=Sensor Reading (mmol/L),carbs=Carbs,format=DD/MM/YYYY hh:mm")
        let configure: (inout ImportOptions) -> Void = { $0.format = .mappedCSV; $0.map = m }
        try assertMalformed(self, text.replacingLine(1, with: "Patient,Time,Sensor Reading (mmol/L),Carbs,Notes"), name: "a.csv", line: 1,
                            contains: "column 'Reading Time': mapped by time= but not in the header", configure: configure)
        try assertMalformed(self, text.replacingLine(3, with: "P-7,13/03/2023 07:05,six,,"), name: "b.csv", line: 3,
                            contains: "cannot parse 'six' as a glucose value", configure: configure)
        try assertMalformed(self, text.replacingLine(4, with: "P-7,13/03/2023 7.10,6.6,40,toast"), name: "c.csv", line: 4,
                            contains: "cannot parse '13/03/2023 7.10' as a date and time", configure: configure)
    }
}
