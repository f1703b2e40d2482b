// GluFormer tokenization (GlucoseTokenizer) and token windows (TokenWindows.swift): round trips, clipping, the
// padding token, gap splitting, coverage of segment tails and padding of short segments, config rules.

@testable import CGMData
import CGMSchema
import XCTest

final class GlucoseTokenizerTests: XCTestCase {
    func testTokensRoundTripEveryGlucoseValue() {
        for g in 40 ... 500 {
            let t = GlucoseTokenizer.token(Float(g))
            XCTAssertEqual(t, g - 40)
            XCTAssertEqual(GlucoseTokenizer.glucose(t), Float(g), "round trip of \(g) mg/dL")
        }
        XCTAssertEqual(Set((40 ... 500).map { GlucoseTokenizer.token(Float($0)) }).count, 461, "one token per mg/dL")
        // Off-grid values round half away from zero; out-of-range values clip.
        XCTAssertEqual(GlucoseTokenizer.token(100.5), 61)
        XCTAssertEqual(GlucoseTokenizer.token(100.49), 60)
        XCTAssertEqual(GlucoseTokenizer.token(12), 0)
        XCTAssertEqual(GlucoseTokenizer.token(900), 460)
        // |g − glucose(token(g))| ≤ 0.5 inside the range.
        for k in 0 ..< 1000 {
            let g = 40 + Float(k) * 0.46
            XCTAssertLessThanOrEqual(abs(GlucoseTokenizer.glucose(GlucoseTokenizer.token(g)) - g), 0.5 + 1e-4)
        }
        // Padding: 461, above every glucose token; missing values encode as padding and decode to NaN.
        XCTAssertEqual(GlucoseTokenizer.padding, 461)
        XCTAssertEqual(GlucoseTokenizer.token(.nan), GlucoseTokenizer.padding)
        XCTAssertTrue(GlucoseTokenizer.glucose(GlucoseTokenizer.padding).isNaN)
        let series: [Float] = [39, 100, .nan, 250.4, 501]
        let back = GlucoseTokenizer.glucose(tokens: GlucoseTokenizer.tokens(series))
        XCTAssertEqual(back[0], 40); XCTAssertEqual(back[1], 100); XCTAssertTrue(back[2].isNaN)
        XCTAssertEqual(back[3], 250); XCTAssertEqual(back[4], 500)
        XCTAssertEqual(WindowPreset.token(.nan), GlucoseTokenizer.padding)
    }

    func testSegmentsSplitAtGaps() {
        let n = Float.nan
        XCTAssertEqual(GlucoseTokenizer.segments([n, 1, 2, n, n, 3, 4, 5]), [1 ..< 3, 5 ..< 8])
        XCTAssertEqual(GlucoseTokenizer.segments([1, 2, 3]), [0 ..< 3])
        XCTAssertEqual(GlucoseTokenizer.segments([n, n]), [])
    }

    func testTokenWindowsCoverEverySegmentAndPadShortOnes() throws {
        // Grid: 20 values, then a long gap (3 NaN), then 9 values, gap, then 5 values (too short for H + 12 ≥ 14).
        let n = Float.nan
        let first = (0 ..< 20).map { Float(100 + $0) }, second = (0 ..< 9).map { Float(200 + $0) }
        let glucose = first + [n, n, n] + second + [n] + [150, 151, 152, 153, 154]
        let f = try FeatureBuilder().build(makeResampledSubject(glucose), features: ["cgm_scaled"])
        // L 6, H 3, stride 4, minimum context min(12, L) = 6: segment 0 ..< 20 gives t = 5, 9, 13 (t + 3 < 20), then
        // the tail window t = 16; segment 23 ..< 32 (9 ≥ 3 + 6) gives the full t = 28 only; 33 ..< 38 has 5 < 9.
        let extractor = WindowExtractor(history: 6, horizon: 3, stride: 4, tokens: true)
        let (refs, report) = extractor.candidates([f], qc: QualityControl(enabled: [.residualNaN]))
        XCTAssertEqual(refs.map(\.decision), [5, 9, 13, 16, 28])
        XCTAssertEqual(report.scanned, 5)
        XCTAssertEqual(report.accepted, 5)
        var spec = FeatureSpec(pastFeatures: ["cgm_scaled"], futureFeatures: [], staticFeatures: [])
        spec.fit(features: [f], scope: [.max], table: nil)
        let set = extractor.materialize(refs, features: [f], spec: spec, table: nil)
        XCTAssertNil(set.validate())
        let tokens = set.extras["tokens"]!
        XCTAssertEqual(tokens.shape, [9])
        let row = { (w: Int) in Array(tokens.values[(w * 9) ..< (w * 9 + 9)]).map { Int($0) } }
        XCTAssertEqual(row(0), (0 ..< 9).map { 60 + $0 }, "first full window: grid 0…8")
        XCTAssertEqual(row(3), (11 ..< 20).map { 60 + $0 }, "the tail window ends at the segment end")
        XCTAssertEqual(Array(set.target[9 ..< 12]), [117, 118, 119])
        // A short segment (≥ H + 12 but < L + H): one window ending at its end, padded before its start; nothing
        // is taken across the gap.
        let g2 = try FeatureBuilder().build(makeResampledSubject(Array(first.prefix(12)) + [n, n] + (0 ..< 16).map { Float(120 + $0) }),
                                            features: ["cgm_scaled"])
        let e2 = WindowExtractor(history: 14, horizon: 3, stride: 4, tokens: true)   // minimum context 12: segments ≥ 15
        let (r2, _) = e2.candidates([g2], qc: QualityControl(enabled: [.residualNaN]))
        XCTAssertEqual(r2.map(\.decision), [26], "segment 0 ..< 12 is too short; 14 ..< 30 gives t = 30 − 1 − 3")
        let s2 = e2.materialize(r2, features: [g2], spec: spec, table: nil)
        XCTAssertNil(s2.validate())
        XCTAssertEqual(s2.extras["tokens"]!.values.map { Int($0) }, [GlucoseTokenizer.padding] + (0 ..< 16).map { 80 + $0 },
                       "grid 13 (in the gap) is padding; grid 14 … 29 are the segment")
        XCTAssertEqual(s2.past[0], 0, "past features are 0 at padding")
        XCTAssertEqual(s2.past[1], FeatureCatalog.scaleCGM(120))
        XCTAssertEqual(s2.target, [133, 134, 135])
    }

    func testGluformerPresetDefaultsAndRules() throws {
        let c = try DataConfig.parse(["preset": "gluformer"])
        XCTAssertEqual(c.history + c.horizon, 288, "24 h of tokens per window by default")
        XCTAssertEqual(c.qc, [.residualNaN], "QC rules are off for token windows")
        XCTAssertTrue(c.tokens)
        XCTAssertThrowsError(try DataConfig.parse(["preset": "gluformer", "qc": "on"])) { error in
            XCTAssertTrue("\(error)".contains("data.qc"), "\(error)")
        }
    }
}
