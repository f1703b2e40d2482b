// Symmetric positive definite systems in Double by Cholesky, A = L Lᵀ, then L y = b and Lᵀ x = y per right-hand side:
// the closed-form fits (linear_ar's ridge normal equations, the embedding probes) solve with it.

/// Solves A X = B for a symmetric positive definite A (n × n, row-major) and B (n × columns, row-major); nil when A is
/// not positive definite (a pivot ≤ 0 or not finite).
public func solveSPD(_ a: [Double], _ b: [Double], n: Int, columns: Int = 1) -> [Double]? {
    precondition(a.count == n * n && b.count == n * columns, "solveSPD: A has \(a.count) values, B \(b.count), for n \(n)")
    var l = [Double](repeating: 0, count: n * n)
    for i in 0 ..< n {
        for j in 0 ... i {
            var s = a[i * n + j]
            for k in 0 ..< j { s -= l[i * n + k] * l[j * n + k] }
            if i == j {
                guard s > 0, s.isFinite else { return nil }
                l[i * n + i] = s.squareRoot()
            } else {
                l[i * n + j] = s / l[j * n + j]
            }
        }
    }
    var x = b
    for c in 0 ..< columns {
        for i in 0 ..< n {
            for k in 0 ..< i { x[i * columns + c] -= l[i * n + k] * x[k * columns + c] }
            x[i * columns + c] /= l[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            for k in (i + 1) ..< n { x[i * columns + c] -= l[k * n + i] * x[k * columns + c] }
            x[i * columns + c] /= l[i * n + i]
        }
    }
    return x
}
