// linear_ar (issue 14): the closed-form ridge solution equals a direct solve of the same penalized normal
// equations (Gaussian elimination with partial pivoting, an independent method) and satisfies the ridge
// optimality condition; sums split across "ranks" and merged give the same solution; the validation MSE formula
// equals the MSE computed from forecasts; the design matrix has the documented layout; the zero model is
// persistence; and on a noiseless AR process the fit recovers it.

import CGMSchema
import CGMTensor
import Foundation
import Models
import _TestSupport
import XCTest

final class LinearARTests: XCTestCase {
    /// Rows x (n, d) and targets z (n, h) from a seeded linear model plus noise.
    func data(n: Int, d: Int, h: Int, seed: UInt64, noise: Float = 0.1) -> (x: [Float], z: [Float]) {
        let x = randomTensor([n, d], seed: seed, low: -2, high: 3).scalars
        let w = randomTensor([d, h], seed: seed + 1).scalars
        let e = randomTensor([n, h], seed: seed + 2, low: -noise, high: noise).scalars
        var z = [Float](repeating: 0, count: n * h)
        for r in 0 ..< n { for k in 0 ..< h {
            var s: Float = 0.3 * Float(k)
            for j in 0 ..< d { s += x[r * d + j] * w[j * h + k] }
            z[r * h + k] = s + e[r * h + k]
        } }
        return (x, z)
    }

    /// Solves A W = B (A: e × e, B: e × h) by Gaussian elimination with partial pivoting, in Double.
    func gaussianSolve(_ a: [Double], _ b: [Double], e: Int, h: Int) -> [Double] {
        var m = a, r = b
        for col in 0 ..< e {
            let pivot = (col ..< e).max { abs(m[$0 * e + col]) < abs(m[$1 * e + col]) }!
            if pivot != col {
                for j in 0 ..< e { m.swapAt(col * e + j, pivot * e + j) }
                for k in 0 ..< h { r.swapAt(col * h + k, pivot * h + k) }
            }
            for row in col + 1 ..< e {
                let f = m[row * e + col] / m[col * e + col]
                for j in col ..< e { m[row * e + j] -= f * m[col * e + j] }
                for k in 0 ..< h { r[row * h + k] -= f * r[col * h + k] }
            }
        }
        var w = [Double](repeating: 0, count: e * h)
        for k in 0 ..< h {
            for row in stride(from: e - 1, through: 0, by: -1) {
                var s = r[row * h + k]
                for j in row + 1 ..< e { s -= m[row * e + j] * w[j * h + k] }
                w[row * h + k] = s / m[row * e + row]
            }
        }
        return w
    }

    func testClosedFormEqualsADirectSolveAndIsTheRidgeOptimum() throws {
        let (n, d, h) = (200, 5, 3)
        let (x, z) = data(n: n, d: d, h: h, seed: 1)
        var sums = RidgeNormalEquations(features: d, outputs: h)
        sums.add(x: x, z: z, count: n)
        let e = d + 1
        // The penalized system written out directly from the rows: A = Σ x̄x̄ᵀ + λ n diag(var_j, 0), B = Σ x̄zᵀ.
        for lambda in [0.0, 0.01, 1.0] {
            var a = [Double](repeating: 0, count: e * e), b = [Double](repeating: 0, count: e * h)
            var mean = [Double](repeating: 0, count: d), square = [Double](repeating: 0, count: d)
            for r in 0 ..< n {
                let row = (0 ..< d).map { Double(x[r * d + $0]) } + [1]
                for i in 0 ..< e {
                    for j in 0 ..< e { a[i * e + j] += row[i] * row[j] }
                    for k in 0 ..< h { b[i * h + k] += row[i] * Double(z[r * h + k]) }
                }
                for j in 0 ..< d { mean[j] += row[j] / Double(n); square[j] += row[j] * row[j] / Double(n) }
            }
            for j in 0 ..< d { a[j * e + j] += lambda * Double(n) * (square[j] - mean[j] * mean[j]) }
            let direct = gaussianSolve(a, b, e: e, h: h)
            let closed = try sums.solve(lambda: lambda)
            for (u, v) in zip(closed, direct) { XCTAssertEqual(u, v, accuracy: 1e-9 * max(1, abs(v)), "λ \(lambda)") }
            // Optimality: the gradient of the penalized objective vanishes, (A_pen) W − B = 0.
            for i in 0 ..< e { for k in 0 ..< h {
                var g = -b[i * h + k]
                for j in 0 ..< e { g += a[i * e + j] * closed[j * h + k] }
                XCTAssertEqual(g, 0, accuracy: 1e-7 * Double(n))
            } }
        }
        // A larger penalty shrinks the (standardized) weights.
        let small = try sums.solve(lambda: 0.01), large = try sums.solve(lambda: 100)
        let norm = { (w: [Double]) in (0 ..< d * h).map { w[$0] * w[$0] }.reduce(0, +) }
        XCTAssertLessThan(norm(large), norm(small))
    }

    func testSumsMergeAcrossRanksAndGiveTheSameSolution() throws {
        let (n, d, h) = (90, 4, 2)
        let (x, z) = data(n: n, d: d, h: h, seed: 7)
        var whole = RidgeNormalEquations(features: d, outputs: h)
        whole.add(x: x, z: z, count: n)
        // Three "ranks" hold rows r, r + 3, …; their flat sums add (the all-reduce) to the same system.
        var total = [Double](repeating: 0, count: whole.flat.count)
        for rank in 0 ..< 3 {
            var part = RidgeNormalEquations(features: d, outputs: h)
            for r in stride(from: rank, to: n, by: 3) {
                part.add(x: Array(x[r * d ..< (r + 1) * d]), z: Array(z[r * h ..< (r + 1) * h]), count: 1)
            }
            for (i, v) in part.flat.enumerated() { total[i] += v }
        }
        let merged = RidgeNormalEquations(flat: total, features: d, outputs: h)
        XCTAssertEqual(merged.rows, Double(n))
        for (u, v) in zip(try merged.solve(lambda: 0.1), try whole.solve(lambda: 0.1)) { XCTAssertEqual(u, v, accuracy: 1e-9) }
    }

    func testValidationMSEFormulaEqualsTheForecastError() throws {
        let (d, h) = (3, 2)
        let train = data(n: 60, d: d, h: h, seed: 3), val = data(n: 25, d: d, h: h, seed: 9)
        var t = RidgeNormalEquations(features: d, outputs: h), v = RidgeNormalEquations(features: d, outputs: h)
        t.add(x: train.x, z: train.z, count: 60)
        v.add(x: val.x, z: val.z, count: 25)
        let w = try t.solve(lambda: 0.5)
        var sq = 0.0
        for r in 0 ..< 25 { for k in 0 ..< h {
            var p = w[d * h + k]
            for j in 0 ..< d { p += Double(val.x[r * d + j]) * w[j * h + k] }
            sq += (p - Double(val.z[r * h + k])) * (p - Double(val.z[r * h + k]))
        } }
        XCTAssertEqual(v.meanSquaredError(w), sq / Double(25 * h), accuracy: 1e-9)
        XCTAssertThrowsError(try RidgeNormalEquations(features: 2, outputs: 1).solve(lambda: 1)) {
            XCTAssertTrue("\($0)".contains("no training rows"), "\($0)")
        }
    }

    /// A window batch: cgm_scaled at past column 1, another past column 0, F future features.
    func windows(count b: Int, history l: Int, horizon h: Int, future f: Int, seed: UInt64) -> Batch {
        var batch = Batch(count: b, history: l, horizon: h, pastFeatureCount: 2, futureFeatureCount: f, staticFeatureCount: 0)
        batch.indices = Array(0 ..< b)
        batch.past = randomTensor([b, l, 2], seed: seed, low: -0.5, high: 0.5).scalars
        batch.future = f > 0 ? randomTensor([b, h, f], seed: seed + 1).scalars : []
        batch.target = randomTensor([b, h], seed: seed + 2, low: 80, high: 200).scalars
        return batch
    }

    func testDesignLayoutAndTheZeroModelIsPersistence() {
        let b = windows(count: 2, history: 5, horizon: 3, future: 2, seed: 1)
        let space = TargetSpace.residual(anchorIndex: 1, scale: [0.02, 0.03, 0.04])
        let model = LinearARForecaster(lags: 3, covariates: true, pastFeatures: 2, futureFeatures: 2, horizon: 3,
                                       targetSpace: space, penalties: [1])
        XCTAssertEqual(model.featureCount, 3 + 1 + 3 * 2)
        let x = model.design(b)
        for w in 0 ..< 2 {
            let row = Array(x[w * 10 ..< (w + 1) * 10])
            let last = b.past[(w * 5 + 4) * 2 + 1]
            XCTAssertEqual(Array(row[0 ..< 3]), (1 ... 3).map { b.past[(w * 5 + 4 - $0) * 2 + 1] - last }, "lags relative to the last")
            XCTAssertEqual(row[3], b.past[(w * 5 + 4) * 2], "the other past feature at t")
            XCTAssertEqual(Array(row[4 ..< 10]), Array(b.future[w * 6 ..< (w + 1) * 6]), "future features, flattened")
        }
        let g = Graph(training: false, recording: false)
        let naive = TargetSpace.lastScaled(b, anchorIndex: 1).flatMap { [Float](repeating: FeatureCatalog.unscaleCGM($0), count: 3) }
        XCTAssertEqual(model.forecast(b, g).point.scalars, naive, "zero weights forecast the last value")
        let plain = LinearARForecaster(lags: 4, covariates: false, pastFeatures: 2, futureFeatures: 2, horizon: 3,
                                       targetSpace: space, penalties: [1])
        XCTAssertEqual(plain.featureCount, 4)
    }

    /// Residual targets of a noiseless momentum process in eq. 11 space, s_{t+1} − s_t = 0.8·(s_t − s_{t−1}), are
    /// linear in the lags relative to the last value: the fit recovers them (forecast error ~0).
    func testRecoversALinearProcess() throws {
        let (l, h) = (6, 2)
        var batch = Batch(count: 80, history: l, horizon: h, pastFeatureCount: 1, futureFeatureCount: 0, staticFeatureCount: 0)
        batch.indices = Array(0 ..< 80)
        var rng = PhiloxGenerator(seed: 5, stream: 1)
        for w in 0 ..< 80 {
            let start = Float(rng.nextUniform(-0.3, 0.3))
            var s = [start, start + Float(rng.nextUniform(-0.05, 0.05))]
            while s.count < l + h { let n = s.count; s.append(s[n - 1] + 0.8 * (s[n - 1] - s[n - 2])) }
            for k in 0 ..< l { batch.past[w * l + k] = s[k] }
            for j in 0 ..< h { batch.target[w * h + j] = FeatureCatalog.unscaleCGM(s[l + j]) }
        }
        let model = LinearARForecaster(lags: 2, covariates: false, pastFeatures: 1, futureFeatures: 0, horizon: h,
                                       targetSpace: .residual(anchorIndex: 0, scale: [0.05, 0.1]), penalties: [0])
        var sums = model.emptySums()
        model.accumulate(batch, into: &sums)
        model.setSolution(try sums.solve(lambda: 0))
        let f = model.forecast(batch, Graph(training: false, recording: false)).point.scalars
        for (p, y) in zip(f, batch.target) { XCTAssertEqual(p, y, accuracy: 1e-3 * y) }
    }
}
