// Meal detection data (SSM-CGM A.2): trapezoid labels, ratio voting and event-level metrics against
// hand-worked examples; the diabetes-stratified subject split; the meal_detection preset's windows.

import CGMSchema
import Foundation
import XCTest
@testable import CGMData

final class MealEventsTests: XCTestCase {
    private func assertEqual(_ a: [Float], _ b: [Float], _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > 1e-6 {
            XCTFail("\(message) index \(i): \(x) vs \(y) (\(a) vs \(b))", file: file, line: line)
            return
        }
    }

    /// P = R = 2 (A.2): distances 0–2 → 1, 3 → 0.5, ≥ 4 → 0; overlapping meals sum and clip to 1; a meal
    /// just outside the timeline contributes its ramp; P = 1, R = 3 gives thirds.
    func testTrapezoidLabelsHandWorked() {
        assertEqual(MealEvents.smoothedLabels(events: [5], count: 12, plateau: 2, ramp: 2),
                    [0, 0, 0.5, 1, 1, 1, 1, 1, 0.5, 0, 0, 0], "one meal")
        // Meals at 3 and 8: S = [.5, 1, 1, 1, 1, 1.5, 1.5, 1, 1, 1, 1, .5] → clipped.
        assertEqual(MealEvents.smoothedLabels(events: [3, 8], count: 12, plateau: 2, ramp: 2),
                    [0.5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.5], "two meals, summed and clipped")
        // Meals at 2 and 9 (P = 1, R = 2): distance 2 → 0.5, distance 3 → 0; the trapezoids do not touch.
        assertEqual(MealEvents.smoothedLabels(events: [2, 9], count: 12, plateau: 1, ramp: 2),
                    [0.5, 1, 1, 1, 0.5, 0, 0, 0.5, 1, 1, 1, 0.5], "two meals apart")
        assertEqual(MealEvents.smoothedLabels(events: [4], count: 9, plateau: 1, ramp: 3),
                    [0, 1.0 / 3, 2.0 / 3, 1, 1, 1, 2.0 / 3, 1.0 / 3, 0], "P = 1, R = 3")
        assertEqual(MealEvents.smoothedLabels(events: [-2], count: 4, plateau: 2, ramp: 2), [1, 0.5, 0, 0], "meal before the start")
        assertEqual(MealEvents.smoothedLabels(events: [100], count: 4, plateau: 2, ramp: 2), [0, 0, 0, 0], "far away")
        assertEqual(MealEvents.smoothedLabels(events: [1], count: 4, plateau: 0, ramp: 0), [0, 1, 0, 0], "P = R = 0: the event only")
        XCTAssertEqual(MealEvents.truthSegments([0.5, 1, 1, 0.5, 0, 1, 0.5]), [1 ..< 3, 5 ..< 6])
        XCTAssertEqual(MealEvents.eventIndices([0, 12, 0, 0, 1]), [1, 4])
    }

    /// Four windows of L = 3 over six points, θ = 0.36 (p ≥ θ votes):
    ///   t0: {w0 .9✓} 1/1   t1: {w0 .2, w1 .5✓} 1/2   t2: {.6✓ .7✓ .8✓} 3/3   t3: {.1 .3 .35} 0/3
    ///   t4: {w2 .4✓, w3 .36✓} 2/2   t5: {w3 .9✓} 1/1   t6: no window → NaN, never flagged.
    func testRatioVotingHandWorked() {
        let p: [Float] = [0.9, 0.2, 0.6, /**/ 0.5, 0.7, 0.1, /**/ 0.8, 0.3, 0.4, /**/ 0.35, 0.36, 0.9]
        let strict = MealEvents.ratioVote(probabilities: p, starts: [0, 1, 2, 3], length: 3, count: 7, threshold: 0.36, ratio: 0.77)
        assertEqual(Array(strict.ratio.prefix(6)), [1, 0.5, 1, 0, 1, 1])
        XCTAssertTrue(strict.ratio[6].isNaN)
        XCTAssertEqual(strict.flags, [true, false, true, false, true, true, false])
        let loose = MealEvents.ratioVote(probabilities: p, starts: [0, 1, 2, 3], length: 3, count: 7, threshold: 0.36, ratio: 0.5)
        XCTAssertEqual(loose.flags, [true, true, true, false, true, true, false])
        let high = MealEvents.ratioVote(probabilities: p, starts: [0, 1, 2, 3], length: 3, count: 7, threshold: 0.85, ratio: 0.3)
        XCTAssertEqual(high.flags, [true, false, false, false, false, true, false])
        XCTAssertEqual(MealEvents.segments(strict.flags), [0 ..< 1, 2 ..< 3, 4 ..< 6])
    }

    /// Truth {2–4, 10–11, 20–21}, predicted {0, 4–5, 11–14, 16–17}: truth 1 and 2 are hit (recall 2/3); predictions
    /// 2 and 3 hit (precision 2/4). One prediction spanning two meals detects both; touching is not overlapping.
    func testEventRecallPrecisionHandWorked() {
        let c = MealEvents.match(truth: [2 ..< 5, 10 ..< 12, 20 ..< 22], predicted: [0 ..< 1, 4 ..< 6, 11 ..< 15, 16 ..< 18])
        XCTAssertEqual(c, EventCounts(truth: 3, truthDetected: 2, predicted: 4, predictedCorrect: 2, matched: 2))
        XCTAssertEqual(c.recall, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(c.precision, 0.5, accuracy: 1e-12)
        XCTAssertEqual(c.f1, 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5), accuracy: 1e-12)
        XCTAssertEqual(MealEvents.match(truth: [0 ..< 2, 3 ..< 5], predicted: [1 ..< 4]),
                       EventCounts(truth: 2, truthDetected: 2, predicted: 1, predictedCorrect: 1, matched: 1))
        // The A.2 metrics' blind spot: one all-day prediction has recall 1 and precision 1; one-to-one it finds 1 of 4.
        let allDay = MealEvents.match(truth: [3 ..< 5, 20 ..< 22, 40 ..< 42, 60 ..< 62], predicted: [0 ..< 288])
        XCTAssertEqual([allDay.recall, allDay.precision], [1, 1])
        XCTAssertEqual([allDay.matchedRecall, allDay.matchedPrecision], [0.25, 1])
        XCTAssertEqual(MealEvents.match(truth: [0 ..< 2], predicted: [2 ..< 3]),
                       EventCounts(truth: 1, truthDetected: 0, predicted: 1, predictedCorrect: 0))
        // Two long predictions overlapping one truth event: both correct, the event counted once.
        XCTAssertEqual(MealEvents.match(truth: [5 ..< 15], predicted: [0 ..< 6, 14 ..< 20]),
                       EventCounts(truth: 1, truthDetected: 1, predicted: 2, predictedCorrect: 2, matched: 1))
        let sum = c + EventCounts(truth: 1, truthDetected: 1, predicted: 0, predictedCorrect: 0)
        XCTAssertEqual(sum.recall, 0.75, accuracy: 1e-12)
        XCTAssertEqual(EventCounts().recall, 1)
        XCTAssertEqual(EventCounts(truth: 2).f1, 0)
    }

    /// Sizes as the unstratified split (30 → 20/5/5); each stratum's share of every split within one of
    /// proportional (10 → 6.67/1.67/1.67); every subject once; deterministic; small strata (6 subjects in 4
    /// strata) still give non-empty validation and test splits.
    func testStratifiedSubjectSplit() {
        let statuses = ["none", "prediabetes", "t2d"]
        let ids = (0 ..< 30).map { String(format: "S%02d", $0) }
        var strata: [String: String] = [:]
        for (i, id) in ids.enumerated() { strata[id] = statuses[i % 3] }
        let split = SubjectSplit.stratified(ids, strata: strata, seed: 4)
        XCTAssertEqual(Set(split.train + split.validation + split.test), Set(ids))
        XCTAssertEqual([split.train.count, split.validation.count, split.test.count], [20, 5, 5])
        for status in statuses {
            for (part, share) in [(split.train, 20.0 / 3), (split.validation, 5.0 / 3), (split.test, 5.0 / 3)] {
                let n = Double(part.filter { strata[$0] == status }.count)
                XCTAssertLessThan(abs(n - share), 1, "\(status): \(n) vs \(share) in \(part)")
            }
        }
        XCTAssertEqual(SubjectSplit.stratified(ids, strata: strata, seed: 4), split)
        XCTAssertNotEqual(SubjectSplit.stratified(ids, strata: strata, seed: 5), split)
        let few = ["a", "b", "c", "d", "e", "f"]
        let small = SubjectSplit.stratified(few, strata: ["a": "x", "b": "y", "c": "y", "d": "z", "e": "w", "f": "x"], seed: 0)
        XCTAssertEqual([small.train.count, small.validation.count, small.test.count], [4, 1, 1])
    }

    /// The meal_detection preset: L = 72, per-window meal_labels equal to the subject's trapezoid labels at the
    /// window's steps; stratified by diabetes_status from subjects.csv; a missing column is an error naming the key.
    func testMealDetectionPresetWindowsCarryTrapezoidLabels() throws {
        let dir = CSVTempDir()
        var csv = "subject_id,timestamp,glucose_mg_dl,carbs_g\n"
        var mealSteps: [String: [Int]] = [:]
        for s in 0 ..< 6 {
            let meals = [30 + s, 100 + 2 * s]
            mealSteps["S\(s)"] = meals
            for k in 0 ..< 180 {
                let g = 110 + 20 * sin(Double(k) / 20 + Double(s))
                csv += "S\(s),\(gridT0 + Int64(k * 300)),\(String(format: "%.1f", g)),\(meals.contains(k) ? "40" : "")\n"
            }
        }
        let cgm = dir.write("cgm.csv", csv)
        let subjects = dir.write("subjects.csv", "subject_id,diabetes_status\n"
                                 + (0 ..< 6).map { "S\($0),\($0 % 2 == 0 ? "none" : "t2d")\n" }.joined())
        var config = try DataConfig.parse(["preset": "meal_detection", "stride": 12])
        XCTAssertEqual([config.history, config.horizon, config.mealPlateau, config.mealRamp], [72, 1, 2, 2])
        XCTAssertTrue(config.mealLabels)
        XCTAssertEqual(config.stratify, "diabetes_status")
        XCTAssertFalse(config.qc.contains(.twinMatching))
        let prepared = try CohortPipeline.prepare(config: config, cgmPath: cgm, subjectsPath: subjects)
        var checked = 0
        for name in SplitName.allCases {
            let set = prepared.windows(name)
            XCTAssertNil(set.validate())
            guard set.count > 0 else { continue }
            let labels = try XCTUnwrap(set.extras[WindowExtras.mealLabels])
            XCTAssertEqual(labels.shape, [72])
            for w in 0 ..< set.count {
                let id = set.subjects[Int(set.subject[w])]
                let decision = Int((set.decisionTime[w] - gridT0) / 300)
                let expected = MealEvents.smoothedLabels(events: mealSteps[id]!, count: 180, plateau: 2, ramp: 2)
                assertEqual(Array(labels.values[w * 72 ..< (w + 1) * 72]), Array(expected[decision - 71 ... decision]), "\(id) @\(decision)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, 6 * 9, "decision indices 71, 83, …, 167 for each of 6 subjects")
        // Stratified: 6 subjects → 4/1/1; the two statuses (3 subjects each) take 2 training places each.
        let split = try XCTUnwrap(prepared.subjectSplit)
        XCTAssertEqual(split.train.map { Int($0.dropFirst())! % 2 }.sorted(), [0, 0, 1, 1], "\(split)")
        XCTAssertEqual(split.validation.count + split.test.count, 2)

        config.stratify = "hba1c"
        assertDataError({ _ = try CohortPipeline.prepare(config: config, cgmPath: cgm, subjectsPath: subjects) },
                        file: nil, line: nil, key: .config("data.stratify"), contains: "hba1c")
    }
}
