// Clinical accuracy (issue 14): the Clarke grid's zones on hand-placed points in every zone, from the published
// rules (Clarke et al. 1987); the Parkes type 1 grid's zones on points placed against the published boundary
// vertices (Pfützner et al. 2013, Table 1) with the boundary arithmetic written out; MARD, the time lag (naive = h,
// a forecast that runs k steps behind = k) and hypo/hyper event detection on constructed records; the skill column
// and its subject-bootstrap CI; and the Clarke grid SVG.

@testable import Evaluation
import Foundation
import XCTest
@testable import Training

final class ClinicalAccuracyTests: XCTestCase {
    func testClarkeZonesOfHandPlacedPoints() {
        let cases: [(reference: Double, prediction: Double, zone: ErrorGridZone, why: String)] = [
            (100, 110, .a, "within 20 %"), (200, 240, .a, "exactly 20 % above"), (50, 60, .a, "both below 70"),
            (250, 200, .a, "exactly 20 % below"),
            (100, 130, .b, "30 % above, no other rule"), (300, 200, .b, "33 % below at 300 (outside C and D)"),
            (150, 100, .b, "above the lower C line 1.4·150 − 182 = 28"),
            (100, 220, .c, "p ≥ r + 110 (overcorrection up)"), (150, 20, .c, "p ≤ (7/5)·r − 182 for 130 ≤ r ≤ 180"),
            (300, 150, .d, "r ≥ 240 and 70 ≤ p ≤ 180 (missed hyperglycaemia)"),
            (50, 120, .d, "r ≤ 175/3 and 70 ≤ p ≤ 180 (missed hypoglycaemia)"),
            (65, 100, .d, "175/3 ≤ r ≤ 70 and p ≥ 1.2·r"),
            (50, 200, .e, "hypo read as hyper"), (250, 50, .e, "hyper read as hypo"), (70, 180, .e, "on both E edges"),
        ]
        for c in cases {
            XCTAssertEqual(ClarkeErrorGrid.zone(reference: c.reference, prediction: c.prediction), c.zone,
                           "(\(c.reference), \(c.prediction)): \(c.why)")
        }
        XCTAssertEqual(Set(cases.map(\.zone)), Set(ErrorGridZone.allCases), "every zone has a point")
    }

    func testParkesType1ZonesAgainstThePublishedVertices() {
        // Each point's zone follows from the boundary chains of Pfützner et al. (2013) Table 1; the values of the
        // boundaries at the point are written out.
        let cases: [(reference: Double, prediction: Double, zone: ErrorGridZone, why: String)] = [
            (100, 100, .a, "on the identity"),
            (300, 350, .a, "U_AB(300) = 380 + 20/150·170 = 402.7 > 350; L_AB(350) = 385 + 50/150·165 = 440 > 300"),
            (30, 50, .a, "on the A|B vertex (30, 50): boundaries take the better zone"),
            (100, 160, .b, "U_AB(100) = 50 + 70/110·120 = 126.4 < 160 < U_BC(100) = 110 + 30/190·440 = 179.5"),
            (200, 120, .b, "L_AB(120) = 50 + 90/115·120 = 143.9 < 200 < L_BC(120) = 120 + 90/100·140 = 246"),
            (100, 200, .c, "U_BC(100) = 179.5 < 200 < U_CD(100) = 215 + 20/45·335 = 363.9"),
            (300, 100, .c, "L_BC(100) = 120 + 70/100·140 = 218 < 300 < L_CD(100) = 250 + 60/110·300 = 413.6"),
            (40, 200, .d, "U_CD(40) = 100 + 15/25·25 = 115 < 200 < U_DE(40) = 155 + 5/15·395 = 286.7"),
            (400, 60, .d, "L_CD(60) = 250 + 20/110·300 = 304.5 < 400 (type 1 has no E below)"),
            (20, 300, .e, "U_DE(20) = 150 + 20/35·5 = 152.9 < 300"),
            (60, 20, .b, "L_AB(20) = 50 (vertical segment) < 60 < L_BC(20) = 120"),
        ]
        for c in cases {
            XCTAssertEqual(ParkesErrorGrid.zone(reference: c.reference, prediction: c.prediction), c.zone,
                           "(\(c.reference), \(c.prediction)): \(c.why)")
        }
        XCTAssertEqual(ParkesErrorGrid.upperBoundary(1, at: 100), 110 + 30.0 / 190 * 440, accuracy: 1e-9)
        XCTAssertEqual(ParkesErrorGrid.lowerBoundary(2, at: 10), 250, "the vertical first segment")
        XCTAssertEqual(ParkesErrorGrid.upperBoundary(0, at: 500), 550 + 70.0 / 150 * 170, accuracy: 1e-9, "extended past the last vertex")
    }

    /// Records over a ramp y(t) = 100 + 2t, decision at t = 0 (last observed 100): the forecast at step j runs
    /// `behind` steps behind the truth.
    func ramp(behind: Int, horizon: Int = 6, count: Int = 5) throws -> ForecastRecords {
        let records = (0 ..< count).map { i -> ForecastRecord in
            let base = Float(100 + 10 * i)
            let target = (1 ... horizon).map { base + 2 * Float($0) }
            let prediction = (1 ... horizon).map { base + 2 * Float(max($0 - behind, 0)) }
            return ForecastRecord(segment: i, subject: "s\(i % 2)", target: target, prediction: prediction, naive: base)
        }
        return try ForecastRecords(horizon: horizon, records: records)
    }

    func testTimeLagMARDAndEvents() throws {
        let lagging = ClinicalAccuracy.compute(try ramp(behind: 2))
        XCTAssertEqual(lagging.steps.map(\.model.lagMinutes), [5, 10, 10, 10, 10, 10], "two steps behind (capped by h)")
        XCTAssertEqual(lagging.steps.map(\.naive.lagMinutes), [5, 10, 15, 20, 25, 30], "persistence lags by h exactly")
        XCTAssertEqual(ClinicalAccuracy.compute(try ramp(behind: 0)).steps.map(\.model.lagMinutes), [0, 0, 0, 0, 0, 0])
        // MARD of the 2-behind forecast at step 3: |−4| / (base + 6) averaged over the 5 records.
        let bases = (0 ..< 5).map { 100 + 10 * Double($0) }
        XCTAssertEqual(lagging.steps[2].model.mard, bases.map { 4 / ($0 + 6) * 100 }.reduce(0, +) / 5, accuracy: 1e-9)
        XCTAssertEqual(lagging.step(atMinutes: 15)?.model.clarke, [100, 0, 0, 0, 0])

        // Events: truth 60 (hypo) predicted 65 (hit) and 90 (miss); truth 100 predicted 65 (false alarm); truth 200
        // (hyper) predicted 190 (hit) and 170 (miss).
        let pairs: [(Float, Float)] = [(60, 65), (60, 90), (100, 65), (200, 190), (200, 170)]
        let records = try ForecastRecords(horizon: 1, records: pairs.enumerated().map {
            ForecastRecord(segment: $0.offset, subject: "s", target: [$0.element.0], prediction: [$0.element.1], naive: 120)
        })
        let e = ClinicalAccuracy.compute(records).steps[0]
        XCTAssertEqual([e.model.hypo.events, e.model.hypo.predicted, e.model.hypo.hits], [2, 2, 1])
        XCTAssertEqual(e.model.hypo.sensitivity, 0.5)
        XCTAssertEqual(e.model.hypo.precision, 0.5)
        XCTAssertEqual([e.model.hyper.events, e.model.hyper.predicted, e.model.hyper.hits], [2, 1, 1])
        XCTAssertEqual(e.model.hyper.sensitivity, 0.5)
        XCTAssertEqual(e.model.hyper.precision, 1)
        XCTAssertEqual(e.naive.hypo.predicted, 0)
        XCTAssertTrue(e.naive.hypo.precision.isNaN, "nothing predicted: precision undefined (null in JSON)")
        XCTAssertEqual(e.model.clarkeA, 60, "A: (60, 65), (200, 190), (200, 170); (60, 90) is D, (100, 65) B")
    }

    func testSkillAndItsCIInTheReport() throws {
        let records = EvalFixture.synthetic(subjects: 8, perSubject: 5, horizon: 4)
        let report = EvaluationReport.build(model: "m", records: records, options: .init(bootstrapReplicates: 200))
        for (s, b) in zip(report.metrics.steps, report.bootstrap!.steps) {
            let skill = 1 - s.model.rmse / s.naive.rmse
            let ci = try XCTUnwrap(b.skill)
            XCTAssertTrue(ci.lower <= skill && skill <= ci.upper, "skill \(skill) outside \(ci)")
            XCTAssertLessThan(ci.lower, ci.upper)
        }
        let table = report.table()
        for label in ["skill", "ΔMAE 95% CI", "Clarke A+B %", "lag min", "hypo sens/prec"] {
            XCTAssertTrue(table.contains(label), "missing '\(label)' in\n\(table)")
        }
        let json = try report.jsonData()
        XCTAssertEqual(try JSONDecoder().decode(EvaluationReport.self, from: json), report)
    }

    func testClarkeGridSVG() throws {
        let records = try ramp(behind: 1)
        let svg = SVGClarkeGrid(records: records, model: "toy").document().render()
        XCTAssertTrue(svg.contains("Clarke error grid: toy, 30 min ahead"))
        XCTAssertTrue(svg.contains("zone A: 100.0 %"))
        let inspector = try SVGInspector.parse(svg)
        XCTAssertEqual(inspector.classCounts["circle.point"], 5)
        XCTAssertEqual(inspector.classCounts["line.boundary"], SVGClarkeGrid.boundaries.count)
    }
}
