import Foundation
import XCTest
@testable import Physiology

/// The cohort generator: determinism (same seed → same bytes), the CSV schema, plausibility of
/// glucose by group, missing data, artifacts and irregular sampling for ingest/QC to handle.
final class CohortSimulatorTests: XCTestCase {
    static let config = CohortConfig(subjects: 12, days: 3, seed: 42)
    static let records = CohortSimulator.simulateAll(config)

    private func tempDir(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "physiology-tests-\(ProcessInfo.processInfo.processIdentifier)-\(name)"
        try? FileManager.default.removeItem(atPath: dir)
        return dir
    }

    private func files(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in ["cgm.csv", "subjects.csv", "truth/meals.csv", "truth/boluses.csv", "truth/activity.csv",
                     "truth/glucose.csv", "truth/sensor_artifacts.csv", "truth/subjects.csv"] {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        }
        return out
    }

    func testSameSeedSameBytes() throws {
        let a = tempDir("a"), b = tempDir("b"), c = tempDir("c")
        defer { for d in [a, b, c] { try? FileManager.default.removeItem(atPath: d) } }
        let small = CohortConfig(subjects: 4, days: 1, seed: 11)
        _ = try CohortSimulator.run(small, to: a)
        _ = try CohortSimulator.run(small, to: b)
        let fa = try files(a), fb = try files(b)
        for (name, data) in fa { XCTAssertEqual(data, fb[name], "\(name) differs between runs") }
        var other = small
        other.seed = 12
        _ = try CohortSimulator.run(other, to: c)
        XCTAssertNotEqual(try files(c)["cgm.csv"], fa["cgm.csv"])
        // No partial files left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: a).filter { $0.contains(".partial") }
        XCTAssertEqual(left, [])
    }

    func testSchemaAndRows() throws {
        let dir = tempDir("schema")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let summary = try CohortSimulator.run(CohortSimulatorTests.config, to: dir)
        let cgm = try String(contentsOfFile: dir + "/cgm.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(String(cgm[0]), "subject_id,timestamp,glucose_mg_dl,carbs_g,protein_g,fat_g,fibre_g,insulin_bolus_u,"
            + "insulin_basal_u_per_h,heart_rate_bpm,respiration_rate,spo2,steps,stress,calories,sleep_stage,meal_flag")
        XCTAssertEqual(cgm.count - 1, summary.cgmRows)
        var eventOnly = 0, duplicates = 0, previous = ""
        for line in cgm.dropFirst() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            XCTAssertEqual(f.count, 17, String(line))
            XCTAssertNotNil(Timestamp.parse(String(f[1])), String(f[1]))
            XCTAssertTrue(f[1].hasSuffix("Z") && f[1].count == 20)
            if let g = Int(f[2]) { XCTAssertTrue((40...400).contains(g)) }
            if f[2].isEmpty && f[9].isEmpty && (!f[3].isEmpty || !f[7].isEmpty) { eventOnly += 1 }
            if line == previous { duplicates += 1 }
            previous = String(line)
            if !f[15].isEmpty { XCTAssertTrue(["awake", "light", "deep", "rem"].contains(String(f[15]))) }
        }
        XCTAssertGreaterThan(eventOnly, 0, "some rows carry only an event")
        XCTAssertGreaterThan(duplicates, 0, "some rows are duplicated")
        let subjects = try String(contentsOfFile: dir + "/subjects.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(String(subjects[0]), "subject_id,age,diabetes_status,clinical_site,weight_kg,hba1c")
        XCTAssertEqual(subjects.count, 13)
        for line in subjects.dropFirst() {
            let f = line.split(separator: ",")
            XCTAssertNotNil(DiabetesStatus(rawValue: String(f[2])))
            XCTAssertTrue((4...14).contains(Double(f[5])!))
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/truth/meals.csv"))
    }

    func testGroupMixAndPlausibleGlucose() {
        let counts = Dictionary(grouping: Self.records, by: { $0.profile.status }).mapValues(\.count)
        XCTAssertEqual(counts, [.t1d: 5, .t2dInsulin: 2, .t2dOral: 2, .prediabetes: 1, .healthy: 2])
        var byGroup: [DiabetesStatus: [Double]] = [:]
        for r in Self.records {
            for g in r.plasma { XCTAssertTrue((35...450).contains(g), "\(r.profile.id) plasma \(g)") }
            byGroup[r.profile.status, default: []].append(r.meanGlucose)
            XCTAssertEqual(r.profile.status.usesInsulin, !r.boluses.isEmpty)
        }
        func mean(_ s: DiabetesStatus) -> Double { byGroup[s]!.reduce(0, +) / Double(byGroup[s]!.count) }
        XCTAssertTrue((125...190).contains(mean(.t1d)), "T1D mean \(mean(.t1d))")
        XCTAssertTrue((80...115).contains(mean(.healthy)), "healthy mean \(mean(.healthy))")
        XCTAssertGreaterThan(mean(.t2dOral), mean(.healthy))
    }

    func testMissingDataArtifactsAndIrregularSampling() {
        var readings = 0, missing = 0
        var kinds = Set<SensorArtifact.Kind>()
        var intervals = Set<Int>()
        var jumps = 0
        for r in Self.records {
            readings += r.readings.count
            missing += r.readings.filter { $0.value == nil }.count
            for a in r.artifacts { kinds.insert(a.kind) }
            intervals.insert(r.profile.devices.cgmIntervalMinutes)
            let values = r.readings.compactMap { $0.value }
            for k in 1..<values.count where abs(values[k] - values[k - 1]) > 40 { jumps += 1 }
        }
        let fraction = Double(missing) / Double(readings)
        XCTAssertTrue((0.01...0.15).contains(fraction), "missing fraction \(fraction)")
        XCTAssertTrue(kinds.isSuperset(of: [.dropout, .spike]), "\(kinds)")
        XCTAssertEqual(intervals, [1, 5, 15])
        XCTAssertGreaterThan(jumps, 0, "QC must have > 40 mg/dL jumps to reject")
    }

    /// Exercise lowers glucose (T1D on basal) and raises heart rate; meals in truth match events.
    func testExerciseAndWearables() {
        let p = HovorkaParameters.nominal(bodyWeight: 75)
        let basal = SteadyState.basalRate(p, glucoseMgDl: 140)!
        let ode = GeneratorODE(p: p, secretion: .none, sensorLag: 10)
        func run(_ hrr: Double) -> Double {
            var x = ode.fastingState(glucoseMgDl: 140, basalUPerH: basal)
            for m in 0..<90 {
                var u = GeneratorInputs()
                u.insulin = p.insulinInput(basalUPerH: basal)
                u.intensity = m < 45 ? hrr : 0
                x = ode.step(x, u, minute: Double(m), h: 1) { _ in 0 }
            }
            return p.glucoseMgDl(q1: x.q1)
        }
        XCTAssertEqual(run(0), 140, accuracy: 1e-6)
        let drop = 140 - run(0.6)
        XCTAssertTrue((15...80).contains(drop), "45 min at 60 % HRR lowered glucose by \(drop)")

        for r in Self.records where r.profile.devices.wearable {
            for bout in r.bouts where bout.kind == .run || bout.kind == .cycle {
                let k = Int(bout.start + bout.duration / 2) / 5
                guard k < r.wearable.count, let w = r.wearable[k] else { continue }
                XCTAssertGreaterThan(Double(w.heartRate), r.profile.restingHR + 30)
            }
        }
    }

    func testMealCompositionSlowsAbsorption() {
        let p = HovorkaParameters.nominal()
        let lean = MealModel.meal(at: 0, kind: .lunch, carbs: 60, protein: 10, fat: 2, fibre: 1, logged: true, p)
        let rich = MealModel.meal(at: 0, kind: .lunch, carbs: 60, protein: 30, fat: 40, fibre: 12, logged: true, p)
        XCTAssertGreaterThan(rich.tmax, lean.tmax * 1.5)
        // Total appearance = A · D / (0.18 BW), whatever the shape.
        for m in [lean, rich] {
            var total = 0.0
            for t in stride(from: 0.05, to: 2000, by: 0.1) { total += 0.1 * MealModel.appearance(m, at: t, bodyWeight: p.bodyWeight) }
            XCTAssertEqual(total, m.bioavailability * 60 / (0.18 * p.bodyWeight), accuracy: 1e-4)
        }
    }

    func testTimestamps() {
        XCTAssertEqual(Timestamp.epochSeconds(year: 2026, month: 1, day: 5, hour: 7, minute: 35), 1_767_598_500)
        XCTAssertEqual(Timestamp.iso8601(1_767_598_500), "2026-01-05T07:35:00Z")
        XCTAssertEqual(Timestamp.iso8601(951_868_799), "2000-02-29T23:59:59Z")
        XCTAssertEqual(Timestamp.iso8601(-86400), "1969-12-31T00:00:00Z")
        XCTAssertEqual(Timestamp.parse("2026-01-05"), 1_767_571_200)
        XCTAssertEqual(Timestamp.parse("2026-01-05T07:35:00Z"), 1_767_598_500)
        XCTAssertNil(Timestamp.parse("2026-13-05"))
        XCTAssertEqual(CSVFormat.fixed(2.345, 2), "2.35")
        XCTAssertEqual(CSVFormat.fixed(-0.004, 2), "0.00")
        XCTAssertEqual(CSVFormat.fixed(-1.5, 1), "-1.5")
        XCTAssertEqual(CSVFormat.fixed(7, 0), "7")
    }
}
