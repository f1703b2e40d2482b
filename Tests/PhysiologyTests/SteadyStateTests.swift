import XCTest
@testable import Physiology

/// `SteadyState` (Algorithm 1's initializer and the basal solver).
final class SteadyStateTests: XCTestCase {
    let p = HovorkaParameters.nominal(bodyWeight: 80)

    /// `SteadyState(g, ġ, u)`: Q1 from eq. 4, dQ1/dt equal to the slope, every other derivative except
    /// dQ2/dt zero, gut empty.
    func testInitialStateMatchesGlucoseAndSlope() {
        for (g, slope) in [(150.0, 0.0), (180.0, 1.5), (90.0, -0.8), (250.0, 2.0)] {
            let x = SteadyState.initialState(p, glucoseMgDl: g, slopeMgDlPerMin: slope, basalUPerH: 0.9)
            XCTAssertEqual(p.glucoseMgDl(q1: x.q1), g, accuracy: 1e-9)
            let d = HovorkaODE.derivative(x, p, insulin: p.insulinInput(basalUPerH: 0.9), carbs: 0)
            XCTAssertEqual(d.q1 * 18 / p.vg, slope, accuracy: 1e-9, "dG/dt at \(g) mg/dL")
            for v in [d.s1, d.s2, d.i, d.x1, d.x2, d.x3, d.m1, d.m2] { XCTAssertEqual(v, 0, accuracy: 1e-12) }
            XCTAssertEqual(x.m1, 0)
            XCTAssertEqual(x.m2, 0)
        }
    }

    /// A slope steeper than any Q2 ≥ 0 allows is clipped (Q2 = 0), never negative.
    func testUnreachableFallIsClipped() {
        let x = SteadyState.initialState(p, glucoseMgDl: 200, slopeMgDlPerMin: -50, basalUPerH: 1)
        XCTAssertEqual(x.q2, 0)
    }

    /// The basal rate holds its glucose: zero net production, and more insulin for a lower target.
    func testBasalRateIsAnEquilibrium() throws {
        let b100 = try XCTUnwrap(SteadyState.basalRate(p, glucoseMgDl: 100))
        let b160 = try XCTUnwrap(SteadyState.basalRate(p, glucoseMgDl: 160))
        XCTAssertGreaterThan(b100, b160)
        let x = try XCTUnwrap(SteadyState.fastingState(p, glucoseMgDl: 100))
        let d = HovorkaODE.derivative(x, p, insulin: p.insulinInput(basalUPerH: b100), carbs: 0)
        for v in d.array { XCTAssertEqual(v, 0, accuracy: 1e-12) }
        // No equilibrium when glucose falls even without insulin.
        var weak = p
        weak.egp0 = 0.5 * p.f01
        XCTAssertNil(SteadyState.basalRate(weak, glucoseMgDl: 120))
    }

    /// Least-squares slope: exact on a line, NaN-tolerant, zero with fewer than two points.
    func testGlucoseSlope() {
        let line: [Float] = (0..<13).map { 100 + 2.5 * Float($0) } // +2.5 mg/dL per 5 min
        XCTAssertEqual(GlucoseSlope.regression(line, over: 0..<13), 0.5, accuracy: 1e-9)
        var gappy = line
        gappy[3] = .nan; gappy[7] = .nan
        XCTAssertEqual(GlucoseSlope.regression(gappy, over: 0..<13), 0.5, accuracy: 1e-9)
        XCTAssertEqual(GlucoseSlope.regression([120, .nan, .nan], over: 0..<3), 0)
    }
}
