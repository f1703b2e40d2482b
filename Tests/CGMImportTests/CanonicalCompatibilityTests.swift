// What the importers write is what `prepare` reads: the column names are CGMData's channels, the mmol/L factor
// is the ingest's, and cgm.csv files written from the fixtures pass CohortReader (glucose_censored counted,
// every reading kept); a glucose_censored value other than 0/1 is an ingest error naming file and line.

import CGMData
import CGMSchema
import CGMImport
import DelimitedText
import XCTest

final class CanonicalCompatibilityTests: XCTestCase {
    func testColumnNamesAndUnitsAgreeWithIngest() {
        XCTAssertEqual(CanonicalColumn.allCases.map(\.rawValue), Channel.allCases.map(\.rawValue))
        XCTAssertEqual(GlucoseUnit.mgdlPerMmol, CohortReader.mmolToMgdl)
        for (k, word) in CanonicalColumn.sleepStageWords.enumerated() { XCTAssertEqual(Channel.sleepStageCodes[word], Double(k)) }
    }

    func testImportedFixturesReadBackThroughIngest() throws {
        for input in ["dexcom", "libreview", "carelink", "nightscout", "aireadi", "d1namo", "cgmacros", "ohiot1dm"] {
            let out = try runImport(self, [Fixture.path(input)]) { $0.timezone = "Europe/Berlin" }
            let cohort = try CohortReader().read(cgmPath: out.dir + "/cgm.csv", subjectsPath: out.dir + "/subjects.csv")
            XCTAssertEqual(cohort.report.ignoredColumns, [], input)
            XCTAssertEqual(cohort.series.map(\.subject), out.result.series.map(\.subject), input)
            XCTAssertEqual(cohort.report.glucoseRows + cohort.report.duplicateTimestampGlucose, out.report.readings, input)
            let censored = out.report.files.reduce(0) { $0 + $1.censoredLow + $1.censoredHigh }
            XCTAssertEqual(cohort.report.censoredGlucose, censored, input)
            XCTAssertEqual(cohort.report.droppedOutOfRangeGlucose, 0, input)
        }
    }

    func testCensoredFlagIsValidated() throws {
        let dir = try temporaryDirectory(self)
        let path = try write("subject_id,timestamp,glucose_mg_dl,glucose_censored\nA,2024-01-01T00:00:00Z,40,1\nA,2024-01-01T00:05:00Z,41,2\n",
                             dir, "cgm.csv")
        assertImportError({ _ = try CohortReader().read(cgmPath: path) }, file: "cgm.csv", line: 3, contains: "column 'glucose_censored': value 2.0; expected 0 or 1")
        let ok = try write("subject_id,timestamp,glucose_mg_dl,glucose_censored\nA,2024-01-01T00:00:00Z,40,1\nA,2024-01-01T00:05:00Z,41,\n", dir, "ok.csv")
        let cohort = try CohortReader().read(cgmPath: ok)
        XCTAssertEqual(cohort.report.censoredGlucose, 1)
        XCTAssert(cohort.report.summaryLines().joined().contains("censored readings"))
    }
}
