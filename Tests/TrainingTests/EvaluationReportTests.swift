@testable import Evaluation
import Foundation
import FoundationXML
import XCTest
#if canImport(FoundationXML)
#endif
@testable import Training

final class EvaluationReportTests: XCTestCase {
    private func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eval-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    func testBuildExcludesNonFiniteSegmentsAndCountsThem() throws {
        var records = EvalFixture.records()
        try records.append(ForecastRecord(segment: 5, subject: "c", target: [1, 2], prediction: [.nan, 2], naive: 1,
                                          quantiles: [0, 1, 2, 0, 1, 2]))
        let report = EvaluationReport.build(model: "seq2seq", records: records,
                                            options: .init(bootstrapReplicates: 100, worstK: 2))
        XCTAssertEqual(report.excludedSegments, 1)
        XCTAssertEqual(report.metrics, HorizonMetrics.compute(EvalFixture.records()))
        XCTAssertEqual(report.subgroups.keys.sorted(), ["T1D", "T2D"])
        XCTAssertEqual(report.worst?.segments.map(\.segment), [1, 0])
        XCTAssertEqual(report.bootstrap?.subjects, 2)
        XCTAssertEqual(report.schemaVersion, EvaluationReport.currentSchemaVersion)
    }

    func testJSONHasNoNaNLiteralAndRoundTrips() throws {
        // No segments at all: every statistic is NaN and must come out as null.
        let empty = EvaluationReport.build(model: "m", records: ForecastRecords(horizon: 2, quantileLevels: [0.5]),
                                           options: .init(bootstrapReplicates: 20), info: ["split": "test"])
        let data = try empty.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertFalse(text.contains("NaN"))
        XCTAssertFalse(text.lowercased().contains("nan,"))
        XCTAssertFalse(text.contains("Infinity"))
        XCTAssertTrue(text.contains("\"mae\" : null"))
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: data))
        XCTAssertEqual(try JSONDecoder().decode(EvaluationReport.self, from: data), empty)

        let full = EvaluationReport.build(model: "m", records: EvalFixture.records(),
                                          options: .init(bootstrapReplicates: 50, worstK: 2))
        let fullData = try full.jsonData()
        XCTAssertEqual(try JSONDecoder().decode(EvaluationReport.self, from: fullData), full)
        XCTAssertEqual(try full.jsonData(), fullData)     // stable bytes
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: fullData) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["bootstrap", "clinical", "excludedSegments", "info", "metrics", "model",
                                          "schemaVersion", "subgroups", "worst"])
        let metrics = try XCTUnwrap(object["metrics"] as? [String: Any])
        let steps = try XCTUnwrap(metrics["steps"] as? [[String: Any]])
        let model = try XCTUnwrap(steps[0]["model"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(model["iqr"] as? Double), 4.5, accuracy: 1e-12)
        let quantile = try XCTUnwrap(model["quantile"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(quantile["coverage10_90"] as? Double), 2.0 / 3, accuracy: 1e-12)
    }

    func testPerHorizonCSVHeaderAndRows() throws {
        let withQ = EvaluationReport.build(model: "m", records: EvalFixture.records(), options: .init(bootstrapReplicates: 0))
        let lines = withQ.perHorizonCSV().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 1 + 2)
        XCTAssertEqual(lines[0], "minutes_ahead,model_mae,model_rmse,model_me,model_iqr,model_min,model_max,model_ql,"
            + "model_coverage_10_90,naive_mae,naive_rmse,naive_me,naive_iqr,naive_min,naive_max,skill,"
            + "model_clarke_a,naive_clarke_a,model_clarke_ab,naive_clarke_ab,model_parkes_ab,naive_parkes_ab,model_mard,"
            + "naive_mard,model_lag_minutes,naive_lag_minutes,model_hypo_sensitivity,naive_hypo_sensitivity,"
            + "model_hypo_precision,naive_hypo_precision,model_hyper_sensitivity,naive_hyper_sensitivity,"
            + "model_hyper_precision,naive_hyper_precision")
        let row = lines[1].split(separator: ",").map(String.init)
        XCTAssertEqual(row.count, 34)
        XCTAssertEqual(Double(row[15])!, 1 - 15.0.squareRoot() / Double(row[10])!, accuracy: 1e-12, "skill = 1 − RMSE/RMSE_naive")
        XCTAssertEqual(row[0], "5")
        XCTAssertEqual(Double(row[2])!, 15.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(Double(row[4])!, 4.5, accuracy: 1e-12)
        XCTAssertEqual(Double(row[5])!, -5)
        XCTAssertEqual(Double(row[8])!, 2.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(Double(row[9])!, 4, accuracy: 1e-12)
        XCTAssertEqual(lines[2].split(separator: ",").first, "10")

        let noQ = EvaluationReport.build(model: "m", records: EvalFixture.records(quantiles: false),
                                         options: .init(bootstrapReplicates: 0))
        let header = try XCTUnwrap(noQ.perHorizonCSV().split(separator: "\n").first)
        XCTAssertEqual(header.split(separator: ",").count, 32)
        XCTAssertFalse(header.contains("model_ql"))
        let emptyCSV = EvaluationReport.build(model: "m", records: ForecastRecords(horizon: 3),
                                              options: .init(bootstrapReplicates: 0)).perHorizonCSV()
        XCTAssertTrue(emptyCSV.contains(",nan,"))
        XCTAssertEqual(emptyCSV.split(separator: "\n").count, 4)
    }

    func testPrintedTableUsesTheSelectedHorizons() {
        let records = EvalFixture.synthetic(subjects: 4, horizon: 12)
        let report = EvaluationReport.build(model: "toy", records: records, options: .init(bootstrapReplicates: 50))
        let table = report.table()
        for label in ["5 min", "15 min", "30 min", "60 min", "all", "RMSE 95% CI", "naive RMSE", "T1D", "T2D",
                      "Worst 24 segments"] {
            XCTAssertTrue(table.contains(label), "missing '\(label)' in\n\(table)")
        }
        XCTAssertFalse(table.contains("120 min"))
        XCTAssertFalse(table.contains("10 min "))
        let long = EvaluationReport.build(model: "s2s", records: EvalFixture.synthetic(subjects: 2, horizon: 48),
                                          options: .init(bootstrapReplicates: 0, worstK: 0))
        let longTable = long.table()
        for label in ["30 min", "60 min", "120 min", "240 min"] { XCTAssertTrue(longTable.contains(label)) }
        XCTAssertFalse(longTable.contains("CI"))
        // Rows line up: every data line of the first table has the same length as its header.
        let block = longTable.split(separator: "\n").dropFirst().prefix(7).map(\.count)
        XCTAssertEqual(Set(block).count, 1, longTable)
    }

    func testWriteToDirectoryCreatesBothFilesAtomically() throws {
        let dir = try temporaryDirectory() + "/out/nested"
        let report = EvaluationReport.build(model: "m", records: EvalFixture.records(), options: .init(bootstrapReplicates: 20))
        try report.write(toDirectory: dir)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["metrics.json", "per_horizon.csv"])
        XCTAssertEqual(try EvaluationReport.load(dir + "/metrics.json"), report)
        let plot = try SVGInspector.parse(report.errorPlot(.me).render())
        XCTAssertEqual(plot.classCounts["path.series"], 2)
        let file = try temporaryDirectory() + "/file"
        _ = FileManager.default.createFile(atPath: file, contents: Data())
        XCTAssertThrowsError(try report.write(toDirectory: file)) { XCTAssertTrue("\($0)".contains(file)) }
        XCTAssertThrowsError(try EvaluationReport.load(dir + "/missing.json")) {
            XCTAssertTrue("\($0)".contains("missing.json"))
        }
    }

    private func comparisonModels() throws -> [(name: String, records: ForecastRecords)] {
        let a = EvalFixture.records(quantiles: false)
        var b = try ForecastRecords(horizon: 2, records: a.records.map { r in
            var r = r
            r.prediction = r.segment == 2 ? [80, 120] : r.target
            return r
        })
        try b.append(ForecastRecord(segment: 9, subject: "z", target: [1, 1], prediction: [1, 1], naive: 1))
        return [("Seq2Seq + ODE", a), ("Recursive LSTM", b)]
    }

    func testComparisonOnTheSharedSegments() throws {
        let c = try ModelComparison.compute(try comparisonModels(), k: 2)
        XCTAssertEqual(c.models, ["Seq2Seq + ODE", "Recursive LSTM"])
        XCTAssertEqual(c.segments, 3)
        XCTAssertEqual(c.excludedSegments, ["Seq2Seq + ODE": 0, "Recursive LSTM": 1])
        XCTAssertEqual(c.metrics["Seq2Seq + ODE"], HorizonMetrics.compute(EvalFixture.records(quantiles: false)))
        XCTAssertEqual(c.metrics["Recursive LSTM"]?.steps[1].model.rmse ?? 0, (900.0 / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(c.worstShared.segments.map(\.segment), [2, 1])
        XCTAssertEqual(c.worstIndependent["Recursive LSTM"]?.segments.first?.segment, 2)
        XCTAssertEqual(c.worstIndependent["Seq2Seq + ODE"]?.segments.first?.segment, 1)

        let table = c.table()
        for label in ["Naive Baseline", "Seq2Seq + ODE", "Recursive LSTM", "5 min", "10 min", "[Min, Max]",
                      "Independent", "Shared"] {
            XCTAssertTrue(table.contains(label), "missing '\(label)' in\n\(table)")
        }
        let csv = c.tableCSV().split(separator: "\n").map(String.init)
        XCTAssertEqual(csv.count, 1 + 3)
        XCTAssertEqual(csv[0], "model,rmse_5min,mae_5min,me_5min,iqr_5min,min_5min,max_5min,"
            + "rmse_10min,mae_10min,me_10min,iqr_10min,min_10min,max_10min,"
            + "skill_5min,skill_lower_5min,skill_upper_5min,clarke_ab_5min,parkes_ab_5min,mard_5min,lag_minutes_5min,"
            + "skill_10min,skill_lower_10min,skill_upper_10min,clarke_ab_10min,parkes_ab_10min,mard_10min,lag_minutes_10min")
        XCTAssertTrue(csv[1].hasPrefix("Naive Baseline,"))
        XCTAssertEqual(Double(csv[1].split(separator: ",")[1])!, 18.0.squareRoot(), accuracy: 1e-12)
        let perHorizon = c.perHorizonCSV().split(separator: "\n").map(String.init)
        XCTAssertEqual(perHorizon.count, 1 + 2)
        XCTAssertTrue(perHorizon[0].hasPrefix("minutes_ahead,naive_baseline_rmse,naive_baseline_mae,naive_baseline_me,"
            + "seq2seq___ode_rmse"))
        XCTAssertEqual(perHorizon[1].split(separator: ",").count, 1 + 3 * 6, "RMSE, MAE, ME, IQR, min, max per row")

        let dir = try temporaryDirectory()
        try c.write(toDirectory: dir)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), [
            "compare.csv", "compare.json", "compare_mae.svg", "compare_me.svg", "compare_per_horizon.csv",
            "compare_rmse.svg", "compare_worst_independent.csv", "compare_worst_shared.csv",
        ])
        let svg = try SVGInspector.parse(try String(contentsOfFile: dir + "/compare_rmse.svg", encoding: .utf8))
        XCTAssertEqual(svg.classCounts["path.series"], 3)
        let decoded = try JSONDecoder().decode(ModelComparison.self,
                                               from: Data(contentsOf: URL(fileURLWithPath: dir + "/compare.json")))
        XCTAssertEqual(decoded, c)
    }

    func testComparisonRejectsModelsEvaluatedOnDifferentData() throws {
        var models = try comparisonModels()
        models[1].records = try ForecastRecords(horizon: 2, records: models[1].records.records.map { r in
            var r = r
            if r.segment == 1 { r.target = [151, 140] }
            return r
        })
        XCTAssertThrowsError(try ModelComparison.compute(models)) { XCTAssertTrue("\($0)".contains("segment 1"), "\($0)") }
        let disjoint = try ForecastRecords(horizon: 2, records: [
            ForecastRecord(segment: 99, subject: "q", target: [1, 1], prediction: [1, 1], naive: 1),
        ])
        XCTAssertThrowsError(try ModelComparison.compute([("A", EvalFixture.records()), ("B", disjoint)]))
    }
}
