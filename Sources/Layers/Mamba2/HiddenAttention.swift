// Hidden attention of the selective scan (Ali, Zimerman & Wolf 2024; SSM-CGM eqs. 2, 17–18, 22–25).
//   dt (Δ): (B, L, H)   A: (H)   Bm, Cm: (B, L, G, N)   bScale: (H)?   →   K, ψ, α: (B, H, L, L),  ᾱ: (B, L, L)
//
// Unrolling the scan h_t = e^{Δ_t A} h_{t−1} + Δ_t x_t B_tᵀ from h_{−1} = 0 (eqs. 17 and 22):
//   h_ℓ C_ℓ = Σ_{j ≤ ℓ} K_ℓj x_j,    K_ℓj = (C_ℓ · B_j) · exp(A Σ_{t=j+1}^{ℓ} Δ_t) · Δ_j · s_h
// so the scan output without its D skip is z_ℓ = Σ_j K_ℓj x_j (eq. 2, z = Σ K x). In Mamba-2 A is a scalar
// per head, so K_ℓj is a scalar that acts as K_ℓj·I on the head's P channels. The sum of Δ starts at
// j+1 because the Mamba-2 state h_ℓ already contains input ℓ (the paper's eq. 17 writes the state
// before the input, h_{t+1} = A_t h_t + B_t x_t, hence its t = j … ℓ−1); with these indices K
// reproduces the scan exactly. s_h is the MES per-head scale of B (1 for the standard block).
//   ψ(K_ℓj) = ‖K_ℓj·I_P‖_{1,ch} = P·|K_ℓj|                               (channel-wise ℓ1 norm)
//   α_ℓj  = softmax_{j ≤ ℓ} (log(ψ_ℓj + ε) / τ),   0 for j > ℓ                       (eqs. 18, 24)
//   ᾱ_ℓj  = softmax_{j ≤ ℓ} (log((1/H) Σ_h ψ^(h)_ℓj + ε) / τ)                        (eq. 25)
// Cumulative sums and exponentials are taken in Double. Cost O(B·G·L²·N + B·H·L²).

import CGMTensor

import Foundation

/// Hidden-attention maps of one selective scan (see `SelectiveScanAnalysis.hiddenAttention`).
public struct HiddenAttention {
    /// K_ℓj per head, (B, H, L, L); 0 above the diagonal (j > ℓ).
    public let kernel: Tensor
    /// ψ_ℓj = P·|K_ℓj|, the channel-wise ℓ1 norm, (B, H, L, L).
    public let psi: Tensor
    /// α per head (eqs. 18, 24), (B, H, L, L): each row ℓ sums to 1 over j ≤ ℓ.
    public let alpha: Tensor
    /// ᾱ, the head-aggregated map of eq. 25, (B, L, L).
    public let alphaMean: Tensor
}

/// Analyses of a selective scan that need no gradient.
public enum SelectiveScanAnalysis {
    /// The unrolled kernel K_ℓj of the scan with these dynamics and its attention summaries.
    ///
    /// - Parameters:
    ///   - dt: Δ, (B, L, H); A: (H); B, C: (B, L, G, N) — the operands of `selectiveScan`.
    ///   - headdim: P (ψ is the ℓ1 norm over the head's P channels).
    ///   - bScale: per-head scale of B (the MES variant), (H); nil means 1.
    ///   - tau: softmax temperature τ > 0; epsilon: ε inside the logarithm (1e-9 in the paper).
    public static func hiddenAttention(dt: Tensor, A: Tensor, B: Tensor, C: Tensor, headdim: Int,
                                       bScale: Tensor? = nil, tau: Double = 1, epsilon: Double = 1e-9)
        -> HiddenAttention {
        precondition(headdim > 0 && tau > 0 && epsilon >= 0,
                     "hiddenAttention: headdim \(headdim) and tau \(tau) must be positive, epsilon \(epsilon) ≥ 0")
        precondition(dt.shape.count == 3, "hiddenAttention: dt must be (B, L, H); got \(dt.shape)")
        let sh = SelectiveScanShape(x: dt.shape + [headdim], dt: dt.shape, A: A.shape, B: B.shape, C: C.shape,
                                    D: nil, initialState: nil, op: "hiddenAttention")
        if let bScale { precondition(bScale.shape == [sh.heads], "hiddenAttention: bScale \(bScale.shape) must be [\(sh.heads)]") }
        let (nb, l, hs, n, gn, hg) = (sh.batch, sh.length, sh.heads, sh.dstate, sh.gn, sh.headsPerGroup)
        let kernel = Tensor(zeros: [nb, hs, l, l]), psi = Tensor(zeros: [nb, hs, l, l])
        let alpha = Tensor(zeros: [nb, hs, l, l]), alphaMean = Tensor(zeros: [nb, l, l])
        let kp = kernel.sharedMutablePointer, pp = psi.sharedMutablePointer
        let ap = alpha.sharedMutablePointer, mp = alphaMean.sharedMutablePointer
        let dtp = dt.pointer, bp = B.pointer, cp = C.pointer
        let s = UnsafeMutablePointer<Float>.allocate(capacity: l * l)
        var cum = [Double](repeating: 0, count: l)
        var meanPsi = [Double](repeating: 0, count: l * l)
        defer { s.deallocate() }
        for b in 0..<nb {
            for i in 0..<(l * l) { meanPsi[i] = 0 }
            for g in 0..<sh.groups {
                // S_ℓj = C_ℓ · B_j for this group (L × L).
                BLAS.gemm(transA: false, transB: true, m: l, n: l, k: n, a: cp + b * l * gn + g * n, lda: gn,
                          b: bp + b * l * gn + g * n, ldb: gn, beta: 0, c: s, ldc: l)
                for hh in 0..<hg {
                    let h = g * hg + hh, a = Double(A.pointer[h]), scale = Double(bScale?.pointer[h] ?? 1)
                    var acc = 0.0
                    for t in 0..<l {   // cum_t = A Σ_{k ≤ t} Δ_k, so cum_ℓ − cum_j = A Σ_{t=j+1}^{ℓ} Δ_t
                        acc += a * Double(dtp[(b * l + t) * hs + h])
                        cum[t] = acc
                    }
                    let base = (b * hs + h) * l * l
                    for ell in 0..<l {
                        for j in 0...ell {
                            let delta = Double(dtp[(b * l + j) * hs + h])
                            let k = Double(s[ell * l + j]) * Foundation.exp(cum[ell] - cum[j]) * delta * scale
                            let ps = Double(headdim) * abs(k)
                            kp[base + ell * l + j] = Float(k)
                            pp[base + ell * l + j] = Float(ps)
                            meanPsi[ell * l + j] += ps / Double(hs)
                        }
                        softmaxOfLog(count: ell + 1, tau: tau, epsilon: epsilon, { Double(pp[base + ell * l + $0]) },
                                     into: ap + base + ell * l)
                    }
                }
            }
            for ell in 0..<l {
                softmaxOfLog(count: ell + 1, tau: tau, epsilon: epsilon, { meanPsi[ell * l + $0] },
                             into: mp + (b * l + ell) * l)
            }
        }
        return HiddenAttention(kernel: kernel, psi: psi, alpha: alpha, alphaMean: alphaMean)
    }

    /// out[j] = softmax_j(log(u_j + ε) / τ) for j < count, max-shifted, in Double.
    private static func softmaxOfLog(count: Int, tau: Double, epsilon: Double, _ u: (Int) -> Double,
                                     into out: UnsafeMutablePointer<Float>) {
        var logits = [Double](repeating: 0, count: count)
        var m = -Double.infinity
        for j in 0..<count {
            logits[j] = Foundation.log(u(j) + epsilon) / tau
            m = max(m, logits[j])
        }
        guard m > -Double.infinity else {   // every ψ = 0 with ε = 0: no preference, uniform weights
            for j in 0..<count { out[j] = 1 / Float(count) }
            return
        }
        var z = 0.0
        for j in 0..<count {
            logits[j] = Foundation.exp(logits[j] - m)
            z += logits[j]
        }
        for j in 0..<count { out[j] = Float(logits[j] / z) }
    }
}
