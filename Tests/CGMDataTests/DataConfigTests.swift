// DataConfig: presets and overrides, strict errors naming the key path, and the stable hash.

import Config
import XCTest
@testable import CGMData

final class DataConfigTests: XCTestCase {
    func testPresetDefaultsAndOverrides() throws {
        let physio = try DataConfig.parse([:])
        XCTAssertEqual(physio.preset, "physio_seq2seq")
        XCTAssertEqual([physio.history, physio.horizon, physio.stride], [37, 48, 12])
        XCTAssertEqual(physio.split, .subject)
        XCTAssertEqual(physio.fractions, [0.7, 0.15, 0.15])
        XCTAssertEqual(physio.qc, Set(QCRule.allCases))
        XCTAssertEqual(physio.maxInterpolationGapMinutes, 15)

        let ssm = try DataConfig.parse(["preset": "ssm_cgm_48h", "stride": 6])
        XCTAssertEqual([ssm.history, ssm.horizon, ssm.stride], [576, 12, 6])
        XCTAssertEqual(ssm.split, .temporal)
        XCTAssertEqual(try DataConfig.parse(["preset": "ssm_cgm"]).history, 288)

        let custom = try DataConfig.parse([
            "preset": "custom", "history": 24, "horizon": 6, "stride": 1, "split": "subject", "split_seed": 9,
            "fractions": [0.8, 0.1, 0.1], "past_features": ["cgm_scaled", "@time"], "future_features": ["@time"],
            "static_features": ["subject_id"], "max_interpolation_gap_minutes": 10, "future_iob": "observed",
            "qc": ["min_history_points": "off", "twin_matching": false, "rate_of_change": "on"],
        ])
        XCTAssertEqual([custom.history, custom.horizon, custom.stride, custom.maxInterpolationGapMinutes], [24, 6, 1, 10])
        XCTAssertEqual(custom.splitSeed, 9)
        XCTAssertEqual(custom.fractions, [0.8, 0.1, 0.1])
        XCTAssertEqual(custom.futureIOB, .observed)
        XCTAssertEqual(custom.qc, [.rateOfChange, .staleDecision, .residualNaN, .futureJump])
        XCTAssertEqual(try DataConfig.parse(["qc": "off"]).qc, [.residualNaN])
        XCTAssertTrue(try DataConfig.parse(["preset": "gluformer", "history": 96]).tokens)
    }

    func testErrorsNameTheKeyPath() {
        func expect(_ dict: [String: Any], _ key: String, _ text: String, line: UInt = #line) {
            XCTAssertThrowsError(try DataConfig.parse(dict, source: "test.yaml"), line: line) { error in
                guard let e = error as? ConfigError else { return XCTFail("expected a ConfigError, got \(error)", line: line) }
                XCTAssertEqual(e.source, "test.yaml", line: line)
                XCTAssertEqual(e.key, key, "\(e)", line: line)
                XCTAssertTrue(e.description.contains(text), "'\(e)' should contain '\(text)'", line: line)
            }
        }
        expect(["strde": 2], "data.strde", "data.strde is not a known key")
        expect(["stride": 0], "data.stride", "data.stride must be ≥ 1 (got 0)")
        expect(["stride": "abc"], "data.stride", "data.stride must be an integer (got 'abc')")
        expect(["stride": 2.0], "data.stride", "must be an integer")
        expect(["history": true], "data.history", "must be an integer")
        expect(["preset": "lstm"], "data.preset", "must be one of")
        expect(["preset": "custom", "history": 10], "data.horizon", "is required with preset 'custom'")
        expect(["split": "random"], "data.split", "must be one of subject, temporal, temporal_fraction")
        expect(["split_seed": -1], "data.split_seed", "must be ≥ 0")
        expect(["fractions": [0.7, 0.3]], "data.fractions", "must list 3 numbers")
        expect(["fractions": [0.7, 0.2, 0.2]], "data.fractions", "must sum to 1")
        expect(["fractions": [0.7, "x", 0.3]], "data.fractions[1]", "must be a number")
        expect(["past_features": ["cgm_scaled", "glucose_lag"]], "data.past_features[1]", "'glucose_lag' is not a known feature")
        expect(["past_features": ["cgm", "cgm"]], "data.past_features[1]", "repeats 'cgm'")
        expect(["past_features": []], "data.past_features", "must list at least one feature")
        expect(["future_features": "iob"], "data.future_features", "must be a list of strings")
        expect(["max_interpolation_gap_minutes": 90], "data.max_interpolation_gap_minutes", "must be ≤ 60")
        expect(["future_iob": "all"], "data.future_iob", "must be basal_only or observed")
        expect(["gap_fill": "nearest"], "data.gap_fill", "must be interpolate or locf")
        expect(["qc": ["density": "off"]], "data.qc.density", "is not a QC rule")
        expect(["qc": ["residual_nan": "off"]], "data.qc.residual_nan", "cannot be turned off")
        expect(["qc": ["future_jump": 3]], "data.qc.future_jump", "must be on or off")
        expect(["split": "temporal"], "data.horizon", "must be ≤ 12 steps")
    }

    func testHashIsStableAndSensitive() throws {
        // FNV-1a 64 test vectors.
        XCTAssertEqual(DataConfig.fnv1a64Hex(""), "cbf29ce484222325")
        XCTAssertEqual(DataConfig.fnv1a64Hex("a"), "af63dc4c8601ec8c")
        XCTAssertEqual(DataConfig.fnv1a64Hex("foobar"), "85944171f73967e8")
        let a = try DataConfig.parse(["stride": 6])
        XCTAssertEqual(a.hash, try DataConfig.parse(["stride": 6, "preset": "physio_seq2seq"]).hash)
        XCTAssertNotEqual(a.hash, try DataConfig.parse(["stride": 7]).hash)
        XCTAssertNotEqual(a.hash, try DataConfig.parse(["stride": 6, "qc": ["future_jump": "off"]]).hash)
        XCTAssertEqual(a.hash, try DataConfig.parse(["stride": 6, "gap_fill": "interpolate"]).hash, "the default adds nothing")
        XCTAssertNotEqual(a.hash, try DataConfig.parse(["stride": 6, "gap_fill": "locf"]).hash)
        XCTAssertFalse(a.entries.contains { $0.0 == "gap_fill" }, "resolved configs gain no line at the default")
        XCTAssertTrue(try DataConfig.parse(["gap_fill": "locf"]).entries.contains { $0.0 == "gap_fill" })
        XCTAssertEqual(a.hash.count, 16)
        XCTAssertTrue(a.canonicalDescription.hasPrefix("preset=physio_seq2seq;history=37;horizon=48;stride=6;"))
    }
}
