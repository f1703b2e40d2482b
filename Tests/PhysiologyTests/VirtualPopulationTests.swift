import Foundation
import XCTest
@testable import Physiology

/// The 300 twins: deterministic for a seed, within the truncation ranges, basal 0.1–2.2 U/h.
final class VirtualPopulationTests: XCTestCase {
    func testDeterministicForASeed() {
        let a = VirtualPopulation(count: 300, seed: 9)
        let b = VirtualPopulation(count: 300, seed: 9)
        XCTAssertEqual(a.twins, b.twins)
        XCTAssertNotEqual(a.twins, VirtualPopulation(count: 300, seed: 10).twins)
        XCTAssertEqual(a.count, 300)
    }

    func testWithinRangesAndBasalHoldsTarget() throws {
        let pop = VirtualPopulation(count: 300, seed: 9)
        let d = ParameterDistribution()
        let checks: [(KeyPath<HovorkaParameters, Double>, ClosedRange<Double>)] = [
            (\.egp0, d.egp0.range), (\.f01, d.f01.range), (\.k12, d.k12.range), (\.ka1, d.ka1.range),
            (\.ka2, d.ka2.range), (\.ka3, d.ka3.range), (\.sf1, d.sf1.range), (\.sf2, d.sf2.range),
            (\.sf3, d.sf3.range), (\.ke, d.ke.range), (\.vi, d.vi.range), (\.vg, d.vg.range),
            (\.tmaxI, d.tmaxI.range), (\.tmaxG, d.tmaxG.range), (\.ag, d.ag), (\.bodyWeight, d.bodyWeight),
        ]
        for twin in pop.twins {
            for (key, range) in checks { XCTAssertTrue(range.contains(twin[keyPath: key]), "\(key) = \(twin[keyPath: key])") }
            XCTAssertTrue(VirtualPopulation.basalRange.contains(twin.basalUPerH), "basal \(twin.basalUPerH)")
            // The basal rate holds 115 mg/dL.
            let x = SteadyState.initialState(twin, glucoseMgDl: 115, slopeMgDlPerMin: 0, basalUPerH: twin.basalUPerH)
            let dx = HovorkaODE.derivative(x, twin, insulin: twin.insulinInput(basalUPerH: twin.basalUPerH), carbs: 0)
            XCTAssertEqual(dx.q2, 0, accuracy: 1e-10)
        }
        // Medians near the nominal values, spread as published (S_IT CV 63 %: log-SD ≈ 0.56).
        let logSIT = pop.twins.map { Foundation.log($0.sf1) }
        let mean = logSIT.reduce(0, +) / 300
        let sd = (logSIT.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 299).squareRoot()
        XCTAssertEqual(Foundation.exp(mean), 51.2e-4, accuracy: 15e-4)
        XCTAssertEqual(sd, 0.56, accuracy: 0.12)
        let basals = pop.twins.map(\.basalUPerH).sorted()
        XCTAssertTrue((0.25...0.9).contains(basals[150]), "median basal \(basals[150]) U/h")
    }
}
