// `cgmtrain compare`'s logic on hand-built records: the shared set is the intersection of windows every
// model has with all values finite (dropped windows counted, non-finite ones attributed to their model);
// the shared worst-K ranks by the mean per-segment RMSE across models (Appendix D), which can differ from
// every model's own worst; the CSVs list them. Plus the `--checkpoint [LABEL=]PATH` parsing, label checks,
// the naive-checkpoint check, and the parameter-less baselines as registered models.

import CGMData
import CGMSchema
import CGMTensor
import Models
import XCTest
@testable import Evaluation
@testable import Training

final class CompareTests: XCTestCase {
    /// A record with constant targets 100 and a constant error `e` at both steps.
    private func record(_ segment: Int, error e: Float, subject: String = "s") -> ForecastRecord {
        ForecastRecord(segment: segment, subject: subject, decisionTime: Int64(segment) * 3600,
                       target: [100, 100], prediction: [100 + e, 100 + e], naive: 100)
    }

    /// A: segments 0…4, finite. B: segment 3 non-finite. C: segment 4 absent, segment 1 infinite.
    /// On the shared segments {0, 2}: A errs by 10 on 0; B and C by 6 on 2 (mean RMSE 3.33 vs 4).
    private func models() throws -> [(name: String, records: ForecastRecords)] {
        let a = try ForecastRecords(horizon: 2, records: (0..<5).map { record($0, error: $0 == 0 ? 10 : 1) })
        let b = try ForecastRecords(horizon: 2, records: (0..<5).map { i in
            i == 3 ? ForecastRecord(segment: 3, subject: "s", decisionTime: 3 * 3600, target: [100, 100],
                                    prediction: [.nan, 100], naive: 100)
                   : record(i, error: i == 2 ? 6 : 0)
        })
        let c = try ForecastRecords(horizon: 2, records: (0..<4).map { i in
            i == 1 ? ForecastRecord(segment: 1, subject: "s", decisionTime: 3600, target: [100, 100],
                                    prediction: [100, .infinity], naive: 100)
                   : record(i, error: i == 2 ? -6 : 0)
        })
        return [("A", a), ("B", b), ("C", c)]
    }

    func testSharedSetIsTheIntersectionOfFiniteWindowsAndDropsAreCounted() throws {
        let c = try ModelComparison.compute(try models(), k: 1)
        XCTAssertEqual(c.segments, 2, "only segments 0 and 2 are present and finite for A, B and C")
        XCTAssertEqual(c.totalSegments, 5)
        XCTAssertEqual(c.droppedSegments, 3)
        XCTAssertEqual(c.nonFiniteSegments, ["A": 0, "B": 1, "C": 1])
        XCTAssertEqual(c.excludedSegments, ["A": 3, "B": 3, "C": 2])
        XCTAssertEqual(c.metrics["A"]?.steps[0].model.n, 2)
        // A's errors on {0, 2} are 10 and 1 at each step.
        XCTAssertEqual(c.metrics["A"]?.steps[1].model.rmse ?? 0, ((100.0 + 1) / 2).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(c.metrics["C"]?.steps[0].model.me ?? 0, -3, accuracy: 1e-12)
        XCTAssertTrue(c.droppedLine.contains("3 of 5 windows dropped") && c.droppedLine.contains("B 1, C 1"), c.droppedLine)
        XCTAssertTrue(c.table().contains(c.droppedLine))
    }

    func testSharedWorstRanksByTheMeanRMSEAcrossModels() throws {
        let c = try ModelComparison.compute(try models(), k: 1)
        // A alone finds segment 0 worst (error 10); averaged over A, B, C segment 2 is worse (1+6+6)/3 > 10/3.
        XCTAssertEqual(c.worstIndependent["A"]?.segments.map(\.segment), [0])
        XCTAssertEqual(c.worstIndependent["B"]?.segments.map(\.segment), [2])
        XCTAssertEqual(c.worstShared.segments.map(\.segment), [2])
        XCTAssertEqual(c.worstShared.segments[0].score, 13.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(c.worstShared.summaries["A"]?.rmse ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(c.worstShared.summaries["C"]?.me ?? 0, -6, accuracy: 1e-12)
        XCTAssertEqual(c.worstShared.summaries[WorstSegments.naiveName]?.rmse ?? 1, 0, accuracy: 1e-12)

        let shared = c.worstSharedCSV().split(separator: "\n").map(String.init)
        XCTAssertEqual(shared.count, 1 + 1)
        XCTAssertEqual(shared[0], "rank,segment,subject,group,decision_time,decision_time_utc,mean_rmse,a_rmse,a_mae,a_me,"
            + "b_rmse,b_mae,b_me,c_rmse,c_mae,c_me,naive_baseline_rmse,naive_baseline_mae,naive_baseline_me")
        XCTAssertTrue(shared[1].hasPrefix("1,2,s,unknown,7200,1970-01-01T02:00:00Z,"), shared[1])
        let independent = c.worstIndependentCSV().split(separator: "\n").map(String.init)
        XCTAssertEqual(independent.count, 1 + 3)
        XCTAssertTrue(independent[1].hasPrefix("A,1,0,s,"), independent[1])

        // With K covering the shared set, the ranking is complete and ordered by the mean.
        let all = try ModelComparison.compute(try models(), k: 10)
        XCTAssertEqual(all.worstShared.segments.map(\.segment), [2, 0])
    }

    func testPerHorizonCSVHasEveryStepWithDispersion() throws {
        let c = try ModelComparison.compute(try models(), k: 1)
        let lines = c.perHorizonCSV().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 1 + 2)
        let header = lines[0].split(separator: ",").map(String.init)
        XCTAssertEqual(header.count, 1 + 4 * 6)
        XCTAssertEqual(Array(header.prefix(4)), ["minutes_ahead", "naive_baseline_rmse", "naive_baseline_mae", "naive_baseline_me"])
        XCTAssertTrue(header.contains("c_iqr") && header.contains("a_max"), lines[0])
        let row = Dictionary(uniqueKeysWithValues: zip(header, lines[2].split(separator: ",").map(String.init)))
        XCTAssertEqual(row["minutes_ahead"], "10")
        XCTAssertEqual(Double(row["a_max"]!), 10)
        XCTAssertEqual(Double(row["c_min"]!), -6)
    }

    func testCheckpointArgumentsAndLabels() throws {
        let labelled = try ComparedCheckpoint(argument: "Seq2Seq + ODE=runs/physio/best.h5")
        XCTAssertEqual(labelled.label, "Seq2Seq + ODE")
        XCTAssertEqual(labelled.path, "runs/physio/best.h5")
        let plain = try ComparedCheckpoint(argument: "runs/lr=1e-3/best.h5")
        XCTAssertNil(plain.label, "an '=' inside a path is not a label")
        XCTAssertEqual(plain.path, "runs/lr=1e-3/best.h5")
        XCTAssertThrowsError(try ComparedCheckpoint(argument: "=runs/a.h5"))
        XCTAssertThrowsError(try ComparedCheckpoint(argument: "A="))
        XCTAssertNoThrow(try ComparedCheckpoint.checkLabels([("A", "a.h5"), ("B", "b.h5")]))
        XCTAssertThrowsError(try ComparedCheckpoint.checkLabels([("seq2seq", "a.h5"), ("seq2seq", "b.h5")])) {
            XCTAssertTrue("\($0)".contains("a.h5") && "\($0)".contains("b.h5") && "\($0)".contains("LABEL=PATH"), "\($0)")
        }
        XCTAssertThrowsError(try ComparedCheckpoint.checkLabels([("Naive Baseline", "a.h5")]))
    }

    func testNaiveCheckpointMustEqualTheBuiltInBaseline() throws {
        let same = try ForecastRecords(horizon: 2, records: [
            ForecastRecord(segment: 0, subject: "s", target: [90, 95], prediction: [101.5, 101.5], naive: 101.5),
            ForecastRecord(segment: 1, subject: "s", target: [.nan, 95], prediction: [7, 7], naive: 80),   // not evaluable
        ])
        XCTAssertEqual(try ModelComparison.checkNaiveCheckpoint(same, path: "n.h5"), 1)
        let different = try ForecastRecords(horizon: 2, records: [
            ForecastRecord(segment: 4, subject: "s", target: [90, 95], prediction: [101.5, 101.6], naive: 101.5),
        ])
        XCTAssertThrowsError(try ModelComparison.checkNaiveCheckpoint(different, path: "n.h5")) {
            XCTAssertTrue("\($0)".contains("segment 4") && "\($0)".contains("n.h5") && "\($0)".contains("step 2"), "\($0)")
        }
    }

    func testBaselinesAreRegisteredParameterlessModels() throws {
        let shape = DatasetShape(history: 3, horizon: 4, pastFeatures: ["iob_scaled", "cgm_scaled"],
                                 futureFeatures: ["iob_scaled"], staticFeatures: [])
        let naiveConfig = try RunConfig.parse(yaml: "model: {name: naive}\n").model
        XCTAssertEqual(naiveConfig.node.yaml.contains("huber_delta"), true)
        let naive = try ModelRegistry.build(naiveConfig, shape: shape, seed: 0)
        XCTAssertEqual(naive.name, "naive")
        XCTAssertEqual(naive.store.count, 0)
        XCTAssertThrowsError(try RunConfig.parse(yaml: "model: {name: naive, hidden: 64}\n")) {
            XCTAssertTrue("\($0)".contains("hidden"), "\($0)")
        }
        var noCGM = shape
        noCGM.pastFeatures = ["cgm", "iob_scaled"]
        XCTAssertThrowsError(try ModelRegistry.build(naiveConfig, shape: noCGM, seed: 0)) {
            XCTAssertTrue("\($0)".contains("cgm_scaled"), "\($0)")
        }
        let twinConfig = try RunConfig.parse(yaml: "model: {name: digital_twin}\n").model
        XCTAssertThrowsError(try ModelRegistry.build(twinConfig, shape: shape, seed: 0)) {
            XCTAssertTrue("\($0)".contains("twin_forecast"), "\($0)")
        }

        // The naive model forecasts exactly the evaluator's built-in baseline: the last cgm_scaled value, unscaled.
        var batch = Batch(count: 2, history: 3, horizon: 4, pastFeatureCount: 2, futureFeatureCount: 1, staticFeatureCount: 0)
        for i in 0..<batch.past.count { batch.past[i] = Float(i % 7) * 0.13 - 0.2 }
        for i in 0..<batch.target.count { batch.target[i] = 90 + Float(i) }
        let g = Graph(training: false, recording: false)
        let point = naive.forecast(batch, g).point
        let builtIn = try LastObservedGlucose(pastFeatures: shape.pastFeatures, spec: nil).values(batch)
        XCTAssertEqual(point.shape, [2, 4])
        XCTAssertEqual(point.scalars.map(\.bitPattern), builtIn.flatMap { Array(repeating: $0.bitPattern, count: 4) })
        XCTAssertNotEqual(builtIn[0], builtIn[1], "the fixture's two windows end at different glucose values")
        // Its loss is eq. 15 on that forecast in scaled space.
        let scaledForecast = Tensor(shape: [2, 4], scalars: point.scalars.map(FeatureCatalog.scaleCGM))
        let want = g.huberLoss(g.constant(scaledForecast), g.constant(batch.scaledTarget), delta: 1).value.scalar
        XCTAssertEqual(naive.loss(batch, g).value.scalar, want, accuracy: 1e-6)
    }
}
