// The shared insulin rules: extended boluses spread into ⌊d/5⌋ five-minute parts (PhysioSeq2Seq §3.3),
// temporary basal intervals laid over the schedule, long-acting injections as dose/24 U/h for 24 h.

import CGMImport
import XCTest

final class InsulinDeliveryTests: XCTestCase {
    func testExtendedBolusSpread() {
        let parts = BolusSpread.spread(dose: 3, start: 1000, durationSeconds: 32 * 60)   // ⌊32/5⌋ = 6 parts
        XCTAssertEqual(parts.map(\.time), (0 ..< 6).map { 1000 + Int64($0) * 300 })
        XCTAssertEqual(parts.map(\.value), Array(repeating: 0.5, count: 6))
        XCTAssertEqual(BolusSpread.spread(dose: 2, start: 7, durationSeconds: 300), [TimedDose(time: 7, value: 2)], "≤ 5 min: one dose")
        XCTAssertEqual(BolusSpread.spread(dose: 2, start: 7, durationSeconds: 0), [TimedDose(time: 7, value: 2)])
        XCTAssertEqual(BolusSpread.spread(dose: 1.5, start: 0, durationSeconds: 301).count, 1, "⌊301/300⌋ = 1 step")
        let total = BolusSpread.spread(dose: 7.3, start: 0, durationSeconds: 7 * 3600).map(\.value).reduce(0, +)
        XCTAssertEqual(total, 7.3, accuracy: 1e-12, "the dose is conserved")
    }

    func testBasalTimeline() {
        let h: Int64 = 3600
        let schedule = [TimedDose(time: 0, value: 0.8), TimedDose(time: 6 * h, value: 1.1), TimedDose(time: 9 * h, value: 0.9)]
        // A temp rate across a scheduled change (5–7 h), a suspension that ends where another temp starts (12–13, 13–14 h).
        let rows = BasalTimeline.rows(scheduled: schedule, intervals: [
            BasalInterval(start: 5 * h, end: 7 * h, rate: 2), BasalInterval(start: 12 * h, end: 13 * h, rate: 0),
            BasalInterval(start: 13 * h, end: 14 * h, rate: 0.3),
        ])
        XCTAssertEqual(rows.map { [Double($0.time / h), $0.value] }, [
            [0, 0.8], [5, 2], [7, 1.1], [9, 0.9], [12, 0], [13, 0.3], [14, 0.9],
        ], "the 6 h change is hidden by the temp rate; after it the rate then in force returns")
        XCTAssertEqual(BasalTimeline.rows(scheduled: [], intervals: [BasalTimeline.longActing(dose: 36, at: 100)]),
                       [TimedDose(time: 100, value: 1.5), TimedDose(time: 100 + 86_400, value: 0)])
        // Two daily injections: the next one takes over before the first runs out.
        XCTAssertEqual(BasalTimeline.rows(scheduled: [], intervals: [BasalTimeline.longActing(dose: 24, at: 0),
                                                                    BasalTimeline.longActing(dose: 12, at: 86_000)]),
                       [TimedDose(time: 0, value: 1), TimedDose(time: 86_000, value: 0.5), TimedDose(time: 86_000 + 86_400, value: 0)])
    }
}
