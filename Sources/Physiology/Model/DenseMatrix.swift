/// A small dense square matrix of `Double`, row-major. Sized for the 10–13-dimensional systems of
/// the digital twin (PhysioSeq2Seq eq. 3 / Appendix B eq. 17); not meant for large problems.
public struct DenseMatrix: Equatable, Sendable {
    /// Number of rows (and columns).
    public let n: Int
    /// Row-major entries, `n * n`.
    public var values: [Double]

    /// The `n × n` zero matrix.
    public init(zeros n: Int) {
        self.n = n
        values = [Double](repeating: 0, count: n * n)
    }

    /// The `n × n` identity.
    public static func identity(_ n: Int) -> DenseMatrix {
        var m = DenseMatrix(zeros: n)
        for i in 0..<n { m[i, i] = 1 }
        return m
    }

    /// A matrix from rows (all of length `rows.count`).
    public init(rows: [[Double]]) {
        n = rows.count
        precondition(rows.allSatisfy { $0.count == rows.count }, "DenseMatrix(rows:) needs a square matrix")
        values = rows.flatMap { $0 }
    }

    public subscript(i: Int, j: Int) -> Double {
        get { values[i * n + j] }
        set { values[i * n + j] = newValue }
    }

    /// Matrix product.
    public static func * (a: DenseMatrix, b: DenseMatrix) -> DenseMatrix {
        precondition(a.n == b.n, "DenseMatrix product: \(a.n)×\(a.n) times \(b.n)×\(b.n)")
        let n = a.n
        var c = DenseMatrix(zeros: n)
        a.values.withUnsafeBufferPointer { pa in
            b.values.withUnsafeBufferPointer { pb in
                c.values.withUnsafeMutableBufferPointer { pc in
                    for i in 0..<n {
                        for k in 0..<n {
                            let aik = pa[i * n + k]
                            if aik == 0 { continue }
                            for j in 0..<n { pc[i * n + j] += aik * pb[k * n + j] }
                        }
                    }
                }
            }
        }
        return c
    }

    /// Matrix–vector product.
    public static func * (a: DenseMatrix, x: [Double]) -> [Double] {
        precondition(x.count == a.n, "DenseMatrix × vector: \(a.n)×\(a.n) times \(x.count)")
        var y = [Double](repeating: 0, count: a.n)
        for i in 0..<a.n {
            var s = 0.0
            for j in 0..<a.n { s += a[i, j] * x[j] }
            y[i] = s
        }
        return y
    }

    public static func + (a: DenseMatrix, b: DenseMatrix) -> DenseMatrix {
        var c = a
        for i in c.values.indices { c.values[i] += b.values[i] }
        return c
    }

    public static func - (a: DenseMatrix, b: DenseMatrix) -> DenseMatrix {
        var c = a
        for i in c.values.indices { c.values[i] -= b.values[i] }
        return c
    }

    public static func * (s: Double, a: DenseMatrix) -> DenseMatrix {
        var c = a
        for i in c.values.indices { c.values[i] *= s }
        return c
    }

    /// Induced 1-norm (maximum absolute column sum).
    public var norm1: Double {
        var best = 0.0
        for j in 0..<n {
            var s = 0.0
            for i in 0..<n { s += abs(self[i, j]) }
            best = max(best, s)
        }
        return best
    }

    /// Largest absolute entry.
    public var maxAbs: Double { values.reduce(0) { max($0, abs($1)) } }

    /// Solves `self · X = B` by Gaussian elimination with partial pivoting.
    public func solve(_ b: DenseMatrix) -> DenseMatrix {
        precondition(b.n == n, "DenseMatrix.solve: \(n)×\(n) system with a \(b.n)×\(b.n) right-hand side")
        var a = self
        var x = b
        for col in 0..<n {
            var pivot = col
            for r in (col + 1)..<max(col + 1, n) where abs(a[r, col]) > abs(a[pivot, col]) { pivot = r }
            if pivot != col {
                for j in 0..<n {
                    a.values.swapAt(col * n + j, pivot * n + j)
                    x.values.swapAt(col * n + j, pivot * n + j)
                }
            }
            let d = a[col, col]
            precondition(d != 0, "DenseMatrix.solve: singular matrix")
            for r in (col + 1)..<max(col + 1, n) {
                let f = a[r, col] / d
                if f == 0 { continue }
                for j in col..<n { a[r, j] -= f * a[col, j] }
                for j in 0..<n { x[r, j] -= f * x[col, j] }
            }
        }
        for col in stride(from: n - 1, through: 0, by: -1) {
            let d = a[col, col]
            for j in 0..<n {
                var s = x[col, j]
                for k in (col + 1)..<max(col + 1, n) { s -= a[col, k] * x[k, j] }
                x[col, j] = s / d
            }
        }
        return x
    }
}
