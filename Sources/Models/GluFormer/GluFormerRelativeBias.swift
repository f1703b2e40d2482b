// GluFormer's residual head (`model.residual`, issue 14): the next-token logits get a learned bias that depends
// only on the candidate token's offset from the current one,
//
//   ℓ'_k = ℓ_k + r[k − t + 460],   k = 0 … 460 (the glucose tokens), t the token at this position,
//   r ∈ R^921 (offsets −460 … +460), initialized r[d] = −|d| / 2,
//
// so the head models the change from the last reading (the categorical counterpart of the other forecasters'
// residual targets). With the head's weights zero-initialized (GluFormerNetwork) an untrained model's next-token
// distribution is a symmetric Laplace around t, whose median is t: median decoding starts at persistence. Padding
// positions (t = 461) get no bias. Gradients: ∂ℓ' = ∂ℓ, and ∂r[k − t + 460] += ∂ℓ'_k over every position.
//
//   logits (B, S, 461), tokens (B·S), r (921) → (B, S, 461)

import CGMSchema
import CGMTensor

/// The relative token bias of a residual GluFormer head (see the file header).
public enum GluFormerRelativeBias {
    /// Glucose tokens V (461); offsets run over 2V − 1 values.
    static let vocabulary = GlucoseTokenizer.glucoseVocabulary
    /// Number of offsets, 2V − 1 = 921.
    public static let offsets = 2 * vocabulary - 1

    /// r[d] = −|d| / 2 over offsets d = −460 … 460.
    public static func initial() -> Tensor {
        Tensor(shape: [offsets], scalars: (0 ..< offsets).map { -Float(abs($0 - (vocabulary - 1))) / 2 })
    }

    /// ℓ' = ℓ + r[k − t + 460] for every position's token t (padding: unchanged).
    public static func apply(_ logits: Var, tokens: [Int], bias: Var, _ g: Graph) -> Var {
        let v = vocabulary
        precondition(logits.shape.last == v && logits.value.count == tokens.count * v && bias.shape == [offsets],
                     "GluFormerRelativeBias: logits \(logits.shape), \(tokens.count) tokens, bias \(bias.shape)")
        var out = logits.value
        let r = bias.value.pointer
        out.withUnsafeMutableBufferPointer { y in
            for (p, t) in tokens.enumerated() where t >= 0 && t < v {
                let row = p * v, shift = v - 1 - t
                for k in 0 ..< v { y[row + k] += r[k + shift] }
            }
        }
        return g.record(out, inputs: [logits, bias], rule: Backward(logits: logits, bias: bias, tokens: tokens))
    }

    struct Backward: BackwardRule {
        let logits: Var, bias: Var
        let tokens: [Int]

        func backward(_ dOutputs: [Tensor?], _ g: Graph) {
            guard let dY = dOutputs[0] else { return }
            let v = GluFormerRelativeBias.vocabulary, d = dY.pointer
            if g.needsGrad(logits) {
                let gl = g.gradBuffer(logits)
                for i in 0 ..< dY.count { gl[i] += d[i] }
            }
            if g.needsGrad(bias) {
                let gr = g.gradBuffer(bias)
                for (p, t) in tokens.enumerated() where t >= 0 && t < v {
                    let row = p * v, shift = v - 1 - t
                    for k in 0 ..< v { gr[k + shift] += d[row + k] }
                }
            }
        }
    }
}
