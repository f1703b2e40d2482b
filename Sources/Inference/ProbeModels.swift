// Linear probes for downstream labels (gluformer-readme "Downstream Tasks": embeddings → clinical labels), written
// out in Double so they need nothing but this file:
//   ridge      w = (XᵀX + λI)⁻¹ Xᵀ(y − ȳ) on centred X, intercept ȳ − x̄ᵀw (unpenalized)          closed form
//   logistic   minimize Σ −[y log p + (1−y) log(1−p)] + (λ/2)‖w‖²,  p = σ(b + xᵀw), intercept unpenalized;
//              Newton / IRLS: g = Xᵀ(p − y) + λw,  H = XᵀSX + λI,  S = diag(p(1−p)),  θ ← θ − H⁻¹g
//              (the penalty keeps H positive definite, so Newton converges even on separable data).
// Features are standardized with the training rows' mean and standard deviation (sd 0 → 1) before fitting, so one
// λ suits any scale; the fitted model applies the same transform to new rows.

import CGMTensor
import Foundation

/// Per-column standardization fitted on training rows.
public struct Standardizer: Sendable {
    public var mean: [Double], scale: [Double]

    /// Mean and standard deviation (population) of every column of `rows`; a constant column gets scale 1.
    public init(fit rows: [[Double]]) {
        let p = rows.first?.count ?? 0, n = Double(max(rows.count, 1))
        var m = [Double](repeating: 0, count: p), v = [Double](repeating: 0, count: p)
        for r in rows { for j in 0 ..< p { m[j] += r[j] / n } }
        for r in rows { for j in 0 ..< p { v[j] += (r[j] - m[j]) * (r[j] - m[j]) / n } }
        mean = m
        scale = v.map { $0 > 1e-24 ? $0.squareRoot() : 1 }
    }

    /// The standardized row.
    public func apply(_ row: [Double]) -> [Double] { (0 ..< row.count).map { (row[$0] - mean[$0]) / scale[$0] } }
}

/// Ridge regression with an unpenalized intercept on standardized features.
public struct RidgeRegression: Sendable {
    public var standardizer: Standardizer
    public var weights: [Double]
    public var intercept: Double

    /// Fits on `rows` (n × p) and `y` with penalty `lambda` ≥ 0 (λ = 0: least squares; needs XᵀX invertible).
    public init(rows: [[Double]], y: [Double], lambda: Double) {
        precondition(rows.count == y.count && !rows.isEmpty, "RidgeRegression: \(rows.count) rows, \(y.count) labels")
        let standardizer = Standardizer(fit: rows)
        self.standardizer = standardizer
        let x = rows.map(standardizer.apply)
        let p = x[0].count, n = Double(x.count)
        let yMean = y.reduce(0, +) / n
        // Standardized columns have mean 0 on the training rows, so centring is already done.
        var a = [Double](repeating: 0, count: p * p), b = [Double](repeating: 0, count: p)
        for (r, row) in x.enumerated() {
            for i in 0 ..< p {
                b[i] += row[i] * (y[r] - yMean)
                for j in 0 ... i { a[i * p + j] += row[i] * row[j] }
            }
        }
        for i in 0 ..< p {
            for j in 0 ..< i { a[j * p + i] = a[i * p + j] }
            a[i * p + i] += lambda
        }
        guard let w = p == 0 ? [] : solveSPD(a, b, n: p) else {
            preconditionFailure("RidgeRegression: XᵀX + λI is singular (λ = \(lambda))")
        }
        weights = w
        intercept = yMean
    }

    /// The prediction for one row.
    public func predict(_ row: [Double]) -> Double {
        let x = standardizer.apply(row)
        var s = intercept
        for j in 0 ..< x.count { s += weights[j] * x[j] }
        return s
    }
}

/// L2-penalized logistic regression (Newton / IRLS) with an unpenalized intercept on standardized features.
public struct LogisticRegression: Sendable {
    public var standardizer: Standardizer
    public var weights: [Double]
    public var intercept: Double
    /// Newton iterations used.
    public var iterations: Int

    /// Fits on `rows` and binary labels `y` (0 or 1) with penalty `lambda` > 0.
    public init(rows: [[Double]], y: [Double], lambda: Double, maxIterations: Int = 100) {
        precondition(rows.count == y.count && !rows.isEmpty, "LogisticRegression: \(rows.count) rows, \(y.count) labels")
        precondition(lambda > 0, "LogisticRegression: λ must be positive (got \(lambda))")
        let standardizer = Standardizer(fit: rows)
        self.standardizer = standardizer
        let x = rows.map { [1] + standardizer.apply($0) }   // column 0: intercept
        let q = x[0].count
        var theta = [Double](repeating: 0, count: q)
        let rate = y.reduce(0, +) / Double(y.count)
        theta[0] = Foundation.log(max(rate, 1e-6) / max(1 - rate, 1e-6))
        var used = 0
        for _ in 0 ..< maxIterations {
            used += 1
            var g = [Double](repeating: 0, count: q), h = [Double](repeating: 0, count: q * q)
            for (r, row) in x.enumerated() {
                var z = 0.0
                for j in 0 ..< q { z += theta[j] * row[j] }
                let p = 1 / (1 + Foundation.exp(-z)), s = p * (1 - p)
                for i in 0 ..< q {
                    g[i] += (p - y[r]) * row[i]
                    for j in 0 ... i { h[i * q + j] += s * row[i] * row[j] }
                }
            }
            for i in 0 ..< q {
                for j in 0 ..< i { h[j * q + i] = h[i * q + j] }
                if i > 0 { g[i] += lambda * theta[i]; h[i * q + i] += lambda } else { h[0] += 1e-9 }
            }
            guard let step = solveSPD(h, g, n: q) else { break }
            var size = 0.0
            for j in 0 ..< q { theta[j] -= step[j]; size = max(size, abs(step[j])) }
            if size < 1e-10 { break }
        }
        iterations = used
        intercept = theta[0]
        weights = Array(theta.dropFirst())
    }

    /// P(y = 1 | row).
    public func probability(_ row: [Double]) -> Double {
        let x = standardizer.apply(row)
        var z = intercept
        for j in 0 ..< x.count { z += weights[j] * x[j] }
        return 1 / (1 + Foundation.exp(-z))
    }
}
