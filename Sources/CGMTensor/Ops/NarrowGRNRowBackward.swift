// One row of the fused narrow GRN's backward pass (NarrowGRN.swift), shared by `narrowGRN` and the fused
// variable selection sum `weightedSum(_: PreparedNarrowGRNs, weights:)`. The row is recomputed from x with
// the forward's kernels and statistics; the output gradient is w · dout for a row weight w (1 for a plain
// narrowGRN, αᵢ in a VSN, TFT eq. 10). With ẑ = (z − μ₂)/σ₂, ŝ = (s − μ₁)/σ₁ and a LayerNorm's input
// gradient LN′(g) = (g ⊙ γ − mean(g ⊙ γ) − v̂ · mean(g ⊙ γ ⊙ v̂))/σ for the gradient g of its output:
//   dw = ⟨dout, out⟩ = ⟨dout, ẑ ⊙ γ₂ + β₂⟩  (returned),  g = w · dout
//   dγ₂ += g ⊙ ẑ,  dβ₂ += g,  dz = LN′₂(g)
//   GLU:  dy = [dz ⊙ σ(b); dz ⊙ a ⊙ σ(b)(1 − σ(b))],  db_g += dy,  dW_g += dy dᵀ,  dd = W_gᵀ dy
//   skip: dγ₁ += dz ⊙ ŝ,  dβ₁ += dz,  ds = LN′₁(dz),  dgate += ds ⊙ M x,  dx += Mᵀ(gate ⊙ ds)
//   dη₁ = dd ⊙ mask/(1 − p),  db₂ += dη₁,  dW₂ += dη₁ eᵀ,  de = W₂ᵀ dη₁
//   dh₁ = de ⊙ (1 if h₁ > 0 else e + 1),  db₁ += dh₁,  dW₁ += dh₁ xᵀ,  dx += W₁ᵀ dh₁
// Parameter gradients are summed over rows in `NarrowGRNGradients` (dW_g and db_g over tiles of up to
// `NarrowGRNScratch.tile` rows, from the tile's stored d and dy: `flushTile`) and added to the graph's
// gradients once at the end.

extension NarrowGRNPacked {
    /// Backward of one row x (In) for the output gradient weight · dOut (Out wide), with the row's forward
    /// `stats` (μ₁, 1/σ₁, μ₂, 1/σ₂) and dropout `mask` (Hd bytes, nil without dropout) and `scale` 1/(1 − p).
    /// Adds parameter gradients into `grads` (the GLU's through tile slot `slot` of `t`: call `flushTile`
    /// once the tile's slots are used) and dx into `dx` when given; returns ⟨dOut, out⟩ (the weight's gradient).
    @inline(__always)
    func backwardRow(_ x: UnsafePointer<Float>, dOut: UnsafePointer<Float>, weight: Float, stats st: UnsafePointer<Float>,
                     mask: UnsafePointer<UInt8>?, scale: Float, _ t: NarrowGRNScratch, _ grads: NarrowGRNGradients,
                     slot: Int, dx: UnsafeMutablePointer<Float>?) -> Float {
        typealias N = NarrowGRNPacked
        let (m1, r1, m2, r2) = (st[0], st[1], st[2], st[3])
        // dout row: read in place when Out fills whole vectors, else copied into the zero-padded buffer.
        let o: UnsafePointer<Float> = n == np ? dOut : UnsafePointer(t.o)
        if n != np { t.o.update(from: dOut, count: n) }
        let d = t.dTile + slot * hp, dy = t.dyTile + slot * 2 * np
        _ = project(x, t)   // u, s (μ₁, 1/σ₁ are the stored ones)
        setKeep(mask, scale: scale, t)
        hidden(x, t, d: d)
        _ = glu(d, t, mean1: m1, rstd1: r1)
        // Output LayerNorm: dw, dγ₂, dβ₂ and the two sums of LN′₂.
        var sa = V(), sb = V(), sw = V()
        for j in stride(from: 0, to: np, by: 16) {
            let raw = N.load(o + j), zh = (N.load(t.z + j) - m2) * r2
            sw += raw * (zh * N.load(g2 + j) + N.load(b2 + j))
            let ov = weight * raw
            N.store(N.load(grads.g2 + j) + ov * zh, grads.g2 + j)
            N.store(N.load(grads.b2 + j) + ov, grads.b2 + j)
            let dn = ov * N.load(g2 + j)
            sa += dn
            sb += dn * zh
        }
        let (a2, c2) = (N.sum(sa) * invN, N.sum(sb) * invN)
        // dz; the GLU's dy (stored for the tile's dW_g); skip LayerNorm: dγ₁, dβ₁ and LN′₁'s sums.
        var s1a = V(), s1b = V()
        for j in stride(from: 0, to: np, by: 16) {
            let zh = (N.load(t.z + j) - m2) * r2
            let dz = (weight * N.load(o + j) * N.load(g2 + j) - a2 - zh * c2) * r2 * N.load(laneMask + j)
            let sig = N.load(t.sig + j)
            N.store(dz * sig, dy + j)
            N.store(dz * N.load(t.a + j) * sig * (1 - sig), dy + np + j)
            N.store(dz, t.dz + j)
            let sh = (N.load(t.s + j) - m1) * r1
            N.store(N.load(grads.g1 + j) + dz * sh, grads.g1 + j)
            N.store(N.load(grads.b1 + j) + dz, grads.b1 + j)
            let dn = dz * N.load(g1 + j)
            s1a += dn
            s1b += dn * sh
        }
        let (a1, c1) = (N.sum(s1a) * invN, N.sum(s1b) * invN)
        for j in stride(from: 0, to: np, by: 16) {
            let sh = (N.load(t.s + j) - m1) * r1
            let ds = (N.load(t.dz + j) * N.load(g1 + j) - a1 - sh * c1) * r1
            N.store(N.load(grads.gate + j) + ds * N.load(t.u + j), grads.gate + j)
            N.store(ds * N.load(gate + j), t.dsg + j)
        }
        // dd = W_gᵀ dy; dx from the skip: Mᵀ(gate ⊙ ds).
        for c in 0..<hd {   // dη₁ = (W_gᵀ dy) ⊙ keep, written as scalars and only read as scalars
            let dh = N.dot(dy, wgt + c * 2 * np, 2 * np) * t.keep[c]
            t.dh[c] = dh
            grads.fc2b[c] += dh
        }
        if let dx {
            for c in 0..<k {
                let (lo, hi) = (inputLanes[2 * c], inputLanes[2 * c + 1])
                dx[c] += N.dot(t.dsg + lo, mt + c * np + lo, hi - lo)
            }
        }
        hiddenBackward(x, t, grads, dx: dx)
        return N.sum(sw)
    }

    /// Dropout, fc2, ELU and fc1 backward for one row (vectors over the padded hidden width).
    @inline(__always)
    private func hiddenBackward(_ x: UnsafePointer<Float>, _ t: NarrowGRNScratch, _ grads: NarrowGRNGradients,
                                dx: UnsafeMutablePointer<Float>?) {
        typealias N = NarrowGRNPacked
        for i in stride(from: 0, to: hp, by: 16) {   // per chunk of hidden units, accumulators in registers
            let e = N.load(t.e + i)
            var de = V()
            for j in 0..<hd {   // dW₂[j, :] += dη₁[j] eᵀ,  de += dη₁[j] W₂[j, :]
                let dj = t.dh[j]
                N.store(N.load(grads.fc2w + j * hp + i).addingProduct(dj, e), grads.fc2w + j * hp + i)
                de = de.addingProduct(dj, N.load(w2 + j * hp + i))
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
            for j in 0..<hd { acc = acc.addingProduct(t.de[j], N.load(w1 + j * kp + c)) }
            N.store(acc, t.dx + c)
        }
        for c in 0..<k { dx[c] += t.dx[c] }
    }

    /// dW_g += Σ over the tile's first `rows` slots dy dᵀ (stored transposed, Hd × 2·Np) and db_g += Σ dy.
    @inline(__always)
    func flushTile(_ rows: Int, _ t: NarrowGRNScratch, _ grads: NarrowGRNGradients) {
        typealias N = NarrowGRNPacked
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
            acc0 = acc0.addingProduct(load(a + j), load(b + j))
            acc1 = acc1.addingProduct(load(a + j + 16), load(b + j + 16))
            j += 32
        }
        if j < count { acc0 = acc0.addingProduct(load(a + j), load(b + j)) }
        return sum(acc0 + acc1)
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
