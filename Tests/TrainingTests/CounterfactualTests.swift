// The counterfactual arithmetic on hand-made numbers: the within-subject SD shift in standardized space,
// set mode, fixed-scale features, zero shifts, --shift parsing and name resolution (errors list the model's
// future features), the training-data moments over overlapping windows, hours of the day, and the
// per-window effect measures (Δ mean, end, trapezoid area, ΔTIR).

import CGMData
import CGMSchema
import Foundation
import XCTest
@testable import Inference
@testable import Training

final class CounterfactualTests: XCTestCase {
    func testShiftTransformationOnHandMadeNumbers() {
        // Cohort standardization of heart rate: μ_c = 70 bpm, σ_c = 10 bpm. A subject's raw values 60, 70, 80, 90:
        // mean 75, population SD √125 = 11.1803 bpm. +2 SD = +22.3607 bpm = +2.23607 in z.
        let z = Standardization(mean: 70, std: 10)
        let m = CovariateMoments([60, 70, 80, 90])
        XCTAssertEqual(m.mean, 75)
        XCTAssertEqual(m.sd, 125.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(CounterfactualTransform.scaledShift(k: 2, subjectSD: m.sd, z), 2.236068, accuracy: 1e-6)
        // Future (H = 3, F = 2), heart rate in column 1 at 65, 70, 75 bpm; column 0 must not move.
        let before: [Float] = [0.3, -0.5, 0.3, 0, 0.3, 0.5]
        var future = before
        CounterfactualTransform.apply(CovariateShiftRequest(name: "hr", k: 2), subject: m, z, to: &future,
                                      offset: 1, stride: 2, steps: 3)
        XCTAssertEqual([future[0], future[2], future[4]], [0.3, 0.3, 0.3])
        for s in 0..<3 {
            let rawBefore = CounterfactualTransform.raw(Double(before[2 * s + 1]), z)
            let rawAfter = CounterfactualTransform.raw(Double(future[2 * s + 1]), z)
            XCTAssertEqual(rawAfter - rawBefore, 22.3607, accuracy: 1e-4, "step \(s): +2 within-subject SD in bpm")
        }
        XCTAssertEqual(future[1], 1.736068, accuracy: 1e-6)
        // Set mode: mean + 2 SD = 97.3607 bpm → z = 2.73607 at every step.
        future = before
        CounterfactualTransform.apply(CovariateShiftRequest(name: "hr", k: 2, mode: .set), subject: m, z, to: &future,
                                      offset: 1, stride: 2, steps: 3)
        for s in 0..<3 { XCTAssertEqual(future[2 * s + 1], 2.736068, accuracy: 1e-6) }
        // A fixed-scale feature (no standardization): the shift is k · SD in its own units.
        XCTAssertEqual(CounterfactualTransform.scaledShift(k: -1.5, subjectSD: 0.4, nil), -0.6, accuracy: 1e-12)
        // k = 0 leaves the inputs bit-identical (so a zero intervention gives Δ = 0 exactly).
        future = before
        CounterfactualTransform.apply(CovariateShiftRequest(name: "hr", k: 0), subject: m, z, to: &future,
                                      offset: 1, stride: 2, steps: 3)
        XCTAssertEqual(future.map(\.bitPattern), before.map(\.bitPattern))
    }

    func testParsingAndResolvingShifts() throws {
        let r = try CovariateShiftRequest.parseList("heart_rate=+2sd, steps=-1.5SD,respiration_rate=mean+2sd")
        XCTAssertEqual(r, [CovariateShiftRequest(name: "heart_rate", k: 2), CovariateShiftRequest(name: "steps", k: -1.5),
                           CovariateShiftRequest(name: "respiration_rate", k: 2, mode: .set)])
        for bad in ["heart_rate", "heart_rate=lots", "=2sd", "a=1sd,,b=2sd", "a=1sd,a=2sd"] {
            XCTAssertThrowsError(try CovariateShiftRequest.parseList(bad), bad)
        }
        let future = ["minute_of_day", "tod_sin", "heart_rate_bpm", "steps"]
        XCTAssertEqual(try r[0].resolve(futureFeatures: future), "heart_rate_bpm")
        XCTAssertEqual(try r[1].resolve(futureFeatures: future), "steps")
        XCTAssertThrowsError(try CovariateShiftRequest(name: "glucagon", k: 1).resolve(futureFeatures: future)) { e in
            let text = "\(e)"
            XCTAssert(text.contains("'glucagon'") && text.contains("heart_rate_bpm, steps"), text)
        }
        XCTAssertThrowsError(try CovariateShiftRequest(name: "cgm_diff", k: 1)
            .resolve(futureFeatures: future, pastFeatures: ["cgm_diff"])) { e in
            XCTAssert("\(e)".contains("past-only"), "\(e)")
        }
        XCTAssertThrowsError(try CovariateShiftRequest(name: "tod", k: 1)
            .resolve(futureFeatures: ["tod_sin", "tod_cos"])) { e in XCTAssert("\(e)".contains("ambiguous"), "\(e)") }
    }

    /// Windows L = 4, H = 2 at consecutive decision times cover times 0 … 16 (5-min steps) many times over:
    /// the moments use each time once, in raw units.
    func testTrainingMomentsUseDistinctTimes() {
        let (l, h) = (4, 2), z = Standardization(mean: 50, std: 5)
        let raw = (0...16).map { Double(($0 * $0) % 7) * 3 + 40 }
        var batch = Batch(count: 12, history: l, horizon: h, pastFeatureCount: 2, futureFeatureCount: 1, staticFeatureCount: 0)
        for (w, k) in (3...14).enumerated() {
            batch.decisionTime[w] = Int64(300 * k)
            batch.subject[w] = 1
            for i in 0..<l { batch.past[(w * l + i) * 2 + 1] = Float((raw[k - l + 1 + i] - 50) / 5) }
            for s in 0..<h { batch.future[w * h + s] = Float((raw[k + 1 + s] - 50) / 5) }
        }
        var acc = TrainingCovariateMoments(features: ["hr"], pastFeatures: ["cgm", "hr"], futureFeatures: ["hr"],
                                           standardizations: [z])
        acc.add(batch)
        acc.add(batch)   // the same windows again change nothing
        let m = try! XCTUnwrap(acc.moments("hr", subject: 1))
        let want = CovariateMoments(raw)
        XCTAssertEqual(m.count, 17)
        XCTAssertEqual(m.mean, want.mean, accuracy: 1e-5)
        XCTAssertEqual(m.sd, want.sd, accuracy: 1e-5)
        XCTAssertNil(acc.moments("hr", subject: 0), "a subject without windows has no training moments")
    }

    func testHoursAndWindowEffects() throws {
        let day = try HourWindow.parse("8-20"), night = try HourWindow.parse("21-6")
        XCTAssert(day.contains(minute: 8 * 60) && day.contains(minute: 20 * 60 - 5) && !day.contains(minute: 20 * 60))
        XCTAssert(night.contains(minute: 23 * 60) && night.contains(minute: 0) && night.contains(minute: 5 * 60 + 55))
        XCTAssertFalse(night.contains(minute: 12 * 60))
        for bad in ["8", "8-8", "-1-5", "a-b", "8-25"] { XCTAssertThrowsError(try HourWindow.parse(bad), bad) }

        // Δ = 2, 4, 6, 8: mean 5, end 8, area (5/60)(20 − 8/2) = 1.3333 mg/dL·h; all in range: ΔTIR 0.
        let e = CounterfactualReport.WindowEffect(factual: [100, 100, 100, 100], counterfactual: [102, 104, 106, 108])
        XCTAssertEqual(e.values[0], 5)
        XCTAssertEqual(e.values[1], 8)
        XCTAssertEqual(e.values[2], 16.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(e.values[3], 0)
        // Crossing 180 mg/dL: 3 of 4 factual steps in range, none counterfactual: ΔTIR −75 pp.
        let up = CounterfactualReport.WindowEffect(factual: [175, 178, 180, 181], counterfactual: [181, 182, 183, 184])
        XCTAssertEqual([up.factualTIR, up.counterfactualTIR, up.values[3]], [75, 0, -75])
    }
}
