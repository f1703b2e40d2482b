// Fused element-wise kernels around the selective scan in the Mamba-2 mixer. Both read a column range
// of a wider tensor (the in-projection output [z | xBC | dt]) in place, so the mixer copies nothing out
// of it and gradients land in its gradient buffer directly; the SiLUs use the vectorized `FastMath.sigmoid`.
//
//   depthwiseCausalConvSiLU:  x: (B, L, F), columns c₀ ..< c₀ + C, weight: (C, 1, K), bias: (C) → (B, L, C)
//     pre[b, t, c] = bias[c] + Σ_k w[c, 0, k] · x[b, t + k − (K − 1), c₀ + c]   (0 outside [0, L))
//     y = SiLU(pre) = pre · σ(pre)
//     backward: dpre = dy · σ(pre) (1 + pre (1 − σ(pre))),  db += Σ dpre,
//               dw[c, k] += Σ_{b,t} x[b, t + k − K + 1, c₀ + c] dpre[b, t, c],  dx[b, s, c₀ + c] += Σ_k w[c, k] dpre[b, s − k + K − 1, c]
//   gatedRMSNorm (Mamba-2 RMSNormGated, norm_before_gate = false):  y: (B, L, D), gate columns of g: (B, L, F), w: (D)
//     u = y ⊙ SiLU(z),  r = 1/√(mean_group(u²) + ε) per group of `groupSize` channels,  out = u r ⊙ w
//     backward (n = u r, dn = dout ⊙ w):  dw += dout ⊙ n,  du = r (dn − n · mean_group(dn ⊙ n)),
//               dy += du ⊙ SiLU(z),  dz += du ⊙ y ⊙ σ(z) (1 + z (1 − σ(z)))
//   headMean (SSM-CGM A.8 shared value):  x: (B, L, F), columns c₀ ..< c₀ + H·P → v: (B, L, P)
//     v[b, t, p] = (1/H) Σ_h x[b, t, c₀ + h·P + p]          backward: dx[…, c₀ + h·P + p] += dv / H
//   mesCombine (SSM-CGM eq. 21 per head, B^(h) = s_h B):  ŷ: (B, L, H, P), v: (B, L, P), s, D: (H) → (B, L, H, P)
//     y[b, t, h, :] = s_h ŷ[b, t, h, :] + D_h v[b, t, :]
//     backward: dŷ = s_h dy,  ds_h += Σ dy ⊙ ŷ_h,  dD_h += Σ dy_h ⊙ v,  dv += Σ_h D_h dy_h
// The unfused equivalents are `conv1d(groups: C, causal: true)` + `silu`, `rmsNormGated`, `mean` over the
// head axis, and broadcast `mul`/`add`; the tests check each against them.

import CGMTensor

extension Graph {
    /// SiLU(depthwise causal conv1d + bias) of the channels `columns` of `x` (B, L, F), with a PyTorch-layout
    /// depthwise `weight` (C, 1, K) and `bias` (C): the Mamba-2 mixer's convolution. Returns (B, L, C).
    public func depthwiseCausalConvSiLU(_ x: Var, columns: Range<Int>, weight: Var, bias: Var) -> Var {
        let sx = x.shape, c = columns.count
        precondition(sx.count == 3 && columns.lowerBound >= 0 && columns.upperBound <= sx[2] && c > 0,
                     "depthwiseCausalConvSiLU: columns \(columns) do not fit input \(sx) (need (B, L, F))")
        precondition(weight.shape.count == 3 && weight.shape[0] == c && weight.shape[1] == 1 && weight.shape[2] > 0,
                     "depthwiseCausalConvSiLU: weight \(weight.shape) must be (\(c), 1, K) for columns \(columns) of \(sx)")
        precondition(bias.shape == [c], "depthwiseCausalConvSiLU: bias \(bias.shape) must be [\(c)]")
        let geo = MixerConvGeometry(batch: sx[0], length: sx[1], width: sx[2], offset: columns.lowerBound,
                                    channels: c, k: weight.shape[2])
        let pre = Tensor(uninitialized: [sx[0], sx[1], c])
        let out = Tensor(uninitialized: [sx[0], sx[1], c])
        geo.forward(x: x.value.pointer, weight: weight.value.pointer, bias: bias.value.pointer,
                    pre: pre.sharedMutablePointer, y: out.sharedMutablePointer)
        return record(out, inputs: [x, weight, bias],
                      rule: MixerConvSiLUBackward(x: x, weight: weight, bias: bias, geometry: geo, pre: pre))
    }

    /// Mamba-2's gated RMSNorm with the norm after the gate: RMSNorm(y ⊙ SiLU(z)) ⊙ `weight`, the mean taken
    /// over groups of `groupSize` channels; z is read from `gateColumns` of `gateSource` (B, L, F).
    /// Equals `rmsNormGated(y, gate: z, weight:, normBeforeGate: false, groupSize:)`.
    public func gatedRMSNorm(_ y: Var, gateSource: Var, gateColumns: Range<Int>, weight: Var, eps: Float = 1e-5,
                             groupSize: Int? = nil) -> Var {
        let sy = y.shape, sg = gateSource.shape
        precondition(sy.count >= 1, "gatedRMSNorm: input \(sy) needs a channel axis")
        let d = sy.last!, gs = groupSize ?? d
        precondition(sg.count == sy.count && Array(sg.dropLast()) == Array(sy.dropLast()) && gateColumns.count == d
                     && gateColumns.lowerBound >= 0 && gateColumns.upperBound <= sg.last!,
                     "gatedRMSNorm: gate columns \(gateColumns) of \(sg) do not match input \(sy)")
        precondition(weight.shape == [d], "gatedRMSNorm: weight \(weight.shape) must be [\(d)]")
        precondition(gs > 0 && d % gs == 0, "gatedRMSNorm: groupSize \(gs) must divide \(d)")
        let rows = y.value.count / d, width = sg.last!, off = gateColumns.lowerBound
        let out = Tensor(uninitialized: sy), rstd = Tensor(uninitialized: [rows * (d / gs)])
        let yp = y.value.pointer, zp = gateSource.value.pointer, wp = weight.value.pointer
        let op = out.sharedMutablePointer, rp = rstd.sharedMutablePointer
        let s = UnsafeMutablePointer<Float>.allocate(capacity: d)
        defer { s.deallocate() }
        for row in 0..<rows {
            let yr = yp + row * d, zr = zp + row * width + off, orow = op + row * d
            FastMath.sigmoid(zr, s, count: d)
            for i in 0..<d { orow[i] = yr[i] * zr[i] * s[i] }   // u, kept in the output row for now
            for gi in 0..<(d / gs) {
                let u = orow + gi * gs
                var ss: Float = 0
                for i in 0..<gs { ss += u[i] * u[i] }
                let r = 1 / (ss / Float(gs) + eps).squareRoot()
                rp[row * (d / gs) + gi] = r
                let w = wp + gi * gs
                for i in 0..<gs { u[i] = u[i] * r * w[i] }
            }
        }
        return record(out, inputs: [y, gateSource, weight], rule: MixerGatedNormBackward(
            y: y, gateSource: gateSource, weight: weight, offset: off, groupSize: gs, rstd: rstd))
    }
}

extension Graph {
    /// The mean over `heads` heads of the channels `columns` (H·P wide) of `x` (B, L, F): v (B, L, P), the
    /// MES shared value of SSM-CGM A.8, read in place from the convolution output.
    public func headMean(_ x: Var, columns: Range<Int>, heads: Int) -> Var {
        let sx = x.shape
        precondition(sx.count == 3 && heads > 0 && columns.lowerBound >= 0 && columns.upperBound <= sx[2]
                     && columns.count % heads == 0 && columns.count > 0,
                     "headMean: columns \(columns) of \(sx) must split into \(heads) heads")
        let (rows, width, p, off) = (sx[0] * sx[1], sx[2], columns.count / heads, columns.lowerBound)
        let out = Tensor(uninitialized: [sx[0], sx[1], p])
        let xp = x.value.pointer, yp = out.sharedMutablePointer, inv = 1 / Float(heads)
        for r in 0..<rows {
            let src = xp + r * width + off, dst = yp + r * p
            dst.update(from: src, count: p)
            for h in 1..<heads { let s = src + h * p; for i in 0..<p { dst[i] += s[i] } }
            for i in 0..<p { dst[i] *= inv }
        }
        return record(out, inputs: [x], rule: HeadMeanBackward(x: x, offset: off, heads: heads, headdim: p))
    }

    /// y[b, t, h, :] = scale_h · ŷ[b, t, h, :] + skip_h · v[b, t, :]: the per-head output of the MES mixer
    /// from the shared-value scan ŷ (B, L, H, P), with B^(h) = scale_h B and the skip D_h on the shared v (B, L, P).
    public func mesCombine(_ yHat: Var, value v: Var, scale: Var, skip: Var) -> Var {
        let sy = yHat.shape
        precondition(sy.count == 4 && v.shape == [sy[0], sy[1], sy[3]] && scale.shape == [sy[2]] && skip.shape == [sy[2]],
                     "mesCombine: ŷ \(sy) must be (B, L, H, P) with v (B, L, P) = \(v.shape), scale and skip (H) = \(scale.shape), \(skip.shape)")
        let (rows, h, p) = (sy[0] * sy[1], sy[2], sy[3])
        let out = Tensor(uninitialized: sy)
        let yp = yHat.value.pointer, vp = v.value.pointer, sp = scale.value.pointer, dp = skip.value.pointer
        let op = out.sharedMutablePointer
        for r in 0..<rows {
            let vr = vp + r * p
            for hh in 0..<h {
                let o = op + (r * h + hh) * p, yr = yp + (r * h + hh) * p, s = sp[hh], d = dp[hh]
                for i in 0..<p { o[i] = s * yr[i] + d * vr[i] }
            }
        }
        return record(out, inputs: [yHat, v, scale, skip], rule: MESCombineBackward(yHat: yHat, v: v, scale: scale, skip: skip))
    }
}

struct HeadMeanBackward: BackwardRule {
    let x: Var
    let offset: Int, heads: Int, headdim: Int

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dV = dOutputs[0], g.needsGrad(x) else { return }
        let width = x.shape[2], rows = x.shape[0] * x.shape[1], p = headdim, inv = 1 / Float(heads)
        let dx = g.gradBuffer(x), dv = dV.pointer
        for r in 0..<rows {
            let src = dv + r * p
            for h in 0..<heads {
                let dst = dx + r * width + offset + h * p
                for i in 0..<p { dst[i] += inv * src[i] }
            }
        }
    }
}

struct MESCombineBackward: BackwardRule {
    let yHat: Var, v: Var, scale: Var, skip: Var

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let sy = yHat.shape, (rows, h, p) = (sy[0] * sy[1], sy[2], sy[3])
        let dyHat = g.needsGrad(yHat) ? g.gradBuffer(yHat) : nil
        let dv = g.needsGrad(v) ? g.gradBuffer(v) : nil
        let ds = g.needsGrad(scale) ? g.gradBuffer(scale) : nil
        let dd = g.needsGrad(skip) ? g.gradBuffer(skip) : nil
        let yp = yHat.value.pointer, vp = v.value.pointer, sp = scale.value.pointer, dp = skip.value.pointer
        let go = dOut.pointer
        var sAcc = [Double](repeating: 0, count: h), dAcc = [Double](repeating: 0, count: h)
        for r in 0..<rows {
            let vr = vp + r * p
            for hh in 0..<h {
                let base = (r * h + hh) * p, gr = go + base, yr = yp + base
                var sdot: Float = 0, ddot: Float = 0
                for i in 0..<p {
                    sdot += gr[i] * yr[i]
                    ddot += gr[i] * vr[i]
                }
                sAcc[hh] += Double(sdot)
                dAcc[hh] += Double(ddot)
                if let dyHat { let s = sp[hh], out = dyHat + base; for i in 0..<p { out[i] += s * gr[i] } }
                if let dv { let d = dp[hh], out = dv + r * p; for i in 0..<p { out[i] += d * gr[i] } }
            }
        }
        if let ds { for hh in 0..<h { ds[hh] += Float(sAcc[hh]) } }
        if let dd { for hh in 0..<h { dd[hh] += Float(dAcc[hh]) } }
    }
}

/// Sizes of one fused mixer convolution; forward and backward kernels.
struct MixerConvGeometry {
    let batch: Int, length: Int, width: Int, offset: Int, channels: Int, k: Int

    /// The (C, 1, K) weight as (K, C), so every channel loop is contiguous.
    func transposed(_ w: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let wt = UnsafeMutablePointer<Float>.allocate(capacity: k * channels)
        for c in 0..<channels { for tap in 0..<k { wt[tap * channels + c] = w[c * k + tap] } }
        return wt
    }

    func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                 pre: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let wt = transposed(weight)
        defer { wt.deallocate() }
        let c = channels
        for b in 0..<batch {
            for t in 0..<length {
                let pr = pre + (b * length + t) * c
                pr.update(from: bias, count: c)
                for tap in max(0, k - 1 - t)..<k {   // source time t + tap − (K − 1) ≥ 0
                    let xs = x + (b * length + t + tap - (k - 1)) * width + offset, wk = wt + tap * c
                    for ch in 0..<c { pr[ch] += wk[ch] * xs[ch] }
                }
            }
        }
        let n = batch * length * c
        FastMath.sigmoid(pre, y, count: n)
        for i in 0..<n { y[i] *= pre[i] }
    }
}

struct MixerConvSiLUBackward: BackwardRule {
    let x: Var, weight: Var, bias: Var
    let geometry: MixerConvGeometry
    /// Pre-activation conv output (B, L, C).
    let pre: Tensor

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dY = dOutputs[0] else { return }
        let geo = geometry, c = geo.channels, k = geo.k, l = geo.length
        let dx = g.needsGrad(x) ? g.gradBuffer(x) : nil
        let dw = g.needsGrad(weight) ? g.gradBuffer(weight) : nil
        let db = g.needsGrad(bias) ? g.gradBuffer(bias) : nil
        let xp = x.value.pointer, pp = pre.pointer, dyp = dY.pointer
        let wt = geo.transposed(weight.value.pointer)
        let dwt = UnsafeMutablePointer<Float>.allocate(capacity: k * c)
        let dpre = UnsafeMutablePointer<Float>.allocate(capacity: l * c)
        dwt.initialize(repeating: 0, count: k * c)
        defer { wt.deallocate(); dwt.deallocate(); dpre.deallocate() }
        for b in 0..<geo.batch {
            // dpre = dy · σ(pre) (1 + pre (1 − σ(pre))) for the whole sequence of batch element b.
            let base = b * l * c
            FastMath.sigmoid(pp + base, dpre, count: l * c)
            for i in 0..<(l * c) {
                let s = dpre[i], p = pp[base + i]
                dpre[i] = dyp[base + i] * s * (1 + p * (1 - s))
            }
            if let db { for t in 0..<l { let r = dpre + t * c; for ch in 0..<c { db[ch] += r[ch] } } }
            for t in 0..<l {
                let dr = dpre + t * c
                for tap in max(0, k - 1 - t)..<k {
                    let off = (b * l + t + tap - (k - 1)) * geo.width + geo.offset
                    if let dx {
                        let dxs = dx + off, wk = wt + tap * c
                        for ch in 0..<c { dxs[ch] += wk[ch] * dr[ch] }
                    }
                    if dw != nil {
                        let xs = xp + off, dwk = dwt + tap * c
                        for ch in 0..<c { dwk[ch] += xs[ch] * dr[ch] }
                    }
                }
            }
        }
        if let dw { for ch in 0..<c { for tap in 0..<k { dw[ch * k + tap] += dwt[tap * c + ch] } } }
    }
}

struct MixerGatedNormBackward: BackwardRule {
    let y: Var, gateSource: Var, weight: Var
    let offset: Int, groupSize: Int
    /// 1/√(mean(u²) + ε) per (row, group).
    let rstd: Tensor

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let d = y.shape.last!, gs = groupSize, rows = y.value.count / d, width = gateSource.shape.last!
        let dy = g.needsGrad(y) ? g.gradBuffer(y) : nil
        let dz = g.needsGrad(gateSource) ? g.gradBuffer(gateSource) : nil
        let dw = g.needsGrad(weight) ? g.gradBuffer(weight) : nil
        let yp = y.value.pointer, zp = gateSource.value.pointer, wp = weight.value.pointer
        let dop = dOut.pointer, rp = rstd.pointer
        let s = UnsafeMutablePointer<Float>.allocate(capacity: d)
        let n = UnsafeMutablePointer<Float>.allocate(capacity: d)
        let dn = UnsafeMutablePointer<Float>.allocate(capacity: d)
        defer { s.deallocate(); n.deallocate(); dn.deallocate() }
        for row in 0..<rows {
            let yr = yp + row * d, zr = zp + row * width + offset, dor = dop + row * d
            FastMath.sigmoid(zr, s, count: d)
            for gi in 0..<(d / gs) {
                let r = rp[row * (d / gs) + gi], lo = gi * gs
                var dot: Float = 0
                for i in lo..<(lo + gs) {
                    n[i] = yr[i] * zr[i] * s[i] * r
                    dn[i] = dor[i] * wp[i]
                    dot += dn[i] * n[i]
                }
                dot /= Float(gs)
                if let dw { for i in lo..<(lo + gs) { dw[i] += dor[i] * n[i] } }
                for i in lo..<(lo + gs) { dn[i] = r * (dn[i] - n[i] * dot) }   // du
            }
            if let dy {
                let dyr = dy + row * d
                for i in 0..<d { dyr[i] += dn[i] * zr[i] * s[i] }
            }
            if let dz {
                let dzr = dz + row * width + offset
                for i in 0..<d { dzr[i] += dn[i] * yr[i] * s[i] * (1 + zr[i] * (1 - s[i])) }
            }
        }
    }
}
