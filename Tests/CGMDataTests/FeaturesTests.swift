// Features: eq. 11 scaling, the IOB curve and sums of eqs. 5–7 (bolus and basal micro-doses), time
// of day on the local clock, SSM-CGM CGM-history covariates, carried-forward wearables, meal flags,
// and fitting/applying the FeatureSpec.

import CGMSchema
import Foundation
import XCTest
@testable import CGMData

/// A resampled subject built directly from grid values (segments derived from the NaNs of `glucose`).
func makeResampledSubject(_ glucose: [Float], id: String = "A", start: Int64 = gridT0, channels: [(Channel, [Float])] = [],
                      observed: [UInt8]? = nil, readingAge: [Int32]? = nil, offsetMinutes: Int16 = 0) -> ResampledSubject {
    var segments: [Range<Int>] = []
    var i = 0
    while i < glucose.count {
        if glucose[i].isNaN { i += 1; continue }
        var j = i
        while j < glucose.count, !glucose[j].isNaN { j += 1 }
        segments.append(i ..< j)
        i = j
    }
    return ResampledSubject(id: id, start: start, count: glucose.count, glucose: glucose,
                            observed: observed ?? glucose.map { $0.isNaN ? 0 : 1 },
                            readingAge: readingAge ?? glucose.map { $0.isNaN ? 600 : 0 },
                            utcOffsetMinutes: Array(repeating: offsetMinutes, count: glucose.count),
                            channels: channels.map(\.0), values: channels.map(\.1), segments: segments)
}

final class FeaturesTests: XCTestCase {
    // MARK: Eq. 11

    func testScaledCGMGoldenValues() {
        // g~ = 2(log g − log 40)/(log 400 − log 40) − 1
        XCTAssertEqual(FeatureCatalog.scaleCGM(40), -1, accuracy: 1e-6)
        XCTAssertEqual(FeatureCatalog.scaleCGM(400), 1, accuracy: 1e-6)
        XCTAssertEqual(FeatureCatalog.scaleCGM(126.491106), 0, accuracy: 1e-6, "√(40·400) is the midpoint")
        XCTAssertEqual(FeatureCatalog.scaleCGM(120), -0.0457575, accuracy: 1e-6, "2·log10(3) − 1")
        XCTAssertEqual(FeatureCatalog.scaleCGM(20), -1, accuracy: 1e-6, "clamped to 40")
        XCTAssertEqual(FeatureCatalog.scaleCGM(600), 1, accuracy: 1e-6, "clamped to 400")
        for g: Float in [40, 77, 180, 400] {
            XCTAssertEqual(FeatureCatalog.unscaleCGM(FeatureCatalog.scaleCGM(g)), g, accuracy: 1e-3, "eq. 14 inverts eq. 11")
        }
    }

    // MARK: IOB, eqs. 5–7

    func testIOBActivityCurve() {
        let m = IOBModel()
        XCTAssertEqual(m.activity(-5), 0)
        XCTAssertEqual(m.activity(0), 0)
        XCTAssertEqual(m.activity(15), 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.activity(30), 1, accuracy: 1e-12)
        XCTAssertEqual(m.activity(31), 1)
        XCTAssertEqual(m.activity(90), 1)
        XCTAssertEqual(m.activity(120), exp(-0.36), accuracy: 1e-12)
        XCTAssertEqual(m.scaled(0), -1)
        XCTAssertEqual(m.scaled(4.53), 1, accuracy: 1e-12)
        XCTAssertEqual(m.scaled(9), 1, "clamped at 4.53 U")
        XCTAssertEqual(m.scaled(2.265), 0, accuracy: 1e-12)
    }

    func testIOBOfOneUnitBolusGoldenValues() {
        // 1 U at grid index 0 (t_e = 0). At grid index j (t = 5j min): t_ref = t − 60, Δ = t_ref − t_e = 5j − 60.
        //   j = 12: Δ = 0    → not yet counted                    → 0
        //   j = 13: Δ = 5    → ramp 5/30                          → 0.166667
        //   j = 18: Δ = 30   → ramp 30/30                         → 1
        //   j = 24: Δ = 60   → plateau                            → 1
        //   j = 30: Δ = 90   → plateau (Δ ≤ 90)                   → 1
        //   j = 36: Δ = 120  → e^{−0.012·30} = e^{−0.36}          → 0.697676
        //   j = 42: Δ = 150  → e^{−0.012·60} = e^{−0.72}          → 0.486752
        var doses = [Float](repeating: 0, count: 60)
        doses[0] = 1
        let iob = IOBModel().onBoard(doses: doses)
        let expected: [(Int, Float)] = [(0, 0), (12, 0), (13, 1.0 / 6), (15, 0.5), (18, 1), (24, 1), (30, 1), (31, 0.941765),
                                        (36, 0.697676), (42, 0.486752)]
        for (j, v) in expected { XCTAssertEqual(iob[j], v, accuracy: 1e-5, "IOB at j = \(j)") }
    }

    func testIOBMatchesTheDirectSumOfEq5() {
        // The recurrence for the exponential tail against the plain double sum over all earlier doses.
        var rng = SamplerRNG(seed: 3)
        let doses: [Float] = (0 ..< 400).map { _ in rng.belowByRejection(10) == 0 ? Float(rng.belowByRejection(50)) / 10 : 0.08 }
        let model = IOBModel()
        let fast = model.onBoard(doses: doses)
        for j in stride(from: 0, to: doses.count, by: 7) {
            var direct = 0.0
            for i in 0 ..< j { direct += Double(doses[i]) * model.activity(Double(5 * (j - i) - 60)) }
            XCTAssertEqual(Double(fast[j]), direct, accuracy: 1e-4 * max(1, direct), "j = \(j)")
        }
    }

    func testIOBFromBasalMicroDoses() throws {
        // Basal 1.2 U/h from gridT0 for 48 h → micro-doses 1.2/12 = 0.1 U per bin from bin 1 on (bin 0 covers
        // (gridT0−5, gridT0], before the rate starts). At j = 19 the doses of bins 1…6 are 18…13 steps old
        // (Δ = 30…5 min): 0.1·(6+5+4+3+2+1)/6 = 0.35 U. Long after the start every Δ is covered:
        //   0.1·(Σ ramp 21/6 + 12 plateau terms + Σ_{m≥1} e^{−0.06 m} = 16.171666) = 3.167167 U,
        // and eq. 7 gives 2·3.167167/4.53 − 1 = 0.398308.
        var csv = "subject_id,timestamp,glucose_mg_dl,insulin_basal_u_per_h\nA,\(gridT0),100,1.2\n"
        for k in 1 ..< 576 { csv += "A,\(gridT0 + Int64(k) * 300),100,\n" }
        let cohort = try readTestCohort(csv)
        let s = try Resampler().resample(cohort.series[0]).subject
        let f = try FeatureBuilder().build(s, features: ["iob", "iob_scaled"])
        XCTAssertEqual(f.basalDoses[0], 0)
        XCTAssertEqual(f.basalDoses[1], 0.1, accuracy: 1e-7)
        let iob = try XCTUnwrap(f.columns["iob"])
        XCTAssertEqual(iob[13], 0)
        XCTAssertEqual(iob[14], 0.1 / 6, accuracy: 1e-6)
        XCTAssertEqual(iob[19], 0.35, accuracy: 1e-5)
        XCTAssertEqual(iob[575], 3.167167, accuracy: 1e-4)
        XCTAssertEqual(f.columns["iob_scaled"]![575], 0.398308, accuracy: 1e-4)
    }

    // MARK: Time, CGM history, wearables, meals

    func testTimeOfDayUsesTheLocalClock() throws {
        // 06:00 at +02:00, 06:00 without zone and 04:00Z as Unix seconds are all minute 360 / 360 / 240.
        let cohort = try readTestCohort("""
        subject_id,timestamp,glucose_mg_dl
        A,2024-03-01T06:00:00+02:00,100
        B,2024-03-01 06:00:00,100
        C,\(1_709_265_600),100
        """)
        let minutes = try cohort.series.map { series -> Float in
            let s = try Resampler().resample(series).subject
            let f = try FeatureBuilder().build(s, features: FeatureCatalog.time)
            XCTAssertEqual(f.columns["tod_sin"]![0], sin(2 * .pi * f.columns["minute_of_day"]![0] / 1440), accuracy: 1e-6)
            return f.columns["minute_of_day"]![0]
        }
        XCTAssertEqual(minutes, [360, 360, 240])
        let noon = try FeatureBuilder().build(makeResampledSubject([100], start: 1_709_294_400), features: ["tod_sin", "tod_cos"])
        XCTAssertEqual(noon.columns["tod_sin"]![0], 0, accuracy: 1e-6, "12:00 UTC")
        XCTAssertEqual(noon.columns["tod_cos"]![0], -1, accuracy: 1e-6)
    }

    func testCGMHistoryCovariatesStayInsideSegments() throws {
        // Segment 1 = indices 0…6, gap at 7, segment 2 = 8…9.
        let g: [Float] = [100, 110, 130, 160, 150, 140, 120, .nan, 90, 95]
        let f = try FeatureBuilder().build(makeResampledSubject(g), features: FeatureCatalog.cgmHistory)
        assertFloats(f.columns["cgm_lag1"]!, [100, 100, 110, 130, 160, 150, 140, .nan, 90, 90])
        assertFloats(f.columns["cgm_lag3"]!, [100, 100, 100, 100, 110, 130, 160, .nan, 90, 90])
        assertFloats(f.columns["cgm_lag6"]!, [100, 100, 100, 100, 100, 100, 100, .nan, 90, 90])
        assertFloats(f.columns["cgm_diff"]!, [0, 10, 20, 30, -10, -10, -20, .nan, 0, 5])
        assertFloats(f.columns["cgm_lagdiff3"]!, [0, 10, 30, 60, 40, 10, -40, .nan, 0, 5])
        assertFloats(f.columns["cgm_lagdiff6"]!, [0, 10, 30, 60, 50, 40, 20, .nan, 0, 5])
        // Rolling over the ≤ 12 points ending at t (population std), hand-computed.
        assertFloats(f.columns["cgm_roll_mean12"]!, [100, 105, 113.333333, 125, 130, 131.666667, 130, .nan, 90, 92.5])
        assertFloats(f.columns["cgm_roll_std12"]!, [0, 5, 12.472191, 22.912878, 22.803509, 21.147629, 20, .nan, 0, 2.5])
    }

    func testWearablesCarriedForwardWithinASegmentOnly() throws {
        let g: [Float] = [100, 100, 100, 100, .nan, 100, 100]
        let hr: [Float] = [.nan, 70, .nan, .nan, 90, .nan, 80]
        let steps: [Float] = [0, 12, 0, 0, 0, 0, 0]
        let f = try FeatureBuilder().build(makeResampledSubject(g, channels: [(.heartRate, hr), (.steps, steps)]),
                                           features: ["heart_rate_bpm"])
        // Before the first reading of a segment: missing; the 90 in the gap is not carried into segment 2.
        assertFloats(f.columns["heart_rate_bpm"]!, [.nan, 70, 70, 70, .nan, .nan, 80])
    }

    func testMealFlagFromCarbsOrExplicitFlag() throws {
        let g: [Float] = [100, 100, 100, 100]
        let f = try FeatureBuilder().build(makeResampledSubject(g, channels: [(.carbs, [0, 45, 0, 0]), (.mealFlag, [0, 0, 0, 1])]),
                                           features: ["meal_flag"])
        XCTAssertEqual(f.columns["meal_flag"]!, [0, 1, 0, 1])
        XCTAssertThrowsError(try FeatureBuilder().build(makeResampledSubject(g), features: ["meal_flag"]))
    }

    func testFeatureListExpansion() throws {
        let channels: [Channel] = [.carbs, .heartRate, .steps]
        XCTAssertEqual(try FeatureCatalog.expand(["cgm_scaled", "@time", "@wearables", "?meal_flag", "?iob"],
                                                 channels: channels, keyPath: "data.past_features"),
                       ["cgm_scaled", "minute_of_day", "tod_sin", "tod_cos", "heart_rate_bpm", "steps", "meal_flag"])
        assertDataError({ _ = try FeatureCatalog.expand(["cgm", "iob_scaled"], channels: channels, keyPath: "data.past_features") },
                        file: nil, line: nil, key: .config("data.past_features[1]"), contains: "needs an insulin_bolus_u")
        assertDataError({ _ = try FeatureCatalog.expandStatics(["age"], table: nil, keyPath: "data.static_features") },
                        file: nil, line: nil, key: .config("data.static_features[0]"), contains: "no subjects file")
    }

    // MARK: FeatureSpec

    func testFeatureSpecFitsOnTrainingScopeAndEncodesStatics() throws {
        let dir = CSVTempDir()
        let table = try SubjectTable.read(path: dir.write("subjects.csv", """
        subject_id,age,diabetes_status
        A,40,t2d
        B,60,none
        C,,prediabetes
        """))
        let builder = FeatureBuilder()
        let names = ["cgm", "cgm_scaled"]
        let a = try builder.build(makeResampledSubject([100, 120, 140], id: "A"), features: names)
        let b = try builder.build(makeResampledSubject([200, 200, 200, 200], id: "B"), features: names)
        let c = try builder.build(makeResampledSubject([80, 90], id: "C"), features: names)
        var spec = FeatureSpec(pastFeatures: names, futureFeatures: [], staticFeatures:
            ["subject_id", "diabetes_status", "age", "glucose_centre", "glucose_scale"])
        // A is fully training data, B only up to its second grid point, C not at all.
        spec.fit(features: [a, b, c], scope: [.max, gridT0 + 300, nil], table: table)
        // cgm over 100, 120, 140, 200, 200: mean 152, population std √(8480/5) = 41.182521.
        let z = try XCTUnwrap(spec.standardization(of: "cgm"))
        XCTAssertEqual(z.mean, 152, accuracy: 1e-9)
        XCTAssertEqual(z.std, 41.182521, accuracy: 1e-5)
        XCTAssertNil(spec.standardization(of: "cgm_scaled"), "eq. 11 is a fixed scale")
        XCTAssertEqual(spec.scaled("cgm", [152, .nan]), [0, 0], "NaN becomes the mean")
        // Vocabularies come from training subjects only; C's "prediabetes" and id are unknown → 0.
        XCTAssertEqual(spec.statics[0].vocabulary, ["A", "B"])
        XCTAssertEqual(spec.statics[1].vocabulary, ["none", "t2d"])
        XCTAssertEqual(spec.statics[1].cardinality, 3)
        // Glucose centre/scale: A 120 ± 16.329932 (in scope), B 200 ± 0, C 85 ± 5 (all its data).
        XCTAssertEqual(spec.glucose(of: "A")!.centre, 120, accuracy: 1e-9)
        XCTAssertEqual(spec.glucose(of: "A")!.scale, 16.329932, accuracy: 1e-5)
        XCTAssertEqual(spec.glucose(of: "C")!.centre, 85, accuracy: 1e-9)
        // Reals standardized over training subjects: age 40, 60 → 50 ± 10; centres 120, 200 → 160 ± 40;
        // scales 16.329932, 0 → 8.164966 ± 8.164966, so C's scale 5 → −0.387628. C's missing age → 0.
        assertFloats(spec.staticRow(subject: "A", table: table), [1, 2, -1, -1, 1])
        assertFloats(spec.staticRow(subject: "B", table: table), [2, 1, 1, 1, -1])
        assertFloats(spec.staticRow(subject: "C", table: table), [0, 0, 0, -1.875, -0.387628])
        // The spec round-trips through JSON (it is recorded in manifests and checkpoints).
        let decoded = try JSONDecoder().decode(FeatureSpec.self, from: JSONEncoder().encode(spec))
        XCTAssertEqual(decoded.statics, spec.statics)
        XCTAssertEqual(decoded.scalings, spec.scalings)
        XCTAssertEqual(decoded.iob, IOBModel())
    }
}
