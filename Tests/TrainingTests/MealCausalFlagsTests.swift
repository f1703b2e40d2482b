// Causal meal flags (prepare --meal-detector default): the flag at grid time t uses only CGM at times ≤ t.
// The leakage test changes the CGM after t and checks every causal probability and flag at or before t is
// bit-identical, while the A.2 smoothed (ratio-voted) flags at or before t change for some θ.

@testable import CGMData
import CGMSchema
import CGMTensor
@testable import Models
import XCTest
@testable import Inference
@testable import Training

final class MealCausalFlagsTests: XCTestCase {
    /// Hand-worked: windows of L = 3 at starts 0, 1, 2 over 5 points; the causal flag at t is the last step of
    /// the window ending at t (t = 2, 3, 4), NaN/false at t = 0, 1 where no window ends.
    func testCausalVoteHandWorked() {
        let p: [Float] = [0.9, 0.9, 0.2,   // window 0: ends at 2, last step 0.2
                          0.1, 0.1, 0.7,   // window 1: ends at 3, last step 0.7
                          0.9, 0.9, 0.5]   // window 2: ends at 4, last step 0.5
        let (ratio, flags) = MealEvents.causalVote(probabilities: p, starts: [0, 1, 2], length: 3, count: 5, threshold: 0.5)
        XCTAssertTrue(ratio[0].isNaN && ratio[1].isNaN)
        XCTAssertEqual(Array(ratio[2...]), [0, 1, 1])
        XCTAssertEqual(flags, [false, false, false, true, true])
        // The smoothed vote at t = 2 counts all three windows (0.2, 0.1, 0.9): it sees windows ending at 3 and 4.
        let smoothed = MealEvents.ratioVote(probabilities: p, starts: [0, 1, 2], length: 3, count: 5, threshold: 0.5, ratio: 0.5)
        XCTAssertEqual(smoothed.ratio[2], 1.0 / 3, accuracy: 1e-6)   // window 2 (ends at 4) votes 0.9 at t = 2
        // Lag 1: the flag at t is step L − 2 of the window ending at t (its estimate for t − 1): 0.9, 0.1, 0.9.
        let lagged = MealEvents.causalVote(probabilities: p, starts: [0, 1, 2], length: 3, count: 5, threshold: 0.5, lag: 1)
        XCTAssertEqual(lagged.flags, [false, false, true, false, true])
        // Metrics match a lagged flag at t − lag: the flags at 2 and 4 are the events at 1 and 3.
        let timeline = MealTimeline(subject: "A", start: 0, count: 5, glucose: [Float](repeating: 100, count: 5), length: 3,
                                    starts: [0, 1, 2], probabilities: p, labels: [])
        let shifted = timeline.eventTimeRatio(theta: 0.5, rho: 1, mode: .causal, lag: 1)
        XCTAssertEqual(shifted[1], 1)
        XCTAssertEqual(shifted[2], 0)
        XCTAssertEqual(shifted[3], 1)
        XCTAssertTrue(shifted[0].isNaN && shifted[4].isNaN)
    }

    private func subject(_ glucose: [Float]) -> ResampledSubject {
        ResampledSubject(id: "A", start: 1_709_251_200, count: glucose.count, glucose: glucose,
                         observed: glucose.map { _ in 1 }, readingAge: glucose.map { _ in 0 },
                         utcOffsetMinutes: glucose.map { _ in 0 }, channels: [], values: [], segments: [0 ..< glucose.count])
    }

    /// Leakage test: CGM after t changed → causal probabilities/flags at ≤ t unchanged (bitwise, every θ);
    /// smoothed flags at ≤ t change for some θ (the BiLSTM's backward direction and windows ending after t).
    func testChangingCGMAfterTLeavesCausalFlagsUpToTUnchanged() throws {
        var c = MealDetector.Config(inputs: 1)
        c.channels = 8
        c.hidden = 8
        let runner = MealDetectorRunner(detector: MealDetector(c, seed: 11),
                                        spec: FeatureSpec(pastFeatures: ["cgm_scaled"], futureFeatures: [], staticFeatures: []),
                                        length: 12)
        let n = 48, t = 30
        let base: [Float] = (0 ..< n).map { 120 + 40 * sin(Float($0) / 5) }
        var changed = base
        for i in t + 1 ..< n { changed[i] = 400 - base[i] }   // a different future after t
        let a = try runner.timeline(subject(base)), b = try runner.timeline(subject(changed))
        XCTAssertEqual(a.starts, b.starts)
        let pa = a.causalProbability(), pb = b.causalProbability()
        XCTAssertTrue(pa[11].isFinite && pa[10].isNaN, "first window ends at L − 1 = 11")
        for i in 0 ... t where pa[i].isFinite { XCTAssertEqual(pa[i].bitPattern, pb[i].bitPattern, "causal p at \(i) ≤ t") }
        XCTAssertTrue((t + 1 ..< n).contains { pa[$0] != pb[$0] }, "the changed CGM does reach the detector after t")
        // θ candidates: the grid and the midpoints of every per-window probability that the change moved (a random
        // detector's outputs sit in a narrow band, so grid θs alone might never separate them).
        var thetas = MealThresholdSweep.grid
        for k in a.probabilities.indices where a.probabilities[k] != b.probabilities[k] {
            thetas.append((a.probabilities[k] + b.probabilities[k]) / 2)
        }
        var smoothedChanged = false
        for theta in thetas {
            XCTAssertEqual(Array(a.vote(theta: theta, rho: 1, mode: .causal).flags[...t]),
                           Array(b.vote(theta: theta, rho: 1, mode: .causal).flags[...t]), "causal flags at θ \(theta)")
            let ra = a.vote(theta: theta, rho: 1).ratio, rb = b.vote(theta: theta, rho: 1).ratio
            if let i = (0 ... t).first(where: { ra[$0] != rb[$0] }) {
                // ρ at the higher of the two ratios: exactly one of the two smoothed flags at i is set.
                let rho = max(ra[i], rb[i])
                XCTAssertNotEqual(a.vote(theta: theta, rho: rho).flags[i], b.vote(theta: theta, rho: rho).flags[i])
                smoothedChanged = true
            }
        }
        XCTAssertTrue(smoothedChanged, "smoothed (A.2) flags at ≤ t should depend on CGM after t")
        let ma = a.meanProbability, mb = b.meanProbability
        XCTAssertTrue((0 ... t).contains { ma[$0] != mb[$0] }, "smoothed probabilities at ≤ t see the future")
    }

    /// --max-flagged: a near-everything flagging that wins event F1 is excluded; if nothing qualifies, the
    /// least-flagging pair is returned.
    func testSweepBestRespectsMaxFlagged() {
        let timeline = MealTimeline(subject: "A", start: 0, count: 4, glucose: [Float](repeating: 100, count: 4), length: 2,
                                    starts: [0, 1, 2], probabilities: [Float](repeating: 0.5, count: 6), labels: [])
        var sweep = MealThresholdSweep([timeline], thetas: [0.1, 0.5], rhos: [1], mode: .causal)
        sweep.counts = [[EventCounts(truth: 2, truthDetected: 2, predicted: 1, predictedCorrect: 1, matched: 1,
                                     flaggedSteps: 90, coveredSteps: 100)],
                        [EventCounts(truth: 2, truthDetected: 1, predicted: 2, predictedCorrect: 1, matched: 1,
                                     flaggedSteps: 5, coveredSteps: 100)]]
        XCTAssertEqual(sweep.best().theta, 0.1)
        XCTAssertEqual(sweep.best(maxFlagged: 0.2).theta, 0.5)
        XCTAssertEqual(sweep.best(maxFlagged: 0.01).theta, 0.5)
    }
}
