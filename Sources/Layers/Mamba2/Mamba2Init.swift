// Initialization of the Mamba-2 SSM parameters, as `mamba_ssm.modules.mamba2.Mamba2.__init__`:
//   Δ₀ = exp(u · (ln dt_max − ln dt_min) + ln dt_min), u ~ U[0, 1)   (log-uniform in [dt_min, dt_max])
//   Δ₀ ← max(Δ₀, dt_init_floor);   dt_bias = softplus⁻¹(Δ₀) = Δ₀ + ln(−expm1(−Δ₀))
//   A_log = ln a, a ~ U[a_min, a_max]  (A = −exp(A_log) = −a);   D = 1
// All three are excluded from weight decay (mamba_ssm's `_no_weight_decay`).

import CGMTensor
import Foundation

/// Initial values of dt_bias, A_log and D (see the header for the formulas).
public enum Mamba2Init {
    /// dt_bias (H): the inverse softplus of Δ₀ ~ logU[dtMin, dtMax], Δ₀ floored at `floor`.
    public static func dtBias(heads: Int, dtMin: Float, dtMax: Float, floor: Float,
                              rng: inout PhiloxGenerator) -> Tensor {
        let lo = Foundation.log(Double(dtMin)), hi = Foundation.log(Double(dtMax))
        let values: [Float] = (0..<heads).map { _ in
            let dt = max(Foundation.exp(Double(rng.nextUniform()) * (hi - lo) + lo), Double(floor))
            return Float(dt + Foundation.log(-Foundation.expm1(-dt)))
        }
        return Tensor(shape: [heads], scalars: values)
    }

    /// A_log (H) = ln U[range].
    public static func aLog(heads: Int, range: ClosedRange<Float>, rng: inout PhiloxGenerator) -> Tensor {
        Tensor(shape: [heads], scalars: (0..<heads).map { _ in
            Foundation.log(rng.nextUniform(range.lowerBound, range.upperBound))
        })
    }

    /// softplus(x) = ln(1 + eˣ) in Double (to check dt_bias against its target Δ₀).
    public static func softplus(_ x: Double) -> Double { x > 20 ? x : Foundation.log1p(Foundation.exp(x)) }
}
