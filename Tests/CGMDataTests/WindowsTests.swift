// Windows: counts and contents for a short series, gaps, presets, GluFormer tokens, decoder IOB under
// both policies, and the whole pipeline from CSV to split WindowSets.

import CGMSchema
import Foundation
import XCTest
@testable import CGMData

final class WindowsTests: XCTestCase {
    /// Features of `glucose` with every feature the tests use.
    private func features(_ glucose: [Float], id: String = "A", channels: [(Channel, [Float])] = [],
                          names: [String] = ["cgm", "cgm_scaled", "tod_sin"]) throws -> SubjectFeatures {
        try FeatureBuilder().build(makeResampledSubject(glucose, id: id, channels: channels), features: names)
    }

    func testWindowCountsAndContentsForAShortSeries() throws {
        // 12 points, g = 100, 102, …, 122. L 3, H 2, stride 2: decision indices 2, 4, 6, 8 (t + 2 ≤ 11).
        let f = try features((0 ..< 12).map { Float(100 + 2 * $0) })
        let extractor = WindowExtractor(history: 3, horizon: 2, stride: 2)
        let (refs, report) = extractor.candidates([f], qc: QualityControl(enabled: [.residualNaN]))
        XCTAssertEqual(refs.map(\.decision), [2, 4, 6, 8])
        XCTAssertEqual(report.scanned, 4)
        var spec = FeatureSpec(pastFeatures: ["cgm_scaled", "cgm"], futureFeatures: ["tod_sin"], staticFeatures: [])
        spec.fit(features: [f], scope: [.max], table: nil)
        let set = extractor.materialize(refs, features: [f], spec: spec, table: nil)
        XCTAssertNil(set.validate())
        XCTAssertEqual(set.count, 4)
        XCTAssertEqual(set.subjects, ["A"])
        // First window: history indices 0…2, targets 3…4.
        let z = spec.standardization(of: "cgm")!
        XCTAssertEqual(z.mean, 111, accuracy: 1e-9)
        assertFloats(Array(set.past[0 ..< 6]), [FeatureCatalog.scaleCGM(100), z.apply(100),
                                                FeatureCatalog.scaleCGM(102), z.apply(102),
                                                FeatureCatalog.scaleCGM(104), z.apply(104)])
        XCTAssertEqual(Array(set.target[0 ..< 2]), [106, 108])
        XCTAssertEqual(set.decisionTime.first, gridT0 + 600)
        XCTAssertEqual(set.future[0], f.columns["tod_sin"]![3], "decoder covariates start at t + 1")
        // Last window: history 6…8, targets 9…10.
        XCTAssertEqual(set.past[3 * 6 + 5], z.apply(116))
        XCTAssertEqual(Array(set.target[6 ..< 8]), [118, 120])
        XCTAssertEqual(set.decisionTime.last, gridT0 + 2400)
        XCTAssertEqual(set.subject, [0, 0, 0, 0])
    }

    func testWindowsStayInsideSegments() throws {
        // Two 6-point segments separated by a 1-point gap; L 3, H 2, stride 1: per segment t = lo+2 … hi−3.
        var g = (0 ..< 13).map { Float(100 + $0) }
        g[6] = .nan
        let (refs, report) = WindowExtractor(history: 3, horizon: 2, stride: 1)
            .candidates([try features(g)], qc: QualityControl(enabled: [.residualNaN]))
        XCTAssertEqual(refs.map(\.decision), [2, 3, 9, 10])
        XCTAssertEqual(report.scanned, 8, "t = 2…10 except the gap itself")
        XCTAssertEqual(report.count(.residualNaN), 4)
    }

    func testZeroPaddedShortHistories() throws {
        // The same two segments; with data.short_history: zero_pad (PhysioSeq2Seq §3.1) the windows whose history
        // reaches back over the gap keep their NaN-free tail, zero-padded to L = 3 steps, instead of failing rule 4.
        var g = (0 ..< 13).map { Float(100 + $0) }
        g[6] = .nan
        let f = try features(g)
        let config = try DataConfig.parse(["preset": "custom", "history": 3, "horizon": 2, "stride": 1,
                                           "past_features": ["cgm", "cgm_scaled"], "qc": "off", "short_history": "zero_pad"])
        let extractor = config.extractor
        XCTAssertTrue(extractor.zeroPadHistory)
        let (refs, report) = extractor.candidates([f], qc: config.qualityControl())
        XCTAssertEqual(refs.map(\.decision), [2, 3, 7, 8, 9, 10], "t = 7 and 8 have histories 5…7 and 6…8 across the gap")
        XCTAssertEqual(report.count(.residualNaN), 2, "t = 4 and 5 still miss a target (index 6)")
        var spec = FeatureSpec(pastFeatures: ["cgm", "cgm_scaled"], futureFeatures: [], staticFeatures: [])
        spec.fit(features: [f], scope: [.max], table: nil)
        let set = extractor.materialize(refs, features: [f], spec: spec, table: nil)
        XCTAssertNil(set.validate())
        let z = spec.standardization(of: "cgm")!
        // Window t = 7: history 5, 6 (gap), 7 → padding, padding, g[7] — every past feature 0 on the padding.
        assertFloats(Array(set.past[2 * 6 ..< 3 * 6]), [0, 0, 0, 0, z.apply(107), FeatureCatalog.scaleCGM(107)])
        // Window t = 8: history 6 (gap), 7, 8 → padding, then the tail.
        assertFloats(Array(set.past[3 * 6 ..< 4 * 6]), [0, 0, z.apply(107), FeatureCatalog.scaleCGM(107),
                                                        z.apply(108), FeatureCatalog.scaleCGM(108)])
        XCTAssertEqual(Array(set.target[2 * 2 ..< 3 * 2]), [108, 109])
        // The default rejects them, and the key is written only when set.
        let reject = try DataConfig.parse(["preset": "custom", "history": 3, "horizon": 2, "stride": 1,
                                           "past_features": ["cgm"], "qc": "off"])
        XCTAssertEqual(reject.extractor.candidates([f], qc: reject.qualityControl()).windows.map(\.decision), [2, 3, 9, 10])
        XCTAssertFalse(reject.entries.contains { $0.0 == "short_history" })
        XCTAssertNotEqual(config.hash, try DataConfig.parse(["preset": "custom", "history": 3, "horizon": 2, "stride": 1,
                                                             "past_features": ["cgm", "cgm_scaled"], "qc": "off"]).hash)
    }

    func testPresets() {
        let physio = WindowPreset.physioSeq2Seq
        XCTAssertEqual([physio.history, physio.horizon], [37, 48])
        XCTAssertEqual(physio.pastFeatures, ["cgm_scaled", "?iob_scaled"], "IOB when the data has insulin")
        XCTAssertEqual(physio.futureFeatures, ["?iob_scaled"])
        XCTAssertEqual(try FeatureCatalog.expand(physio.pastFeatures, channels: [], keyPath: "data.past_features"), ["cgm_scaled"])
        XCTAssertEqual(try FeatureCatalog.expand(physio.pastFeatures, channels: [.bolus], keyPath: "data.past_features"),
                       ["cgm_scaled", "iob_scaled"])
        XCTAssertEqual([12, 24, 48].map { WindowPreset.ssmCGM(contextHours: $0).history }, [144, 288, 576])
        XCTAssertEqual(WindowPreset.ssmCGM(contextHours: 12).horizon, 12)
        XCTAssertEqual(try FeatureCatalog.expand(WindowPreset.ssmCGM(contextHours: 12).futureFeatures,
                                                 channels: [.heartRate, .carbs], keyPath: "f"),
                       ["minute_of_day", "tod_sin", "tod_cos", "heart_rate_bpm", "meal_flag"])
        XCTAssertTrue(WindowPreset.gluformer(sequenceLength: 96).tokens)
    }

    func testGluformerTokens() throws {
        XCTAssertEqual(WindowPreset.token(20), 0)
        XCTAssertEqual(WindowPreset.token(40.4), 0)
        XCTAssertEqual(WindowPreset.token(100.5), 61, "round half away from zero, then − 40")
        XCTAssertEqual(WindowPreset.token(500), 460)
        XCTAssertEqual(WindowPreset.token(600), 460)
        let preset = WindowPreset.gluformer(sequenceLength: 3, horizon: 2)
        let f = try features([39, 100.4, 250, 501, 120, 121], names: ["cgm_scaled"])
        var spec = FeatureSpec(pastFeatures: ["cgm_scaled"], futureFeatures: [], staticFeatures: [])
        spec.fit(features: [f], scope: [.max], table: nil)
        let extractor = WindowExtractor(preset: preset)
        let set = extractor.materialize([WindowRef(subject: 0, decision: 2)], features: [f], spec: spec, table: nil)
        XCTAssertNil(set.validate())
        XCTAssertEqual(set.extras["tokens"]?.shape, [5])
        XCTAssertEqual(set.extras["tokens"]?.values, [0, 60, 210, 460, 80])
    }

    func testDecoderIOBBasalOnlyVersusObserved() throws {
        // Basal 1.2 U/h (0.1 U per bin) until bin 45, then suspended; a 2 U bolus at bin 41. Decision t = 40.
        // basal_only: the future keeps the pre-decision basal and no bolus — the IOB of a constant 0.1 U per
        // bin. observed: the recorded doses. They agree for h ≤ 13 (doses after t are < 60 min old).
        let n = 62
        let basal = (0 ..< n).map { $0 < 45 ? Float(1.2) : 0 }
        var bolus = [Float](repeating: 0, count: n)
        bolus[41] = 2
        let f = try features([Float](repeating: 100, count: n), channels: [(.basal, basal), (.bolus, bolus)],
                             names: ["cgm_scaled", "iob_scaled"])
        let model = IOBModel()
        let constant = model.onBoard(doses: [Float](repeating: 0.1, count: n))
        let recorded = model.onBoard(doses: f.doses)
        let extractor = WindowExtractor(history: 2, horizon: 20, stride: 1)
        let ref = [WindowRef(subject: 0, decision: 40)]
        for policy in FutureIOBPolicy.allCases {
            var spec = FeatureSpec(pastFeatures: ["cgm_scaled"], futureFeatures: ["iob_scaled"], staticFeatures: [], futureIOB: policy)
            spec.fit(features: [f], scope: [.max], table: nil)
            let set = extractor.materialize(ref, features: [f], spec: spec, table: nil)
            let expected = (1 ... 20).map { Float(model.scaled(Double((policy == .basalOnly ? constant : recorded)[40 + $0]))) }
            assertFloats(set.future, expected, accuracy: 1e-5)
        }
        XCTAssertEqual(recorded[53], constant[53], accuracy: 1e-6, "h = 13: identical")
        XCTAssertNotEqual(recorded[54], constant[54], "h = 14: the bolus is 65 min old and counts when observed")
    }

    // MARK: The pipeline

    /// `subjects` subjects with `hours` of 5-minute data, a bolus every 2 hours, constant basal.
    private func cohortCSV(subjects: Int, hours: Int, stepMinutes: Int = 5) -> String {
        var csv = "subject_id,timestamp,glucose_mg_dl,insulin_bolus_u,insulin_basal_u_per_h\n"
        let steps = hours * 60 / stepMinutes
        for s in 0 ..< subjects {
            for k in 0 ..< steps {
                let minutes = Double(k * stepMinutes)
                let g = 120 + 30 * sin(minutes / 90 + Double(s))
                let bolus = k % (120 / stepMinutes) == 0 ? "1.5" : ""
                let basal = k == 0 ? "0.9" : ""
                csv += "S\(s),\(gridT0 + Int64(k * stepMinutes * 60)),\(String(format: "%.1f", g)),\(bolus),\(basal)\n"
            }
        }
        return csv
    }

    func testPipelineFromCSVToSplitWindowSets() throws {
        let dir = CSVTempDir()
        let cgm = dir.write("cgm.csv", cohortCSV(subjects: 6, hours: 8))
        let subjects = dir.write("subjects.csv", "subject_id,age\n" + (0 ..< 6).map { "S\($0),\(30 + 5 * $0)\n" }.joined())
        var config = try DataConfig.parse(["preset": "custom", "history": 6, "horizon": 3, "stride": 3, "split_seed": 1,
                                           "past_features": ["cgm_scaled", "iob_scaled", "@time"],
                                           "future_features": ["iob_scaled", "@time"],
                                           "static_features": ["subject_id", "glucose_centre", "?age", "?hba1c"]])
        let prepared = try CohortPipeline.prepare(config: config, cgmPath: cgm, subjectsPath: subjects)
        XCTAssertEqual(prepared.spec.pastFeatures, ["cgm_scaled", "iob_scaled", "minute_of_day", "tod_sin", "tod_cos"])
        XCTAssertEqual(prepared.spec.staticFeatures, ["subject_id", "glucose_centre", "age"], "hba1c is optional and absent")
        let sets = SplitName.allCases.map { prepared.windows($0) }
        for set in sets { XCTAssertNil(set.validate()) }
        // 96 grid points per subject; decision indices 5, 8, …, 92 → 30 windows each, all clean.
        XCTAssertEqual(prepared.qc.scanned, 180)
        XCTAssertEqual(prepared.qc.accepted, 180)
        XCTAssertEqual(sets.map(\.count).reduce(0, +), 180)
        XCTAssertEqual(prepared.split.subjects, [4, 1, 1])
        let bySplit = sets.map { Set($0.subject.map { prepared.train.subjects[Int($0)] }) }
        XCTAssertTrue(bySplit[0].isDisjoint(with: bySplit[1]) && bySplit[0].isDisjoint(with: bySplit[2])
            && bySplit[1].isDisjoint(with: bySplit[2]))
        XCTAssertEqual(bySplit[0], Set(prepared.subjectSplit!.train))
        XCTAssertEqual(prepared.spec.statics[0].vocabulary, prepared.subjectSplit!.train, "vocabulary from training subjects")
        let testSubject = prepared.test.statics[0]
        XCTAssertEqual(testSubject, 0, "a test subject's id is unknown to the model")
        XCTAssertTrue(prepared.summaryLines().contains { $0.contains("extraction yield 100.0%") })

        // The same config and data give the same bits.
        let again = try CohortPipeline.prepare(config: config, cgmPath: cgm, subjectsPath: subjects)
        XCTAssertEqual(again.train.past, prepared.train.past)
        XCTAssertEqual(again.spec, prepared.spec)

        // Temporal split on the same data: every subject in every split.
        config.split = .temporal
        let temporal = try CohortPipeline.prepare(config: config, cgmPath: cgm, subjectsPath: subjects)
        XCTAssertEqual(temporal.split.subjects, [6, 6, 6])
    }

    func testEmptyCohortAfterQCIsAnError() throws {
        let dir = CSVTempDir()
        let cgm = dir.write("cgm.csv", cohortCSV(subjects: 2, hours: 8, stepMinutes: 15))
        assertDataError({ _ = try CohortPipeline.prepare(config: DataConfig(preset: .physioSeq2Seq), cgmPath: cgm) },
                        file: "cgm.csv", line: nil, key: nil, contains: "empty cohort after quality control")
        // Without the density and staleness rules the same data yields windows.
        var config = DataConfig(preset: .physioSeq2Seq)
        config.qc = [.residualNaN, .rateOfChange, .futureJump]
        XCTAssertGreaterThan(try CohortPipeline.prepare(config: config, cgmPath: cgm).qc.accepted, 0)
    }

    func testPipelineNamesTheConfigKeyOfAnUnavailableFeature() throws {
        let dir = CSVTempDir()
        let cgm = dir.write("cgm.csv", "subject_id,timestamp,glucose_mg_dl\nA,\(gridT0),100\n")
        // A feature the user requires (no "?") keeps its clear error; the preset's optional IOB is left out instead.
        var required = DataConfig(preset: .physioSeq2Seq)
        required.pastFeatures = ["cgm_scaled", "iob_scaled"]
        assertDataError({ _ = try CohortPipeline.prepare(config: required, cgmPath: cgm) },
                        file: nil, line: nil, key: .config("data.past_features[1]"), contains: "feature 'iob_scaled'")
    }
}
