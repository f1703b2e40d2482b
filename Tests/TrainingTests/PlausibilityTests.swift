// PlausibilityReport on hand-made trajectories: pooled mean / CV / TIR / TBR / TAR, the hourly profile and its MAE,
// the CSV and the SVG overlay.

@testable import Training
@testable import Evaluation
import XCTest

final class PlausibilityTests: XCTestCase {
    func testMetricsByHand() {
        let real: [(glucose: [Float], times: [Int64])] = [([100, 200], [0, 3600])]
        let generated: [(glucose: [Float], times: [Int64])] = [([60, 180], [0, 3600]), ([80, 160], [0, 3600])]
        let r = PlausibilityReport(real: real, generated: generated)
        let row = { (m: String) in r.rows.first { $0.metric == m }! }
        XCTAssertEqual(row("mean_mg_dl").real, 150)
        XCTAssertEqual(row("mean_mg_dl").generated, 120)
        XCTAssertEqual(row("sd_mg_dl").real, 50, accuracy: 1e-9)
        XCTAssertEqual(row("tir_70_180_percent").real, 50)
        XCTAssertEqual(row("tir_70_180_percent").generated, 75)   // 180 counts as in range
        XCTAssertEqual(row("tbr_below_70_percent").generated, 25)
        XCTAssertEqual(row("tar_above_180_percent").real, 50)
        XCTAssertEqual(r.realProfile[0], 100)
        XCTAssertEqual(r.generatedProfile[1], 170)
        XCTAssertTrue(r.realProfile[2].isNaN)
        XCTAssertEqual(r.profileMAE, (30 + 30) / 2)   // |100 − 70|, |200 − 170|
        XCTAssertEqual(r.rows.count, 6 + 24)
        XCTAssertTrue(r.csv.hasPrefix("metric,real,generated,difference\nmean_mg_dl,150.000,120.000,-30.000\n"))
        let svg = r.chart.render()
        XCTAssertTrue(svg.contains("<svg") && svg.contains("generated (2)") && svg.contains("real (1)"))
    }
}
