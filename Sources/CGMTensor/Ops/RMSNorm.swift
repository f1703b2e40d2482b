// Root-mean-square normalization over the last axis (Zhang & Sennrich 2019), and Mamba-2's gated form
// (Dao & Gu 2024, RMSNormGated).
//   x: (..., C), gate z: (..., C), weight: (C)? → y: (..., C)
//   rmsNorm:                       y = x · r ⊙ w,               r = 1/√(mean(x²) + ε)
//   rmsNormGated, !normBeforeGate: u = x ⊙ silu(z), y = u · r(u) ⊙ w   (Mamba-2 default)
//   rmsNormGated,  normBeforeGate: y = x · r(x) ⊙ w ⊙ silu(z)
// With `groupSize` G (Mamba's ngroups: G = C / ngroups) the mean runs over each block of G
// consecutive channels; the weight still has all C entries.
// Forward caches r per (row, group); backward, with n = u · r and dn = ∂L/∂n:
//   du = r · (dn − n · mean(dn ⊙ n)),  silu'(z) = σ(z) · (1 + z · (1 − σ(z)))

import Foundation

extension Graph {
    /// RMS normalization over the last axis (or over blocks of `groupSize` channels of it), times an
    /// optional `weight` of shape `[C]`: y = x / √(mean(x²) + eps) ⊙ w.
    public func rmsNorm(_ x: Var, weight: Var?, eps: Float = 1e-5, groupSize: Int? = nil) -> Var {
        rmsNormImpl(x, gate: nil, weight: weight, eps: eps, normBeforeGate: false, groupSize: groupSize)
    }

    /// Mamba-2's gated RMS norm (`RMSNormGated`). With `normBeforeGate == false` (the Mamba-2 default)
    /// y = rmsnorm(x ⊙ silu(z)) ⊙ w; with `true`, y = rmsnorm(x) ⊙ w ⊙ silu(z). `z` has the shape of `x`.
    /// `groupSize` normalizes over blocks of that many channels of the last axis (default: all of it).
    public func rmsNormGated(_ x: Var, gate z: Var, weight: Var?, eps: Float = 1e-5,
                             normBeforeGate: Bool = false, groupSize: Int? = nil) -> Var {
        rmsNormImpl(x, gate: z, weight: weight, eps: eps, normBeforeGate: normBeforeGate, groupSize: groupSize)
    }

    private func rmsNormImpl(_ x: Var, gate z: Var?, weight: Var?, eps: Float,
                             normBeforeGate: Bool, groupSize: Int?) -> Var {
        let sx = x.shape
        precondition(sx.count >= 1 && sx.last! > 0, "rmsNorm: input \(sx) needs a non-empty last axis")
        let c = sx.last!
        let gs = groupSize ?? c
        precondition(gs > 0 && c % gs == 0, "rmsNorm: groupSize \(gs) does not divide the last axis of \(sx)")
        if let weight { precondition(weight.shape == [c], "rmsNorm: weight \(weight.shape) for input \(sx)") }
        if let z { precondition(z.shape == sx, "rmsNormGated: gate \(z.shape) differs from input \(sx)") }
        let groups = x.value.count / gs, groupsPerRow = c / gs
        let out = Tensor(uninitialized: sx)
        let rstd = Tensor(uninitialized: [groups])
        let xp = x.value.pointer, zp = z?.value.pointer, wp = weight?.value.pointer
        let yp = out.sharedMutablePointer, rp = rstd.sharedMutablePointer
        let gateInside = zp != nil && !normBeforeGate
        let u = UnsafeMutablePointer<Float>.allocate(capacity: gs)
        defer { u.deallocate() }
        let invG = 1 / Float(gs)
        for gi in 0..<groups {
            let base = gi * gs, wOff = (gi % groupsPerRow) * gs
            if gateInside, let zp {
                for i in 0..<gs { u[i] = xp[base + i] * RMSNormGate.silu(zp[base + i]) }
            } else {
                u.update(from: xp + base, count: gs)
            }
            var ss: Float = 0
            for i in 0..<gs { ss += u[i] * u[i] }
            let rs = 1 / (ss * invG + eps).squareRoot()
            rp[gi] = rs
            let yr = yp + base
            if let wp { for i in 0..<gs { yr[i] = u[i] * rs * wp[wOff + i] } }
            else { for i in 0..<gs { yr[i] = u[i] * rs } }
            if normBeforeGate, let zp { for i in 0..<gs { yr[i] *= RMSNormGate.silu(zp[base + i]) } }
        }
        var inputs = [x]
        if let z { inputs.append(z) }
        if let weight { inputs.append(weight) }
        return record(out, inputs: inputs, rule: RMSNormBackward(
            x: x, gate: z, weight: weight, normBeforeGate: normBeforeGate, rstd: rstd, groupSize: gs))
    }
}

/// SiLU gate helpers (kept private to this file so they cannot clash with the activation ops).
fileprivate enum RMSNormGate {
    @inline(__always) static func sigmoid(_ z: Float) -> Float { 1 / (1 + exp(-z)) }
    @inline(__always) static func silu(_ z: Float) -> Float { z * sigmoid(z) }
    /// d silu / dz = σ(z) (1 + z (1 − σ(z))).
    @inline(__always) static func siluDerivative(_ z: Float) -> Float {
        let s = sigmoid(z)
        return s * (1 + z * (1 - s))
    }
}

struct RMSNormBackward: BackwardRule {
    let x: Var, gate: Var?, weight: Var?
    let normBeforeGate: Bool
    let rstd: Tensor
    let groupSize: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0] else { return }
        let gs = groupSize, c = x.shape.last!
        let groups = x.value.count / gs, groupsPerRow = c / gs
        let xp = x.value.pointer, zp = gate?.value.pointer, wp = weight?.value.pointer
        let dyp = dY.pointer, rp = rstd.pointer
        let dx = g.needsGrad(x) ? g.gradBuffer(x) : nil
        let dz = gate.flatMap { g.needsGrad($0) ? g.gradBuffer($0) : nil }
        let dw = weight.flatMap { g.needsGrad($0) ? g.gradBuffer($0) : nil }
        let gateInside = zp != nil && !normBeforeGate
        let gateOutside = zp != nil && normBeforeGate
        // Scratch per group: n (normalized value) and dn (gradient reaching n).
        let n = UnsafeMutablePointer<Float>.allocate(capacity: gs)
        let dn = UnsafeMutablePointer<Float>.allocate(capacity: gs)
        defer { n.deallocate(); dn.deallocate() }
        let invG = 1 / Float(gs)
        for gi in 0..<groups {
            let base = gi * gs, wOff = (gi % groupsPerRow) * gs, rs = rp[gi]
            if gateInside, let zp {
                for i in 0..<gs { n[i] = xp[base + i] * RMSNormGate.silu(zp[base + i]) * rs }
            } else {
                for i in 0..<gs { n[i] = xp[base + i] * rs }
            }
            // y = n ⊙ w ⊙ s, with s = silu(z) outside the norm or 1.
            for i in 0..<gs {
                let dy = dyp[base + i]
                let w = wp.map { $0[wOff + i] } ?? 1
                var s: Float = 1
                if gateOutside, let zp {
                    let zi = zp[base + i]
                    s = RMSNormGate.silu(zi)
                    dz?[base + i] += dy * n[i] * w * RMSNormGate.siluDerivative(zi)
                }
                dw?[wOff + i] += dy * n[i] * s
                dn[i] = dy * w * s
            }
            guard dx != nil || (gateInside && dz != nil) else { continue }
            var dot: Float = 0
            for i in 0..<gs { dot += dn[i] * n[i] }
            dot *= invG
            // du = r · (dn − n · mean(dn ⊙ n)), stored back into dn.
            for i in 0..<gs { dn[i] = rs * (dn[i] - n[i] * dot) }
            if gateInside, let zp {
                for i in 0..<gs {
                    let zi = zp[base + i]
                    dx?[base + i] += dn[i] * RMSNormGate.silu(zi)
                    dz?[base + i] += dn[i] * xp[base + i] * RMSNormGate.siluDerivative(zi)
                }
            } else if let dx {
                for i in 0..<gs { dx[base + i] += dn[i] }
            }
        }
    }
}
