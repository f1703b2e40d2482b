// Linear probes on hand-made data: AUC equals the pairwise Mann–Whitney count (ties ½), separable data gives AUC 1,
// ridge with λ = 0 recovers an exact linear law and shrinks with λ, logistic regression's Newton solution zeroes the
// penalized gradient, cross-validation on separable data is perfect, bootstrap is seeded, CGM summaries by hand.

import CGMTensor
@testable import Evaluation
import Foundation
@testable import Inference
import XCTest
@testable import Training

final class ProbeTests: XCTestCase {
    func testAUCEqualsMannWhitneyPairCount() {
        var rng = PhiloxGenerator(seed: 3, stream: 0)
        let scores = (0 ..< 40).map { _ in Double(Int(rng.nextUniform() * 8)) }   // many ties
        let labels = (0 ..< 40).map { _ in rng.nextUniform() < 0.4 ? 1.0 : 0.0 }
        var wins = 0.0, pairs = 0.0
        for i in 0 ..< 40 where labels[i] == 1 {
            for j in 0 ..< 40 where labels[j] == 0 {
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
                pairs += 1
            }
        }
        XCTAssertEqual(ProbeMetrics.auc(scores: scores, labels: labels), wins / pairs, accuracy: 1e-12)
        XCTAssertEqual(ProbeMetrics.auc(scores: [0.1, 0.2, 0.8, 0.9], labels: [0, 0, 1, 1]), 1)
        XCTAssertEqual(ProbeMetrics.auc(scores: [0.9, 0.8, 0.2, 0.1], labels: [0, 0, 1, 1]), 0)
        XCTAssertEqual(ProbeMetrics.auc(scores: [1, 1, 1, 1], labels: [0, 1, 0, 1]), 0.5)
        XCTAssertTrue(ProbeMetrics.auc(scores: [1, 2], labels: [1, 1]).isNaN)
    }

    func testR2() {
        XCTAssertEqual(ProbeMetrics.r2(predictions: [1, 2, 3], labels: [1, 2, 3]), 1)
        XCTAssertEqual(ProbeMetrics.r2(predictions: [2, 2, 2], labels: [1, 2, 3]), 0)
        XCTAssertEqual(ProbeMetrics.r2(predictions: [3, 2, 1], labels: [1, 2, 3]), -3)   // SS_res 8, SS_tot 2
    }

    func testRidgeRecoversLinearLawAndShrinks() {
        var rng = PhiloxGenerator(seed: 5, stream: 0)
        let rows = (0 ..< 30).map { _ in [Double(rng.nextNormal()) * 3 + 1, Double(rng.nextNormal())] }
        let y = rows.map { 2 * $0[0] - 3 * $0[1] + 5 }
        let exact = RidgeRegression(rows: rows, y: y, lambda: 0)
        for (r, t) in zip(rows, y) { XCTAssertEqual(exact.predict(r), t, accuracy: 1e-8) }
        XCTAssertEqual(exact.predict([0, 0]), 5, accuracy: 1e-8)
        let shrunk = RidgeRegression(rows: rows, y: y, lambda: 30)
        let norm = { (m: RidgeRegression) in m.weights.reduce(0) { $0 + $1 * $1 } }
        XCTAssertLessThan(norm(shrunk), norm(exact))
        // Closed form on standardized features: (XᵀX + λI) w = Xᵀ(y − ȳ) holds.
        let x = rows.map(shrunk.standardizer.apply), ym = y.reduce(0, +) / 30
        for i in 0 ..< 2 {
            var lhs = 30 * shrunk.weights[i], rhs = 0.0
            for (r, t) in zip(x, y) { lhs += r[i] * (r[0] * shrunk.weights[0] + r[1] * shrunk.weights[1]); rhs += r[i] * (t - ym) }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-8)
        }
    }

    func testLogisticNewtonZeroesPenalizedGradient() {
        var rng = PhiloxGenerator(seed: 7, stream: 0)
        let rows = (0 ..< 50).map { _ in [Double(rng.nextNormal()), Double(rng.nextNormal()) * 10] }
        let y = rows.map { r in r[0] + 0.1 * r[1] + Double(rng.nextNormal()) > 0 ? 1.0 : 0.0 }
        let m = LogisticRegression(rows: rows, y: y, lambda: 0.5)
        var g = [0.0, 0.0, 0.0]
        for (r, t) in zip(rows, y) {
            let x = [1] + m.standardizer.apply(r), p = m.probability(r)
            for i in 0 ..< 3 { g[i] += (p - t) * x[i] }
        }
        g[1] += 0.5 * m.weights[0]
        g[2] += 0.5 * m.weights[1]
        for v in g { XCTAssertEqual(v, 0, accuracy: 1e-8) }
        XCTAssertGreaterThan(m.weights[0], 0)
        XCTAssertLessThan(m.iterations, 30)
    }

    func testCrossValidatedSeparableDataGivesAUCOne() throws {
        let rows: [[Double]] = (0 ..< 20).map { (i: Int) -> [Double] in [Double(i), Double((i * 7) % 5)] }
        let y: [Double] = (0 ..< 20).map { (i: Int) -> Double in i >= 10 ? 1 : 0 }
        let cv = ProbeCrossValidation(kind: .binary, folds: 5, lambda: 1, seed: 2)
        let folds = cv.assignFolds(labels: y)
        for f in 0 ..< 5 {   // stratified: 2 positives and 2 negatives per fold
            XCTAssertEqual(folds.indices.filter { folds[$0] == f && y[$0] == 1 }.count, 2)
            XCTAssertEqual(folds.indices.filter { folds[$0] == f }.count, 4)
        }
        let oof = try cv.outOfFold(rows: rows, labels: y)
        XCTAssertEqual(ProbeMetrics.auc(scores: oof, labels: y), 1)
        // Noise features only: no better than chance on average, and certainly not perfect.
        let noise: [[Double]] = (0 ..< 20).map { (i: Int) -> [Double] in [Double((i * 37) % 11), Double((i * 13) % 7)] }
        XCTAssertLessThan(ProbeMetrics.auc(scores: try cv.outOfFold(rows: noise, labels: y), labels: y), 0.9)
        XCTAssertThrowsError(try ProbeCrossValidation(kind: .binary, folds: 5).outOfFold(rows: [[1], [2], [3]], labels: [1, 0, 0]))
    }

    func testBootstrapIsSeededAndBracketsTheEstimate() {
        let y = (0 ..< 30).map { Double($0 % 2) }
        let good: [Double] = (0 ..< 30).map { (i: Int) -> Double in y[i] + 0.3 * sin(Double(i)) }
        let bad: [Double] = (0 ..< 30).map { (i: Int) -> Double in sin(Double(i) * 1.7) }
        let run = { ProbeBootstrap.scores(kind: .binary, labels: y, predictions: [("good", good), ("bad", bad)],
                                          reference: "bad", replicates: 200, seed: 4) }
        let a = run(), b = run()
        XCTAssertEqual(a.map(\.interval), b.map(\.interval))
        XCTAssertEqual(a[0].value, 1)
        XCTAssertTrue(a[1].interval.contains(a[1].value))
        XCTAssertGreaterThan(a[0].differenceInterval.lower, 0, "good beats bad on every resample")
        XCTAssertEqual(a[1].difference, 0)
    }

    func testGlycemicSummaryByHand() {
        let s = GlycemicSummary([60, 100, 200, 140, .nan])
        XCTAssertEqual(s.count, 4)
        XCTAssertEqual(s.mean, 125)
        XCTAssertEqual(s.timeInRange, 50)
        XCTAssertEqual(s.cv, 100 * (10700.0 / 4).squareRoot() / 125, accuracy: 1e-9)   // Σ(g − 125)² = 4225 + 625 + 5625 + 225
        XCTAssertEqual(s.gmi, 3.31 + 0.02392 * 125, accuracy: 1e-12)
        let profile = GlycemicSummary.hourlyProfile(glucose: [100, 120, 200], times: [0, 1800, 3 * 3600 + 60])
        XCTAssertEqual(profile[0], 110)
        XCTAssertEqual(profile[3], 200)
        XCTAssertTrue(profile[1].isNaN)
    }
}
