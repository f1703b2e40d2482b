// The data side of issue 14: the residual targets' change scale σ_h (GlucoseChangeScale) on series with known
// changes, the per-subject time-fraction split (temporal_fraction: any horizon, no target in two splits, scaling
// fitted before the first boundary), and optional features left out of glucose-only data and reported.

import CGMData
import CGMSchema
import Foundation
import XCTest

final class ResidualDataTests: XCTestCase {
    /// Glucose-only CSV: `subjects` subjects, `hours` of 5-minute readings, glucose g(k) per subject and step.
    func csv(subjects: Int, hours: Int, _ g: (Int, Int) -> Double) -> String {
        var out = "subject_id,timestamp,glucose_mg_dl\n"
        for s in 0 ..< subjects {
            for k in 0 ..< hours * 12 { out += "S\(s),\(gridT0 + Int64(k * 300)),\(String(format: "%.4f", g(s, k)))\n" }
        }
        return out
    }

    func testChangeScaleIsTheRMSChangeOfScaledGlucose() throws {
        // A geometric ramp is linear in eq. 11's log scale: s(g_{k+h}) − s(g_k) = h·c for every k, so σ_h = h·c.
        let rate = 1.004, c = 2 * log(rate) / (log(400.0) - log(40.0))
        let dir = CSVTempDir()
        let cgm = dir.write("cgm.csv", csv(subjects: 3, hours: 6) { _, k in 60 * pow(rate, Double(k)) })
        var config = try DataConfig.parse(["preset": "custom", "history": 6, "horizon": 4, "stride": 2,
                                           "past_features": ["cgm_scaled"], "future_features": [], "split": "temporal_fraction"])
        config.qc = [.residualNaN]
        let prepared = try CohortPipeline.prepare(config: config, cgmPath: cgm)
        let scale = try XCTUnwrap(prepared.spec.glucoseChangeScale)
        XCTAssertEqual(scale.rms.count, 4)
        for h in 1 ... 4 { XCTAssertEqual(scale.rms[h - 1], Double(h) * c, accuracy: 2e-4 * Double(h) * c, "Float rounding of s(g)") }
        XCTAssertGreaterThan(scale.pairs[0], scale.pairs[3], "fewer pairs reach further ahead")
        // The window-based fit of the same data agrees.
        let fromWindows = GlucoseChangeScale.fit(windows: prepared.train)
        for h in 0 ..< 4 { XCTAssertEqual(fromWindows.rms[h], scale.rms[h], accuracy: 2e-4 * scale.rms[h]) }
        // The spec records it, and it survives the JSON round trip (manifests and checkpoints).
        XCTAssertEqual(try FeatureSpec(jsonString: try prepared.spec.jsonString()).glucoseChangeScale, scale)
    }

    func testTemporalFractionSplitCutsEverySubjectsSpan() throws {
        let dir = CSVTempDir()
        let cgm = dir.write("cgm.csv", csv(subjects: 3, hours: 40) { s, k in 120 + 40 * sin(Double(k) / 20 + Double(s)) })
        let config = try DataConfig.parse(["preset": "physio_seq2seq", "stride": 3, "split": "temporal_fraction",
                                           "fractions": [0.6, 0.2, 0.2]])
        XCTAssertEqual(config.horizon, 48, "any horizon (the temporal split refuses more than 12 steps)")
        let prepared = try CohortPipeline.prepare(config: config, cgmPath: cgm)
        XCTAssertEqual(prepared.split.method, "temporal_fraction")
        XCTAssertEqual(prepared.split.subjects, [3, 3, 3], "every subject is in every split")
        let span = Int64(40 * 3600 - 300), targetSpan = Int64(48 * 300)
        let b1 = gridT0 + Int64(Double(span) * 0.6), b2 = gridT0 + Int64(Double(span) * 0.8)
        for t in prepared.train.decisionTime { XCTAssertLessThanOrEqual(t + targetSpan, b1) }
        for t in prepared.validation.decisionTime { XCTAssertGreaterThanOrEqual(t, b1); XCTAssertLessThanOrEqual(t + targetSpan, b2) }
        for t in prepared.test.decisionTime { XCTAssertGreaterThanOrEqual(t, b2) }
        XCTAssertGreaterThan(prepared.split.discarded, 0, "windows whose targets straddle a boundary are dropped")
        XCTAssertGreaterThan(prepared.test.count, 0)
        // Scaling is fitted on data before the first boundary: the change scale's pairs stop there.
        let all = try CohortPipeline.prepare(config: try DataConfig.parse(["preset": "physio_seq2seq", "stride": 3,
                                                                           "fractions": [1.0, 0.0, 0.0]]), cgmPath: cgm)
        XCTAssertLessThan(try XCTUnwrap(prepared.spec.glucoseChangeScale).pairs[0], try XCTUnwrap(all.spec.glucoseChangeScale).pairs[0])
        XCTAssertThrowsError(try DataConfig.parse(["split": "random"])) { XCTAssertTrue("\($0)".contains("temporal_fraction"), "\($0)") }
    }

    func testOptionalFeaturesAreLeftOutAndReported() throws {
        let dir = CSVTempDir()
        let cgm = dir.write("cgm.csv", csv(subjects: 4, hours: 10) { s, k in 110 + 30 * sin(Double(k) / 15 + Double(s)) })
        let config = DataConfig(preset: .physioSeq2Seq)
        let prepared = try CohortPipeline.prepare(config: config, cgmPath: cgm)
        XCTAssertEqual(prepared.spec.pastFeatures, ["cgm_scaled"])
        XCTAssertEqual(prepared.spec.futureFeatures, [])
        let dropped = try XCTUnwrap(prepared.spec.droppedFeatures)
        XCTAssertEqual(dropped.map(\.name), ["iob_scaled", "iob_scaled"])
        XCTAssertEqual(dropped.map(\.list), ["data.past_features", "data.future_features"])
        XCTAssertTrue(dropped[0].summary.contains("needs an insulin_bolus_u or insulin_basal_u_per_h column"), dropped[0].summary)
        // Optional statics without a subjects file are reported too.
        let ssm = try CohortPipeline.prepare(config: try DataConfig.parse(["preset": "custom", "history": 12, "horizon": 3,
                                                                           "past_features": ["cgm_scaled"], "future_features": ["@time"],
                                                                           "static_features": ["?age", "subject_id"]]), cgmPath: cgm)
        XCTAssertEqual(ssm.spec.staticFeatures, ["subject_id"])
        XCTAssertEqual(ssm.spec.droppedFeatures, [DroppedFeature(name: "age", list: "data.static_features", reason: "no subjects file given")])
    }
}
