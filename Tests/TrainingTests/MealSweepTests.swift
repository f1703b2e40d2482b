import CGMData
@testable import Inference
import XCTest
@testable import Training

final class MealSweepTests: XCTestCase {
    /// A timeline whose windows say 0.9 inside the meal plateaus and 0.1 elsewhere, except one window that
    /// says 0.6 at a non-meal step: every θ in (0.1, 0.6] with ρ above that window's share still finds both meals
    /// and nothing else (F1 1); θ > 0.9 finds nothing. The sweep's best pair has F1 1, and the CSV has a row per pair.
    func testSweepFindsThePerfectRegionAndWritesEveryPair() {
        let count = 40, L = 8
        let labels = MealEvents.smoothedLabels(events: [10, 28], count: count, plateau: 2, ramp: 2)
        let starts = Array(0 ... count - L)
        var p = [Float]()
        for s in starts {
            for l in 0 ..< L {
                let t = s + l
                p.append(labels[t] >= 1 ? 0.9 : (s == 17 && t == 20 ? 0.6 : 0.1))
            }
        }
        let timeline = MealTimeline(subject: "A", start: 0, count: count, glucose: [Float](repeating: 100, count: count),
                                    length: L, starts: starts, probabilities: p, labels: labels)
        XCTAssertEqual(timeline.truthSegments, [8 ..< 13, 26 ..< 31])
        let exact = timeline.counts(theta: 0.5, rho: 0.5)
        XCTAssertEqual([exact.recall, exact.precision, exact.matchedRecall, exact.matchedPrecision], [1, 1, 1, 1])
        XCTAssertEqual(exact.flaggedSteps, 10)
        XCTAssertEqual(exact.coveredSteps, count)
        // θ = 0.5, ρ = 0.1: the lone 0.6 vote is 1 of 8 windows at t = 20 → ratio 0.125 ≥ 0.1 → a false event.
        let loose = timeline.counts(theta: 0.5, rho: 0.1)
        XCTAssertEqual(loose.predicted, 3)
        XCTAssertEqual(loose.precision, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(timeline.counts(theta: 0.95, rho: 0.5).predicted, 0)

        let sweep = MealThresholdSweep([timeline])
        let best = sweep.best()
        XCTAssertEqual(best.counts.f1, 1)
        XCTAssertEqual(sweep.best(.oneToOne).counts.matchedF1, 1)
        XCTAssertEqual(sweep.csv.split(separator: "\n").count, 1 + 19 * 19)
        XCTAssertTrue(sweep.heatmap().render().contains("<svg"))
    }
}
