@testable import Evaluation
import XCTest
@testable import Training

final class BootstrapTests: XCTestCase {
    func testSplitMix64ReferenceOutputs() {
        var rng = BootstrapRNG(seed: 0)
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(rng.next(), 0x06C4_5D18_8009_454F)
        var other = BootstrapRNG(seed: 42)
        XCTAssertEqual(other.next(), 0xBDD7_3226_2FEB_6E95)
    }

    func testIndexBelowIsInRangeAndRoughlyUniform() {
        var rng = BootstrapRNG(seed: 3)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[rng.index(below: 7)] += 1 }
        for c in counts { XCTAssertEqual(Double(c), 10_000, accuracy: 400) }
        XCTAssertEqual(rng.index(below: 1), 0)
    }

    func testDeterministicForASeedAndIndependentOfRecordOrder() throws {
        let records = EvalFixture.synthetic(subjects: 8)
        let a = SubjectBootstrap.compute(records, replicates: 200, seed: 11)
        let shuffled = try ForecastRecords.merged([records.filter { $0.segment % 3 == 0 },
                                                   records.filter { $0.segment % 3 != 0 }])
        XCTAssertEqual(SubjectBootstrap.compute(shuffled, replicates: 200, seed: 11), a)
        XCTAssertNotEqual(SubjectBootstrap.compute(records, replicates: 200, seed: 12), a)
        XCTAssertEqual(a.replicates, 200)
        XCTAssertEqual(a.subjects, 8)
        XCTAssertEqual(a.steps.map(\.minutes), [5, 10, 15, 20])
        XCTAssertEqual(a.overall.step, 0)
    }

    func testIntervalsContainThePointEstimates() {
        let records = EvalFixture.synthetic(subjects: 30)
        let m = HorizonMetrics.compute(records)
        let b = SubjectBootstrap.compute(records, replicates: 1000, seed: 1)
        func check(_ ci: MetricIntervals, _ s: ErrorSummary, _ label: String) {
            XCTAssertTrue(ci.mae.contains(s.mae), "\(label) MAE \(s.mae) ∉ \(ci.mae)")
            XCTAssertTrue(ci.rmse.contains(s.rmse), "\(label) RMSE \(s.rmse) ∉ \(ci.rmse)")
            XCTAssertTrue(ci.me.contains(s.me), "\(label) ME \(s.me) ∉ \(ci.me)")
            XCTAssertGreaterThan(ci.rmse.width, 0, label)
        }
        for (step, ci) in zip(m.steps, b.steps) {
            check(ci.model, step.model, "model step \(step.step)")
            check(ci.naive, step.naive, "naive step \(step.step)")
            XCTAssertTrue(ci.difference.mae.contains(step.model.mae - step.naive.mae))
        }
        check(b.overall.model, m.overall.model, "model overall")
    }

    func testIntervalsShrinkWithMoreSubjects() {
        let few = SubjectBootstrap.compute(EvalFixture.synthetic(subjects: 8, seed: 5), replicates: 400, seed: 2)
        let many = SubjectBootstrap.compute(EvalFixture.synthetic(subjects: 128, seed: 5), replicates: 400, seed: 2)
        // Width scales like 1/sqrt(subjects): 4× narrower expected; require at least 2×.
        XCTAssertLessThan(many.overall.model.me.width, few.overall.model.me.width / 2)
        XCTAssertLessThan(many.overall.model.mae.width, few.overall.model.mae.width / 2)
        XCTAssertLessThan(many.steps[3].model.rmse.width, few.steps[3].model.rmse.width / 2)
    }

    func testOneSubjectGivesADegenerateIntervalAtTheEstimate() throws {
        let records = EvalFixture.records().filter { $0.subject == "a" }
        let b = SubjectBootstrap.compute(records, replicates: 50)
        let m = HorizonMetrics.compute(records)
        XCTAssertEqual(b.steps[0].model.mae.lower, m.steps[0].model.mae, accuracy: 1e-12)
        XCTAssertEqual(b.steps[0].model.mae.upper, m.steps[0].model.mae, accuracy: 1e-12)
        XCTAssertEqual(b.overall.naive.rmse.width, 0, accuracy: 1e-12)
        let empty = SubjectBootstrap.compute(ForecastRecords(horizon: 2), replicates: 10)
        XCTAssertTrue(empty.overall.model.mae.lower.isNaN)
    }
}
