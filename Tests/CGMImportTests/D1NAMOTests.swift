// D1NAMO: per-subject folders, glucose in mmol/L with separate date and time, cgm rows as readings and finger
// sticks dropped, fast insulin as boluses and slow insulin as a basal rate, meals (EXIF-style datetime) as
// meal flags, the subset as diabetes_status; a subject without CGM left out; malformed files with file and line.

import CGMImport
import XCTest

final class D1NAMOTests: XCTestCase {
    func testFolder() throws {
        let out = try runImport(self, [Fixture.path("d1namo")]) { $0.timezone = "Europe/Zurich" }
        XCTAssertEqual(out.result.series.map(\.subject), ["001"], "the healthy subject has finger sticks only")
        XCTAssertEqual(out.readings("001").map { [$0["timestamp"]!, $0["glucose_mg_dl"]!] }, [
            ["2014-10-01T19:14:00+02:00", "185.5648"], ["2014-10-01T19:19:00+02:00", "189.168"], ["2014-10-01T19:24:00+02:00", "196.3744"],
        ])
        XCTAssertEqual(out.values("001", "insulin_bolus_u").map { [$0.0, $0.1] }, [["2014-10-01T19:25:00+02:00", "6"]])
        XCTAssertEqual(out.values("001", "insulin_basal_u_per_h").map { [$0.0, $0.1] },
                       [["2014-10-01T22:00:00+02:00", "0.75"], ["2014-10-02T22:00:00+02:00", "0"]])
        XCTAssertEqual(out.values("001", "meal_flag").map { [$0.0, $0.1] }, [["2014-10-01T19:27:49+02:00", "1"]])
        XCTAssertEqual(out.subjects, [["subject_id": "001", "diabetes_status": "t1d"]])
        XCTAssertEqual(out.fileReport("001/glucose.csv")?.units, "mmol/L")
        XCTAssertEqual(out.fileReport("001/glucose.csv")?.dropped.map(\.firstLines), [[4]])
        XCTAssertEqual(out.fileReport("017/glucose.csv")?.dropped.map(\.count), [1, 1])
        XCTAssert(out.report.notes.contains { $0.contains("017") })
    }

    func testMalformedFilesNameFileAndLine() throws {
        for (name, line, replacement, message) in [
            ("glucose.csv", 3, "2014-10-01,19:19:00,10,5,cgm,", "expected"),
            ("glucose.csv", 2, "2014-10-01,7pm,10.3,cgm,", "cannot parse '2014-10-01 7pm' as a date and time"),
            ("insulin.csv", 2, "2014-10-01,19:25:00,six,,dinner", "cannot parse 'six' as a number"),
        ] {
            let dir = try temporaryDirectory(self, "d1namo\(name)\(line)")
            let folder = dir + "/001"
            try FileManager.default.copyItem(atPath: Fixture.path("d1namo/diabetes_subset/001"), toPath: folder)
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            try text.replacingLine(line, with: replacement).write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
            assertImportError({ _ = try CohortImporter.run(inputs: [folder], options: ImportOptions(), outDir: dir + "/out", overwrite: false) },
                              file: name, line: line, contains: message)
        }
    }
}
