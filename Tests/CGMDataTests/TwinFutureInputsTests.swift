// `data.twin.future_inputs` (meal-aware twin): the config key (default basal_only, hash unchanged, needs
// ode_states), and an in-process `prepare` (real HDF5) of a hand-built subject with flat glucose and a
// logged meal 30 min into the horizon: with `announced` the stored twin forecast rises after the meal and
// its gut states fill, with `basal_only` neither happens; both agree exactly before the meal; the manifest
// records the choice. The post-meal error on a simulated cohort is measured in Tests/TrainingTests
// (PhysioFindingsTests.testMealAwareTwin…).

import CGMData
import CGMSchema
import Distributed
import Foundation
import Physiology
import XCTest

final class TwinFutureInputsTests: XCTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory
            .appendingPathComponent("twin-future-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    static let history = 37, horizon = 48
    /// Index (in the window's horizon) of the step whose bin holds the meal: 30 min after t.
    static let mealStep = 5

    static func dataDict(_ future: String?) -> [String: Any] {
        var d: [String: Any] = ["preset": "custom", "history": history, "horizon": horizon, "stride": 200,
                                "fractions": [1.0, 0.0, 0.0], "past_features": ["cgm_scaled", "iob_scaled"],
                                "future_features": ["iob_scaled"], "ode_states": true]
        if let future { d["twin"] = ["future_inputs": future] }
        return d
    }

    /// One subject: 120 mg/dL flat, basal 1 U/h, one window (decision at step 36), 60 g eaten at t + 30 min
    /// with no bolus.
    func csv() throws -> String {
        var text = "subject_id,timestamp,glucose_mg_dl,carbs_g,insulin_bolus_u,insulin_basal_u_per_h\n"
        let t = Self.history - 1
        for k in 0 ..< Self.history + Self.horizon {
            let carbs = k == t + Self.mealStep + 1 ? "60" : ""   // bin t+6 = (t+25, t+30] min: future step 5
            text += "M1,\(1_767_571_200 + k * 300),120,\(carbs),,\(k == 0 ? "1.0" : "")\n"
        }
        let path = work.appendingPathComponent("meal.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func prepare(_ future: String?) throws -> (Manifest, Batch) {
        let config = try DataConfig.parse(Self.dataDict(future))
        let out = work.appendingPathComponent("prepared-\(future ?? "default")").path
        let outcome = try DatasetPreparer.run(PrepareOptions(cgmPath: try csv(), outDir: out, subjectsPerShard: 1),
                                              comm: SingleProcessCommunicator(), loadConfig: { config })
        let ds = try ShardDataset(directory: out)
        return (outcome.manifest, try ShardReader(dataset: ds, split: .train).read(indices: Array(0 ..< ds.count(.train))))
    }

    func testConfigKeyDefaultsToBasalOnlyKeepsHashesAndNeedsODEStates() throws {
        let plain = try DataConfig.parse(Self.dataDict(nil))
        XCTAssertEqual(plain.twinFutureInputs, .basalOnly)
        XCTAssertEqual(try DataConfig.parse(Self.dataDict("basal_only")).hash, plain.hash, "the default keeps old hashes")
        let announced = try DataConfig.parse(Self.dataDict("announced"))
        XCTAssertEqual(announced.twinFutureInputs, .announced)
        XCTAssertNotEqual(announced.hash, plain.hash)

        XCTAssertThrowsError(try DataConfig.parse(Self.dataDict("oracle"))) {
            XCTAssertTrue("\($0)".contains("data.twin.future_inputs") && "\($0)".contains("announced"), "\($0)")
        }
        var unknown = Self.dataDict(nil)
        unknown["twin"] = ["future_input": "announced"]
        XCTAssertThrowsError(try DataConfig.parse(unknown)) { XCTAssertTrue("\($0)".contains("data.twin.future_input"), "\($0)") }
        var notMap = Self.dataDict(nil)
        notMap["twin"] = "announced"
        XCTAssertThrowsError(try DataConfig.parse(notMap)) { XCTAssertTrue("\($0)".contains("data.twin"), "\($0)") }
        var noStates = Self.dataDict("announced")
        noStates["ode_states"] = false
        XCTAssertThrowsError(try DataConfig.parse(noStates)) { XCTAssertTrue("\($0)".contains("ode_states: true"), "\($0)") }
    }

    func testAnnouncedTwinRisesAfterTheMealAndBasalOnlyDoesNot() throws {
        let (mBasal, basal) = try prepare(nil)
        let (mAnnounced, announced) = try prepare("announced")
        XCTAssertEqual(mBasal.twinFutureInputs, "basal_only")
        XCTAssertEqual(mAnnounced.twinFutureInputs, "announced")
        XCTAssertEqual(basal.count, 1)
        XCTAssertEqual(announced.count, 1)
        XCTAssertEqual(basal.extras["ode_hist"], announced.extras["ode_hist"], "same match, same history")

        let fb = basal.extras["twin_forecast"]!.values, fa = announced.extras["twin_forecast"]!.values
        let m = Self.mealStep
        // Identical inputs up to and excluding the meal step: identical trajectories.
        XCTAssertEqual(Array(fa[..<m]), Array(fb[..<m]))
        // Within 2 h of the meal the announced twin rises well above its pre-meal value; the basal-only one
        // stays within a few mg/dL of its own.
        let window = (m + 1) ... (m + 24)
        let riseAnnounced = window.map { fa[$0] }.max()! - fa[m - 1]
        let riseBasal = window.map { fb[$0] }.max()! - fb[m - 1]
        XCTAssertGreaterThan(riseAnnounced, 30, "announced 60 g meal: \(fa)")
        XCTAssertLessThan(riseBasal, 5, "basal only: \(fb)")
        // The gut compartments (M1, M2: states 8, 9 of eq. 1) are filled only by the announced meal.
        let ua = announced.extras["ode_fut"]!.values, ub = basal.extras["ode_fut"]!.values
        XCTAssertGreaterThan(ua[m * 10 + 8], 10, "M1 after the 60 g meal")
        XCTAssertEqual((0 ..< Self.horizon).map { ub[$0 * 10 + 8] }.max(), 0)
        XCTAssertEqual(Array(ua[..<(m * 10)]), Array(ub[..<(m * 10)]))
    }

    func testAnnouncedNeedsACarbsColumn() throws {
        var text = "subject_id,timestamp,glucose_mg_dl,insulin_basal_u_per_h\n"
        for k in 0 ..< 90 { text += "M1,\(1_767_571_200 + k * 300),120,\(k == 0 ? "1.0" : "")\n" }
        let path = work.appendingPathComponent("nocarbs.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try DataConfig.parse(Self.dataDict("announced"))
        XCTAssertThrowsError(try DatasetPreparer.run(PrepareOptions(cgmPath: path, outDir: work.appendingPathComponent("x").path),
                                                     comm: SingleProcessCommunicator(), loadConfig: { config })) {
            XCTAssertTrue("\($0)".contains("carbs_g") && "\($0)".contains("data.twin.future_inputs"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("x").path))
    }

    /// Golden: data generated by a twin itself (steady history, then a 50 g meal with a 1 U bolus 30 min
    /// after t), matched against a one-twin population. The announced twin must reproduce the data's future
    /// (same model, same inputs, same grid alignment), the basal-only twin must miss the meal.
    func testAnnouncedTwinReproducesDataGeneratedByTheTwin() throws {
        let check = TwinMatchingCheck(twins: 1)
        let model = check.matcher.models[0]
        let (l, h) = (Self.history, Self.horizon)
        // The twin's own basal holds it at 115 mg/dL (VirtualPopulation), so the history is a true steady state.
        let basal = model.parameters.basalUPerH
        var x = SteadyState.initialState(model.parameters, glucoseMgDl: 115, slopeMgDlPerMin: 0, basalUPerH: basal)
        var glucose = [model.glucoseMgDl(x)]
        var text = "subject_id,timestamp,glucose_mg_dl,carbs_g,insulin_bolus_u,insulin_basal_u_per_h\n"
        let mealStep = l - 1 + Self.mealStep   // grid step k whose input [k, k+1) carries the meal and bolus
        for k in 0 ..< l + h - 1 {
            let (carbs, bolus) = k == mealStep ? (50.0, 1.0) : (0.0, 0.0)
            x = model.step(x, insulin: model.insulinInput(basalUPerH: basal, bolusU: bolus),
                           carbs: carbs / HovorkaParameters.sampleMinutes)
            glucose.append(model.glucoseMgDl(x))
        }
        for k in 0 ..< l + h {
            let t = 1_767_571_200 + k * 300
            // Events of step k act over [k, k+1) and are logged in (T_k, T_k+1], i.e. grid bin k+1: here on
            // the row at T_k+1 itself.
            let events = k == mealStep + 1 ? "50,1" : ","
            text += "T,\(t),\(String(format: "%.4f", glucose[k])),\(events),\(k == 0 ? String(format: "%.6f", basal) : "")\n"
        }
        XCTAssertTrue(glucose.allSatisfy { (40 ... 400).contains($0) }, "the data must stay in CGM range: \(glucose)")
        let path = work.appendingPathComponent("twin.csv").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let plan = try CohortPipeline.plan(config: try DataConfig.parse(Self.dataDict("announced")), cgmPath: path)
        let ref = try XCTUnwrap(plan.windows.first)
        XCTAssertEqual(ref.decision, l - 1)
        var hint: Int?
        let f = plan.features[ref.subject]
        let announced = try XCTUnwrap(check.match(f, decision: ref.decision, history: l, horizon: h, future: .announced, hint: &hint))
        let basalOnly = try XCTUnwrap(check.match(f, decision: ref.decision, history: l, horizon: h, future: .basalOnly, hint: &hint))
        let truth = glucose[l...].map(Float.init)
        XCTAssertEqual(glucose.map { Int($0.rounded()) }[..<l].min(), 115, "steady history")
        let errAnnounced = zip(announced.glucoseFut, truth).map { abs($0 - $1) }.max()!
        let errBasal = zip(basalOnly.glucoseFut, truth).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(errAnnounced, 0.5, "announced twin vs its own data: \(announced.glucoseFut) vs \(truth)")
        XCTAssertGreaterThan(errBasal, 20, "the basal-only twin cannot see the meal")
    }
}
