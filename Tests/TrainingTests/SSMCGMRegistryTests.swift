// `model.name: tft` and `model.name: ssm_cgm`: configs/{ssm-cgm,tft}-{12,24,48}h.yaml resolve to Table 4
// (model and protocol) with L = 144 / 288 / 576 and H = 12; strict key errors; models built for a dataset's
// feature lists and static kinds (DatasetShape.staticCardinalities, from the recorded FeatureSpec), and a
// build error when those kinds are unknown. Plus the Table 1 computation (ContextComparison): values
// against hand-computed QL/MAE/RMSE, naive QL = naive MAE for symmetric levels, intervals that contain
// the value and do not depend on record order.

import CGMData
import CGMSchema
import Foundation
@testable import Models
import XCTest
@testable import Evaluation
@testable import Training

final class SSMCGMRegistryTests: XCTestCase {
    func parse(_ yaml: String) throws -> RunConfig { try RunConfig.parse(yaml: yaml, source: "test.yaml") }

    func error(_ yaml: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try parse(yaml)
            XCTFail("expected an error", file: file, line: line)
            return ""
        } catch {
            return "\(error)"
        }
    }

    func testConfigsHaveTable4() throws {
        for (hours, l) in [(12, 144), (24, 288), (48, 576)] {
            for model in ["ssm-cgm", "tft"] {
                let path = ConfigTests.packageRoot.appendingPathComponent("configs/\(model)-\(hours)h.yaml").path
                let c = try RunConfig.load(path: path)
                XCTAssertEqual(c.data?.history, l, path)
                XCTAssertEqual(c.data?.horizon, 12, path)
                XCTAssertEqual(c.data?.split, .temporal, path)
                let t = c.train
                XCTAssertEqual(t.batchSize, 32)
                XCTAssertEqual(t.optimizer.lr, 1e-3)
                XCTAssertEqual(t.maxEpochs, 30)
                XCTAssertEqual(t.earlyStopping.patience, 15)
                XCTAssertEqual(t.valCheckInterval, .fraction(0.2))
                XCTAssertEqual(t.gradientClip, 1.0)
                XCTAssertEqual(t.scheduler.name, .reduceOnPlateau)
                if model == "tft" {
                    let spec = try XCTUnwrap(c.model.spec(as: TFTSpec.self))
                    XCTAssertEqual(c.model.name, "tft")
                    XCTAssertEqual(spec.quantiles, [0.1, 0.5, 0.9])
                    XCTAssertEqual(spec.dropout, 0.2)
                    XCTAssertEqual([spec.hidden, spec.heads, spec.lstmLayers], [128, 8, 4])
                } else {
                    let spec = try XCTUnwrap(c.model.spec(as: SSMCGMSpec.self))
                    XCTAssertEqual(c.model.name, "ssm_cgm")
                    XCTAssertEqual(spec.quantiles, [0.1, 0.5, 0.9])
                    XCTAssertEqual(spec.dropout, 0.2)
                    XCTAssertEqual([spec.dModel, spec.depth, spec.dState, spec.dConv, spec.expand, spec.headdim, spec.ngroups, spec.chunk],
                                   [128, 4, 128, 8, 4, 64, 1, 128])
                    XCTAssertEqual(spec.variant, .mes)
                }
                // The same data section, so one prepared dataset serves both models.
                let other = try RunConfig.load(path: path.replacingOccurrences(of: "/\(model)-", with: model == "tft" ? "/ssm-cgm-" : "/tft-"))
                XCTAssertEqual(other.data, c.data)
                XCTAssertEqual(try parse(c.yaml), c, "resolved YAML round-trips")
            }
        }
        // Defaults alone are Table 4 too.
        XCTAssertEqual(try parse("model: {name: ssm_cgm}").model, try RunConfig.load(
            path: ConfigTests.packageRoot.appendingPathComponent("configs/ssm-cgm-24h.yaml").path).model)
    }

    func testKeyErrors() {
        XCTAssertTrue(error("model: {name: ssm_cgm, lstm_layers: 2}").contains("model.lstm_layers is not a known key for model ssm_cgm"))
        XCTAssertTrue(error("model: {name: tft, depth: 2}").contains("model.depth is not a known key for model tft"))
        XCTAssertTrue(error("model: {name: ssm_cgm, d_model: 16, headdim: 6}").contains("model.headdim must divide expand · d_model = 64"))
        XCTAssertTrue(error("model: {name: ssm_cgm, variant: fast}").contains("model.variant must be standard or mes"))
        XCTAssertTrue(error("model: {name: ssm_cgm, ngroups: 2}").contains("model.ngroups must be 1 for variant mes"))
        XCTAssertTrue(error("model: {name: tft, quantiles: [0.5, 0.1]}").contains("model.quantiles must be strictly ascending"))
        XCTAssertTrue(error("model: {name: tft, quantiles: [0.1, 1.5]}").contains("model.quantiles item 1 must be a number in (0, 1)"))
        XCTAssertTrue(error("model: {name: tft, hidden: 8, heads: 9}").contains("model.heads must be ≤ 8"))
        XCTAssertTrue(error("model: {name: ssm_cgm, heads: 3}").contains("model.heads must divide expand · d_model = 512"))
        XCTAssertTrue(error("model: {name: ssm_cgm, heads: 4, headdim: 64}").contains("model.heads 4 disagrees with headdim 64"))
    }

    /// `heads` (the paper's head-dim search axis, configs/sweep-ssm-cgm.yaml) sets headdim = expand · d_model / heads;
    /// the light Mamba's headdim is capped at its d_inner.
    func testHeadsKey() throws {
        for (dModel, heads, headdim) in [(128, 8, 64), (64, 2, 128), (64, 8, 32)] {
            let c = try parse("model: {name: ssm_cgm, d_model: \(dModel), heads: \(heads)}")
            let spec = try XCTUnwrap(c.model.spec(as: SSMCGMSpec.self))
            XCTAssertEqual(spec.headdim, headdim)
            XCTAssertEqual(spec.heads, heads)
            XCTAssertEqual(try parse(c.yaml), c)
        }
        let shape = DatasetShape(history: 4, horizon: 2, pastFeatures: ["a"], futureFeatures: [], staticFeatures: [])
        let m = try XCTUnwrap(try ModelRegistry.build(try parse("""
            model: {name: ssm_cgm, d_model: 8, depth: 1, d_state: 4, heads: 2, residual: false}
            """).model, shape: shape, seed: 1) as? SSMCGMModel)
        XCTAssertEqual(m.config.stackMamba.nheads, 2)
        XCTAssertEqual(m.config.lightMamba.headdim, 8)
        XCTAssertEqual(m.config.lightMamba.nheads, 1)
    }

    func testBuildsForTheDatasetStatics() throws {
        let shape = DatasetShape(history: 6, horizon: 2, pastFeatures: ["cgm_scaled", "tod_sin"], futureFeatures: ["tod_sin"],
                                 staticFeatures: ["subject_id", "age"], staticCardinalities: [5, nil],
                                 glucoseChangeScale: [0.01, 0.014])
        let ssm = try ModelRegistry.build(try parse("""
            model: {name: ssm_cgm, d_model: 8, depth: 1, d_state: 4, expand: 2, headdim: 4, variant: standard, quantiles: [0.2, 0.5, 0.8]}
            """).model, shape: shape, seed: 1)
        let s = try XCTUnwrap(ssm as? SSMCGMModel)
        XCTAssertEqual(s.config.statics, [.categorical("subject_id", cardinality: 5), .real("age")])
        XCTAssertEqual(s.config.variant, .standard)
        XCTAssertEqual(s.config.quantiles, [0.2, 0.5, 0.8])
        XCTAssertEqual(s.config.lightMamba.nheads, 2)
        let tft = try XCTUnwrap(try ModelRegistry.build(try parse("model: {name: tft, hidden: 8, heads: 2, lstm_layers: 1}").model,
                                                        shape: shape, seed: 1) as? TFTModel)
        XCTAssertEqual(tft.config.statics, s.config.statics)
        XCTAssertEqual(tft.config.futureNames, ["tod_sin"])

        var unknown = shape
        unknown.staticCardinalities = []
        XCTAssertThrowsError(try ModelRegistry.build(try parse("model: {name: tft}").model, shape: unknown, seed: 1)) {
            XCTAssertTrue("\($0)".contains("needs the kinds of the static features"), "\($0)")
        }
        // From a recorded FeatureSpec (manifest / checkpoint JSON): categorical cardinality = vocabulary + 1.
        let empty = FeatureSpec(pastFeatures: ["cgm_scaled"], futureFeatures: [], staticFeatures: ["subject_id", "age"])
        let spec = try FeatureSpec(jsonString: try empty.jsonString().replacingOccurrences(of: #""statics":[]"#, with:
            #""statics":[{"kind":"categorical","name":"subject_id","vocabulary":["a","b"]},"#
            + #"{"kind":"real","name":"age","standardization":{"mean":0,"std":1},"vocabulary":[]}]"#))
        XCTAssertEqual(spec.statics.map(\.cardinality), [3, 1])
        XCTAssertEqual(DatasetShape.staticCardinalities(featureSpecJSON: try spec.jsonString(), staticFeatures: ["subject_id", "age"]),
                       [3, nil])
        XCTAssertEqual(DatasetShape.staticCardinalities(featureSpecJSON: try spec.jsonString(), staticFeatures: ["age"]), [])
        XCTAssertEqual(DatasetShape.staticCardinalities(featureSpecJSON: "{", staticFeatures: []), [])
    }

    /// Records of two subjects, H = 2, quantiles at 0.1/0.5/0.9.
    func records(shuffled: Bool = false) throws -> ForecastRecords {
        var r = ForecastRecords(horizon: 2, quantileLevels: [0.1, 0.5, 0.9])
        var items = [
            ForecastRecord(segment: 0, subject: "a", target: [100, 110], prediction: [104, 106], naive: 100,
                           quantiles: [90, 104, 120, 95, 106, 115]),
            ForecastRecord(segment: 1, subject: "a", target: [120, 130], prediction: [118, 133], naive: 115,
                           quantiles: [110, 118, 125, 120, 133, 140]),
            ForecastRecord(segment: 2, subject: "b", target: [200, 190], prediction: [195, 185], naive: 205,
                           quantiles: [180, 195, 199, 170, 185, 200]),
        ]
        if shuffled { items.reverse() }
        for item in items { try r.append(item) }
        return r
    }

    func testContextComparisonValues() throws {
        let table = try ContextComparison.compute([(context: "12 h", model: "ssm_cgm", records: try records())],
                                                  replicates: 200, seed: 3)
        XCTAssertEqual(table.rows.map(\.model), [ModelComparison.naiveLabel, "ssm_cgm"])
        let model = table.rows[1], naive = table.rows[0]
        // Errors: 4, −4, −2, 3, −5, −5 → MAE 23/6, RMSE sqrt(95/6).
        XCTAssertEqual(model.mae.value, 23.0 / 6, accuracy: 1e-9)
        XCTAssertEqual(model.rmse.value, (95.0 / 6).squareRoot(), accuracy: 1e-9)
        let r = try records()
        var pinball = 0.0
        for rec in r.records {
            for j in 0..<2 {
                for (k, level) in [0.1, 0.5, 0.9].enumerated() {
                    pinball += HorizonMetrics.pinball(y: Double(rec.target[j]), q: Double(rec.quantiles[j * 3 + k]), level: level)
                }
            }
        }
        XCTAssertEqual(model.quantileLoss.value, 2 * pinball / 18, accuracy: 1e-6)   // levels are Float
        // Naive errors 0, −10, −5, −15, 5, 15: QL = MAE for levels symmetric about 0.5.
        XCTAssertEqual(naive.mae.value, 50.0 / 6, accuracy: 1e-9)
        XCTAssertEqual(naive.quantileLoss.value, naive.mae.value, accuracy: 1e-6)
        for row in table.rows {
            for e in [row.quantileLoss, row.mae, row.rmse] {
                XCTAssertLessThanOrEqual(e.interval.lower, e.interval.upper)
                XCTAssertGreaterThan(e.interval.upper, e.interval.lower, "two subjects with different errors: a real interval")
            }
        }
        let again = try ContextComparison.compute([(context: "12 h", model: "ssm_cgm", records: try records(shuffled: true))],
                                                  replicates: 200, seed: 3)
        XCTAssertEqual(again, table)
        XCTAssertTrue(table.markdown().contains("| 12 h | ssm_cgm | 3 | 2 | "))
        XCTAssertEqual(table.csv().split(separator: "\n").count, 3)
        XCTAssertEqual(table.modelsNotBeatingNaive(), [])
        var perfectNaive = ForecastRecords(horizon: 2, quantileLevels: [0.1, 0.5, 0.9])
        for var r in try records().records {
            r.naive = r.target[0]
            r.target[1] = r.target[0]
            try perfectNaive.append(r)
        }
        let losing = try ContextComparison.compute([(context: "24 h", model: "tft", records: perfectNaive)], replicates: 10)
        XCTAssertEqual(losing.modelsNotBeatingNaive().count, 1)
        XCTAssertTrue(losing.modelsNotBeatingNaive()[0].hasPrefix("tft at 24 h (MAE "), losing.modelsNotBeatingNaive()[0])
        XCTAssertThrowsError(try ContextComparison.compute([(context: "12 h", model: "m", records: try records()),
                                                            (context: "12 h", model: "m", records: try records())]))
    }
}
