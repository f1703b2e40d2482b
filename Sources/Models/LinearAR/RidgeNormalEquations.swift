// Ridge regression in closed form from accumulated normal equations (the `linear_ar` forecaster's fit).
//
// Rows x ∈ R^D with an intercept appended, x̄ = [x; 1] ∈ R^{D+1}, and targets z ∈ R^H. Accumulated (in Double):
//
//   A = Σ x̄ x̄ᵀ  (D+1, D+1)      B = Σ x̄ zᵀ  (D+1, H)      c = Σ ‖z‖²      n = rows
//
// The fit minimizes Σ ‖z − Wᵀx̄‖² + λ·n·Σ_{j<D} s_j² ‖W_j‖² with s_j² the variance of feature j (from A): ridge on
// standardized features with an unpenalized intercept, written in the original units, so one λ suits features of
// any scale. It solves (A + λ n diag(s², 0)) W = B by Cholesky (`solveSPD`). Sums from several ranks add (`merge`), so a data-
// parallel fit accumulates locally and all-reduces A, B, c, n once. The same sums of another split give its mean
// squared error of any W without another pass: (tr(WᵀA'W) − 2 tr(WᵀB') + c') / (n'·H).

import CGMTensor
import Foundation

/// Accumulated normal equations of a multi-output ridge regression (see the file header).
public struct RidgeNormalEquations: Equatable, Sendable {
    /// Features D (without the intercept).
    public let features: Int
    /// Outputs H.
    public let outputs: Int
    /// Σ x̄ x̄ᵀ, row-major (D+1)².
    public var gram: [Double]
    /// Σ x̄ zᵀ, row-major (D+1) × H.
    public var cross: [Double]
    /// Σ ‖z‖².
    public var targetSquares = 0.0
    /// Rows added.
    public var rows = 0.0

    /// Empty sums for `features` inputs and `outputs` targets.
    public init(features: Int, outputs: Int) {
        precondition(features >= 0 && outputs >= 1, "RidgeNormalEquations: bad sizes \(features), \(outputs)")
        self.features = features
        self.outputs = outputs
        gram = [Double](repeating: 0, count: (features + 1) * (features + 1))
        cross = [Double](repeating: 0, count: (features + 1) * outputs)
    }

    /// Adds `count` rows: `x` (count, D) and `z` (count, H), row-major.
    public mutating func add(x: [Float], z: [Float], count: Int) {
        let d = features, h = outputs, e = d + 1
        precondition(x.count == count * d && z.count == count * h, "RidgeNormalEquations.add: \(x.count), \(z.count) for \(count) rows")
        var row = [Double](repeating: 1, count: e)
        for r in 0 ..< count {
            for j in 0 ..< d { row[j] = Double(x[r * d + j]) }
            for i in 0 ..< e {
                let xi = row[i]
                for j in i ..< e { gram[i * e + j] += xi * row[j] }
                for k in 0 ..< h { cross[i * h + k] += xi * Double(z[r * h + k]) }
            }
            for k in 0 ..< h { targetSquares += Double(z[r * h + k]) * Double(z[r * h + k]) }
        }
        rows += Double(count)
    }

    /// Every sum as one flat array (for an all-reduce): gram (upper triangle kept as accumulated), cross, c, n.
    public var flat: [Double] { gram + cross + [targetSquares, rows] }

    /// Sums restored from `flat` of the same sizes.
    public init(flat: [Double], features: Int, outputs: Int) {
        self.init(features: features, outputs: outputs)
        let g = gram.count, c = cross.count
        precondition(flat.count == g + c + 2, "RidgeNormalEquations: \(flat.count) values for sizes \(features), \(outputs)")
        gram = Array(flat[0 ..< g])
        cross = Array(flat[g ..< g + c])
        targetSquares = flat[g + c]
        rows = flat[g + c + 1]
    }

    /// The symmetric Gram matrix (the upper triangle mirrored).
    private var symmetricGram: [Double] {
        let e = features + 1
        var a = gram
        for i in 0 ..< e { for j in 0 ..< i { a[i * e + j] = gram[j * e + i] } }
        return a
    }

    /// W (D+1, H), row-major (the last row is the intercept), for penalty `lambda`.
    /// - Throws: `RidgeError` when the penalized system is not positive definite (no rows, or λ = 0 with collinear features).
    public func solve(lambda: Double) throws -> [Double] {
        let d = features, e = d + 1
        guard rows > 0 else { throw RidgeError(message: "no training rows to fit") }
        var a = symmetricGram
        let n = rows, interceptMean = { (j: Int) in a[j * e + d] / n }
        for j in 0 ..< d {
            let mean = interceptMean(j)
            let variance = max(a[j * e + j] / n - mean * mean, 0)
            a[j * e + j] += lambda * n * (variance > 1e-12 ? variance : 1)
        }
        guard let w = solveSPD(a, cross, n: e, columns: outputs) else {
            throw RidgeError(message: "the penalized normal equations are not positive definite: the features are collinear "
                             + "or constant; use a larger l2")
        }
        return w
    }

    /// Mean squared error per output element of `w` (from `solve`) on the rows these sums hold.
    public func meanSquaredError(_ w: [Double]) -> Double {
        let e = features + 1, h = outputs
        precondition(w.count == e * h, "RidgeNormalEquations.meanSquaredError: W has \(w.count) values, expected \(e * h)")
        guard rows > 0 else { return .nan }
        let a = symmetricGram
        var quadratic = 0.0, linear = 0.0
        for k in 0 ..< h {
            for i in 0 ..< e {
                var aw = 0.0
                for j in 0 ..< e { aw += a[i * e + j] * w[j * h + k] }
                quadratic += w[i * h + k] * aw
                linear += w[i * h + k] * cross[i * h + k]
            }
        }
        return (quadratic - 2 * linear + targetSquares) / (rows * Double(h))
    }
}

/// A ridge fit that cannot be solved.
public struct RidgeError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "linear_ar: \(message)" }
}
