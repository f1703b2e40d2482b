// `cgmtrain explain`'s aggregation (ModelExplanation) on tiny SSM-CGM and TFT models: global importances
// and every by-step row sum to 1, the global importance is the mean over subjects of per-subject means
// (not over windows), every attention row is a distribution over earlier steps (zero above the
// diagonal), the maps average the per-window maps of `interpret`, and the CSV/SVG files are written.

import CGMData
import CGMSchema
import CGMTensor
import Foundation
@testable import Models
import _TestSupport
import XCTest
@testable import Inference
@testable import Training

final class ExplainTests: XCTestCase {
    static let past = ["cgm", "tod", "hr"], future = ["tod", "meal"]
    static let statics: [StaticInput] = [.categorical("subject_id", cardinality: 4), .real("age")]

    /// Windows of subjects 0, 0, 0, 1 (unequal counts, so subject means ≠ window means), L = 6, H = 2.
    func batches() -> [Batch] {
        (0..<2).map { k in
            var b = Batch(count: 2, history: 6, horizon: 2, pastFeatureCount: 3, futureFeatureCount: 2, staticFeatureCount: 2)
            b.indices = [2 * k, 2 * k + 1]
            b.subject = k == 0 ? [0, 0] : [0, 1]
            b.past = randomTensor([2, 6, 3], seed: UInt64(k + 1)).scalars
            b.future = randomTensor([2, 2, 2], seed: UInt64(k + 5)).scalars
            b.target = [Float](repeating: 120, count: 4)
            b.statics = k == 0 ? [1, 0.2, 1, 0.2] : [1, 0.2, 2, -0.4]
            return b
        }
    }

    func assertDistributions(_ e: ModelExplanation, file: StaticString = #filePath, line: UInt = #line) {
        for imp in [e.staticImportance, e.encoderImportance, e.decoderImportance] {
            XCTAssertEqual(imp.global.reduce(0, +), 1, accuracy: 1e-5, imp.names.description, file: file, line: line)
            for row in imp.byStep { XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5, file: file, line: line) }
        }
        XCTAssertEqual(e.encoderImportance.byStep.count, 6, file: file, line: line)
        XCTAssertEqual(e.decoderImportance.byStep.count, 2, file: file, line: line)
        for map in e.attention {
            for (r, row) in map.values.enumerated() {
                XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5, "\(map.name) row \(r)", file: file, line: line)
                for (c, v) in row.enumerated() where map.columnSteps[c] > map.rowSteps[r] - (e.model == "tft" ? 1 : 0) {
                    XCTAssertEqual(v, 0, "\(map.name): step \(map.rowSteps[r]) attends later step \(map.columnSteps[c])",
                                   file: file, line: line)
                }
            }
        }
    }

    func testSSMCGMExplanation() throws {
        let model = SSMCGMModel(SSMCGMConfig(pastNames: Self.past, futureNames: Self.future, statics: Self.statics,
                                             spec: SSMCGMSpec(dModel: 8, depth: 2, dState: 4, dConv: 3, expand: 2,
                                                              headdim: 4, chunk: 4)), seed: 2)
        let e = try ModelExplanation.compute(model: model, batches: batches())
        XCTAssertEqual([e.windows, e.subjects], [4, 2])
        assertDistributions(e)
        // 2 stack layers × (4 heads + their mean + eq. 25) + light Mamba (2 heads + mean + eq. 25).
        XCTAssertEqual(e.attention.count, 2 * 6 + 4)
        XCTAssertEqual(e.attention.first?.values.count, 8)
        // Global encoder importance = mean over the 2 subjects of each subject's mean; by-step = mean over 4 windows.
        let parts = batches().map { model.interpret($0) }
        let w = parts.flatMap { p in (0..<2).map { b in (0..<6).map { s in (0..<3).map { Double(p.encoderWeights[b, s, $0]) } } } }
        func mean(_ windows: ArraySlice<[[Double]]>) -> [Double] {
            (0..<3).map { i in windows.reduce(0) { $0 + $1.reduce(0) { $0 + $1[i] } / 6 } / Double(windows.count) }
        }
        let subject0 = mean(w[0..<3]), subject1 = mean(w[3..<4])
        for i in 0..<3 { XCTAssertEqual(e.encoderImportance.global[i], (subject0[i] + subject1[i]) / 2, accuracy: 1e-6) }
        XCTAssertEqual(e.encoderImportance.byStep[5][1], w.reduce(0) { $0 + $1[5][1] } / 4, accuracy: 1e-6)
        // The light Mamba's eq. 25 map is the window mean of interpret's ᾱ.
        let light = try XCTUnwrap(e.attention.first { $0.name == "light_mamba_eq25" })
        let lightWindows = parts.flatMap { p in (0..<2).map { b in Double(p.lightAttention.alphaMean[b, 7, 3]) } }
        XCTAssertEqual(light.values[7][3], lightWindows.reduce(0, +) / 4, accuracy: 1e-6)

        let dir = try temporaryDirectory(self)
        try e.write(toDirectory: dir, window: 5)
        for file in ["importance_static.csv", "importance_encoder_by_step.csv", "importance_decoder.svg", "summary.txt",
                     "attention/stack_layer1_head3.csv", "attention/light_mamba_eq25.svg", "attention/stack_layer0_heads_mean_decoder.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + file), file)
        }
        let csv = try String(contentsOfFile: dir + "/importance_encoder_by_step.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "step,cgm,tod,hr")
        XCTAssertEqual(csv.count, 7)
        XCTAssertTrue(csv[6].hasPrefix("0,"))
    }

    func testTFTExplanationAndOtherModelsRefused() throws {
        let model = TFTModel(TFTConfig(pastNames: Self.past, futureNames: Self.future, statics: Self.statics,
                                       spec: TFTSpec(hidden: 8, heads: 2, lstmLayers: 1, hiddenContinuous: 3)), seed: 2)
        let e = try ModelExplanation.compute(model: model, batches: batches())
        assertDistributions(e)
        XCTAssertEqual(e.attention.map(\.name), ["tft_attention"])
        XCTAssertEqual(e.attention[0].rowSteps, [1, 2])
        XCTAssertEqual(e.attention[0].columnSteps, Array(-5...2))
        let seq2seq = Seq2SeqForecaster(pastFeatures: 3, futureFeatures: 2,
                                        spec: Seq2SeqSpec(hidden: 4, dropout: 0, huberDelta: 1), seed: 1)
        XCTAssertThrowsError(try ModelExplanation.compute(model: seq2seq, batches: batches())) {
            XCTAssertTrue("\($0)".contains("explain supports models tft and ssm_cgm"), "\($0)")
        }
    }
}
