// `cgmtrain prepare` end to end, on the built binary: a small simulated cohort (`cgmtrain simulate`, 6
// subjects × 2 days) prepared alone and under real `mpirun -np 2` and `-np 4 --oversubscribe` gives the
// same manifest and the same windows in the same order (read back with ShardDataset/ShardReader), with
// the six QC counts and the yield in the manifest; bad input (a bad timestamp, an empty cohort after QC,
// an unknown config key, an existing --out) fails with a clear message and leaves nothing behind.
// In-process tests check the planning/materializing split and the twin-matching input. Every
// subprocess has a timeout.

import CGMData
import CGMSchema
import Distributed
import Foundation
import Physiology
import _TestSupport
import XCTest

final class PrepareTests: XCTestCase {
    static let timeout: TimeInterval = 90

    // MARK: Fixtures

    /// One simulated cohort for the whole class (cgm.csv, subjects.csv).
    nonisolated(unsafe) static var cohortDir: URL?
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory
            .appendingPathComponent("prepare-test-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: work)
    }

    override class func tearDown() {
        if let dir = cohortDir { try? FileManager.default.removeItem(at: dir) }
        cohortDir = nil
        super.tearDown()
    }

    /// `cgmtrain simulate --subjects 6 --days 2 --seed 11` (once per class).
    func cohort() throws -> (cgm: String, subjects: String) {
        if let dir = Self.cohortDir {
            return (dir.appendingPathComponent("cgm.csv").path, dir.appendingPathComponent("subjects.csv").path)
        }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("prepare-cohort-\(getpid())-\(UUID().uuidString.prefix(8))")
        let r = try cgmtrain(["simulate", "--subjects", "6", "--days", "2", "--seed", "11", "--no-truth",
                              "--out", dir.path])
        XCTAssertEqual(r.status, 0, r.log)
        Self.cohortDir = dir
        return (dir.appendingPathComponent("cgm.csv").path, dir.appendingPathComponent("subjects.csv").path)
    }

    /// Writes a config file into the work directory.
    func config(_ name: String, _ yaml: String) throws -> String {
        let path = work.appendingPathComponent(name).path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The physio preset with small shards, inside a trainer-style config (other sections are ignored).
    func physioConfig() throws -> String {
        try config("physio.yaml", """
            model: {name: seq2seq, hidden: 64}
            train: {epochs: 3}
            data:
              preset: physio_seq2seq
              split_seed: 3
              qc: {twin_matching: on}
            """)
    }

    // MARK: Subprocesses

    typealias Outcome = LaunchOutcome

    /// `cgmtrain args` alone (np = nil) or under `mpirun -np N --oversubscribe`, killed after `timeout`.
    func cgmtrain(_ args: [String], np: Int? = nil) throws -> Outcome {
        try CGMTrainLauncher.run(args, np: np, timeout: Self.timeout)
    }

    /// `cgmtrain prepare` on the class cohort with `configPath` into work/`name`.
    func prepare(_ configPath: String, out name: String, np: Int? = nil, extra: [String] = []) throws -> (Outcome, String) {
        let (cgm, subjects) = try cohort()
        let out = work.appendingPathComponent(name).path
        let r = try cgmtrain(["prepare", "--cgm", cgm, "--subjects", subjects, "--config", configPath, "--out", out,
                              "--subjects-per-shard", "1"] + extra, np: np)
        if r.stderr.contains("Usage: cgmtrain <subcommand>") {
            XCTFail("cgmtrain has no prepare subcommand: register PrepareCommand in Sources/cgmtrain/main.swift "
                    + "and rebuild (`swift build`)\n\(r.log)")
        }
        return (r, out)
    }

    /// Manifest and every window of every split, as a reader sees them.
    func snapshot(_ dir: String) throws -> (Manifest, [ShardSplit: Batch]) {
        let ds = try ShardDataset(directory: dir)
        try ds.verifyShards()
        var batches: [ShardSplit: Batch] = [:]
        for split in ShardSplit.allCases {
            batches[split] = try ShardReader(dataset: ds, split: split).read(indices: Array(0 ..< ds.count(split)))
        }
        return (ds.manifest, batches)
    }

    /// Entries of the work directory that look like prepare's temporary or set-aside directories.
    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: work.path).filter { $0.contains(".tmp-") || $0.contains(".old-") }
    }

    // MARK: Same output for 1, 2 and 4 ranks

    func testSubjectSplitIsIdenticalAloneAndUnderMPIWithTwoAndFourRanks() throws {
        let configPath = try physioConfig()
        let (alone, out1) = try prepare(configPath, out: "np1")
        XCTAssertEqual(alone.status, 0, alone.log)
        let (m1, b1) = try snapshot(out1)

        // Manifest: six QC counters, the yield, and windows = accepted (a subject split discards none).
        let counts = m1.qc.counts
        for rule in QCRule.allCases {
            XCTAssertNotNil(counts[PrepareCounter.rule(rule)], "manifest lacks \(PrepareCounter.rule(rule)): \(counts)")
        }
        let scanned = try XCTUnwrap(counts[PrepareCounter.scanned]), accepted = try XCTUnwrap(counts[PrepareCounter.accepted])
        XCTAssertGreaterThan(scanned, accepted, "the simulated sensor has gaps: some windows must be rejected")
        XCTAssertGreaterThan(accepted, 50)
        XCTAssertEqual(try XCTUnwrap(m1.qc.yield), Double(accepted) / Double(scanned), accuracy: 1e-12)
        XCTAssertEqual(m1.totals.windows, accepted)
        XCTAssertEqual(counts["ingest_subjects"], 6)
        XCTAssertEqual(m1.history, 37)
        XCTAssertEqual(m1.horizon, 48)
        XCTAssertEqual(m1.pastFeatures, ["cgm_scaled", "iob_scaled"])
        XCTAssertEqual(m1.split(.train).shards.count, 4, "70/15/15 of 6 subjects, one subject per shard")
        XCTAssertEqual(m1.split(.val).subjects.count + m1.split(.test).subjects.count, 2)
        XCTAssertTrue(Set(m1.split(.train).subjects).isDisjoint(with: m1.split(.test).subjects))
        let spec = try FeatureSpec(jsonString: m1.featureSpecJSON)
        XCTAssertEqual(spec.pastFeatures, m1.pastFeatures)

        // Printed report: ingest, every rule, the yield, per-split windows, time.
        for needle in ["ingest cgm.csv:", "rule 1 min_history_points", "rule 6 twin_matching",
                       "extraction yield", "split (subject, seed 3): train \(m1.split(.train).windows) windows",
                       "wrote \(out1): \(m1.totals.windows) windows"] {
            XCTAssertTrue(alone.stdout.contains(needle), "stdout lacks '\(needle)'\n\(alone.log)")
        }

        for np in [2, 4] {
            let (r, out) = try prepare(configPath, out: "np\(np)", np: np)
            XCTAssertFalse(r.timedOut, r.log)
            XCTAssertEqual(r.status, 0, r.log)
            XCTAssertEqual(r.stdout.components(separatedBy: "extraction yield").count - 1, 1,
                           "only rank 0 prints the report\n\(r.log)")
            XCTAssertTrue(r.stdout.contains("on \(np) ranks"), r.log)
            let (m, b) = try snapshot(out)
            XCTAssertEqual(m, m1, "np=\(np) manifest differs from the single-process one")
            for split in ShardSplit.allCases {
                XCTAssertEqual(b[split], b1[split], "np=\(np) \(split.rawValue) windows differ")
            }
        }
        XCTAssertEqual(try leftovers(), [])
    }

    func testTemporalSplitWithWearablesIsIdenticalForOneAndTwoRanks() throws {
        let configPath = try config("ssm.yaml", """
            data:
              preset: ssm_cgm_24h
              split: temporal
              qc: {twin_matching: off}
            """)
        let (alone, out1) = try prepare(configPath, out: "np1")
        XCTAssertEqual(alone.status, 0, alone.log)
        let (m1, b1) = try snapshot(out1)
        XCTAssertEqual(m1.history, 288)
        XCTAssertTrue(m1.pastFeatures.contains("heart_rate_bpm") && m1.pastFeatures.contains("sleep_stage"),
                      "the simulator's wearables (sleep stages written as words) are read: \(m1.pastFeatures)")
        XCTAssertNil(m1.qc.counts[PrepareCounter.rule(.twinMatching)], "rule 6 is off")
        XCTAssertTrue(alone.stdout.contains("rule 6 twin_matching (twin matching failed): off"), alone.log)
        XCTAssertEqual(m1.split(.test).subjects, m1.subjects, "temporal: every subject with windows is tested")
        XCTAssertEqual(m1.split(.test).windows, m1.subjects.count, "one test window per subject (H = 12, stride 12)")
        XCTAssertEqual(m1.split(.test).shards.count, m1.split(.train).shards.count, "each job writes all three splits")
        let counts = m1.qc.counts
        XCTAssertEqual(m1.totals.windows, counts[PrepareCounter.accepted]! - counts[PrepareCounter.discarded]!)

        let (r, out2) = try prepare(configPath, out: "np2", np: 2)
        XCTAssertEqual(r.status, 0, r.log)
        let (m2, b2) = try snapshot(out2)
        XCTAssertEqual(m2, m1)
        XCTAssertEqual(b2, b1)
    }

    func testODEStatesAreStoredAndIdenticalForOneAndTwoRanks() throws {
        let configPath = try config("physio-ode.yaml", """
            data:
              preset: physio_seq2seq
              split_seed: 3
              ode_states: true
            """)
        let (alone, out1) = try prepare(configPath, out: "np1")
        XCTAssertEqual(alone.status, 0, alone.log)
        let (m1, b1) = try snapshot(out1)
        XCTAssertEqual(m1.extras, [ODEStateExtras.history: [37, 10], ODEStateExtras.future: [48, 10],
                                   ODEStateExtras.twinForecast: [48]])
        let train = try XCTUnwrap(b1[.train])
        XCTAssertGreaterThan(train.count, 0)
        let hist = try XCTUnwrap(train.extras[ODEStateExtras.history]).values
        XCTAssertEqual(hist.count, train.count * 370)
        XCTAssertTrue(hist.allSatisfy { $0.isFinite }, "matched twins have finite states")
        XCTAssertTrue(try XCTUnwrap(train.extras[ODEStateExtras.twinForecast]).values.allSatisfy { $0 > 0 && $0.isFinite })

        let (r, out2) = try prepare(configPath, out: "np2", np: 2)
        XCTAssertFalse(r.timedOut, r.log)
        XCTAssertEqual(r.status, 0, r.log)
        let (m2, b2) = try snapshot(out2)
        XCTAssertEqual(m2, m1)
        for split in ShardSplit.allCases {
            XCTAssertEqual(b2[split], b1[split], "np=2 \(split.rawValue) windows (with extras) differ")
        }
    }

    // MARK: Bad input

    func testBadTimestampFailsNamingFileAndLineAndLeavesNothing() throws {
        let (cgm, _) = try cohort()
        var lines = try String(contentsOfFile: cgm, encoding: .utf8).components(separatedBy: "\n")
        let fields = lines[6].components(separatedBy: ",")
        lines[6] = ([fields[0], "2026-01-05T25:61:00Z"] + fields.dropFirst(2)).joined(separator: ",")
        let bad = work.appendingPathComponent("bad.csv").path
        try lines.joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let out = work.appendingPathComponent("out").path
        let r = try cgmtrain(["prepare", "--cgm", bad, "--config", try physioConfig(), "--out", out], np: 2)
        XCTAssertFalse(r.timedOut, r.log)
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssertTrue(r.stderr.contains("error: bad.csv:7: column 'timestamp'"), r.log)
        XCTAssertTrue(r.stderr.contains("2026-01-05T25:61:00Z"), r.log)
        XCTAssertEqual(r.stderr.components(separatedBy: "error: ").count - 1, 1, "one error line, not one per rank\n\(r.log)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try leftovers(), [])
    }

    func testEmptyCohortAfterQCIsAClearError() throws {
        // Readings every 15 minutes: no 3-hour history has the 18 points rule 1 asks for.
        var csv = "subject_id,timestamp,glucose_mg_dl,insulin_bolus_u\n"
        for s in 0 ..< 3 {
            for k in 0 ..< 4 * 24 { csv += "P\(s),\(1_767_571_200 + k * 900),\(110 + (k % 7)),\n" }
        }
        let path = work.appendingPathComponent("sparse.csv").path
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        let out = work.appendingPathComponent("out").path
        let r = try cgmtrain(["prepare", "--cgm", path, "--config", try physioConfig(), "--out", out])
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssertTrue(r.stderr.contains("error: sparse.csv: empty cohort after quality control"), r.log)
        XCTAssertTrue(r.stderr.contains("rule 1 min_history_points"), "names the rule that removed them\n\(r.log)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try leftovers(), [])
    }

    func testUnknownDataKeyIsAnErrorButOtherSectionsAreTolerated() throws {
        let (cgm, _) = try cohort()
        let path = try config("typo.yaml", "model: {hidden: 8}\ndata:\n  preset: physio_seq2seq\n  strid: 6\n")
        let out = work.appendingPathComponent("out").path
        let r = try cgmtrain(["prepare", "--cgm", cgm, "--config", path, "--out", out])
        XCTAssertNotEqual(r.status, 0, r.log)
        XCTAssertTrue(r.stderr.contains("error: \(path): data.strid is not a known key"), r.log)
        let none = try config("none.yaml", "model: {hidden: 8}\n")
        let r2 = try cgmtrain(["prepare", "--cgm", cgm, "--config", none, "--out", out])
        XCTAssertNotEqual(r2.status, 0, r2.log)
        XCTAssertTrue(r2.stderr.contains("no top-level `data:` section"), r2.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testExistingOutputIsRefusedUnlessOverwrite() throws {
        let configPath = try physioConfig()
        let (first, out) = try prepare(configPath, out: "out")
        XCTAssertEqual(first.status, 0, first.log)
        let before = try Manifest.load(out)

        let (again, _) = try prepare(configPath, out: "out", np: 2)
        XCTAssertNotEqual(again.status, 0, again.log)
        XCTAssertTrue(again.stderr.contains("output directory already exists; pass --overwrite"), again.log)
        XCTAssertEqual(try Manifest.load(out), before, "the existing dataset is untouched")

        let (replaced, _) = try prepare(configPath, out: "out", extra: ["--overwrite"])
        XCTAssertEqual(replaced.status, 0, replaced.log)
        XCTAssertEqual(try Manifest.load(out), before, "same input and config, same dataset")
        XCTAssertEqual(try leftovers(), [])
    }

    // MARK: In process

    /// A plan of 8 synthetic subjects (10 h at 5 min, boluses every 2 h, basal 0.9 U/h) with small windows.
    func syntheticPlan(split: DataConfig.SplitMethod, twin: Bool) throws -> CohortPlan {
        var csv = "subject_id,timestamp,glucose_mg_dl,insulin_bolus_u,insulin_basal_u_per_h\n"
        for s in 0 ..< 8 {
            for k in 0 ..< 120 {
                let g = 130 + 35 * sin(Double(k) / 14 + Double(s))
                csv += "Q\(s),\(1_767_571_200 + k * 300),\(String(format: "%.1f", g)),\(k % 24 == 0 ? "2" : ""),\(k == 0 ? "0.9" : "")\n"
            }
        }
        let path = work.appendingPathComponent("synthetic.csv").path
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        var config = try DataConfig.parse(["preset": "custom", "history": 37, "horizon": 12, "stride": 6,
                                           "past_features": ["cgm_scaled", "iob_scaled"], "future_features": ["iob_scaled"]])
        config.split = split
        if !twin { config.qc.remove(.twinMatching) }
        return try CohortPipeline.plan(config: config, cgmPath: path)
    }

    func testJobsReassembleThePreparedCohortWindowForWindow() throws {
        for method in DataConfig.SplitMethod.allCases {
            let plan = try syntheticPlan(split: method, twin: false)
            let whole = plan.preparedCohort()
            let materializer = PrepareMaterializer(plan: plan, twinCheck: nil)
            let jobs = plan.shardJobs(subjectsPerShard: 3)
            XCTAssertEqual(jobs, plan.shardJobs(subjectsPerShard: 3), "jobs are a function of the plan")
            var fromJobs: [ShardSplit: [(String, Int64, ArraySlice<Float>)]] = [:]
            var accepted = 0
            for job in jobs {
                let output = try materializer.output(for: job)
                accepted += output.qcCounts[PrepareCounter.accepted] ?? 0
                XCTAssertNil(output.qcCounts[PrepareCounter.rule(.twinMatching)], "no check, no rule-6 count")
                for (split, set) in output.windows {
                    XCTAssertNil(set.validate())
                    XCTAssertEqual(Set(set.subject).count, set.subjects.count, "a shard lists only its subjects")
                    let n = set.history * set.pastFeatures.count
                    for w in 0 ..< set.count {
                        fromJobs[split, default: []].append((set.subjects[Int(set.subject[w])], set.decisionTime[w],
                                                             set.past[w * n ..< (w + 1) * n]))
                    }
                }
            }
            XCTAssertEqual(accepted, plan.qc.accepted)
            for name in SplitName.allCases {
                let set = whole.windows(name)
                let n = set.history * set.pastFeatures.count
                let expected = (0 ..< set.count).map { w in
                    (set.subjects[Int(set.subject[w])], set.decisionTime[w], set.past[w * n ..< (w + 1) * n])
                }
                let got = fromJobs[ShardSplit(name)] ?? []
                // Same windows; jobs order them by the job's subject order, then time.
                let key = { (t: (String, Int64, ArraySlice<Float>)) in "\(t.0)@\(t.1)" }
                XCTAssertEqual(Set(got.map(key)), Set(expected.map(key)), "\(method) \(name)")
                let byKey = Dictionary(uniqueKeysWithValues: expected.map { (key($0), $0.2) })
                for t in got { XCTAssertEqual(Array(t.2), byKey[key(t)].map(Array.init), "\(method) \(name) \(key(t))") }
            }
        }
    }

    func testRuleSixRunsTwinMatchingPerJobAndCountsIt() throws {
        let plan = try syntheticPlan(split: .subject, twin: true)
        XCTAssertEqual(plan.qc.count(.twinMatching), 0, "the planning pass does not twin-match")
        let check = TwinMatchingCheck()
        let materializer = PrepareMaterializer(plan: plan, twinCheck: check)
        var accepted = 0, failed = 0, written = 0
        for job in plan.shardJobs(subjectsPerShard: 2) {
            let output = try materializer.output(for: job)
            accepted += output.qcCounts[PrepareCounter.accepted]!
            failed += output.qcCounts[PrepareCounter.rule(.twinMatching)]!
            written += output.windows.values.reduce(0) { $0 + $1.count }
        }
        XCTAssertEqual(accepted + failed, plan.qc.accepted, "every window passing rules 1–5 is twin-matched once")
        XCTAssertEqual(written, accepted)
        XCTAssertEqual(failed, 0, "smooth complete CGM always has a finite-error twin")

        // A window without any finite CGM value fails rule 6 (Appendix C criterion 6).
        var f = plan.features[0]
        let t = 40
        for i in t - 36 ... t { f.cgm[i] = .nan }
        var hint: Int?
        XCTAssertTrue(check.fails(f, decision: t, history: 37, hint: &hint))
        XCTAssertFalse(check.fails(plan.features[0], decision: t, history: 37, hint: &hint))
        XCTAssertNotNil(hint, "a successful match leaves its twin as the next hint")
    }

    func testTwinWindowUsesNothingAfterTheDecisionTime() throws {
        let plan = try syntheticPlan(split: .subject, twin: false)
        let f = plan.features[0]
        let t = 48   // a bolus bin (k % 24 == 0) lies at t: its dose was delivered in (t − 5 min, t]
        let w = TwinMatchingCheck.window(f, decision: t, length: 37)
        XCTAssertEqual(w.cgm, Array(f.cgm[t - 36 ... t]))
        // Input k acts over [k, k+1): bin k+1. The bolus in bin t is input 35, and input 36 has none.
        XCTAssertEqual(w.bolusU[35], f.doses[t] - f.basalDoses[t], accuracy: 1e-6)
        XCTAssertEqual(w.bolusU[36], 0)
        XCTAssertEqual(w.basalUPerH[36], f.basalDoses[t] * 12, accuracy: 1e-6)
        XCTAssertEqual(w.basalUPerH[0], 0.9, accuracy: 1e-5)
        // Changing everything after t changes nothing.
        var later = f
        for i in t + 1 ..< later.count {
            later.cgm[i] = 400
            later.doses[i] = 9
            later.basalDoses[i] = 3
        }
        let w2 = TwinMatchingCheck.window(later, decision: t, length: 37)
        XCTAssertEqual(w2.cgm, w.cgm)
        XCTAssertEqual(w2.bolusU, w.bolusU)
        XCTAssertEqual(w2.basalUPerH, w.basalUPerH)
    }

    func testSleepStageWordsAreRead() throws {
        let path = work.appendingPathComponent("sleep.csv").path
        try "subject_id,timestamp,glucose_mg_dl,sleep_stage\nA,1767571200,100,light\nA,1767571500,101,REM\nA,1767571800,102,2\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let cohort = try CohortReader().read(cgmPath: path)
        XCTAssertEqual(cohort.series[0].values(for: .sleepStage), [1, 3, 2])
        try "subject_id,timestamp,glucose_mg_dl,sleep_stage\nA,1767571200,100,dozing\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CohortReader().read(cgmPath: path)) { error in
            XCTAssertEqual("\(error)", "sleep.csv:2: column 'sleep_stage': cannot parse 'dozing' as a number")
        }
    }
}
