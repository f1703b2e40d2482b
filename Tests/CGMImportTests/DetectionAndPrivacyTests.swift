// --format auto recognizes every fixture from its header or folder layout, and a file that is none of the
// formats is an error naming it. Personal data in the fixtures (fake names, birth date, patient id, serial
// numbers) never reaches any output file, a file named after the patient cannot name the subject, and the
// report shows such paths with the name cut out.

@testable import CGMImport
import Foundation
import XCTest

final class DetectionAndPrivacyTests: XCTestCase {
    func testFormatsAreRecognized() {
        let files: [(String, ImportFormat)] = [
            ("dexcom/clarity_mgdl.csv", .dexcomClarity), ("dexcom/clarity_mmol.csv", .dexcomClarity), ("libreview/libre_us_mgdl.csv", .libreView),
            ("libreview/libre_eu_mmol.csv", .libreView), ("carelink/carelink_eu.csv", .careLink), ("carelink/carelink_us.csv", .careLink),
            ("nightscout/ns01/entries.json", .nightscout), ("nightscout/ns01/treatments.json", .nightscout),
            ("nightscout/ns02/entries.csv", .nightscout), ("nightscout/ns02/treatments.csv", .nightscout),
            ("ohiot1dm/559-ws-training.xml", .ohioT1DM), ("cgmacros/CGMacros-001/CGMacros-001.csv", .cgmacros),
            ("d1namo/diabetes_subset/001/glucose.csv", .d1namo),
        ]
        for (f, format) in files { XCTAssertEqual(FormatDetection.format(ofFile: Fixture.path(f)), format, f) }
        XCTAssertNil(FormatDetection.format(ofFile: Fixture.path("mapped/sensor_export.csv")))
        for (f, format) in [("aireadi", ImportFormat.aiReadi), ("d1namo", .d1namo), ("d1namo/diabetes_subset", .d1namo),
                            ("d1namo/diabetes_subset/001", .d1namo), ("cgmacros", .cgmacros)] {
            XCTAssertEqual(FormatDetection.format(ofFolder: Fixture.path(f)), format, f)
        }
        assertImportError({ _ = try CohortImporter.read(inputs: [Fixture.path("mapped/sensor_export.csv")], options: ImportOptions()) },
                          file: "sensor_export.csv", line: 1, contains: "not a known format")
    }

    func testPersonalDataNeverReachesAnOutput() throws {
        var outputs: [String] = []
        for input in ["dexcom", "libreview", "carelink", "nightscout", "aireadi", "d1namo", "cgmacros", "ohiot1dm"] {
            let out = try runImport(self, [Fixture.path(input)]) { $0.timezone = "Europe/Berlin" }
            for f in try FileManager.default.contentsOfDirectory(atPath: out.dir) {
                outputs.append(try String(contentsOfFile: out.dir + "/" + f, encoding: .utf8))
            }
        }
        XCTAssertEqual(outputs.count, 8 * 4)
        for text in outputs {
            for value in Fixture.personal { XCTAssertFalse(text.lowercased().contains(value.lowercased()), "'\(value)' was written") }
        }
        // The inputs do carry them (the test could not fail otherwise).
        let inputs = try ["dexcom/clarity_mgdl.csv", "libreview/libre_us_mgdl.csv", "carelink/carelink_eu.csv"].map(Fixture.text).joined()
        for value in ["Zorblax", "Quintavious", "1971-02-03", "PX-771203", "NG4471902H", "8XQ7ZK", "ZQ55TRN"] { XCTAssert(inputs.contains(value), value) }
    }

    func testAFileNamedAfterThePatientCannotNameTheSubject() throws {
        let dir = try temporaryDirectory(self)
        let path = dir + "/Clarity_Export_Quintavious_Zorblax_2024-10-27.csv"
        try FileManager.default.copyItem(atPath: Fixture.path("dexcom/clarity_mgdl.csv"), toPath: path)
        assertImportError({ _ = try CohortImporter.read(inputs: [path], options: ImportOptions()) },
                          file: "Clarity_Export_…_…_2024-10-27.csv", line: nil,
                          contains: "the subject id would contain personal data")
        let numbered = try runImport(self, [path]) { $0.subjectNaming = .numbered }
        XCTAssertEqual(numbered.result.series.map(\.subject), ["S001"])
        XCTAssertEqual(numbered.report.files[0].file, "Clarity_Export_…_…_2024-10-27.csv")
        for f in try FileManager.default.contentsOfDirectory(atPath: numbered.dir) {
            let text = try String(contentsOfFile: numbered.dir + "/" + f, encoding: .utf8)
            XCTAssertFalse(text.contains("Quintavious") || text.contains("Zorblax"), f)
        }
    }
}
