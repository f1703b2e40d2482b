// Backward of the fused narrow GRN (NarrowGRN.swift). Each row is recomputed from x with the forward's
// kernels and statistics, then (ẑ = (z − μ₂)/σ₂, ŝ = (s − μ₁)/σ₁; a LayerNorm's input gradient is
// LN′(g) = (g ⊙ γ − mean(g ⊙ γ) − v̂ · mean(g ⊙ γ ⊙ v̂))/σ for the gradient g of its output):
//   dγ₂ += dout ⊙ ẑ,  dβ₂ += dout,  dz = LN′₂(dout)
//   GLU:  dy = [dz ⊙ σ(b); dz ⊙ a ⊙ σ(b)(1 − σ(b))],  db_g += dy,  dW_g += dy dᵀ,  dd = W_gᵀ dy
//   skip: dγ₁ += dz ⊙ ŝ,  dβ₁ += dz,  ds = LN′₁(dz),  dgate += ds ⊙ M x,  dx += Mᵀ(gate ⊙ ds)
//   dη₁ = dd ⊙ mask/(1 − p),  db₂ += dη₁,  dW₂ += dη₁ eᵀ,  de = W₂ᵀ dη₁
//   dh₁ = de ⊙ (1 if h₁ > 0 else e + 1),  db₁ += dh₁,  dW₁ += dh₁ xᵀ,  dx += W₁ᵀ dh₁
// Parameter gradients are summed over rows in local buffers (dW_g and db_g over tiles of rows, from the
// tile's stored d and dy) and added to the graph's gradients once at the end.

/// Recomputing backward rule of `Graph.narrowGRN`.
struct NarrowGRNBackward: BackwardRule {
    typealias V = SIMD16<Float>
    typealias N = NarrowGRNPacked
    let x: Var
    let w: NarrowGRNParameters
    let packed: NarrowGRNPacked
    /// μ₁, 1/σ₁, μ₂, 1/σ₂ per row.
    let stats: Tensor
    let mask: DropoutMask?
    let scale: Float

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        guard let dOut = dOutputs[0] else { return }
        let p = packed, (k, hd, n, np, hp) = (p.k, p.hd, p.n, p.np, p.hp)
        let rows = stats.shape[0]
        let grads = NarrowGRNGradients(p)
        defer { grads.deallocate() }
        let t = NarrowGRNScratch(p)
        defer { t.deallocate() }
        let xp = x.value.pointer, dp = dOut.pointer, sp = stats.pointer
        let dx = g.needsGrad(x) ? g.gradBuffer(x) : nil
        let maskBase = mask.map { UnsafePointer($0.bytes.baseAddress!) }
        let invN = 1 / Float(n)
        p.setKeep(nil, scale: 1, t)
        var filled = 0
        for r in 0..<rows {
            let xr = xp + r * k, st = sp + 4 * r
            let (m1, r1, m2, r2) = (st[0], st[1], st[2], st[3])
            // dout row: read in place when Out fills whole vectors, else copied into the zero-padded buffer.
            let o: UnsafePointer<Float> = n == np ? dp + r * n : UnsafePointer(t.o)
            if n != np { t.o.update(from: dp + r * n, count: n) }
            let d = t.dTile + filled * hp, dy = t.dyTile + filled * 2 * np
            _ = p.project(xr, t)   // u, s (μ₁, 1/σ₁ are the stored ones)
            if let maskBase { p.setKeep(maskBase + r * hd, scale: scale, t) }
            p.hidden(xr, t, d: d)
            _ = p.glu(d, t, mean1: m1, rstd1: r1)
            // Output LayerNorm: dγ₂, dβ₂ and the two sums of LN′₂.
            var sa = V(), sb = V()
            for j in stride(from: 0, to: np, by: 16) {
                let ov = N.load(o + j), zh = (N.load(t.z + j) - m2) * r2
                N.store(N.load(grads.g2 + j) + ov * zh, grads.g2 + j)
                N.store(N.load(grads.b2 + j) + ov, grads.b2 + j)
                let dn = ov * N.load(p.g2 + j)
                sa += dn
                sb += dn * zh
            }
            let (a2, c2) = (N.sum(sa) * invN, N.sum(sb) * invN)
            // dz; the GLU's dy (stored for the tile's dW_g); skip LayerNorm: dγ₁, dβ₁ and LN′₁'s sums.
            var s1a = V(), s1b = V()
            for j in stride(from: 0, to: np, by: 16) {
                let zh = (N.load(t.z + j) - m2) * r2
                let dz = (N.load(o + j) * N.load(p.g2 + j) - a2 - zh * c2) * r2 * N.load(p.laneMask + j)
                let sig = N.load(t.sig + j)
                N.store(dz * sig, dy + j)
                N.store(dz * N.load(t.a + j) * sig * (1 - sig), dy + np + j)
                N.store(dz, t.dz + j)
                let sh = (N.load(t.s + j) - m1) * r1
                N.store(N.load(grads.g1 + j) + dz * sh, grads.g1 + j)
                N.store(N.load(grads.b1 + j) + dz, grads.b1 + j)
                let dn = dz * N.load(p.g1 + j)
                s1a += dn
                s1b += dn * sh
            }
            let (a1, c1) = (N.sum(s1a) * invN, N.sum(s1b) * invN)
            for j in stride(from: 0, to: np, by: 16) {
                let sh = (N.load(t.s + j) - m1) * r1
                let ds = (N.load(t.dz + j) * N.load(p.g1 + j) - a1 - sh * c1) * r1
                N.store(N.load(grads.gate + j) + ds * N.load(t.u + j), grads.gate + j)
                N.store(ds * N.load(p.gate + j), t.dsg + j)
            }
            // dd = W_gᵀ dy; dx from the skip: Mᵀ(gate ⊙ ds).
            for c in 0..<hd {   // dη₁ = (W_gᵀ dy) ⊙ keep, written as scalars and only read as scalars
                let dh = NarrowGRNBackward.dot(dy, p.wgt + c * 2 * np, 2 * np) * t.keep[c]
                t.dh[c] = dh
                grads.fc2b[c] += dh
            }
            if let dx {
                for c in 0..<k {
                    let (lo, hi) = (p.inputLanes[2 * c], p.inputLanes[2 * c + 1])
                    dx[r * k + c] += NarrowGRNBackward.dot(t.dsg + lo, p.mt + c * np + lo, hi - lo)
                }
            }
            hiddenBackward(xr, t, grads, dx: dx.map { $0 + r * k })
            filled += 1
            if filled == NarrowGRNScratch.tile || r == rows - 1 {
                flushTile(filled, t, grads)
                filled = 0
            }
        }
        grads.accumulate(into: g, w)
    }

    /// Dropout, fc2, ELU and fc1 backward for one row (vectors over the padded hidden width).
    @inline(__always)
    private func hiddenBackward(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch, _ grads: NarrowGRNGradients,
                                dx: UnsafeMutablePointer<Float>?) {
        let p = packed, (k, hd, hp, kp) = (p.k, p.hd, p.hp, p.kp)
        for i in stride(from: 0, to: hp, by: 16) {   // per chunk of hidden units, accumulators in registers
            let e = N.load(t.e + i)
            var de = V()
            for j in 0..<hd {   // dW₂[j, :] += dη₁[j] eᵀ,  de += dη₁[j] W₂[j, :]
                let dj = t.dh[j]
                N.store(N.load(grads.fc2w + j * hp + i).addingProduct(dj, e), grads.fc2w + j * hp + i)
                de = de.addingProduct(dj, N.load(p.w2 + j * hp + i))
            }
            let dh1 = de.replacing(with: de * (e + 1), where: N.load(t.h1 + i) .<= 0)
            N.store(dh1, t.de + i)   // t.de ← dh₁
            N.store(N.load(grads.fc1b + i) + dh1, grads.fc1b + i)
            for c in 0..<k {
                N.store(N.load(grads.fc1wt + c * hp + i).addingProduct(x[c], dh1), grads.fc1wt + c * hp + i)
            }
        }
        guard let dx else { return }
        for c in stride(from: 0, to: kp, by: 16) {   // dx += W₁ᵀ dh₁ (rows of W₁ padded to Kp)
            var acc = V()
            for j in 0..<hd { acc = acc.addingProduct(t.de[j], N.load(p.w1 + j * kp + c)) }
            N.store(acc, t.dx + c)
        }
        for c in 0..<k { dx[c] += t.dx[c] }
    }

    /// dW_g += Σ over the tile's rows dy dᵀ (stored transposed, Hd × 2·Np) and db_g += Σ dy.
    @inline(__always)
    private func flushTile(_ rows: Int, _ t: NarrowGRNScratch, _ grads: NarrowGRNGradients) {
        let p = packed, (hd, np, hp) = (p.hd, p.np, p.hp)
        for j in stride(from: 0, to: 2 * np, by: 16) {
            var acc = N.load(grads.gluB + j)
            for q in 0..<rows { acc += N.load(t.dyTile + q * 2 * np + j) }
            N.store(acc, grads.gluB + j)
        }
        for c in 0..<hd {
            let row = grads.gluWT + c * 2 * np
            for j in stride(from: 0, to: 2 * np, by: 16) {
                var acc = N.load(row + j)
                for q in 0..<rows { acc = acc.addingProduct(t.dTile[q * hp + c], N.load(t.dyTile + q * 2 * np + j)) }
                N.store(acc, row + j)
            }
        }
    }

    /// Σ a[i] b[i] over a multiple of 16 elements.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc0 = V(), acc1 = V(), j = 0
        while j + 32 <= count {
            acc0 = acc0.addingProduct(N.load(a + j), N.load(b + j))
            acc1 = acc1.addingProduct(N.load(a + j + 16), N.load(b + j + 16))
            j += 32
        }
        if j < count { acc0 = acc0.addingProduct(N.load(a + j), N.load(b + j)) }
        return N.sum(acc0 + acc1)
    }
}

/// Row-summed parameter gradients of a narrow GRN, in the padded layouts of `NarrowGRNPacked`:
/// W₁ᵀ (In, Hp), b₁ (Hp), W₂ (Hd, Hp), b₂ (Hp), W_gᵀ (Hd, 2·Np), b_g (2·Np), gate, γ₁, β₁, γ₂, β₂ (Np).
struct NarrowGRNGradients {
    let packed: NarrowGRNPacked
    let base: UnsafeMutablePointer<Float>
    let fc1wt, fc1b, fc2w, fc2b, gluWT, gluB, gate, g1, b1, g2, b2: UnsafeMutablePointer<Float>

    init(_ p: NarrowGRNPacked) {
        packed = p
        let (k, hd, np, hp) = (p.k, p.hd, p.np, p.hp)
        let count = k * hp + hp + hd * hp + hp + hd * 2 * np + 2 * np + 5 * np
        base = .allocate(capacity: count)
        base.initialize(repeating: 0, count: count)
        fc1wt = base; fc1b = fc1wt + k * hp; fc2w = fc1b + hp; fc2b = fc2w + hd * hp
        gluWT = fc2b + hp; gluB = gluWT + hd * 2 * np; gate = gluB + 2 * np
        g1 = gate + np; b1 = g1 + np; g2 = b1 + np; b2 = g2 + np
    }

    func deallocate() { base.deallocate() }

    /// Adds every sum into the gradient of its parameter (those that need one), back in the parameters' layouts.
    func accumulate(into g: Graph, _ w: NarrowGRNParameters) {
        let (k, hd, n, np, hp) = (packed.k, packed.hd, packed.n, packed.np, packed.hp)
        func add(_ v: Var?, _ index: (Int) -> Int, _ src: UnsafeMutablePointer<Float>) {
            guard let v, g.needsGrad(v) else { return }
            let dst = g.gradBuffer(v)
            for i in 0..<v.value.count { dst[i] += src[index(i)] }
        }
        add(w.fc1Weight, { ($0 % k) * hp + $0 / k }, fc1wt)   // (j, c) ← W₁ᵀ[c, j]
        add(w.fc1Bias, { $0 }, fc1b)
        add(w.fc2Weight, { ($0 / hd) * hp + $0 % hd }, fc2w)
        add(w.fc2Bias, { $0 }, fc2b)
        add(w.gluWeight, { i in   // (j, c) ← W_gᵀ[c, j] (gate rows j ≥ Out sit at Np + j − Out)
            let (j, c) = (i / hd, i % hd)
            return c * 2 * np + (j < n ? j : np + j - n)
        }, gluWT)
        add(w.gluBias, { $0 < n ? $0 : np + $0 - n }, gluB)
        add(w.skipGate, { $0 }, gate)
        add(w.skipNormWeight, { $0 }, g1)
        add(w.skipNormBias, { $0 }, b1)
        add(w.normWeight, { $0 }, g2)
        add(w.normBias, { $0 }, b2)
    }
}
