// Fused LSTM over a whole sequence: one tape node for all time steps (PyTorch nn.LSTM, batch_first,
// one layer, one direction; gate order i, f, g, o as in PyTorch's weight layout).
//
//   x: (B, T, In)   h0, c0: (B, H)   W_ih: (4H, In)   W_hh: (4H, H)   b_ih, b_hh: (4H)
//   output: (B, T, H)   hT, cT: (B, H)
//
//   [i f g o]_t = x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh          (Hochreiter & Schmidhuber 1997;
//   i, f, o = σ(·),  g = tanh(·)                                    Gers et al. 2000 forget gate)
//   c_t = f ⊙ c_{t−1} + i ⊙ g
//   h_t = o ⊙ tanh(c_t)
//
// Forward, in FMA release builds when 4H is whole tiles of the blocked kernel (LSTMRecurrentKernel.swift, as the
// backward's dâ_t·W_hh): each step forms its gates as ONE product [x_t | h_{t−1}]·[W_ih | W_hh]ᵀ
// (B × (In + H))·((In + H) × 4H) read from XH, so no T·B × 4H input projection is written and read back.
// Elsewhere the input projection of all T·B positions is ONE GEMM (T·B × In)·(In × 4H) and each step adds one
// GEMM h_{t−1}·W_hhᵀ (B × H)·(H × 4H). Then one fused SIMD pass (FastMath) per step adds
// b_ih + b_hh, applies the gate activations and updates the cell. Internally everything is time-major (T, B, ·), so the
// block of step t is contiguous: the per-step GEMMs read and write one dense block, and the
// backward pass streams through the caches step by step (a batch-major layout made every step touch
// B scattered rows and was measurably slower). x is copied once into a time-major buffer XH of rows
// [x_t | h_{t−1}] (T+1, B, In + H) (cheap: In is small); the cell writes h_t into the next block's h part
// (block 0 holds h0 or 0, block T only h_T) and to the batch-first output. Every GEMM reads its operand
// from XH with leading dimension In + H, and backward forms dW_ih and dW_hh as ONE GEMM dâᵀ · XH
// (4H × (In + H), k = T·B), which OpenBLAS runs ~15 % faster than the two halves.
// Cache: XH, post-activation gates (T, B, 4H), c_t and tanh(c_t) (T, B, H).

extension Graph {
    /// A one-layer unidirectional LSTM over a whole batch-first sequence, as one fused tape node
    /// (PyTorch `nn.LSTM(batch_first=True)` semantics and parameter layout, gate order i, f, g, o).
    ///
    /// - Parameters:
    ///   - x: input sequence (B, T, In), T ≥ 1.
    ///   - h0: initial hidden state (B, H); nil means zeros (no gradient).
    ///   - c0: initial cell state (B, H); nil means zeros.
    ///   - weightIH: input-to-hidden weights (4H, In), rows [W_ii; W_if; W_ig; W_io].
    ///   - weightHH: hidden-to-hidden weights (4H, H).
    ///   - biasIH: input bias (4H) or nil.
    ///   - biasHH: hidden bias (4H) or nil.
    /// - Returns: `output` (B, T, H) = h_1…h_T, the final hidden state `hT` (B, H) and final cell state
    ///   `cT` (B, H). Gradients may flow from any combination of the three.
    public func lstm(
        _ x: Var, h0: Var? = nil, c0: Var? = nil,
        weightIH: Var, weightHH: Var, biasIH: Var? = nil, biasHH: Var? = nil
    ) -> (output: Var, hT: Var, cT: Var) {
        let sx = x.shape, sih = weightIH.shape, shh = weightHH.shape
        precondition(sx.count == 3, "lstm: input must be (B, T, In), got \(sx)")
        precondition(sih.count == 2 && sih[0] % 4 == 0 && sih[0] > 0,
                     "lstm: weightIH must be (4H, In) with H ≥ 1, got \(sih)")
        let batch = sx[0], steps = sx[1], inF = sx[2], hidden = sih[0] / 4, g4 = 4 * hidden
        precondition(sih[1] == inF, "lstm: weightIH \(sih) does not match input \(sx) (expected (\(g4), \(inF)))")
        precondition(shh == [g4, hidden], "lstm: weightHH \(shh) does not match weightIH \(sih) (expected [\(g4), \(hidden)])")
        precondition(steps >= 1, "lstm: input \(sx) has no time steps")
        for (name, b) in [("biasIH", biasIH), ("biasHH", biasHH)] {
            if let b { precondition(b.shape == [g4], "lstm: \(name) \(b.shape) for weightIH \(sih) (expected [\(g4)])") }
        }
        for (name, s) in [("h0", h0), ("c0", c0)] {
            if let s {
                precondition(s.shape == [batch, hidden],
                             "lstm: \(name) \(s.shape) for input \(sx) and hidden size \(hidden) (expected [\(batch), \(hidden)])")
            }
        }

        // XH rows [x_t | h_{t−1}] in time-major order: row t·B + b holds x[b, t]; the h parts are filled below.
        let w = inF + hidden
        let xh = Tensor(uninitialized: [steps + 1, batch, w])
        let xp = x.value.pointer, xhp = xh.sharedMutablePointer
        for b in 0..<batch {
            for t in 0..<steps { (xhp + (t * batch + b) * w).update(from: xp + (b * steps + t) * inF, count: inF) }
        }
        (xhp + steps * batch * w).update(repeating: 0, count: batch * w)   // block T: only h_T is written

        // With the blocked kernel each step forms its gates as one product [x_t | h_{t−1}] · [W_ih | W_hh]ᵀ
        // (LSTMRecurrentKernel.swift); otherwise the input projection of all steps (T, B, 4H) is one GEMM and
        // each step adds h_{t−1} · W_hhᵀ. The summed biases are added in the cell kernel.
        let rows = batch * steps
        let gates = Tensor(uninitialized: [steps, batch, g4])
        let gp = gates.sharedMutablePointer
        let blocked = RecurrentGEMM.applies(rows: batch, n: g4)
        // [W_ih | W_hh]ᵀ ((In + H) × 4H) for the blocked kernel: rows 0..<In are W_ihᵀ, rows In..<In + H W_hhᵀ.
        let wT: Tensor? = blocked ? LSTMKernels.stackedTranspose(weightIH.value, weightHH.value) : nil
        if !blocked {
            BLAS.gemm(transA: false, transB: true, m: rows, n: g4, k: inF,
                      a: xhp, lda: w, b: weightIH.value.pointer, ldb: inF,
                      beta: 0, c: gp, ldc: g4)
        }
        var biasSum: Tensor?
        if biasIH != nil || biasHH != nil {
            let bsum = Tensor(zeros: [g4])
            let bs = bsum.sharedMutablePointer
            for b in [biasIH, biasHH] {
                guard let p = b?.value.pointer else { continue }
                for j in 0..<g4 { bs[j] += p[j] }
            }
            biasSum = bsum
        }
        let bias = biasSum?.pointer

        let output = Tensor(uninitialized: [batch, steps, hidden])
        let cells = Tensor(uninitialized: [steps, batch, hidden])
        let tanhCells = Tensor(uninitialized: [steps, batch, hidden])
        let op = output.sharedMutablePointer, hp = xhp + inF     // h part of XH row r: hp + r · w
        let cp = cells.sharedMutablePointer, tp = tanhCells.sharedMutablePointer
        let whh = weightHH.value.pointer
        let c0p = c0?.value.pointer
        let bh = batch * hidden
        for b in 0..<batch {   // block 0: h0 (or 0)
            if let h0 { (hp + b * w).update(from: h0.value.pointer + b * hidden, count: hidden) }
            else { (hp + b * w).update(repeating: 0, count: hidden) }
        }

        for t in 0..<steps {
            let gt = gp + t * batch * g4
            let hasH = t > 0 || h0 != nil
            if let wT {   // gates_t = [x_t | h_{t−1}] · [W_ih | W_hh]ᵀ   (B × (In + H))·((In + H) × 4H); h = 0: x part only
                RecurrentGEMM.multiply(rows: batch, n: g4, k: hasH ? w : inF, a: xhp + t * batch * w, lda: w,
                                       w: wT.pointer, c: gt, ldc: g4, accumulate: false)
            } else if hasH {   // gates_t += h_{t−1} · W_hhᵀ   (B × H)·(H × 4H)
                BLAS.gemm(transA: false, transB: true, m: batch, n: g4, k: hidden,
                          a: hp + t * batch * w, lda: w, b: whh, ldb: hidden,
                          beta: 1, c: gt, ldc: g4)
            }
            for b in 0..<batch {
                let r = t * batch + b
                let cPrev: UnsafePointer<Float>? = t > 0 ? UnsafePointer(cp + (r - batch) * hidden) : c0p.map { $0 + b * hidden }
                LSTMKernels.cellForward(gates: gt + b * g4, bias: bias, cPrev: cPrev, c: cp + r * hidden, tanhC: tp + r * hidden,
                                        h: hp + (r + batch) * w, out: op + (b * steps + t) * hidden, hidden: hidden)
            }
        }

        withExtendedLifetime(biasSum) {}   // `bias` points into it
        withExtendedLifetime(wT) {}

        let hT = Tensor(uninitialized: [batch, hidden]), cT = Tensor(uninitialized: [batch, hidden])
        for b in 0..<batch { (hT.sharedMutablePointer + b * hidden).update(from: hp + (steps * batch + b) * w, count: hidden) }
        cT.sharedMutablePointer.update(from: cp + (steps - 1) * bh, count: bh)

        let inputs = [x, weightIH, weightHH] + [h0, c0, biasIH, biasHH].compactMap { $0 }
        let outs = record([output, hT, cT], inputs: inputs, rule: LSTMBackward(
            x: x, h0: h0, c0: c0, weightIH: weightIH, weightHH: weightHH, biasIH: biasIH, biasHH: biasHH,
            xh: xh, gates: gates, cells: cells, tanhCells: tanhCells))
        return (outs[0], outs[1], outs[2])
    }
}

struct LSTMBackward: BackwardRule {
    let x: Var, h0: Var?, c0: Var?
    let weightIH: Var, weightHH: Var, biasIH: Var?, biasHH: Var?
    /// Time-major caches: XH rows [x_t | h_{t−1}] (T+1, B, In + H) with h0 (or 0) in block 0, post-activation
    /// gates i, f, g, o (T, B, 4H), c_t and tanh(c_t) (T, B, H).
    let xh: Tensor, gates: Tensor, cells: Tensor, tanhCells: Tensor

    func backward(_ dOutputs: [Tensor?], _ g: Graph) {
        let steps = gates.shape[0], batch = gates.shape[1], g4 = gates.shape[2], hidden = g4 / 4
        let inF = x.shape[2], rows = batch * steps, bh = batch * hidden

        // dh, dc: gradients w.r.t. h_t, c_t flowing back from step t+1 (initially from hT, cT).
        let dh = dOutputs[1]?.copy() ?? Tensor(zeros: [batch, hidden])
        let dc = dOutputs[2]?.copy() ?? Tensor(zeros: [batch, hidden])
        let dhp = dh.sharedMutablePointer, dcp = dc.sharedMutablePointer
        let dOut = dOutputs[0]?.pointer
        let dGates = Tensor(uninitialized: [steps, batch, g4])
        let dgp = dGates.sharedMutablePointer
        let gp = gates.pointer, cp = cells.pointer, tp = tanhCells.pointer
        let c0p = c0?.value.pointer
        let whh = weightHH.value.pointer
        let needH0 = h0.map { g.needsGrad($0) } ?? false
        let biases = [biasIH, biasHH].compactMap { $0 }.filter { g.needsGrad($0) }
        let dBias = biases.isEmpty ? nil : Tensor(zeros: [g4])    // Σ over all T·B rows of dâ
        let dbp = dBias?.sharedMutablePointer
        let blocked = RecurrentGEMM.applies(rows: batch, n: hidden)

        for t in stride(from: steps - 1, through: 0, by: -1) {
            for b in 0..<batch {
                let r = t * batch + b
                let cPrev: UnsafePointer<Float>? = t > 0 ? cp + (r - batch) * hidden : c0p.map { $0 + b * hidden }
                LSTMKernels.cellBackward(
                    gates: gp + r * g4, cPrev: cPrev, tanhC: tp + r * hidden,
                    dOut: dOut.map { $0 + (b * steps + t) * hidden }, dh: dhp + b * hidden, dc: dcp + b * hidden,
                    dGates: dgp + r * g4, dBias: dbp, hidden: hidden)
            }
            // dh_{t−1} = dâ_t · W_hh   (B × 4H)·(4H × H); at t = 0 only if h0 wants it.
            if t > 0 || needH0 {
                if blocked {
                    RecurrentGEMM.multiply(rows: batch, n: hidden, k: g4, a: dgp + t * batch * g4, lda: g4,
                                           w: whh, c: dhp, ldc: hidden, accumulate: false)
                } else {
                    BLAS.gemm(transA: false, transB: false, m: batch, n: hidden, k: g4,
                              a: dgp + t * batch * g4, lda: g4, b: whh, ldb: hidden,
                              beta: 0, c: dhp, ldc: hidden)
                }
            }
        }
        if let h0, needH0 { LSTMKernels.add(dhp, into: g.gradBuffer(h0), count: bh) }
        if let c0, g.needsGrad(c0) { LSTMKernels.add(dcp, into: g.gradBuffer(c0), count: bh) }

        if g.needsGrad(x) {          // dX (T·B × In) = dâ (T·B × 4H) · W_ih (4H × In), added back batch-first
            let dxt = Tensor(uninitialized: [steps, batch, inF])
            BLAS.gemm(transA: false, transB: false, m: rows, n: inF, k: g4,
                      a: dgp, lda: g4, b: weightIH.value.pointer, ldb: inF,
                      beta: 0, c: dxt.sharedMutablePointer, ldc: inF)
            let dx = g.gradBuffer(x), src = dxt.pointer
            for b in 0..<batch {
                for t in 0..<steps {
                    LSTMKernels.add(src + (t * batch + b) * inF, into: dx + (b * steps + t) * inF, count: inF)
                }
            }
            withExtendedLifetime(dxt) {}
        }
        let w = inF + hidden, xhp = xh.pointer
        let needIH = g.needsGrad(weightIH), needHH = g.needsGrad(weightHH)
        if needIH && needHH {   // [dW_ih | dW_hh] (4H × (In + H)) = dâᵀ · XH   (rows in the same time-major order)
            let dW = Tensor(uninitialized: [g4, w])
            let dwp = dW.sharedMutablePointer
            BLAS.gemm(transA: true, transB: false, m: g4, n: w, k: rows, a: dgp, lda: g4, b: xhp, ldb: w,
                      beta: 0, c: dwp, ldc: w)
            let gih = g.gradBuffer(weightIH), ghh = g.gradBuffer(weightHH)
            for j in 0..<g4 {
                LSTMKernels.add(dwp + j * w, into: gih + j * inF, count: inF)
                LSTMKernels.add(dwp + j * w + inF, into: ghh + j * hidden, count: hidden)
            }
            withExtendedLifetime(dW) {}
        } else if needIH {      // dW_ih (4H × In) += dâᵀ · X
            BLAS.gemm(transA: true, transB: false, m: g4, n: inF, k: rows, a: dgp, lda: g4, b: xhp, ldb: w,
                      beta: 1, c: g.gradBuffer(weightIH), ldc: inF)
        } else if needHH {      // dW_hh (4H × H) += dâᵀ · H_prev (skip t = 0 if h0 = 0)
            let skip = h0 == nil ? 1 : 0
            BLAS.gemm(transA: true, transB: false, m: g4, n: hidden, k: (steps - skip) * batch,
                      a: dgp + skip * batch * g4, lda: g4, b: xhp + inF + skip * batch * w, ldb: w,
                      beta: 1, c: g.gradBuffer(weightHH), ldc: hidden)
        }
        if let dbp {
            for bias in biases { LSTMKernels.add(dbp, into: g.gradBuffer(bias), count: g4) }
        }
        // Only raw pointers to these were used above. One call each: passing a tuple to
        // withExtendedLifetime leaked its elements in optimized builds (Swift 6.3).
        withExtendedLifetime(dh) {}
        withExtendedLifetime(dc) {}
        withExtendedLifetime(dGates) {}
        withExtendedLifetime(dBias) {}
    }
}

/// The per-(step, batch row) elementwise parts of the LSTM, one vector register of hidden units
/// (`KernelISA.Vector`: 16 on AVX-512, 8 on AVX2) per SIMD step.
enum LSTMKernels {
    typealias V = FastMath.Vector

    /// Full-width loads and stores when `n` is 8 (a constant in the main loops, so the branch folds away).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ n: Int) -> V {
        n == V.scalarCount ? UnsafeRawPointer(p).loadUnaligned(as: V.self) : loadPartial(p, n)
    }

    @inline(__always)
    static func store(_ v: V, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        if n == V.scalarCount { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) } else { storePartial(v, p, n) }
    }

    @inline(never)
    static func loadPartial(_ p: UnsafePointer<Float>, _ n: Int) -> V {
        var v = V()
        for k in 0..<n { v[k] = p[k] }
        return v
    }

    @inline(never)
    static func storePartial(_ v: V, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        for k in 0..<n { p[k] = v[k] }
    }

    /// gates (4H, pre-activation without bias in, activations out), bias (4H, nil = 0),
    /// c_{t−1} (H, nil = 0) → c_t, tanh(c_t), and h_t written to both `h` and `out`.
    @inline(__always)
    static func cellForward(
        gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, cPrev: UnsafePointer<Float>?,
        c: UnsafeMutablePointer<Float>, tanhC: UnsafeMutablePointer<Float>,
        h: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, hidden: Int
    ) {
        @inline(__always) func chunk(_ j: Int, _ n: Int) {
            let pi = gates + j, pf = pi + hidden, pg = pf + hidden, po = pg + hidden
            var ai = load(pi, n), af = load(pf, n), ag = load(pg, n), ao = load(po, n)
            if let bias {
                let bi = bias + j
                ai += load(bi, n); af += load(bi + hidden, n); ag += load(bi + 2 * hidden, n); ao += load(bi + 3 * hidden, n)
            }
            let i = FastMath.sigmoid(ai), f = FastMath.sigmoid(af), gg = FastMath.tanh(ag), o = FastMath.sigmoid(ao)
            var cv = i * gg
            if let cPrev { cv += f * load(cPrev + j, n) }
            let tc = FastMath.tanh(cv)
            let hv = o * tc
            store(i, pi, n); store(f, pf, n); store(gg, pg, n); store(o, po, n)
            store(cv, c + j, n); store(tc, tanhC + j, n); store(hv, h + j, n); store(hv, out + j, n)
        }
        let w = V.scalarCount, full = hidden - hidden % w
        var j = 0
        while j < full { chunk(j, w); j += w }
        if j < hidden { chunk(j, hidden - j) }
    }

    /// One step of backpropagation through the cell for one batch row. Reads dh, dc (from step t+1;
    /// dOut_t is added to dh), writes dâ_t (4H), adds it into `dBias` (4H) if given, and replaces dc by
    /// dc_{t−1} = dc_t ⊙ f.
    @inline(__always)
    static func cellBackward(
        gates: UnsafePointer<Float>, cPrev: UnsafePointer<Float>?, tanhC: UnsafePointer<Float>,
        dOut: UnsafePointer<Float>?, dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>,
        dGates: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>?, hidden: Int
    ) {
        @inline(__always) func chunk(_ j: Int, _ n: Int) {
            let pi = gates + j, pf = pi + hidden, pg = pf + hidden, po = pg + hidden
            let i = load(pi, n), f = load(pf, n), gg = load(pg, n), o = load(po, n)
            let tc = load(tanhC + j, n)
            var dhv = load(dh + j, n)
            if let dOut { dhv += load(dOut + j, n) }
            let dcv = load(dc + j, n) + dhv * o * (1 - tc * tc)
            let di = dcv * gg * i * (1 - i)
            let df = cPrev.map { dcv * load($0 + j, n) * f * (1 - f) } ?? V()
            let dg = dcv * i * (1 - gg * gg)
            let dO = dhv * tc * o * (1 - o)
            let d = dGates + j
            store(di, d, n); store(df, d + hidden, n); store(dg, d + 2 * hidden, n); store(dO, d + 3 * hidden, n)
            store(dcv * f, dc + j, n)
            if let dBias {
                let db = dBias + j
                store(load(db, n) + di, db, n)
                store(load(db + hidden, n) + df, db + hidden, n)
                store(load(db + 2 * hidden, n) + dg, db + 2 * hidden, n)
                store(load(db + 3 * hidden, n) + dO, db + 3 * hidden, n)
            }
        }
        let w = V.scalarCount, full = hidden - hidden % w
        var j = 0
        while j < full { chunk(j, w); j += w }
        if j < hidden { chunk(j, hidden - j) }
    }

    /// [W_ih | W_hh]ᵀ ((In + H) × 4H) from W_ih (4H × In) and W_hh (4H × H).
    static func stackedTranspose(_ wih: Tensor, _ whh: Tensor) -> Tensor {
        let g4 = wih.shape[0], inF = wih.shape[1], hidden = whh.shape[1]
        let t = Tensor(uninitialized: [inF + hidden, g4])
        let a = wih.pointer, b = whh.pointer, dst = t.sharedMutablePointer
        for j in 0..<g4 {
            for c in 0..<inF { dst[c * g4 + j] = a[j * inF + c] }
            for c in 0..<hidden { dst[(inF + c) * g4 + j] = b[j * hidden + c] }
        }
        return t
    }

    /// dst[k] += src[k].
    @inline(__always)
    static func add(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        for k in 0..<count { dst[k] += src[k] }
    }
}
