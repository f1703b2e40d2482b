// Row kernels of the fused narrow GRN (NarrowGRN.swift), shared by its forward and backward passes so
// that backward recomputes exactly the forward's values (16-lane SIMD along Out and Hd, weights transposed
// and zero-padded to whole vectors, so padded lanes carry zeros through every product):
//   skip:   u = M x,  s = gate ⊙ u,  μ₁, 1/σ₁ of s                  (ResampleNorm: interpolation, 2σ(mask))
//   hidden: h₁ = W₁x + b₁,  e = ELU(h₁),  d = (W₂e + b₂) ⊙ mask/(1 − p)      (TFT eqs. 3–4, dropout)
//   glu:    [a; b] = W_g d + b_g,  σ(b),  z = a ⊙ σ(b) + LN₁(s)              (eq. 5 and the AddNorm input)
//   forwardRow: the three, then out = LN₂(z) written (or weight · out added) to the output row
// ELU's eˣ − 1 is `FastMath.expm1` (FastMathExpm1.swift), as the unfused `elu`.

/// Weights of one narrow GRN call in the kernels' layouts: Mᵀ (In, Np), gate (Np), the two LayerNorms'
/// γ, β (Np), W₁ᵀ (In, Hp), b₁ (Hp), W₂ᵀ (Hd, Hp), W₂ (Hd, Hp), W₁ (Hd, Kp), b₂ (Hp), W_gᵀ (Hd, 2·Np) with
/// the value half in [0, Np) and the gate half in [Np, 2·Np), b_g (2·Np), and a lane mask (Np): 1 on the
/// Out real lanes. Np, Hp, Kp are Out, Hd, In rounded up to multiples of 16; padding is zero.
final class NarrowGRNPacked {
    typealias V = SIMD16<Float>
    let k: Int, hd: Int, n: Int, np: Int, hp: Int, kp: Int
    let hasGate: Bool
    /// The two LayerNorms' ε (skip, output) and 1/Out.
    let skipEps: Float, eps: Float, invN: Float
    /// Sparsity of Mᵀ by 16-lane chunk (an interpolation matrix has ≤ 2 non-zeros per output): chunk q
    /// reads inputs chunkInputs[2q]..<chunkInputs[2q + 1]; input c feeds lanes inputLanes[2c]..<inputLanes[2c + 1]
    /// (whole chunks). Skipped products are exact zeros, so the values equal the dense product's.
    let chunkInputs: [Int], inputLanes: [Int]
    let base: UnsafeMutablePointer<Float>
    let mt, gate, g1, b1, g2, b2, laneMask, w1t, bh1, w2t, w2, w1, bh2, wgt, bg: UnsafeMutablePointer<Float>

    init(_ w: NarrowGRNParameters, skipProjection m: Tensor, dims: NarrowGRNDims, skipEps: Float, eps: Float) {
        (k, hd, n) = (dims.k, dims.hd, dims.n)
        (self.skipEps, self.eps, invN) = (skipEps, eps, 1 / Float(dims.n))
        np = (n + 15) / 16 * 16; hp = (hd + 15) / 16 * 16; kp = (k + 15) / 16 * 16
        hasGate = w.skipGate != nil
        var offset = 0
        var slots: [Int] = []
        for size in [k * np, np, np, np, np, np, np, k * hp, hp, hd * hp, hd * hp, hd * kp, hp, hd * 2 * np, 2 * np] {
            slots.append(offset)
            offset += (size + 15) / 16 * 16
        }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: offset)
        buffer.initialize(repeating: 0, count: offset)
        base = buffer
        let p = slots.map { buffer + $0 }
        (mt, gate, g1, b1, g2, b2, laneMask, w1t, bh1, w2t) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9])
        (w2, w1, bh2, wgt, bg) = (p[10], p[11], p[12], p[13], p[14])
        let (mp, w1p, w2p, wgp) = (m.pointer, w.fc1Weight.value.pointer, w.fc2Weight.value.pointer, w.gluWeight.value.pointer)
        for j in 0..<n { for c in 0..<k { mt[c * np + j] = mp[j * k + c] } }
        let (kk, npp, mtp) = (k, np, p[0])
        var chunkInputs: [Int] = [], inputLanes = Array(repeating: 0, count: 2 * kk)
        for q in 0..<(npp / 16) {
            let used = (0..<kk).filter { c in (0..<16).contains { mtp[c * npp + 16 * q + $0] != 0 } }
            chunkInputs += [used.first ?? 0, (used.last ?? -1) + 1]
        }
        for c in 0..<kk {
            let used = (0..<(npp / 16)).filter { q in (0..<16).contains { mtp[c * npp + 16 * q + $0] != 0 } }
            inputLanes[2 * c] = 16 * (used.first ?? 0)
            inputLanes[2 * c + 1] = 16 * ((used.last ?? -1) + 1)
        }
        (self.chunkInputs, self.inputLanes) = (chunkInputs, inputLanes)
        let gv = w.skipGate?.value.pointer
        let (sg1, sb1, sg2, sb2) = (w.skipNormWeight.value.pointer, w.skipNormBias.value.pointer,
                                    w.normWeight.value.pointer, w.normBias.value.pointer)
        for j in 0..<n {
            gate[j] = gv?[j] ?? 1
            (g1[j], b1[j], g2[j], b2[j], laneMask[j]) = (sg1[j], sb1[j], sg2[j], sb2[j], 1)
        }
        let (fb1, fb2, gb) = (w.fc1Bias.value.pointer, w.fc2Bias.value.pointer, w.gluBias.value.pointer)
        for j in 0..<hd {
            for c in 0..<k { w1t[c * hp + j] = w1p[j * k + c]; w1[j * kp + c] = w1p[j * k + c] }
            for i in 0..<hd { w2t[i * hp + j] = w2p[j * hd + i]; w2[j * hp + i] = w2p[j * hd + i] }
            bh1[j] = fb1[j]
            bh2[j] = fb2[j]
        }
        for j in 0..<n {
            for c in 0..<hd {
                wgt[c * 2 * np + j] = wgp[j * hd + c]
                wgt[c * 2 * np + np + j] = wgp[(n + j) * hd + c]
            }
            bg[j] = gb[j]
            bg[np + j] = gb[n + j]
        }
    }

    deinit { base.deallocate() }

    @inline(__always) static func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) static func store(_ v: V, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self)
    }

    /// Σ of the 16 lanes as a tree of half-width adds (16 → 8 → 4 → 2 → 1): 4 dependent adds instead of
    /// the 15 of `SIMD.sum()`, which matters for the several row reductions per row.
    @inline(__always) static func sum(_ v: V) -> Float {
        let h8 = v.lowHalf + v.highHalf
        let h4 = h8.lowHalf + h8.highHalf
        let h2 = h4.lowHalf + h4.highHalf
        return h2[0] + h2[1]
    }
}

/// Per-row buffers of a narrow GRN (one allocation, reused over the rows), padded like `NarrowGRNPacked`.
struct NarrowGRNScratch {
    /// Rows per tile of the backward's W_g-gradient accumulation.
    static let tile = 8
    let base: UnsafeMutablePointer<Float>, count: Int
    /// Np-wide: u = M x, s, z, a, σ(b), the padded dout row, dz, gate ⊙ ds.
    let u, s, z, a, sig, o, dz, dsg: UnsafeMutablePointer<Float>
    /// Hp-wide: h₁, e = ELU(h₁), dropout factors (mask/(1 − p), or 1), dd, dη₁, de.
    let h1, e, keep, dd, dh, de: UnsafeMutablePointer<Float>
    /// Kp-wide dx of one row; `tile` rows of d (Hp each) and of dy = [da; db] (2·Np each).
    let dx, dTile, dyTile: UnsafeMutablePointer<Float>

    /// Buffers for `w` alone.
    init(_ w: NarrowGRNPacked) { self.init([w]) }

    /// Buffers wide enough for each of `ws` (one at a time: a row kernel overwrites what it reads).
    init(_ ws: [NarrowGRNPacked]) {
        let (np, hp, kp, t) = (ws.map(\.np).max()!, ws.map(\.hp).max()!, ws.map(\.kp).max()!, Self.tile)
        count = 8 * np + 6 * hp + kp + t * hp + t * 2 * np
        base = .allocate(capacity: count)
        base.initialize(repeating: 0, count: count)
        u = base; s = u + np; z = s + np; a = z + np; sig = a + np; o = sig + np; dz = o + np; dsg = dz + np
        h1 = dsg + np; e = h1 + hp; keep = e + hp; dd = keep + hp; dh = dd + hp; de = dh + hp
        dx = de + hp; dTile = dx + kp; dyTile = dTile + t * hp
    }

    func deallocate() { base.deallocate() }
}

extension NarrowGRNPacked {
    /// One row of the forward pass: out = LN₂(z) for the row x (In), stored to `o` (Out) as weight · out,
    /// or added to it as o += weight · out when `accumulate`; μ₁, 1/σ₁, μ₂, 1/σ₂ go to `stats`. `mask` is
    /// the row's dropout keep mask (Hd bytes; nil: no dropout), `scale` its 1/(1 − p).
    @inline(__always)
    func forwardRow(_ x: UnsafePointer<Float>, mask: UnsafePointer<UInt8>?, scale: Float, _ t: NarrowGRNScratch,
                    out o: UnsafeMutablePointer<Float>, weight: Float, accumulate: Bool,
                    stats st: UnsafeMutablePointer<Float>) {
        typealias N = NarrowGRNPacked
        let (m1, r1) = skip(x, t, eps: skipEps)
        setKeep(mask, scale: scale, t)
        hidden(x, t, d: t.dTile)
        let m2 = glu(t.dTile, t, mean1: m1, rstd1: r1) * invN
        let r2 = rstd(t.z, m2, eps)
        var j = 0
        while j + 16 <= n {
            let v = (N.load(t.z + j) - m2) * r2 * N.load(g2 + j) + N.load(b2 + j)
            N.store(accumulate ? N.load(o + j) + weight * v : weight * v, o + j)
            j += 16
        }
        while j < n {
            let v = (t.z[j] - m2) * r2 * g2[j] + b2[j]
            o[j] = accumulate ? o[j] + weight * v : weight * v
            j += 1
        }
        st[0] = m1; st[1] = r1; st[2] = m2; st[3] = r2
    }

    /// u = M x, s = gate ⊙ u into the scratch; returns (μ₁, 1/σ₁) of s over the Out real lanes.
    @inline(__always)
    func skip(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch, eps: Float) -> (Float, Float) {
        let mean = project(x, t) / Float(n)
        return (mean, rstd(t.s, mean, eps))
    }

    /// u = M x, s = gate ⊙ u into the scratch; returns Σ s.
    @inline(__always)
    func project(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch) -> Float {
        typealias N = NarrowGRNPacked
        var total = V()
        for j in stride(from: 0, to: np, by: 16) {
            var acc = V()
            let q = j / 16
            for c in chunkInputs[2 * q]..<chunkInputs[2 * q + 1] { acc = acc.addingProduct(x[c], N.load(mt + c * np + j)) }
            N.store(acc, t.u + j)
            let sv = acc * N.load(gate + j)
            N.store(sv, t.s + j)
            total += sv
        }
        return NarrowGRNPacked.sum(total)
    }

    /// 1/√(mean over the Out real lanes of (v − μ)² + ε).
    @inline(__always)
    func rstd(_ v: UnsafePointer<Float>, _ mean: Float, _ eps: Float) -> Float {
        typealias N = NarrowGRNPacked
        var acc = V()
        for j in stride(from: 0, to: np, by: 16) {
            let d = (N.load(v + j) - mean) * N.load(laneMask + j)
            acc += d * d
        }
        return 1 / (NarrowGRNPacked.sum(acc) / Float(n) + eps).squareRoot()
    }

    /// h₁, e = ELU(h₁) and the dropped d = (W₂e + b₂) ⊙ keep (d goes to `d`, Hp wide; `keep` must be set).
    @inline(__always)
    func hidden(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch, d: UnsafeMutablePointer<Float>) {
        typealias N = NarrowGRNPacked
        for j in stride(from: 0, to: hp, by: 16) {
            var acc = N.load(bh1 + j)
            for c in 0..<k { acc += x[c] * N.load(w1t + c * hp + j) }
            N.store(acc, t.h1 + j)
            N.store(acc.replacing(with: FastMath.expm1(acc), where: acc .<= 0), t.e + j)
        }
        for j in stride(from: 0, to: hp, by: 16) {
            var acc = N.load(bh2 + j)
            for i in 0..<hd { acc += t.e[i] * N.load(w2t + i * hp + j) }
            N.store(acc * N.load(t.keep + j), d + j)
        }
    }

    /// a, σ(b) and z = a ⊙ σ(b) + (s − μ₁)/σ₁ ⊙ γ₁ + β₁ into the scratch; returns Σ z.
    @inline(__always)
    func glu(_ d: UnsafePointer<Float>, _ t: NarrowGRNScratch, mean1: Float, rstd1: Float) -> Float {
        typealias N = NarrowGRNPacked
        for j in stride(from: 0, to: np, by: 16) {   // [a; b] = W_g d + b_g
            var av = N.load(bg + j), bv = N.load(bg + np + j)
            for c in 0..<hd {
                let dc = d[c], row = wgt + c * 2 * np
                av = av.addingProduct(dc, N.load(row + j))
                bv = bv.addingProduct(dc, N.load(row + np + j))
            }
            N.store(av, t.a + j)
            N.store(bv, t.sig + j)
        }
        // σ(b) in its own pass through FastMath's buffer kernel (two independent vectors per step, σ fully
        // inlined there: called per vector, σ was an out-of-line call that serialized the long σ chains).
        FastMath.sigmoid(t.sig, t.sig, count: np)
        var total = V()
        for j in stride(from: 0, to: np, by: 16) {
            let zv = N.load(t.a + j) * N.load(t.sig + j) + ((N.load(t.s + j) - mean1) * rstd1 * N.load(g1 + j) + N.load(b1 + j))
            N.store(zv, t.z + j)
            total += zv
        }
        return NarrowGRNPacked.sum(total)
    }

    /// The dropout factors of one row into `t.keep`: mask/(1 − p) per hidden unit, or 1 without a mask.
    @inline(__always)
    func setKeep(_ mask: UnsafePointer<UInt8>?, scale: Float, _ t: NarrowGRNScratch) {
        if let mask {
            for j in 0..<hd { t.keep[j] = mask[j] != 0 ? scale : 0 }
        } else {
            for j in 0..<hd { t.keep[j] = 1 }
        }
    }
}
