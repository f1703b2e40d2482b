// The canonical writer: number and timestamp texts (offsets east and west, zone-less, UTC), the calendar
// round trip, events merged per instant, and the atomic commit (an existing output refused or, with
// overwrite, replaced only once the new one is complete; a failed import leaves nothing).

@testable import CGMImport
import DelimitedText
import Foundation
import XCTest

final class CanonicalWriterTests: XCTestCase {
    func text(_ f: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        f(&out)
        return String(decoding: out, as: UTF8.self)
    }

    func testNumbers() {
        let cases: [(Double, String)] = [(120, "120"), (100.8896, "100.8896"), (0.5, "0.5"), (0.25, "0.25"), (1.0 / 3, "0.3333"),
                                         (-2.5, "-2.5"), (0, "0"), (1e-5, "0"), (399.99996, "400"), (12345678.9, "12345678.9")]
        for (v, expected) in cases { XCTAssertEqual(text { CanonicalWriter.appendNumber(&$0, v) }, expected, "\(v)") }
    }

    func stamp(_ t: Int64, _ offset: Int16) -> String {
        var cache = CanonicalWriter.DayText()
        return text { CanonicalWriter.appendTimestamp(&$0, t, offset, &cache) }
    }

    func testTimestampsAndCalendar() {
        let t = TimestampParser.parse("2024-03-01T08:05:00Z")!.seconds
        XCTAssertEqual(stamp(t, 60), "2024-03-01T09:05:00+01:00")
        XCTAssertEqual(stamp(t, -330), "2024-03-01T02:35:00-05:30")
        XCTAssertEqual(stamp(t, 0), "2024-03-01T08:05:00Z")
        XCTAssertEqual(stamp(t, SubjectSeries.noOffset), "2024-03-01T08:05:00")
        XCTAssertEqual(stamp(-1, 0), "1969-12-31T23:59:59Z")
        // Every written timestamp reads back as the same instant and offset.
        var g = SystemRandomNumberGenerator()
        var cache = CanonicalWriter.DayText()   // shared: the cached day must never leak into another day's text
        for k in 0 ..< 4000 {
            let s = k % 2 == 0 ? Int64.random(in: -2_000_000_000 ... 4_000_000_000, using: &g) : Int64(k) * 3000
            let o = Int16.random(in: -720 ... 840, using: &g)
            let back = TimestampParser.parse(text { CanonicalWriter.appendTimestamp(&$0, s, o, &cache) })!
            XCTAssertEqual([back.seconds, Int64(back.utcOffsetMinutes)], [s, Int64(o)])
        }
        for day in stride(from: -800_000, through: 800_000, by: 997) {
            let (y, m, d) = TimestampParser.civil(fromDays: Int64(day))
            XCTAssertEqual(TimestampParser.daysFromCivil(year: y, month: m, day: d), Int64(day))
        }
    }

    func testEventsAtOneInstantShareARow() {
        var s = SubjectSeries(subject: "A", zoned: true)
        s.readingTime = [600, 0]; s.readingOffset = [0, 0]; s.glucose = [110, 100]; s.censoring = [.none, .none]
        s.eventTime = [300, 300, 300, 300]; s.eventOffset = [0, 0, 0, 0]
        s.eventColumn = [.bolus, .carbs, .bolus, .basal]; s.eventValue = [1, 30, 0.5, 0.8]
        var b = s
        b.eventColumn = [.basal, .basal, .sleepStage, .sleepStage]; b.eventValue = [0.8, 0.6, 2, 3]; b.subject = "B"
        let csv = String(decoding: CanonicalWriter.cgmCSV([s, b]).bytes, as: UTF8.self)
        XCTAssertEqual(csv, """
            subject_id,timestamp,glucose_mg_dl,carbs_g,insulin_bolus_u,insulin_basal_u_per_h,sleep_stage
            A,1970-01-01T00:00:00Z,100,,,,
            A,1970-01-01T00:05:00Z,,30,1.5,0.8,
            A,1970-01-01T00:10:00Z,110,,,,
            B,1970-01-01T00:00:00Z,100,,,,
            B,1970-01-01T00:05:00Z,,,,0.6,rem
            B,1970-01-01T00:10:00Z,110,,,,

            """, "readings sorted; amounts summed, rates and stages: the later value")
    }

    func testCommitIsAtomic() throws {
        let dir = try temporaryDirectory(self)
        let out = dir + "/cohort"
        try CanonicalWriter.commit([("a.csv", Array("1\n".utf8))], to: out, overwrite: false)
        XCTAssertThrowsError(try CanonicalWriter.commit([("a.csv", Array("2\n".utf8))], to: out, overwrite: false)) {
            XCTAssert("\($0)".contains("exists; pass --overwrite"))
        }
        XCTAssertEqual(try String(contentsOfFile: out + "/a.csv", encoding: .utf8), "1\n")
        try CanonicalWriter.commit([("b.csv", Array("3\n".utf8))], to: out, overwrite: true)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["b.csv"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["cohort"], "no temporary directory left behind")
        // A failing import changes nothing: the old output stays, nothing else appears.
        let bad = try write("not an export\n", dir, "bad/readme.csv")
        XCTAssertThrowsError(try CohortImporter.run(inputs: [bad], options: ImportOptions(), outDir: out, overwrite: true))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["b.csv"])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir)), ["cohort", "bad"])
    }
}
