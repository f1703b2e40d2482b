import CGMData
import CGMSchema
import CGMTensor
import Distributed
import Models
import XCTest
@testable import Evaluation
@testable import Training

/// 3 segments × 2 horizon steps, quantile levels 0.1/0.5/0.9; the golden values below are worked out by hand
/// (errors = prediction − target):
///   model step 1: [2, −5, 4]   step 2: [−5, 10, 0]      naive (last value) step 1: [−2, 5, 5]   step 2: [−12, 15, −5]
enum EvalFixture {
    static func records(quantiles: Bool = true) -> ForecastRecords {
        let q: [[Float]] = [[95, 102, 108, 100, 105, 112], [140, 145, 149, 135, 150, 160], [78, 84, 90, 85, 90, 95]]
        let base = [
            ForecastRecord(segment: 0, subject: "a", group: "T1D", decisionTime: 1000, target: [100, 110],
                           prediction: [102, 105], naive: 98, quantiles: quantiles ? q[0] : []),
            ForecastRecord(segment: 1, subject: "b", group: "T2D", decisionTime: 2000, target: [150, 140],
                           prediction: [145, 150], naive: 155, quantiles: quantiles ? q[1] : []),
            ForecastRecord(segment: 2, subject: "a", group: "T1D", decisionTime: 3000, target: [80, 90],
                           prediction: [84, 90], naive: 85, quantiles: quantiles ? q[2] : []),
        ]
        return try! ForecastRecords(horizon: 2, quantileLevels: quantiles ? [0.1, 0.5, 0.9] : [], records: base)
    }

    /// `subjects` subjects × `perSubject` segments, H steps; errors with a per-subject bias (seeded).
    static func synthetic(subjects: Int, perSubject: Int = 6, horizon: Int = 4, seed: UInt64 = 7) -> ForecastRecords {
        var rng = BootstrapRNG(seed: seed)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        var list: [ForecastRecord] = []
        for s in 0..<subjects {
            let bias = (uniform() - 0.5) * 20
            for k in 0..<perSubject {
                let target = (0..<horizon).map { _ in Float(100 + uniform() * 100) }
                let prediction = target.enumerated().map { j, y in
                    y + Float(bias + (uniform() - 0.5) * 10 * Double(j + 1))
                }
                list.append(ForecastRecord(segment: s * perSubject + k, subject: "s\(s)", group: s % 3 == 0 ? "T2D" : "T1D",
                                           target: target, prediction: prediction, naive: target[0] + Float(uniform() * 30 - 15)))
            }
        }
        return try! ForecastRecords(horizon: horizon, records: list)
    }
}

final class MetricsTests: XCTestCase {
    func testPercentileMatchesNumPyLinear() {
        // numpy.percentile(..., [25, 50, 75]) of these values.
        XCTAssertEqual(Percentile.of([2, -5, -5, 10, 4, 0], [0.25, 0.5, 0.75]), [-3.75, 1, 3.5])
        XCTAssertEqual(Percentile.of([1, 2, 3, 4], [0.25, 0.75]), [1.75, 3.25])
        let p = Percentile.of([0.1, 0.7, 0.2, 0.9, 0.3], [0.025, 0.975])
        XCTAssertEqual(p[0], 0.11, accuracy: 1e-12)
        XCTAssertEqual(p[1], 0.88, accuracy: 1e-12)
        XCTAssertEqual(Percentile.of([7], [0, 0.3, 1]), [7, 7, 7])
        XCTAssertTrue(Percentile.of([], [0.5])[0].isNaN)
        XCTAssertTrue(Percentile.of([1, .nan, 3], [0.5])[0].isNaN)
    }

    func testPerHorizonGoldenValues() {
        let m = HorizonMetrics.compute(EvalFixture.records(), stepMinutes: 5)
        XCTAssertEqual(m.horizon, 2)
        XCTAssertEqual(m.segments, 3)
        XCTAssertEqual(m.subjects, 2)
        XCTAssertEqual(m.steps.map(\.minutes), [5, 10])
        XCTAssertEqual(m.selectedMinutes, [5, 10])

        let s1 = m.steps[0].model
        XCTAssertEqual(s1.n, 3)
        XCTAssertEqual(s1.mae, 11.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(s1.rmse, 15.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s1.me, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(s1.q1, -1.5, accuracy: 1e-12)       // sorted [−5, 2, 4], position 0.5
        XCTAssertEqual(s1.median, 2, accuracy: 1e-12)
        XCTAssertEqual(s1.q3, 3, accuracy: 1e-12)
        XCTAssertEqual(s1.iqr, 4.5, accuracy: 1e-12)
        XCTAssertEqual(s1.min, -5)
        XCTAssertEqual(s1.max, 4)

        let s2 = m.steps[1].model
        XCTAssertEqual(s2.mae, 5, accuracy: 1e-12)
        XCTAssertEqual(s2.rmse, (125.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s2.me, 5.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(s2.iqr, 7.5, accuracy: 1e-12)      // sorted [−5, 0, 10]: 5 − (−2.5)
        XCTAssertEqual(s2.min, -5)
        XCTAssertEqual(s2.max, 10)

        let n1 = m.steps[0].naive, n2 = m.steps[1].naive
        XCTAssertEqual(n1.mae, 4, accuracy: 1e-12)
        XCTAssertEqual(n1.rmse, 18.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(n1.me, 8.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(n1.iqr, 3.5, accuracy: 1e-12)      // sorted [−2, 5, 5]
        XCTAssertEqual(n2.mae, 32.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(n2.rmse, (394.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(n2.me, -2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(n2.iqr, 13.5, accuracy: 1e-12)     // sorted [−12, −5, 15]
        XCTAssertNil(n1.quantile)

        // Overall pools the six errors [2, −5, −5, 10, 4, 0].
        let o = m.overall.model
        XCTAssertEqual(o.n, 6)
        XCTAssertEqual(o.mae, 26.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(o.rmse, (170.0 / 6).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(o.me, 1, accuracy: 1e-12)
        XCTAssertEqual(o.q1, -3.75, accuracy: 1e-12)
        XCTAssertEqual(o.q3, 3.5, accuracy: 1e-12)
        XCTAssertEqual(o.iqr, 7.25, accuracy: 1e-12)
        XCTAssertEqual(m.overall.naive.me, 6.0 / 6, accuracy: 1e-12)   // [−2, −12, 5, 15, 5, −5]
    }

    func testQuantileLossAndCoverageGoldenValues() throws {
        let m = HorizonMetrics.compute(EvalFixture.records())
        // Step 1 pinball sums per segment: 0.5+1+0.8, 1+2.5+0.9, 0.2+2+1 → 9.9 / 9.
        let q1 = try XCTUnwrap(m.steps[0].model.quantile)
        XCTAssertEqual(q1.quantileLoss, 1.1, accuracy: 1e-5)
        XCTAssertEqual(q1.coverage10_90, 2.0 / 3, accuracy: 1e-12)   // segment 1: 150 ∉ [140, 149]
        // Step 2: 1+2.5+0.2, 0.5+5+2, 0.5+0+0.5 → 12.2 / 9; all three covered.
        let q2 = try XCTUnwrap(m.steps[1].model.quantile)
        XCTAssertEqual(q2.quantileLoss, 12.2 / 9, accuracy: 1e-5)
        XCTAssertEqual(q2.coverage10_90, 1, accuracy: 1e-12)
        let overall = try XCTUnwrap(m.overall.model.quantile)
        XCTAssertEqual(overall.quantileLoss, 22.1 / 18, accuracy: 1e-5)
        XCTAssertEqual(overall.coverage10_90, 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(HorizonMetrics.pinball(y: 10, q: 4, level: 0.9), 5.4, accuracy: 1e-12)
        XCTAssertEqual(HorizonMetrics.pinball(y: 4, q: 10, level: 0.9), 0.6, accuracy: 1e-12)

        // Without the 0.1 and 0.9 levels, coverage is NaN (null in JSON) but the loss is still reported.
        let median = try ForecastRecords(horizon: 1, quantileLevels: [0.5], records: [
            ForecastRecord(segment: 0, subject: "a", target: [10], prediction: [12], naive: 10, quantiles: [12]),
        ])
        let mq = try XCTUnwrap(HorizonMetrics.compute(median).steps[0].model.quantile)
        XCTAssertEqual(mq.quantileLoss, 1, accuracy: 1e-12)
        XCTAssertTrue(mq.coverage10_90.isNaN)
        XCTAssertNil(HorizonMetrics.compute(EvalFixture.records(quantiles: false)).steps[0].model.quantile)
    }

    func testSelectedMinutes() {
        XCTAssertEqual(HorizonMetrics.defaultSelectedMinutes(horizon: 48, stepMinutes: 5), [30, 60, 120, 240])
        XCTAssertEqual(HorizonMetrics.defaultSelectedMinutes(horizon: 12, stepMinutes: 5), [5, 15, 30, 60])
        XCTAssertEqual(HorizonMetrics.defaultSelectedMinutes(horizon: 24, stepMinutes: 5), [15, 30, 60, 120])
        XCTAssertEqual(HorizonMetrics.defaultSelectedMinutes(horizon: 10, stepMinutes: 5), [5, 15, 30, 50])
        XCTAssertEqual(HorizonMetrics.defaultSelectedMinutes(horizon: 2, stepMinutes: 5), [5, 10])
        XCTAssertEqual(HorizonMetrics.defaultSelectedMinutes(horizon: 16, stepMinutes: 15), [30, 60, 120, 240])
        XCTAssertEqual(HorizonMetrics.defaultSelectedMinutes(horizon: 6, stepMinutes: 10), [10, 30, 60])
    }

    func testSubgroupBreakdown() throws {
        let groups = HorizonMetrics.bySubgroup(EvalFixture.records())
        XCTAssertEqual(groups.keys.sorted(), ["T1D", "T2D"])
        let t1 = try XCTUnwrap(groups["T1D"])      // segments 0 and 2: step 1 errors [2, 4]
        XCTAssertEqual(t1.segments, 2)
        XCTAssertEqual(t1.subjects, 1)
        XCTAssertEqual(t1.steps[0].model.mae, 3, accuracy: 1e-12)
        XCTAssertEqual(t1.steps[0].model.me, 3, accuracy: 1e-12)
        XCTAssertEqual(t1.steps[1].naive.me, -8.5, accuracy: 1e-12)   // [−12, −5]
        XCTAssertEqual(groups["T2D"]?.steps[1].model.rmse ?? 0, 10, accuracy: 1e-12)
    }

    func testWorstSegmentsByPerSegmentRMSE() throws {
        let w = WorstSegments.select(EvalFixture.records(), k: 2)
        // Per-segment RMSE: seg 0 sqrt(29/2), seg 1 sqrt(125/2), seg 2 sqrt(8).
        XCTAssertEqual(w.segments.map(\.segment), [1, 0])
        XCTAssertEqual(w.segments[0].score, (125.0 / 2).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(w.segments[0].subject, "b")
        XCTAssertEqual(w.segments[0].errors["naive"]?.rmse ?? 0, 125.0.squareRoot(), accuracy: 1e-12)
        let model = try XCTUnwrap(w.summaries["model"])
        XCTAssertEqual(model.segments, 2)
        XCTAssertEqual(model.rmse, ((125.0 / 2).squareRoot() + (29.0 / 2).squareRoot()) / 2, accuracy: 1e-12)
        XCTAssertEqual(model.pooledRMSE, (154.0 / 4).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(model.mae, 22.0 / 4, accuracy: 1e-12)    // |−5|+|10|+|2|+|−5|
        XCTAssertEqual(model.me, 2.0 / 4, accuracy: 1e-12)
        let naive = try XCTUnwrap(w.summaries["naive"])          // seg 1 [5, 15], seg 0 [−2, −12]
        XCTAssertEqual(naive.me, 6.0 / 4, accuracy: 1e-12)
        XCTAssertEqual(naive.mae, 34.0 / 4, accuracy: 1e-12)
        // K larger than the set: everything, worst first.
        XCTAssertEqual(WorstSegments.select(EvalFixture.records(), k: 10).segments.map(\.segment), [1, 0, 2])
    }

    func testWorstSegmentTiesBreakBySegmentID() throws {
        let same = (0..<4).map { ForecastRecord(segment: 10 - $0, subject: "s", target: [0, 0], prediction: [3, -3], naive: 0) }
        let w = WorstSegments.select(try ForecastRecords(horizon: 2, records: same), k: 2)
        XCTAssertEqual(w.segments.map(\.segment), [7, 8])
    }

    /// Model B: perfect on segments 0 and 1, errors [0, 30] on segment 2.
    private func modelB() throws -> ForecastRecords {
        let a = EvalFixture.records(quantiles: false)
        return try ForecastRecords(horizon: 2, records: a.records.map { r in
            var r = r
            r.prediction = r.segment == 2 ? [80, 120] : r.target
            return r
        })
    }

    func testSharedWorstSegmentsUseTheMeanRMSEAcrossModels() throws {
        let a = EvalFixture.records(quantiles: false), b = try modelB()
        XCTAssertEqual(WorstSegments.select(a, k: 1).segments.map(\.segment), [1])
        XCTAssertEqual(WorstSegments.select(b, k: 1).segments.map(\.segment), [2])
        // Mean RMSE: seg 0 (3.81 + 0)/2, seg 1 (7.91 + 0)/2, seg 2 (2.83 + 21.21)/2.
        let shared = try WorstSegments.shared([("A", a), ("B", b)], k: 2)
        XCTAssertEqual(shared.segments.map(\.segment), [2, 1])
        XCTAssertEqual(shared.segments[0].score, (8.0.squareRoot() + 450.0.squareRoot()) / 2, accuracy: 1e-12)
        XCTAssertEqual(shared.summaries.keys.sorted(), ["A", "B", "naive"])
        XCTAssertEqual(shared.summaries["B"]?.rmse ?? 0, 450.0.squareRoot() / 2, accuracy: 1e-12)
        XCTAssertEqual(shared.summaries["A"]?.me ?? 0, 9.0 / 4, accuracy: 1e-12)  // [4, 0] and [−5, 10]
        XCTAssertThrowsError(try WorstSegments.shared([("A", a), ("A", b)]))
        XCTAssertThrowsError(try WorstSegments.shared([("naive", a)]))
    }

    func testIntersectionOfEvaluableSegments() throws {
        let a = EvalFixture.records(quantiles: false)
        var b = try ForecastRecords(horizon: 2, records: a.records.filter { $0.segment != 0 })
        try b.append(ForecastRecord(segment: 7, subject: "c", target: [1, 1], prediction: [1, 1], naive: 1))
        var c = a
        try c.append(ForecastRecord(segment: 7, subject: "c", target: [1, 1], prediction: [.nan, 1], naive: 1))
        XCTAssertEqual(ForecastRecords.commonSegments([a, b]), [1, 2])
        XCTAssertEqual(ForecastRecords.commonSegments([b, c]), [1, 2])       // 7 is NaN in c
        XCTAssertEqual(c.evaluableSegments, [0, 1, 2])
        let shared = try WorstSegments.shared([("A", a), ("B", b)], k: 5)
        XCTAssertEqual(Set(shared.segments.map(\.segment)), [1, 2])
    }

    func testMergingRanksInAnyOrderGivesIdenticalMetrics() throws {
        let all = EvalFixture.synthetic(subjects: 5)
        let even = all.filter { $0.segment % 2 == 0 }, odd = all.filter { $0.segment % 2 == 1 }
        // "Rank 1" also holds a padded duplicate of segment 0, as the distributed sampler produces.
        var oddPadded = odd
        try oddPadded.append(all.records[0])
        let ab = try ForecastRecords.merged([even, oddPadded]), ba = try ForecastRecords.merged([oddPadded, even])
        XCTAssertEqual(ab, all)
        XCTAssertEqual(ba, all)
        let reference = try EvaluationJSON.encode(HorizonMetrics.compute(all))
        XCTAssertEqual(try EvaluationJSON.encode(HorizonMetrics.compute(ab)), reference)
        XCTAssertEqual(try EvaluationJSON.encode(HorizonMetrics.compute(ba)), reference)
        // Records appended one by one in reverse order end up the same.
        var reversed = ForecastRecords(horizon: all.horizon)
        for r in all.records.reversed() { try reversed.append(r) }
        XCTAssertEqual(reversed, all)
    }

    func testMergeRejectsConflictingDuplicatesAndShapeErrors() throws {
        var a = EvalFixture.records(quantiles: false)
        var clash = a.records[0]
        clash.target = [1, 2]
        XCTAssertThrowsError(try a.append(clash)) { error in
            XCTAssertTrue("\(error)".contains("segment 0"), "\(error)")
        }
        XCTAssertThrowsError(try a.append(ForecastRecord(segment: 9, subject: "x", target: [1], prediction: [1, 2], naive: 0))) {
            XCTAssertTrue("\($0)".contains("segment 9"), "\($0)")
        }
        XCTAssertThrowsError(try a.merge(ForecastRecords(horizon: 3)))
        XCTAssertThrowsError(try a.merge(ForecastRecords(horizon: 2, quantileLevels: [0.5])))
        // A duplicate whose forecasts differ in the last bits: the same copy wins whatever the arrival order.
        var nudged = a.records[1]
        nudged.prediction[0] = nudged.prediction[0].nextUp
        var first = a, second = a
        try first.append(nudged)
        var withoutOne = a.filter { $0.segment != 1 }
        try withoutOne.append(nudged)
        second = try ForecastRecords.merged([withoutOne, a])
        XCTAssertEqual(first, second)
    }

    func testSerializationRoundTripAndSingleRankGather() throws {
        let records = EvalFixture.records()
        XCTAssertEqual(try ForecastRecords(serialized: records.serialized()), records)
        let gathered = try records.gathered(over: SingleProcessCommunicator())
        XCTAssertEqual(gathered, records)
        var bytes = records.serialized()
        bytes.removeLast()
        XCTAssertThrowsError(try ForecastRecords(serialized: bytes))
        XCTAssertThrowsError(try ForecastRecords(serialized: Array("nope".utf8)))
        // A rank left without windows sends an empty set whose horizon exceeds its byte count.
        let empty = ForecastRecords(horizon: 48, quantileLevels: [0.1, 0.5, 0.9])
        XCTAssertLessThan(empty.serialized().count, 48)
        XCTAssertEqual(try ForecastRecords(serialized: empty.serialized()), empty)
    }

    func testAppendFromBatchAndForecast() throws {
        var batch = Batch(count: 2, history: 1, horizon: 2, pastFeatureCount: 1, futureFeatureCount: 0,
                          staticFeatureCount: 0)
        batch.indices = [41, 40]
        batch.subject = [1, 0]
        batch.decisionTime = [600, 300]
        batch.target = [100, 110, 150, 140]
        let forecast = Forecast(point: Tensor(shape: [2, 2], scalars: [102, 105, 145, 150]),
                                quantiles: Tensor(shape: [2, 2, 1], scalars: [1, 2, 3, 4]), quantileLevels: [0.5])
        var records = ForecastRecords(horizon: 2, quantileLevels: [0.5])
        try records.append(batch: batch, forecast: forecast, naive: [98, 155], subjectIDs: ["p0", "p1"],
                           groups: ["T2D", ""])
        XCTAssertEqual(records.segmentIDs, [40, 41])
        let r40 = try XCTUnwrap(records.record(segment: 40)), r41 = try XCTUnwrap(records.record(segment: 41))
        XCTAssertEqual(r40.subject, "p0")
        XCTAssertEqual(r40.group, "T2D")
        XCTAssertEqual(r41.group, "unknown")
        XCTAssertEqual(r40.target, [150, 140])
        XCTAssertEqual(r40.prediction, [145, 150])
        XCTAssertEqual(r40.quantiles, [3, 4])
        XCTAssertEqual(r40.naive, 155)
        XCTAssertEqual(r40.decisionTime, 300)
        var noQuantiles = ForecastRecords(horizon: 2)
        XCTAssertThrowsError(try noQuantiles.append(batch: batch, forecast: Forecast(point: Tensor(zeros: [2, 3])),
                                                    naive: [0, 0], subjectIDs: ["p0", "p1"]))
        XCTAssertThrowsError(try records.append(batch: batch, forecast: Forecast(point: Tensor(zeros: [2, 2])),
                                                naive: [0, 0], subjectIDs: ["p0", "p1"]))
        XCTAssertThrowsError(try noQuantiles.append(batch: batch, forecast: Forecast(point: Tensor(zeros: [2, 2])),
                                                    naive: [0, 0], subjectIDs: ["p0"]))
    }
}
