// Local clock texts and IANA zones: the date-time forms exports use, the evidence that settles day-first vs
// month-first, and DST — the skipped spring hour (moved forward, counted) and the repeated autumn hour (first
// pass until the clock is seen going back, then the second pass, counted) — against Foundation's own offsets.

@testable import CGMImport
import DelimitedText
import Foundation
import XCTest

final class TimeTests: XCTestCase {
    func clock(_ text: String, _ order: DateOrder = .mdy) -> Int64? { LocalClockText.parse(text)?.clockSeconds(order: order) }

    func testDateTimeForms() {
        let t = TimestampParser.parse("2024-03-01T08:05:00Z")!.seconds
        for text in ["2024-03-01T08:05:00", "2024-03-01 08:05", "2024/03/01 08:05:00", "2024:03:01 08:05:00", "03-01-2024 08:05",
                     "03/01/2024 8:05", "3/1/24 08:05:00", "03/01/2024 08:05:00.250", "03/01/2024 08:05 AM", "2024-03-01  08:05"] {
            XCTAssertEqual(clock(text), t, text)
        }
        XCTAssertEqual(clock("01.03.2024 08:05", .dmy), t)
        XCTAssertEqual(clock("03/01/2024 8:05 PM"), t + 12 * 3600)
        XCTAssertEqual(clock("03/01/2024 12:05 am"), t - 8 * 3600)
        XCTAssertEqual(clock("2024-03-01"), t - (8 * 3600 + 300))
        for bad in ["2024-13-01 08:05", "2024-02-30 08:05", "03-01-2024 24:00", "03-01-2024 8h05", "03-01-24-1 08:05", "2024-03-01T08:05:00Z",
                    "13/13/2024 08:05", "", "today"] {
            XCTAssertNil(LocalClockText.parse(bad).flatMap { $0.clockSeconds(order: .mdy) }, bad)
        }
        XCTAssertNil(clock("31/04/2024 08:05", .dmy), "31 April does not exist")
    }

    func testDateOrderEvidence() {
        var e = DateOrderEvidence()
        e.note(LocalClockText.parse("03-01-2024 08:05")!, line: 2)
        XCTAssertNil(e.proven)
        e.note(LocalClockText.parse("25-01-2024 08:05")!, line: 3)
        XCTAssertEqual(e.proven, .dmy)
        e.note(LocalClockText.parse("01-25-2024 08:05")!, line: 4)
        XCTAssertTrue(e.contradictory)
        XCTAssertEqual([e.dayFirstLine, e.monthFirstLine], [3, 4])
        var y = DateOrderEvidence()
        y.note(LocalClockText.parse("2024-01-25 08:05")!, line: 2)
        XCTAssertEqual(y.ambiguous, 0, "year-first dates are never ambiguous")
    }

    /// Local clock seconds of a wall time.
    func wall(_ text: String) -> Int64 { LocalClockText.parse(text)!.clockSeconds(order: .mdy)! }

    func testSpringForwardIsMovedAndCounted() throws {
        var zone = try XCTUnwrap(ZoneClock(identifier: "America/New_York"))
        zone.cover(wall("2024-03-09 00:00") ... wall("2024-03-11 00:00"))
        var stream = ZoneClockStream()
        let before = stream.resolve(wall("2024-03-10 01:30"), with: zone)
        let gap = stream.resolve(wall("2024-03-10 02:30"), with: zone)
        let after = stream.resolve(wall("2024-03-10 03:30"), with: zone)
        XCTAssertEqual(before.offsetMinutes, -300)
        XCTAssertEqual(after.offsetMinutes, -240)
        XCTAssertEqual(gap.instant, after.instant, "02:30 never showed: read as EST, it is 03:30 EDT")
        XCTAssertEqual(gap.offsetMinutes, -240)
        XCTAssertEqual(after.instant - before.instant, 3600)
        XCTAssertEqual([stream.missing, stream.repeatedFirst, stream.repeatedSecond], [1, 0, 0])
    }

    func testFallBackFollowsTheOrderOfTheReadings() throws {
        var zone = try XCTUnwrap(ZoneClock(identifier: "America/New_York"))
        zone.cover(wall("2024-11-02 00:00") ... wall("2024-11-04 00:00"))
        var stream = ZoneClockStream()
        let times = ["2024-11-03 00:55", "2024-11-03 01:00", "2024-11-03 01:30", "2024-11-03 01:55",   // EDT
                     "2024-11-03 01:00", "2024-11-03 01:30", "2024-11-03 01:55", "2024-11-03 02:00"]   // the clock went back: EST
        let resolved = times.map { stream.resolve(wall($0), with: zone) }
        XCTAssertEqual(resolved.map(\.offsetMinutes), [-240, -240, -240, -240, -300, -300, -300, -300])
        let instants = resolved.map(\.instant)
        XCTAssertEqual(zip(instants, instants.dropFirst()).map { $1 - $0 }, [300, 1800, 1500, 300, 1800, 1500, 300],
                       "one continuous series across the change")
        XCTAssertEqual([stream.missing, stream.repeatedFirst, stream.repeatedSecond], [0, 3, 3])
        // Foundation agrees on the offsets of the instants.
        let tz = TimeZone(identifier: "America/New_York")!
        for r in resolved { XCTAssertEqual(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(r.instant))), Int(r.offsetMinutes) * 60) }
    }

    func testUnknownZoneAndZonesWithoutChanges() throws {
        XCTAssertNil(ZoneClock(identifier: "Mars/Olympus_Mons"))
        var tokyo = try XCTUnwrap(ZoneClock(identifier: "Asia/Tokyo"))
        tokyo.cover(wall("2024-03-09 00:00") ... wall("2024-03-11 00:00"))
        var stream = ZoneClockStream()
        XCTAssertEqual(stream.resolve(wall("2024-03-10 02:30"), with: tokyo).offsetMinutes, 540)
        XCTAssertThrowsError(try CohortImporter.read(inputs: [Fixture.path("dexcom/clarity_mmol.csv")], options: {
            var o = ImportOptions()
            o.timezone = "Europe/Berlinn"
            return o
        }())) { XCTAssert("\($0)".contains("not an IANA time zone name")) }
    }
}
