// Scaled dot-product attention (Vaswani et al. 2017, eq. 1), one fused tape node.
//   q: (B, H, Tq, D), k: (B, H, Tk, D), v: (B, H, Tk, Dv) → o: (B, H, Tq, Dv) [, p: (B, H, Tq, Tk)]
//   S = scale · Q Kᵀ,  P = softmax_j(S) over the keys j not masked,  O = P V
// Masks: causal (bottom-right aligned: query i sees key j iff j ≤ i + Tk − Tq) and key padding
// (keyPadding[b·Tk + j] == true hides key j of batch b from every head and query). A query that sees no
// key gets P = 0 and O = 0 (not NaN).
// Backward (dP also receives the gradient of the weights output when it is used):
//   dV = Pᵀ dO,  dP = dO Vᵀ,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = scale · dS K,  dK = scale · dSᵀ Q

import Foundation

extension Graph {
    /// Scaled dot-product attention over (B, H, T, D) tensors with optional causal and key-padding masks.
    ///
    /// - Parameters:
    ///   - causal: query i may attend key j iff j ≤ i + (Tk − Tq) (bottom-right aligned).
    ///   - keyPadding: B·Tk flags, `true` = padded key that no query may attend.
    ///   - scale: multiplies Q Kᵀ; default 1/√D.
    ///   - returnWeights: also return the attention weights P (B, H, Tq, Tk) as a second output of the
    ///     same tape node (gradient may flow from both outputs).
    /// - Returns: the output (B, H, Tq, Dv), and the weights when `returnWeights` (else nil).
    public func scaledDotProductAttention(
        q: Var, k: Var, v: Var, causal: Bool, keyPadding: [Bool]? = nil, scale: Float? = nil,
        returnWeights: Bool = false
    ) -> (output: Var, weights: Var?) {
        let sq = q.shape, sk = k.shape, sv = v.shape
        precondition(sq.count == 4 && sk.count == 4 && sv.count == 4,
                     "scaledDotProductAttention: q \(sq), k \(sk), v \(sv) must all be (B, H, T, D)")
        let (b, h, tq, d) = (sq[0], sq[1], sq[2], sq[3])
        let (tk, dv) = (sk[2], sv[3])
        precondition(sk[0] == b && sk[1] == h && sk[3] == d,
                     "scaledDotProductAttention: k \(sk) does not match q \(sq)")
        precondition(sv[0] == b && sv[1] == h && sv[2] == tk,
                     "scaledDotProductAttention: v \(sv) does not match k \(sk)")
        if let keyPadding {
            precondition(keyPadding.count == b * tk,
                         "scaledDotProductAttention: keyPadding has \(keyPadding.count) flags for k \(sk) (need B·Tk)")
        }
        let alpha = scale ?? 1 / Float(d).squareRoot()
        let batch = b * h
        let weights = Tensor(uninitialized: [b, h, tq, tk])
        let pp = weights.sharedMutablePointer
        // S = alpha · Q Kᵀ, written into the weights buffer, then softmaxed in place.
        BLAS.gemmStridedBatched(transA: false, transB: true, m: tq, n: tk, k: d, batch: batch, alpha: alpha,
                                a: q.value.pointer, lda: d, strideA: tq * d,
                                b: k.value.pointer, ldb: d, strideB: tk * d,
                                c: pp, ldc: tk, strideC: tq * tk)
        let offset = tk - tq
        keyPadding.withOptionalBuffer { pad in
            for bh in 0..<batch {
                let padRow = pad.map { $0 + (bh / h) * tk }
                for i in 0..<tq {
                    let row = pp + (bh * tq + i) * tk
                    // Keys j < limit pass the causal mask.
                    let limit = causal ? max(0, min(tk, i + offset + 1)) : tk
                    var m = -Float.infinity
                    for j in 0..<limit where !(padRow?[j] ?? false) { m = max(m, row[j]) }
                    guard m > -Float.infinity else {   // no visible key: zero weights
                        row.update(repeating: 0, count: tk)
                        continue
                    }
                    var sum: Float = 0
                    for j in 0..<limit {
                        if padRow?[j] ?? false { row[j] = 0; continue }
                        let e = Foundation.exp(row[j] - m)
                        row[j] = e
                        sum += e
                    }
                    let inv = 1 / sum
                    for j in 0..<limit { row[j] *= inv }
                    for j in limit..<tk { row[j] = 0 }
                }
            }
        }
        let out = Tensor(uninitialized: [b, h, tq, dv])
        BLAS.gemmStridedBatched(transA: false, transB: false, m: tq, n: dv, k: tk, batch: batch,
                                a: pp, lda: tk, strideA: tq * tk,
                                b: v.value.pointer, ldb: dv, strideB: tk * dv,
                                c: out.sharedMutablePointer, ldc: dv, strideC: tq * dv)
        let outputs = returnWeights ? [out, weights] : [out]
        let vars = record(outputs, inputs: [q, k, v], rule: AttentionBackward(
            q: q, k: k, v: v, weights: weights, scale: alpha))
        return (vars[0], returnWeights ? vars[1] : nil)
    }
}

extension Optional where Wrapped == [Bool] {
    /// Runs `body` with a pointer to the flags, or nil when there are none.
    fileprivate func withOptionalBuffer<R>(_ body: (UnsafePointer<Bool>?) -> R) -> R {
        switch self {
        case .some(let flags): return flags.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}

struct AttentionBackward: BackwardRule {
    let q: Var, k: Var, v: Var
    /// P (B, H, Tq, Tk), zero at masked positions.
    let weights: Tensor
    let scale: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        let dO = dOutputs[0], dW = dOutputs.count > 1 ? dOutputs[1] : nil
        guard dO != nil || dW != nil else { return }
        let sq = q.shape, sv = v.shape
        let (b, h, tq, d) = (sq[0], sq[1], sq[2], sq[3])
        let (tk, dv) = (sv[2], sv[3])
        let batch = b * h
        let pp = weights.pointer
        if let dO, g.needsGrad(v) {   // dV (Tk × Dv) += Pᵀ (Tk × Tq) · dO (Tq × Dv)
            BLAS.gemmStridedBatched(transA: true, transB: false, m: tk, n: dv, k: tq, batch: batch,
                                    a: pp, lda: tk, strideA: tq * tk,
                                    b: dO.pointer, ldb: dv, strideB: tq * dv,
                                    beta: 1, c: g.gradBuffer(v), ldc: dv, strideC: tk * dv)
        }
        guard g.needsGrad(q) || g.needsGrad(k) else { return }
        // dP = dO Vᵀ (+ dWeights), then dS = P ⊙ (dP − rowsum(dP ⊙ P)) in place.
        let ds = Tensor(uninitialized: [b, h, tq, tk])
        let dsp = ds.sharedMutablePointer
        if let dW { dsp.update(from: dW.pointer, count: ds.count) }
        if let dO {
            BLAS.gemmStridedBatched(transA: false, transB: true, m: tq, n: tk, k: dv, batch: batch,
                                    a: dO.pointer, lda: dv, strideA: tq * dv,
                                    b: v.value.pointer, ldb: dv, strideB: tk * dv,
                                    beta: dW == nil ? 0 : 1, c: dsp, ldc: tk, strideC: tq * tk)
        }
        for r in 0..<(batch * tq) {
            let p = pp + r * tk, s = dsp + r * tk
            var dot: Float = 0
            for j in 0..<tk { dot += s[j] * p[j] }
            for j in 0..<tk { s[j] = p[j] * (s[j] - dot) }
        }
        if g.needsGrad(q) {   // dQ (Tq × D) += scale · dS (Tq × Tk) · K (Tk × D)
            BLAS.gemmStridedBatched(transA: false, transB: false, m: tq, n: d, k: tk, batch: batch, alpha: scale,
                                    a: dsp, lda: tk, strideA: tq * tk,
                                    b: k.value.pointer, ldb: d, strideB: tk * d,
                                    beta: 1, c: g.gradBuffer(q), ldc: d, strideC: tq * d)
        }
        if g.needsGrad(k) {   // dK (Tk × D) += scale · dSᵀ (Tk × Tq) · Q (Tq × D)
            BLAS.gemmStridedBatched(transA: true, transB: false, m: tk, n: d, k: tq, batch: batch, alpha: scale,
                                    a: dsp, lda: tk, strideA: tq * tk,
                                    b: q.value.pointer, ldb: d, strideB: tq * d,
                                    beta: 1, c: g.gradBuffer(k), ldc: d, strideC: tk * d)
        }
    }
}
