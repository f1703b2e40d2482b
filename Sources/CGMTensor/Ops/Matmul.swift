// Matrix products on cblas_sgemm.
//   matmul:        a (M, K) · b (K, N) → (M, N)
//   batchedMatmul: a (..., M, K) · b (..., K, N) → (..., M, N), optional transposes of either side
//   linear:        x (..., In) · Wᵀ (Out, In) + bias (Out) → (..., Out)   (PyTorch nn.Linear layout)

extension Graph {
    /// 2-D matrix product.
    public func matmul(_ a: Var, _ b: Var) -> Var {
        precondition(a.shape.count == 2 && b.shape.count == 2 && a.shape[1] == b.shape[0],
                     "matmul: shapes \(a.shape) and \(b.shape) do not chain")
        return batchedMatmul(a, b)
    }

    /// Batched matrix product over matching leading dimensions (no broadcasting of batch dims).
    /// With `transposeA`/`transposeB` the last two axes of that operand are read transposed.
    public func batchedMatmul(_ a: Var, _ b: Var, transposeA: Bool = false, transposeB: Bool = false) -> Var {
        let sa = a.shape, sb = b.shape
        precondition(sa.count >= 2 && sa.count == sb.count && Array(sa.dropLast(2)) == Array(sb.dropLast(2)),
                     "batchedMatmul: batch dimensions of \(sa) and \(sb) differ")
        let m = transposeA ? sa[sa.count - 1] : sa[sa.count - 2]
        let k = transposeA ? sa[sa.count - 2] : sa[sa.count - 1]
        let kb = transposeB ? sb[sb.count - 1] : sb[sb.count - 2]
        let n = transposeB ? sb[sb.count - 2] : sb[sb.count - 1]
        precondition(k == kb, "batchedMatmul: inner dimensions of \(sa) and \(sb) differ (\(k) vs \(kb))")
        let batch = Shape.count(Array(sa.dropLast(2)))
        let out = Tensor(uninitialized: Array(sa.dropLast(2)) + [m, n])
        BLAS.gemmStridedBatched(
            transA: transposeA, transB: transposeB, m: m, n: n, k: k, batch: batch,
            a: a.value.pointer, lda: sa[sa.count - 1], strideA: m * k,
            b: b.value.pointer, ldb: sb[sb.count - 1], strideB: k * n,
            c: out.sharedMutablePointer, ldc: n, strideC: m * n)
        return record(out, inputs: [a, b], rule: MatmulBackward(
            a: a, b: b, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, batch: batch))
    }

    /// Fused affine map, one GEMM over all leading positions: y = x Wᵀ + b.
    public func linear(_ x: Var, weight: Var, bias: Var?) -> Var {
        let sx = x.shape, sw = weight.shape
        precondition(sw.count == 2 && sx.last == sw[1],
                     "linear: input \(sx) does not match weight \(sw) (expected last dim \(sw.count == 2 ? sw[1] : -1))")
        if let bias { precondition(bias.shape == [sw[0]], "linear: bias \(bias.shape) for weight \(sw)") }
        let rows = sx.count == 0 ? 1 : Shape.count(Array(sx.dropLast()))
        let inF = sw[1], outF = sw[0]
        let out = Tensor(uninitialized: Array(sx.dropLast()) + [outF])
        let y = out.sharedMutablePointer
        if let bias {
            let b = bias.value.pointer
            for r in 0..<rows { (y + r * outF).update(from: b, count: outF) }
        }
        BLAS.gemm(transA: false, transB: true, m: rows, n: outF, k: inF,
                  a: x.value.pointer, lda: inF, b: weight.value.pointer, ldb: inF,
                  beta: bias == nil ? 0 : 1, c: y, ldc: outF)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return record(out, inputs: inputs, rule: LinearBackward(x: x, weight: weight, bias: bias, rows: rows))
    }
}

struct MatmulBackward: BackwardRule {
    let a: Var, b: Var
    let transposeA: Bool, transposeB: Bool
    let m: Int, n: Int, k: Int, batch: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dC = dOutputs[0] else { return }
        let sa = a.shape, sb = b.shape
        let lda = sa[sa.count - 1], ldb = sb[sb.count - 1]
        // C = op(A) op(B).  d op(A) = dC op(B)ᵀ ; d op(B) = op(A)ᵀ dC.
        if g.needsGrad(a) {
            let dA = g.gradBuffer(a)
            if !transposeA {   // dA (M×K) += dC (M×N) · op(B)ᵀ
                BLAS.gemmStridedBatched(transA: false, transB: !transposeB, m: m, n: k, k: n, batch: batch,
                    a: dC.pointer, lda: n, strideA: m * n, b: b.value.pointer, ldb: ldb, strideB: k * n,
                    beta: 1, c: dA, ldc: k, strideC: m * k)
            } else {           // A is K×M: dA += op(B) · dCᵀ
                BLAS.gemmStridedBatched(transA: transposeB, transB: true, m: k, n: m, k: n, batch: batch,
                    a: b.value.pointer, lda: ldb, strideA: k * n, b: dC.pointer, ldb: n, strideB: m * n,
                    beta: 1, c: dA, ldc: m, strideC: m * k)
            }
        }
        if g.needsGrad(b) {
            let dB = g.gradBuffer(b)
            if !transposeB {   // dB (K×N) += op(A)ᵀ · dC
                BLAS.gemmStridedBatched(transA: !transposeA, transB: false, m: k, n: n, k: m, batch: batch,
                    a: a.value.pointer, lda: lda, strideA: m * k, b: dC.pointer, ldb: n, strideB: m * n,
                    beta: 1, c: dB, ldc: n, strideC: k * n)
            } else {           // B is N×K: dB += dCᵀ · op(A)
                BLAS.gemmStridedBatched(transA: true, transB: transposeA, m: n, n: k, k: m, batch: batch,
                    a: dC.pointer, lda: n, strideA: m * n, b: a.value.pointer, ldb: lda, strideB: m * k,
                    beta: 1, c: dB, ldc: k, strideC: k * n)
            }
        }
    }
}

struct LinearBackward: BackwardRule {
    let x: Var, weight: Var, bias: Var?
    let rows: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0] else { return }
        let outF = weight.shape[0], inF = weight.shape[1]
        if g.needsGrad(x) {        // dX (rows×In) += dY (rows×Out) · W (Out×In)
            BLAS.gemm(transA: false, transB: false, m: rows, n: inF, k: outF,
                      a: dY.pointer, lda: outF, b: weight.value.pointer, ldb: inF,
                      beta: 1, c: g.gradBuffer(x), ldc: inF)
        }
        if g.needsGrad(weight) {   // dW (Out×In) += dYᵀ · X
            BLAS.gemm(transA: true, transB: false, m: outF, n: inF, k: rows,
                      a: dY.pointer, lda: outF, b: x.value.pointer, ldb: inF,
                      beta: 1, c: g.gradBuffer(weight), ldc: inF)
        }
        if let bias, g.needsGrad(bias) {   // db += Σ_rows dY
            let db = g.gradBuffer(bias), d = dY.pointer
            for r in 0..<rows {
                let row = d + r * outF
                for j in 0..<outF { db[j] += row[j] }
            }
        }
    }
}
