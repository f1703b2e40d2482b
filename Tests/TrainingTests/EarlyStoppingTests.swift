// Early stopping with Lightning's semantics (mode min): improvement means current < best − min_delta,
// patience counts validation checks, a non-finite loss stops at once; the state survives a checkpoint.

import XCTest
@testable import Training

final class EarlyStoppingTests: XCTestCase {
    func testPatienceCountsChecksWithoutImprovement() {
        var es = EarlyStopping(patience: 3)
        let losses = [1.0, 0.9, 0.95, 0.91, 0.85, 0.86, 0.86, 0.87]
        var stops: [Bool] = []
        for l in losses {
            es.update(l)
            stops.append(es.shouldStop)
        }
        // best 0.85 at the 5th check; three more checks without improvement stop on the 8th.
        XCTAssertEqual(stops, [false, false, false, false, false, false, false, true])
        XCTAssertEqual(es.best, 0.85)
        XCTAssertEqual(es.wait, 3)
        XCTAssertEqual(es.checks, 8)
        XCTAssertTrue(es.reason!.contains("did not improve"), es.reason!)
    }

    func testMinDeltaRequiresARealImprovement() {
        var es = EarlyStopping(patience: 2, minDelta: 0.1)
        XCTAssertTrue(es.update(1.0))
        XCTAssertFalse(es.update(0.95))     // better, but not by more than 0.1
        XCTAssertEqual(es.best, 1.0)
        XCTAssertTrue(es.update(0.85))      // 0.85 < 1.0 − 0.1
        XCTAssertEqual(es.wait, 0)
        XCTAssertFalse(es.update(0.8))
        XCTAssertFalse(es.update(0.76))
        XCTAssertTrue(es.shouldStop)
        // Exactly best − min_delta is not an improvement (strict, as torch.lt).
        var edge = EarlyStopping(patience: 1, minDelta: 0.25)
        edge.update(1.0)
        XCTAssertFalse(edge.update(0.75))
        XCTAssertTrue(edge.shouldStop)
    }

    func testNonFiniteLossStopsImmediately() {
        var es = EarlyStopping(patience: 10)
        es.update(0.5)
        XCTAssertFalse(es.update(.nan))
        XCTAssertTrue(es.shouldStop)
        XCTAssertTrue(es.reason!.contains("not finite"))
        var inf = EarlyStopping(patience: 10)
        inf.update(.infinity)
        XCTAssertTrue(inf.shouldStop)
    }

    func testStateRoundTrip() throws {
        var es = EarlyStopping(patience: 4, minDelta: 0.01)
        for l in [0.5, 0.4, 0.45, 0.41] { es.update(l) }
        var restored = EarlyStopping(patience: 4, minDelta: 0.01)
        try restored.importState(es.exportState())
        XCTAssertEqual(restored.exportState(), es.exportState())
        XCTAssertEqual([restored.best, Double(restored.wait), Double(restored.checks)], [es.best, Double(es.wait), Double(es.checks)])
        // Both continue identically.
        for l in [0.42, 0.43] {
            XCTAssertEqual(es.update(l), restored.update(l))
            XCTAssertEqual(es.shouldStop, restored.shouldStop)
        }
        XCTAssertTrue(es.shouldStop)
        var missing = EarlyStopping(patience: 1)
        XCTAssertThrowsError(try missing.importState(["best": 1])) { XCTAssertTrue("\($0)".contains("'wait'"), "\($0)") }
    }
}
