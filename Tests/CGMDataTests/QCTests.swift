// QC: each rule of PhysioSeq2Seq Appendix C triggered by a crafted window and counted; rules switched
// off; the extraction yield; the density and staleness rules on real 15-minute sampling.

import Foundation
import XCTest
@testable import CGMData

final class QCTests: XCTestCase {
    /// Runs QC on the single window (L 4, H 2, decision index 3) of a 6-point subject.
    private func check(_ glucose: [Float], observed: [UInt8]? = nil, age: [Int32]? = nil,
                       qc: QualityControl = QualityControl()) throws -> (accepted: Bool, report: QCReport) {
        var qc = qc
        qc.minHistoryPoints = 3
        let f = try FeatureBuilder().build(makeResampledSubject(glucose, observed: observed, readingAge: age), features: [])
        var report = QCReport(enabled: qc.enabled, residualNaNScope: qc.residualNaNScope)
        let ok = qc.evaluate(f, qc.index(f), decision: 3, history: 4, horizon: 2, report: &report)
        return (ok, report)
    }

    private let clean: [Float] = [100, 102, 104, 106, 108, 110]

    func testCleanWindowPasses() throws {
        let (ok, report) = try check(clean)
        XCTAssertTrue(ok)
        XCTAssertEqual(report.scanned, 1)
        XCTAssertEqual(report.accepted, 1)
        XCTAssertEqual(report.rules.map(\.count), [0, 0, 0, 0, 0, 0])
    }

    func testEachRuleTriggeredAndCounted() throws {
        // Rule 1: only 2 of the 4 history bins hold a raw reading (the others are interpolated) < 3.
        var r = try check(clean, observed: [0, 0, 1, 1, 1, 1])
        XCTAssertFalse(r.accepted)
        XCTAssertEqual(r.report.count(.historyDensity), 1)
        // Rule 2: 100 → 150 is 50 mg/dL in 5 minutes within the history.
        r = try check([100, 150, 140, 130, 128, 126])
        XCTAssertEqual(r.report.rules.map(\.count), [0, 1, 0, 0, 0, 0])
        // Rule 3: the latest raw reading is 10 minutes older than the decision time.
        r = try check(clean, age: [0, 0, 0, 600, 0, 0])
        XCTAssertEqual(r.report.rules.map(\.count), [0, 0, 1, 0, 0, 0])
        // Rule 4: a missing target.
        r = try check([100, 102, 104, 106, 108, .nan])
        XCTAssertEqual(r.report.rules.map(\.count), [0, 0, 0, 1, 0, 0])
        // Rule 5: a 45 mg/dL jump between the decision point and the first target.
        r = try check([100, 102, 104, 106, 151, 150])
        XCTAssertEqual(r.report.rules.map(\.count), [0, 0, 0, 0, 1, 0])
        // Rule 6: the twin-matching check fails this window; it sees the history and the future.
        var seen: QCWindow?
        let twin = QualityControl(twinMatchFails: { window in
            seen = window
            return true
        })
        r = try check(clean, qc: twin)
        XCTAssertEqual(r.report.rules.map(\.count), [0, 0, 0, 0, 0, 1])
        XCTAssertEqual(seen.map { Array($0.history) }, [100, 102, 104, 106])
        XCTAssertEqual(seen.map { Array($0.future) }, [108, 110])
        XCTAssertEqual(seen?.decisionTime, gridT0 + 900)
        XCTAssertFalse(r.accepted)
    }

    func testRuleFourOnTheHistoryTailCountsMissingTargetsApart() throws {
        var tail = QualityControl()
        tail.residualNaNScope = .historyTail
        // A missing target: App. C's rule 4 (the CGM up to t) passes it, but the window cannot be trained on.
        var r = try check([100, 102, 104, 106, 108, .nan], qc: tail)
        XCTAssertFalse(r.accepted)
        XCTAssertEqual(r.report.rules.map(\.count), [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(r.report.incompleteTargets, 1)
        XCTAssertEqual(r.report.yield, 0)
        XCTAssertEqual(r.report.appendixCYield, 1)
        XCTAssertTrue(r.report.summaryLines().last!.contains("App. C yield 100.0%"), "\(r.report.summaryLines())")
        // A missing history point fails rule 4 under either scope.
        r = try check([100, .nan, 104, 106, 108, 110], qc: tail)
        XCTAssertEqual(r.report.rules.map(\.count), [0, 0, 0, 1, 0, 0])
        XCTAssertEqual(r.report.incompleteTargets, 0)
        // The default whole-window rule 4 counts the missing target under rule 4 and reports no extra count.
        r = try check([100, 102, 104, 106, 108, .nan])
        XCTAssertEqual(r.report.rules.map(\.count), [0, 0, 0, 1, 0, 0])
        XCTAssertNil(r.report.incompleteTargets)
        XCTAssertEqual(r.report.appendixCYield, r.report.yield)
        // The count survives the manifest's JSON; the default report writes no such key.
        var report = QCReport(enabled: Set(QCRule.allCases), residualNaNScope: .historyTail)
        report.scanned = 3
        report.incompleteTargets = 2
        XCTAssertEqual(try JSONDecoder().decode(QCReport.self, from: JSONEncoder().encode(report)), report)
        let plain = String(decoding: try JSONEncoder().encode(QCReport(enabled: [])), as: UTF8.self)
        XCTAssertFalse(plain.contains("incomplete_targets"))
        // data.residual_nan_scope reaches the QC; the default adds nothing to the hash or the resolved config.
        let config = try DataConfig.parse(["residual_nan_scope": "history_tail"])
        XCTAssertEqual(config.qualityControl().residualNaNScope, .historyTail)
        XCTAssertNotEqual(config.hash, try DataConfig.parse([:]).hash)
        XCTAssertEqual(try DataConfig.parse(["residual_nan_scope": "window"]).hash, try DataConfig.parse([:]).hash)
        XCTAssertFalse(try DataConfig.parse([:]).entries.contains { $0.0 == "residual_nan_scope" })
        XCTAssertThrowsError(try DataConfig.parse(["residual_nan_scope": "tail"])) { error in
            XCTAssertTrue("\(error)".contains("data.residual_nan_scope must be window or history_tail"), "\(error)")
        }
    }

    func testRulesCountIndependentlyAndTwinMatchingRunsLast() throws {
        var calls = 0
        let qc = QualityControl(twinMatchFails: { _ in
            calls += 1
            return true
        })
        let r = try check([100, 102, 104, 106, 151, 150], observed: [0, 0, 1, 1, 1, 1], age: [0, 0, 0, 600, 0, 0], qc: qc)
        XCTAssertEqual(r.report.rules.map(\.count), [1, 0, 1, 0, 1, 0], "one window, three rules counted")
        XCTAssertEqual(r.report.rejected, 1)
        XCTAssertEqual(calls, 0, "rule 6 is not evaluated for a window already rejected")
    }

    func testDisabledRulesAreNotApplied() throws {
        let qc = QualityControl(enabled: [.residualNaN, .rateOfChange])
        let r = try check([100, 102, 104, 106, 151, 150], observed: [0, 0, 0, 0, 0, 0], age: [0, 0, 0, 900, 0, 0], qc: qc)
        XCTAssertTrue(r.accepted)
        XCTAssertEqual(r.report.rules.map(\.enabled), [false, true, false, true, false, false])
        XCTAssertTrue(r.report.summaryLines().contains { $0.contains("rule 1 min_history_points") && $0.hasSuffix("off") })
        // Rule 4 is applied even when left out: windows need complete CGM.
        XCTAssertFalse(try check([100, .nan, 104, 106, 108, 110], qc: qc).accepted)
    }

    func testDefaultDensityMinimumScalesWithHistory() {
        let qc = QualityControl()
        XCTAssertEqual(qc.minimumPoints(history: 37), 18, "the paper's 18 of 37")
        XCTAssertEqual(qc.minimumPoints(history: 144), 71, "⌈18·144/37⌉ = ⌈70.05⌉")
        XCTAssertEqual(qc.minimumPoints(history: 1), 1)
    }

    func testFifteenMinuteSamplingFailsDensityAndStaleness() throws {
        // A reading every 15 minutes for 4 hours: every 3rd grid bin is observed, so a 37-step history
        // holds 12–13 observed points (< 18, rule 1 for all 7 windows). At decision times 10 minutes
        // after a reading (t = 38, 41) the latest reading is stale (rule 3); 5 minutes after is allowed.
        let csv = "subject_id,timestamp,glucose_mg_dl\n" + (0 ... 16).map { "A,\(gridT0 + Int64($0) * 900),\(100 + $0)\n" }.joined()
        let s = try Resampler().resample(try readTestCohort(csv).series[0]).subject
        XCTAssertEqual(s.count, 49)
        let f = try FeatureBuilder().build(s, features: [])
        let (refs, report) = WindowExtractor(history: 37, horizon: 6, stride: 1).candidates([f], qc: QualityControl())
        XCTAssertTrue(refs.isEmpty)
        XCTAssertEqual(report.scanned, 7)
        XCTAssertEqual(report.count(.historyDensity), 7)
        XCTAssertEqual(report.count(.staleDecision), 2)
        XCTAssertEqual(report.yield, 0)
        XCTAssertTrue(report.summaryLines()[0].contains("0 of 7 windows accepted, extraction yield 0.0%"))
    }

    func testReportEncodesTheYieldForManifests() throws {
        var report = QCReport(enabled: Set(QCRule.allCases))
        report.scanned = 8
        report.accepted = 6
        report.increment(.staleDecision)
        report.increment(.staleDecision)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as! [String: Any]
        XCTAssertEqual(json["yield"] as? Double, 0.75)
        XCTAssertEqual(json["rejected"] as? Int, 2)
        XCTAssertEqual(try JSONDecoder().decode(QCReport.self, from: JSONEncoder().encode(report)), report)
    }
}
