// `data.ode_states`: the config key (default off, hash unchanged when off, checked against rule 6 and L ≤ 37),
// an in-process `prepare` (real HDF5 shards) storing X_hist, X_fut and the twin forecast per window with values
// equal to running TwinMatcher directly on the window, and the fixed state scaling. The 1- vs 2-rank equality
// including the extras runs under real mpirun in PrepareTests.

import CGMData
import CGMSchema
import Distributed
import Foundation
import Physiology
import XCTest

final class ODEStatesTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory
            .appendingPathComponent("ode-states-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    /// 6 synthetic subjects, 8 h at 5 min, boluses every 2 h, basal 0.9 U/h.
    func syntheticCSV() throws -> String {
        var csv = "subject_id,timestamp,glucose_mg_dl,insulin_bolus_u,insulin_basal_u_per_h\n"
        for s in 0 ..< 6 {
            for k in 0 ..< 96 {
                let g = 130 + 35 * sin(Double(k) / 14 + Double(s))
                csv += "Q\(s),\(1_767_571_200 + k * 300),\(String(format: "%.1f", g)),\(k % 24 == 0 ? "2" : ""),\(k == 0 ? "0.9" : "")\n"
            }
        }
        let path = work.appendingPathComponent("synthetic.csv").path
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let dataDict: [String: Any] = ["preset": "custom", "history": 37, "horizon": 12, "stride": 6,
                                          "past_features": ["cgm_scaled", "iob_scaled"], "future_features": ["iob_scaled"],
                                          "ode_states": true]

    func testConfigKeyDefaultsOffKeepsOldHashesAndIsChecked() throws {
        var plain = Self.dataDict
        plain["ode_states"] = nil
        let off = try DataConfig.parse(plain)
        XCTAssertFalse(off.odeStates)
        XCTAssertFalse(off.canonicalDescription.contains("ode_states"), "configs without the key keep their hash")
        let on = try DataConfig.parse(Self.dataDict)
        XCTAssertTrue(on.odeStates)
        XCTAssertNotEqual(on.hash, off.hash)

        var noTwin = Self.dataDict
        noTwin["qc"] = ["twin_matching": "off"]
        XCTAssertThrowsError(try DataConfig.parse(noTwin)) { XCTAssertTrue("\($0)".contains("data.ode_states"), "\($0)") }
        var long = Self.dataDict
        long["history"] = 48
        XCTAssertThrowsError(try DataConfig.parse(long)) { XCTAssertTrue("\($0)".contains("history ≤ 37"), "\($0)") }
        var bad = Self.dataDict
        bad["ode_states"] = "maybe"
        XCTAssertThrowsError(try DataConfig.parse(bad)) { XCTAssertTrue("\($0)".contains("data.ode_states"), "\($0)") }
    }

    func testPrepareStoresTheMatchedTwinsStatesAndForecast() throws {
        let csv = try syntheticCSV()
        let config = try DataConfig.parse(Self.dataDict)
        let out = work.appendingPathComponent("prepared").path
        let outcome = try DatasetPreparer.run(PrepareOptions(cgmPath: csv, outDir: out, subjectsPerShard: 2),
                                              comm: SingleProcessCommunicator(), loadConfig: { config })
        let m = outcome.manifest
        XCTAssertEqual(m.extras, ["ode_hist": [37, 10], "ode_fut": [12, 10], "twin_forecast": [12]])

        let ds = try ShardDataset(directory: out)
        try ds.verifyShards()
        let plan = try CohortPipeline.plan(config: config, cgmPath: csv)
        let check = TwinMatchingCheck()
        var compared = 0
        for split in ShardSplit.allCases where ds.count(split) > 0 {
            let batch = try ShardReader(dataset: ds, split: split).read(indices: Array(0 ..< ds.count(split)))
            XCTAssertEqual(batch.extras["ode_hist"]?.values.count, batch.count * 37 * 10)
            XCTAssertEqual(batch.extras["ode_fut"]?.values.count, batch.count * 12 * 10)
            XCTAssertEqual(batch.extras["twin_forecast"]?.values.count, batch.count * 12)
            // First and last window of the split against TwinMatcher run directly on that window.
            for w in Set([0, batch.count - 1]) {
                let id = m.subjects[Int(batch.subject[w])]
                let f = try XCTUnwrap(plan.features.first { $0.id == id })
                let t = Int((batch.decisionTime[w] - f.start) / 300)
                let match = try XCTUnwrap(check.matcher.match(TwinMatchingCheck.window(f, decision: t, length: 37), horizon: 12))
                XCTAssertEqual(Array(batch.extras["ode_hist"]!.values[w * 370 ..< (w + 1) * 370]), match.xHist.values)
                XCTAssertEqual(Array(batch.extras["ode_fut"]!.values[w * 120 ..< (w + 1) * 120]), match.xFut.values)
                XCTAssertEqual(Array(batch.extras["twin_forecast"]!.values[w * 12 ..< (w + 1) * 12]), match.glucoseFut)
                // X_hist starts at the observed glucose (eq. 4 on the steady-state Q1), X_fut has no meal.
                XCTAssertEqual(match.glucoseHist[0], f.cgm[t - 36], accuracy: 0.01)
                XCTAssertEqual(match.xFut[0, 8], 0)
                compared += 1
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 4)
    }

    /// CGMSchema states the count without depending on the simulator; it must be the Hovorka model's.
    func testSchemaStateCountIsTheHovorkaModels() {
        XCTAssertEqual(ODEStateExtras.stateCount, HovorkaState.count)
        XCTAssertEqual(ODEStateScaling.scales.count, HovorkaState.count)
    }

    func testStateScalingIsAFixedSymmetricLog() {
        let x: [Float] = [1, 0, 10, -10, 30, 0.05, 0.01, 0.5, 0, .nan]
        let y = ODEStateScaling.scale(x)
        XCTAssertEqual(y[0], log1p(1), accuracy: 1e-6)
        XCTAssertEqual(y[1], 0)
        XCTAssertEqual(y[2], log1p(1), accuracy: 1e-6)
        XCTAssertEqual(y[3], -log1p(1), accuracy: 1e-6)
        XCTAssertEqual(y[4], log1p(3), accuracy: 1e-6)
        for k in 5 ... 7 { XCTAssertEqual(y[k], log1p(1), accuracy: 1e-6) }
        XCTAssertTrue(y[9].isNaN, "a NaN state is not hidden")
    }
}
